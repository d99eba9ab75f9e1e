#!/usr/bin/env node
// npm run bench:browser: hashing in Debian's Chromium, in the intake page's
// own Web Worker (dist/web/worker.js as `npm run build` makes it), next to the
// Node CLI (`hashsafe hash --format json`) on the same files in the same run.
//
//   node bench/browser.mjs [--limit N] [--data DIR] [--reps N] [--modes full,squash512]
//                          [--out FILE | --no-write]
//
// What runs, in this order (interleaved, so drift hits both sides alike):
//   1. corpus, per mode: the Node CLI on the files (one process, its default
//      --jobs 2), then the page's worker driven directly (a pool of workers
//      the size the page's Hasher makes: navigator.hardwareConcurrency, 1..4).
//   2. corpus, the intake page as users get it: served by the server of
//      `hashsafe serve` (startServer, from a copy of dist/web taken at start),
//      "Start", the files chosen through the page's file input
//      (setInputFiles), timed from the input's change event to the moment no
//      picture is left hashing; the page hashes in its own "full" mode.
//   3. a 12 MP phone photo (4000x3000 JPEG, quality 90, made here with sharp
//      as a mosaic of 16 corpus photos; and a copy with EXIF orientation 6,
//      as a phone held upright stores it): browser worker (one worker, round trip from the
//      page), Node in-process (hashFiles, what the CLI runs) and the Node CLI
//      as a whole process, median of --reps; then the page flow with that photo.
// During every browser run the page's main thread is watched for long tasks
// (PerformanceObserver "longtask", buffered): count, longest, count over 200 ms.
//
// Output: markdown on stdout and docs/measurements/YYYY-MM-DD-browser.md
// (--out FILE elsewhere, --no-write for none). Temp dirs, the server and the
// browser are removed/closed on error and on Ctrl-C.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const BIN = path.join(root, "bin", "hashsafe.js");
const WEB = path.join(root, "dist", "web");
const CHROMIUM = process.env.HASHSAFE_CHROMIUM ?? "/usr/bin/chromium";
const LONG_TASK_LIMIT_MS = 200;
const TARGET_12MP_MS = 1000;

// ---- arguments ---------------------------------------------------------------
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = args[i + 1];
  if (v === undefined || v.startsWith("--")) fail(`${name} needs a value`);
  return v;
};
const flag = (name) => args.includes(name);
if (flag("--help") || flag("-h")) {
  const lines = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(1);
  process.stdout.write(lines.slice(0, lines.findIndex((l) => !l.startsWith("//"))).map((l) => l.replace(/^\/\/ ?/, "")).join("\n") + "\n");
  process.exit(0);
}
const defaultData = path.join(root, "..", "shared", "bench-corpus");
const dataDir = path.resolve(opt("--data", defaultData));
const limit = opt("--limit") === undefined ? Infinity : positiveInt("--limit", opt("--limit"));
const reps = positiveInt("--reps", opt("--reps", "5"));
const modes = opt("--modes", "full,squash512").split(",").map((m) => m.trim()).filter(Boolean);
for (const m of modes) if (m !== "full" && m !== "squash512") fail(`--modes: unknown mode "${m}" (full, squash512)`);
const noWrite = flag("--no-write");
const today = new Date().toISOString().slice(0, 10);
const outFile = path.resolve(opt("--out", path.join(root, "docs", "measurements", `${today}-browser.md`)));

function positiveInt(name, v) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) fail(`${name} must be a whole number >= 1 (got "${v}")`);
  return n;
}
function fail(message) {
  process.stderr.write(`bench:browser: ${message}\n`);
  process.exit(2);
}

// ---- what must be there ------------------------------------------------------
const missing = [];
if (!existsSync(CHROMIUM)) missing.push(`Chromium at ${CHROMIUM} (apt-get install chromium, or set HASHSAFE_CHROMIUM)`);
for (const f of ["index.html", "app.js", "worker.js"]) {
  if (!existsSync(path.join(WEB, f))) missing.push(`${path.relative(root, path.join(WEB, f))} (the built intake page: run npm run build)`);
}
for (const f of ["index.js", "server/index.js", "cli/main.js"]) {
  if (!existsSync(path.join(root, "dist", f))) missing.push(`dist/${f} (the Node build: run npm run build)`);
}
let corpus = [];
if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
  missing.push(
    `the bench corpus folder ${dataDir}` +
      (opt("--data") ? "" : " (200 JPEG photos expected in ../shared/bench-corpus/ beside the repository; or pass --data DIR)"),
  );
} else {
  corpus = readdirSync(dataDir).filter((f) => /\.(jpe?g|png|webp|gif)$/i.test(f)).sort().map((f) => path.join(dataDir, f));
  if (corpus.length === 0) missing.push(`pictures in ${dataDir} (no .jpg/.jpeg/.png/.webp/.gif file there)`);
}
let playwright;
try {
  playwright = await import("playwright-core");
} catch {
  missing.push("the playwright-core package (a devDependency: npm install)");
}
if (missing.length) fail(`cannot run, missing:\n  - ${missing.join("\n  - ")}`);
const files = corpus.slice(0, limit);

// ---- clean-up on every exit path -----------------------------------------------
const cleanups = [];
const children = new Set();
let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    for (const c of children) c.kill("SIGKILL");
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch {
        // best effort: keep cleaning the rest
      }
    }
  })();
  return cleaning;
}
// Last resort, if the process ends some other way (an uncaught error): what can be done synchronously.
const tempDirs = [];
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});
// stdout closed early (`| head`): stop writing, finish the run and clean up.
process.stdout.on("error", (e) => {
  if (e.code !== "EPIPE") throw e;
  process.stdout.write = () => true;
});
let interrupted = false;
for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]]) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench:browser: ${sig}, closing the browser and the server and removing temp files\n`);
    const hard = setTimeout(() => process.exit(code), 10_000);
    hard.unref();
    cleanup().finally(() => process.exit(code));
  });
}

// ---- small helpers -------------------------------------------------------------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f1 = (x) => (x == null || Number.isNaN(x) ? "-" : x.toFixed(1));
const f0 = (x) => (x == null || Number.isNaN(x) ? "-" : x.toFixed(0));
const f2 = (x) => (x == null || Number.isNaN(x) ? "-" : x.toFixed(2));
const progress = (s) => process.stderr.write(`[bench:browser] ${s}\n`);
const hexDistance = (a, b) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    let x = parseInt(a[i], 16) ^ parseInt(b[i], 16);
    while (x) {
      d += x & 1;
      x >>= 1;
    }
  }
  return d;
};

/** Run a command, tracked so Ctrl-C and errors kill it; resolves with stdout and the wall time. */
function run(cmd, argv, { maxBuffer = 256 * 1024 * 1024 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = execFile(cmd, argv, { cwd: root, maxBuffer }, (err, stdout, stderr) => {
      children.delete(child);
      const ms = performance.now() - t0;
      if (err && !stdout) return reject(new Error(`${path.basename(argv[0] ?? cmd)} ${argv.slice(1, 4).join(" ")} ...: ${stderr || err.message}`));
      resolve({ stdout, stderr, ms, code: err ? err.code : 0 });
    });
    children.add(child);
  });
}

/** `hashsafe hash --format json --mode M files...`: one whole process, timed from outside. */
async function cli(list, mode) {
  const r = await run(process.execPath, [BIN, "hash", "--format", "json", "--mode", mode, ...list]);
  const records = JSON.parse(r.stdout);
  return { ms: r.ms, records: new Map(records.map((x) => [path.resolve(root, x.path), x])) };
}

/**
 * The server `hashsafe serve` runs (startServer from dist/server), in this
 * process, on loopback over a temporary SQLite file, serving the intake page
 * at `/` from a copy of dist/web taken now: other work may rebuild dist/
 * during the run, and every figure must be of the same build.
 */
async function startServe(dir) {
  const web = path.join(dir, "web");
  // A build may be writing dist/web right now: copy until the folder held still during the copy.
  const snapshot = () => readdirSync(WEB).sort().map((f) => `${f}:${statSync(path.join(WEB, f)).size}:${statSync(path.join(WEB, f)).mtimeMs}`).join("|");
  for (let attempt = 1; ; attempt++) {
    const before = snapshot();
    rmSync(web, { recursive: true, force: true });
    cpSync(WEB, web, { recursive: true, preserveTimestamps: true });
    if (snapshot() === before) break;
    if (attempt === 10) throw new Error("dist/web kept changing while it was copied (a build running?): try again when it is done");
    await new Promise((r) => setTimeout(r, 3000));
  }
  const { startServer } = await import(path.join(root, "dist", "server", "index.js"));
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    db: path.join(dir, "server.db"),
    logLevel: "silent",
    rateLimit: false,
    quotas: false,
    web: { root: web },
  });
  cleanups.push(() => server.close());
  return { url: server.url, web };
}

// Installed in every page before its own scripts: long tasks (buffered), and
// the moment the page's file input reports a choice.
const INIT_SCRIPT = `(() => {
  const b = (window.__bench = { longtasks: [], changeAt: null, doneAt: null, supported: false });
  try {
    b.supported = PerformanceObserver.supportedEntryTypes.includes("longtask");
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longtasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: "longtask", buffered: true });
  } catch {}
  document.addEventListener("change", (e) => {
    if (e.target && e.target.id === "file-input") b.changeAt = performance.now();
  }, true);
  // Bubbling to window comes after the page's own listener on the input: its synchronous part has run.
  window.addEventListener("change", (e) => {
    if (e.target && e.target.id === "file-input") b.changeEnd = performance.now();
  });
})();`;

/** Long tasks in [from, to] (page clock), and those before `from` (page start-up). */
async function longTasks(page, from = -Infinity, to = Infinity) {
  // Let the observer deliver the last entries.
  await page.evaluate(() => new Promise((r) => setTimeout(r, 100)));
  const { longtasks, supported } = await page.evaluate(() => window.__bench);
  const inside = longtasks.filter((t) => t.start + t.duration >= from && t.start <= to);
  const before = longtasks.filter((t) => t.start + t.duration < from);
  const stat = (l) => ({
    count: l.length,
    longest: l.length ? Math.max(...l.map((t) => t.duration)) : 0,
    over: l.filter((t) => t.duration > LONG_TASK_LIMIT_MS).length,
    // Those over the limit: when they started, from `from` (ms), and how long they took.
    overList: l.filter((t) => t.duration > LONG_TASK_LIMIT_MS).map((t) => ({ at: t.start - from, duration: t.duration })),
  });
  return { supported, during: stat(inside), before: stat(before) };
}

/** Serve files to the page under `${origin}/__bench/<index>` by request interception (the server is not touched). */
async function serveFiles(page, origin, list) {
  await page.route(`${origin}/__bench/**`, (route) => {
    const i = Number(new URL(route.request().url()).pathname.slice("/__bench/".length));
    if (!Number.isInteger(i) || !list[i]) return route.fulfill({ status: 404, body: "" });
    return route.fulfill({ status: 200, body: readFileSync(list[i]), headers: { "content-type": "application/octet-stream" } });
  });
}

/**
 * A pool of the page's workers (/worker.js, as the page loads it), kept in
 * the page between calls: `workers` of them (0: as the page's Hasher sizes
 * its pool), each warmed up with one hash of the file served at `warmIndex`
 * (not timed: module load, WebAssembly compile).
 */
async function openPool(page, workers, warmIndex, mode) {
  return await page.evaluate(
    async ({ workers, warmIndex, mode }) => {
      const n = workers || Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2));
      const pool = Array.from({ length: n }, (_, i) => new Worker("/worker.js", { type: "module", name: `bench-${i}` }));
      let id = 0;
      const call = (w, bytes, mode) =>
        new Promise((resolve) => {
          const my = ++id;
          const on = (ev) => {
            if (ev.data.id !== my) return;
            w.removeEventListener("message", on);
            resolve(ev.data);
          };
          w.addEventListener("message", on);
          w.postMessage({ id: my, bytes, options: { mode } }, [bytes]);
        });
      window.__benchPool = { pool, call };
      const warm = await (await fetch(`/__bench/${warmIndex}`)).arrayBuffer();
      await Promise.all(pool.map((w) => call(w, warm.slice(0), mode)));
      return n;
    },
    { workers, warmIndex, mode },
  );
}

async function closePool(page) {
  await page.evaluate(() => {
    for (const w of window.__benchPool?.pool ?? []) w.terminate();
    window.__benchPool = null;
  });
}

/**
 * Hash the files served at `indices` in the open pool: their bytes are
 * fetched first (not timed), then each worker takes the next file until none
 * is left. Times from the page's side (round trip) and from the worker's own.
 */
async function inWorker(page, indices, mode) {
  return await page.evaluate(
    async ({ indices, mode }) => {
      const { pool, call } = window.__benchPool;
      const bufs = await Promise.all(indices.map((i) => fetch(`/__bench/${i}`).then((r) => r.arrayBuffer())));
      const out = new Array(bufs.length);
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        pool.map(async (w) => {
          while (next < bufs.length) {
            const k = next++;
            const s = performance.now();
            const r = await call(w, bufs[k], mode);
            out[k] = { ok: r.ok, hash: r.ok ? r.result.hash : null, code: r.ok ? null : r.error.code, workerMs: r.ms, roundTripMs: performance.now() - s };
          }
        }),
      );
      const t1 = performance.now();
      return { from: t0, to: t1, wallMs: t1 - t0, workers: pool.length, out };
    },
    { indices, mode },
  );
}

/** The intake page as users get it: Start, choose `list` in the file input, wait until none is left hashing. */
async function pageFlow(context, url, list) {
  const page = await context.newPage();
  try {
    await page.goto(url + "/");
    await page.waitForSelector('main[data-screen="intro"]', { timeout: 30_000 });
    await page.click("#start");
    await page.waitForSelector('main[data-screen="choose"]', { timeout: 30_000 });
    await page.setInputFiles("#file-input", list);
    await page.waitForFunction(
      (n) => {
        const done = document.querySelectorAll("#items li").length === n && !document.querySelector("#items progress");
        if (done) window.__bench.doneAt ??= performance.now();
        return done;
      },
      list.length,
      { polling: 50, timeout: Math.max(120_000, list.length * 5000) },
    );
    const b = await page.evaluate(() => ({
      changeAt: window.__bench.changeAt,
      changeEnd: window.__bench.changeEnd,
      doneAt: window.__bench.doneAt,
      done: document.querySelectorAll('#items li[data-state="done"]').length,
      errors: [...document.querySelectorAll('#items li[data-state="error"]')].map((li) => li.getAttribute("data-code")),
      sent: document.getElementById("sent-json")?.textContent ?? "{}",
    }));
    if (b.changeAt == null) throw new Error("the page's file input reported no change event");
    let hashes = [];
    try {
      hashes = (JSON.parse(b.sent).hashes ?? []).map((h) => h.value);
    } catch {
      // what-is-sent not parseable: no hash check
    }
    const lt = await longTasks(page, b.changeAt, b.doneAt);
    return { ms: b.doneAt - b.changeAt, handlerMs: b.changeEnd != null ? b.changeEnd - b.changeAt : NaN, done: b.done, errors: b.errors, hashes, longtasks: lt };
  } finally {
    await page.close().catch(() => {});
  }
}

/** Browser results against the CLI's, file by file: equal hashes, largest distance. */
function agreement(browserOut, list, cliRecords) {
  let equal = 0, compared = 0, maxDist = 0, failed = 0;
  list.forEach((f, i) => {
    const b = browserOut[i];
    const c = cliRecords.get(path.resolve(f));
    if (!b?.ok || !c?.hash) {
      failed++;
      return;
    }
    compared++;
    const d = hexDistance(b.hash, c.hash);
    if (d === 0) equal++;
    maxDist = Math.max(maxDist, d);
  });
  return { equal, compared, maxDist, failed };
}

// ---- the run -------------------------------------------------------------------
async function main() {
  const started = new Date();
  const load0 = os.loadavg();
  const tmp = mkdtempSync(path.join(os.tmpdir(), "hashsafe-bench-browser-"));
  tempDirs.push(tmp);
  cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));

  // The 12 MP phone photo: a 4x4 mosaic of corpus photos (each 1000x750), so
  // it has a phone photo's detail at full scale rather than an upscaled blur.
  const sharp = (await import("sharp")).default;
  sharp.cache(false);
  const tiles = [], tileNames = [];
  for (const f of corpus) {
    if (tiles.length === 16) break;
    try {
      tiles.push(await sharp(f).rotate().resize(1000, 750, { fit: "cover" }).removeAlpha().toColourspace("srgb").raw().toBuffer());
      tileNames.push(path.basename(f));
    } catch {
      // a picture sharp cannot decode is no tile (it is still in the corpus runs, as a failure)
    }
  }
  if (tiles.length === 0) throw new Error(`no picture in ${dataDir} could be decoded to make the 12 MP photo`);
  while (tiles.length < 16) tiles.push(tiles[tiles.length % tileNames.length]);
  const mosaic = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: "#808080" } })
    .composite(tiles.map((input, i) => ({ input, raw: { width: 1000, height: 750, channels: 3 }, left: (i % 4) * 1000, top: (i >> 2) * 750 })))
    .raw()
    .toBuffer();
  const photo12 = path.join(tmp, "phone-12mp.jpg");
  await sharp(mosaic, { raw: { width: 4000, height: 3000, channels: 3 } }).jpeg({ quality: 90 }).toFile(photo12);
  // The same photo as a phone held upright stores it: landscape pixels, EXIF orientation 6.
  const photo12r = path.join(tmp, "phone-12mp-orientation6.jpg");
  await sharp(mosaic, { raw: { width: 4000, height: 3000, channels: 3 } }).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toFile(photo12r);
  const photoBytes = statSync(photo12).size;

  progress(`corpus: ${files.length} of ${corpus.length} pictures in ${dataDir}; modes ${modes.join(", ")}`);
  const { url, web } = await startServe(tmp);
  progress(`intake page (copy of dist/web) served at ${url}`);
  const browser = await playwright.chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions", "--no-default-browser-check"],
  });
  cleanups.push(() => browser.close());
  const chromiumVersion = browser.version();
  const context = await browser.newContext({ locale: "es-419", viewport: { width: 1280, height: 900 }, serviceWorkers: "block" });
  await context.addInitScript(INIT_SCRIPT);
  // One page on the intake page's origin (idle on its first screen) drives the worker directly.
  const driver = await context.newPage();
  await driver.goto(url + "/");
  await driver.waitForSelector('main[data-screen="intro"]', { timeout: 30_000 });
  // Served to the page by index: the corpus files, then the two 12 MP photos.
  const served = [...files, photo12, photo12r];
  await serveFiles(driver, url, served);
  const corpusIdx = files.map((_, i) => i);
  const { hashFiles, setDecoderThreads } = await import(path.join(root, "dist", "index.js"));
  // As the CLI does with its default --jobs 2 once the jobs fill the cores (src/cli/hashing.ts).
  if (2 >= os.availableParallelism()) setDecoderThreads(1);
  const inProcess = async (list, mode) => {
    let failed = 0;
    const t0 = performance.now();
    await hashFiles(list, { mode, jobs: 2 }, (o) => {
      if (o.error) failed++;
    });
    return { ms: performance.now() - t0, failed };
  };
  const cores = await driver.evaluate(() => navigator.hardwareConcurrency);

  const corpusRows = [];
  const poolSize = await openPool(driver, 0, 0, modes[0]);
  for (const mode of modes) {
    progress(`Node CLI, ${mode}, ${files.length} pictures`);
    const node = await cli(files, mode);
    progress(`Node in-process (hashFiles, jobs 2), ${mode}`);
    const proc = await inProcess(files, mode);
    progress(`browser worker, ${mode}, ${files.length} pictures`);
    const w = await inWorker(driver, corpusIdx, mode);
    const lt = await longTasks(driver, w.from, w.to);
    const okOut = w.out.filter((o) => o.ok);
    corpusRows.push({
      mode,
      node,
      proc,
      browser: w,
      longtasks: lt,
      agree: agreement(w.out, files, node.records),
      workerMedian: median(okOut.map((o) => o.workerMs)),
      errors: w.out.filter((o) => !o.ok).map((o) => o.code),
    });
  }
  await closePool(driver);
  progress(`intake page flow (full), ${files.length} pictures through the file input`);
  const flow = await pageFlow(context, url, files);
  const fullRow = corpusRows.find((r) => r.mode === "full");
  let flowAgree = null;
  if (fullRow && flow.hashes.length) {
    const cliSet = new Set([...fullRow.node.records.values()].map((r) => r.hash).filter(Boolean));
    flowAgree = { inCli: flow.hashes.filter((h) => cliSet.has(h)).length, sent: flow.hashes.length, cliDistinct: cliSet.size };
  }

  // 12 MP photo.
  const bigCases = modes.map((mode) => ({ label: mode, mode, file: photo12, index: files.length }));
  if (modes.includes("full")) bigCases.push({ label: "full, EXIF orientation 6", mode: "full", file: photo12r, index: files.length + 1 });
  // Interleaved: each round runs every case once on every side, so drift in
  // the machine's load hits them alike. One worker (one photo at a time).
  const acc = bigCases.map(() => ({ cli: [], proc: [], rt: [], worker: [], hashes: [], errors: [], cliHash: null, lt: [] }));
  await openPool(driver, 1, files.length, bigCases[0].mode);
  for (let r = 0; r < reps; r++) {
    progress(`12 MP photo, round ${r + 1} of ${reps}: Node CLI, Node in-process, browser worker for ${bigCases.map((c) => c.label).join("; ")}`);
    for (const [k, c] of bigCases.entries()) {
      const a = acc[k];
      const cr = await cli([c.file], c.mode);
      a.cli.push(cr.ms);
      a.cliHash = cr.records.get(path.resolve(c.file))?.hash ?? null;
      a.proc.push((await inProcess([c.file], c.mode)).ms);
      const w = await inWorker(driver, [c.index], c.mode);
      const o = w.out[0];
      if (o.ok) {
        a.rt.push(o.roundTripMs);
        a.worker.push(o.workerMs);
        a.hashes.push(o.hash);
      } else a.errors.push(o.code);
      a.lt.push([w.from, w.to]);
    }
  }
  const big = [];
  for (const [k, c] of bigCases.entries()) {
    const a = acc[k];
    const spans = await Promise.all(a.lt.map(([from, to]) => longTasks(driver, from, to)));
    const during = spans.map((l) => l.during);
    big.push({
      ...c,
      cli: median(a.cli),
      proc: median(a.proc),
      roundTrip: a.rt.length ? median(a.rt) : NaN,
      worker: a.worker.length ? median(a.worker) : NaN,
      all: a.rt,
      equal: a.hashes.length > 0 && a.hashes.every((h) => h === a.cliHash),
      errors: a.errors,
      longtasks: {
        supported: spans[0]?.supported,
        during: {
          count: during.reduce((n, d) => n + d.count, 0),
          longest: Math.max(0, ...during.map((d) => d.longest)),
          over: during.reduce((n, d) => n + d.over, 0),
          overList: during.flatMap((d) => d.overList),
        },
      },
    });
  }
  await closePool(driver);
  progress(`12 MP photo through the intake page, ${Math.min(3, reps)} time${Math.min(3, reps) === 1 ? "" : "s"}`);
  const bigFlows = [];
  for (let i = 0; i < Math.min(3, reps); i++) bigFlows.push(await pageFlow(context, url, [photo12]));
  const load1 = os.loadavg();
  let code = "not a git checkout";
  try {
    const head = (await run("git", ["rev-parse", "--short", "HEAD"])).stdout.trim();
    const dirty = (await run("git", ["status", "--porcelain", "--", "src/browser", "src/web", "src/pdq", "src/image"])).stdout.trim();
    code = `commit ${head}` + (dirty ? `, with uncommitted changes under src/ (${dirty.split("\n").length} files in src/browser, src/web, src/pdq, src/image) when the run ended; dist/ is built from the working tree` : "");
  } catch {
    // no git: say so
  }

  // ---- report ----
  const cpu = os.cpus();
  const workerBuilt = statSync(path.join(web, "worker.js")).mtime.toISOString().slice(0, 16).replace("T", " ");
  const lines = [];
  const p = (s = "") => lines.push(s);
  const cmd = ["node bench/browser.mjs", ...args].join(" ");
  p(`# Browser hashing, ${started.toISOString().slice(0, 10)}`);
  p();
  p(`\`${cmd}\` (\`npm run bench:browser\`), started ${started.toISOString().slice(0, 16).replace("T", " ")} UTC.`);
  p();
  p(`- Machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? "?"}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}; navigator.hardwareConcurrency ${cores}.`);
  p(`- Chromium ${chromiumVersion} (${CHROMIUM}, headless, playwright-core); Node ${process.version}.`);
  const busy = Math.max(load0[0], load1[0]) > 0.5 * cpu.length;
  p(`- Load average at start ${load0.map(f2).join(", ")}, at end ${load1.map(f2).join(", ")} (1, 5, 15 min)` +
    (busy
      ? `: other work shared these ${cpu.length} cores during the run (other people's builds and tests on this machine), so absolute figures are inflated and noisy; the ratios between columns of the same run are the figures to compare, not absolute times of different days.`
      : ": the machine was otherwise quiet."));
  p(`- Code: ${code}.`);
  p(`- Corpus: ${files.length} of ${corpus.length} pictures from \`${path.relative(root, dataDir) || dataDir}\`${files.length < corpus.length ? ` (--limit ${limit})` : ""}.` +
    ` Page: \`dist/web/\` as built (${readdirSync(web).filter((f) => f.endsWith(".js")).sort().map((f) => `${f} ${(statSync(path.join(web, f)).size / 1024).toFixed(1)} KiB`).join(", ")}; worker.js built ${workerBuilt} UTC; copied at start, so one build throughout), served by the server of \`hashsafe serve\` (startServer, in the bench's process, loopback, SQLite).`);
  p();
  p("## Corpus");
  p();
  p("Node CLI: `hashsafe hash --format json --mode M <files>`, one whole process (start-up included), its default `--jobs 2`." +
    ` Browser worker: the page's \`/worker.js\` driven from the page, ${poolSize} workers (as the page's Hasher sizes its pool, from navigator.hardwareConcurrency), kept for both modes, bytes fetched before timing, one warm-up hash per worker not timed.` +
    " Intake page: the real flow, files chosen through its file input, from the input's change event until no picture is left hashing (the page reads the files, makes thumbnails and hashes in \"full\" mode)." +
    " Node in-process: the same `hashFiles` the CLI runs, in this process, without the CLI's start-up and output." +
    " ms/image is wall time / images (throughput, with the workers in flight); the latency column is the median time one picture took inside a worker.");
  p();
  p("| run | mode | images | wall | images/s | ms/image | median latency in worker | time / Node CLI's | time / Node in-process | hashes equal to the CLI's |");
  p("|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const r of corpusRows) {
    const n = files.length;
    const cliFailed = [...r.node.records.values()].filter((x) => !x.hash).map((x) => x.error?.code ?? "?");
    p(`| Node CLI | ${r.mode} | ${n - cliFailed.length}${cliFailed.length ? ` (+${cliFailed.length} failed: ${[...new Set(cliFailed)].join(", ")})` : ""} | ${f2(r.node.ms / 1000)} s | ${f1(n / (r.node.ms / 1000))} | ${f1(r.node.ms / n)} | - | 1.00 | ${f2(r.node.ms / r.proc.ms)} | - |`);
    p(`| Node in-process (hashFiles, jobs 2) | ${r.mode} | ${n - r.proc.failed}${r.proc.failed ? ` (+${r.proc.failed} failed)` : ""} | ${f2(r.proc.ms / 1000)} s | ${f1(n / (r.proc.ms / 1000))} | ${f1(r.proc.ms / n)} | - | ${f2(r.proc.ms / r.node.ms)} | 1.00 | - |`);
    const ok = r.browser.out.length - r.errors.length;
    p(`| browser worker | ${r.mode} | ${ok}${r.errors.length ? ` (+${r.errors.length} failed: ${[...new Set(r.errors)].join(", ")})` : ""} | ${f2(r.browser.wallMs / 1000)} s | ${f1(n / (r.browser.wallMs / 1000))} | ${f1(r.browser.wallMs / n)} | ${f1(r.workerMedian)} ms | ${f2(r.browser.wallMs / r.node.ms)} | ${f2(r.browser.wallMs / r.proc.ms)} | ${r.agree.equal}/${r.agree.compared}${r.agree.maxDist ? ` (largest distance ${r.agree.maxDist})` : ""} |`);
  }
  if (fullRow) {
    const n = files.length;
    p(`| intake page (file input) | full | ${flow.done}${flow.errors.length ? ` (+${flow.errors.length} failed: ${[...new Set(flow.errors)].join(", ")})` : ""} | ${f2(flow.ms / 1000)} s | ${f1(n / (flow.ms / 1000))} | ${f1(flow.ms / n)} | - | ${f2(flow.ms / fullRow.node.ms)} | ${f2(flow.ms / fullRow.proc.ms)} | ${flowAgree ? `${flowAgree.inCli}/${flowAgree.sent} sent hashes are CLI hashes` : "-"} |`);
  } else {
    p(`| intake page (file input) | full | ${flow.done} | ${f2(flow.ms / 1000)} s | ${f1(files.length / (flow.ms / 1000))} | ${f1(flow.ms / files.length)} | - | - | - | - |`);
  }
  p();
  p(`## A 12 MP phone photo`);
  p();
  p(`4000x3000 JPEG, quality 90, ${(photoBytes / 2 ** 20).toFixed(1)} MiB, made at bench time with sharp: a 4x4 mosaic of corpus photos (${tileNames.length > 4 ? `${tileNames[0]} .. ${tileNames.at(-1)}` : tileNames.join(", ")}), each 1000x750, so it carries a photo's detail at full scale; the orientation-6 copy is the same picture as a phone held upright stores it (the worker and the CLI rotate it). Median of ${reps} round${reps === 1 ? "" : "s"}; each round runs every row once on every side, one after the other, so the machine's drift hits all alike.` +
    " Browser: one worker, round trip from the page (postMessage with the bytes transferred, decode, hash, answer); in the worker: the worker's own time." +
    " Node in-process: `hashFiles` from dist/index.js (what the CLI runs) without process start-up. Node CLI: the whole process.");
  p();
  p(`| photo, mode | browser worker (round trip) | best | in the worker | Node in-process | Node CLI process | browser / Node in-process | under ${TARGET_12MP_MS} ms? | same hash as the CLI |`);
  p("|---|---:|---:|---:|---:|---:|---:|---|---|");
  for (const b of big) {
    p(`| ${b.label} | ${f0(b.roundTrip)} ms | ${b.all.length ? f0(Math.min(...b.all)) : "-"} ms | ${f0(b.worker)} ms | ${f0(b.proc)} ms | ${f0(b.cli)} ms | ${f2(b.roundTrip / b.proc)} | ${b.roundTrip < TARGET_12MP_MS ? "yes" : "**no**"} | ${b.errors.length ? `failed: ${b.errors.join(", ")}` : b.equal ? "yes" : "**no**"} |`);
  }
  p();
  p(`Browser round trips (ms): ${big.map((b) => `${b.label}: ${b.all.map(f0).join(", ")}`).join("; ")}.`);
  p(`Through the intake page (file input to hashed, full mode; a fresh page each time, so this first picture also pays for the page's Hasher starting its workers (module load, WebAssembly compile), and its thumbnail is decoded alongside): ${bigFlows.map((f) => f0(f.ms)).join(", ")} ms (median ${f0(median(bigFlows.map((f) => f.ms)))})${bigFlows.some((f) => f.done !== 1) ? "; **some did not hash**" : ""}.`);
  p();
  p("## Page responsiveness");
  p();
  const sup = flow.longtasks.supported;
  p(sup
    ? `Long tasks (over 50 ms) on the page's main thread while hashing, from PerformanceObserver "longtask" (buffered); target: none over ${LONG_TASK_LIMIT_MS} ms.`
    : "**This Chromium does not report \"longtask\" entries: no figure.**");
  p();
  p(`| while | long tasks | longest | over ${LONG_TASK_LIMIT_MS} ms |`);
  p("|---|---:|---:|---:|");
  const ltRow = (what, l) =>
    p(`| ${what} | ${l.count} | ${f0(l.longest)} ms | ${l.over}${l.overList.length ? ` (${l.overList.map((t) => `${f0(t.duration)} ms at ${t.at >= 0 ? "+" : ""}${f0(t.at)} ms`).join(", ")})` : ""} |`);
  ltRow(`intake page hashing ${files.length} pictures (file input)`, flow.longtasks.during);
  bigFlows.forEach((f, i) => ltRow(`intake page hashing the 12 MP photo, run ${i + 1}`, f.longtasks.during));
  for (const r of corpusRows) ltRow(`page driving the worker, corpus, ${r.mode}`, r.longtasks.during);
  for (const b of big) ltRow(`page driving the worker, 12 MP x ${reps}, ${b.label}`, b.longtasks.during);
  p();
  p(`The times after a long task over ${LONG_TASK_LIMIT_MS} ms are when it started, from the file input's change event (a task that starts a little before it is the one that delivers the chosen files).` +
    ` The intake page's own change handler (addFiles: list, thumbnails, starting the hashes) ran ${f0(flow.handlerMs)} ms synchronously for the ${files.length} pictures` +
    ` (${f1(flow.handlerMs / files.length)} ms a picture), and ${bigFlows.map((f) => f0(f.handlerMs)).join(", ")} ms for the single 12 MP photo: that part is on the main thread, not in the worker.`);
  p();
  p(`(Page start-up before the pictures were chosen, not counted above: ${flow.longtasks.before.count} long task${flow.longtasks.before.count === 1 ? "" : "s"}, longest ${f0(flow.longtasks.before.longest)} ms.)`);
  const worstPage = Math.max(flow.longtasks.during.longest, ...bigFlows.map((f) => f.longtasks.during.longest));
  const verdict = (b) => `${b.label}: ${b.roundTrip < TARGET_12MP_MS ? "**met**" : "**not met**"}, median ${f0(b.roundTrip)} ms, best ${b.all.length ? f0(Math.min(...b.all)) : "-"} ms`;
  p();
  p("## Against the targets");
  p();
  p(`- A 12 MP phone photo hashed in under 1 s in the browser worker (full mode, the page's; median of the round trips): ${big.filter((b) => b.mode === "full").map(verdict).join("; ") || "full mode not run"}.` +
    ` Through the intake page, file input to hashed: median ${f0(median(bigFlows.map((f) => f.ms)))} ms. Load average during the run: ${f2(load0[0])} to ${f2(load1[0])} on ${cpu.length} cores.`);
  p(`- No long task over ${LONG_TASK_LIMIT_MS} ms on the intake page while hashing: ${!sup ? "not measured" : worstPage <= LONG_TASK_LIMIT_MS ? "**met**" : "**not met**"} (longest ${f0(worstPage)} ms).`);
  const report = lines.join("\n") + "\n";
  process.stdout.write(report);
  if (!noWrite) {
    mkdirSync(path.dirname(outFile), { recursive: true });
    writeFileSync(outFile, report);
    progress(`written to ${path.relative(process.cwd(), outFile) || outFile}`);
  }
}

try {
  await main();
} catch (e) {
  if (!interrupted) {
    process.stderr.write(`bench:browser: failed: ${e?.stack ?? e}\n`);
    process.exitCode = 1;
  }
} finally {
  await cleanup();
}
