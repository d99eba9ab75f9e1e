#!/usr/bin/env node
// Benchmark of the reference server: `hashsafe serve` on loopback over a
// SQLite file holding 100k active hashes, loaded with autocannon.
//
//   npm run build && npm run bench:server [-- --duration 10 --connections 10 --hashes 100000]
//
// The database is seeded through the store (not over HTTP), then the real CLI
// (`node bin/hashsafe.js serve`) is started as a child process, so the load
// generator does not share the server's CPU thread and the server's memory can
// be read on its own. Prints a markdown table.
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
if (!existsSync(path.join(root, "dist", "index.js"))) {
  console.error("bench/server.mjs: dist/ is missing; run `npm run build` first");
  process.exit(1);
}
const { SqliteStore, createApiKey } = await import("../dist/server/index.js");

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "10" },
    hashes: { type: "string", default: "100000" },
  },
});
const DURATION = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const HASHES = Number(args.hashes);

const dir = mkdtempSync(path.join(os.tmpdir(), "hashsafe-bench-"));
const db = path.join(dir, "server.db");
let child;

function randomPdq() {
  return randomBytes(32).toString("hex");
}
function flip(hex, bits) {
  const b = Buffer.from(hex, "hex");
  for (let i = 0; i < bits; i++) {
    const bit = (i * 37) % 256;
    b[bit >> 3] ^= 1 << (bit & 7);
  }
  return b.toString("hex");
}

/** Seed HASHES active PDQ hashes in cases of 500, straight into the store. */
async function seed() {
  const store = SqliteStore.open(db, { synchronous: "NORMAL" });
  const sample = [];
  const started = performance.now();
  for (let done = 0; done < HASHES; done += 500) {
    const hashes = [];
    for (let i = 0; i < Math.min(500, HASHES - done); i++) hashes.push({ type: "pdq", value: randomPdq() });
    if (sample.length < 1000) sample.push(...hashes.slice(0, 10).map((h) => h.value));
    await store.createCase(
      {
        caseId: `c_${randomBytes(16).toString("base64url")}`,
        secretHash: "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        client: { name: "bench", version: "0" },
        hashes,
        now: Date.now(),
        newHashId: () => `h_${randomBytes(12).toString("base64url")}`,
      },
      { respond: () => ({ status: 201, body: null }) },
    );
  }
  const { key } = await createApiKey(store, "bench", ["lookup", "feed:read"]);
  await store.close();
  return { key, sample, seedMs: performance.now() - started };
}

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function startServe() {
  const started = performance.now();
  child = spawn(
    process.execPath,
    [path.join(root, "bin", "hashsafe.js"), "serve", "--port", "0", "--db", db, "--no-rate-limit", "--log-level", "warn", "--format", "json"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`hashsafe serve exited with ${code}`)));
  });
  return { url: JSON.parse(line).url, readyMs: performance.now() - started };
}

function run(title, opts) {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ connections: CONNECTIONS, duration: DURATION, ...opts }, (err, res) => (err ? reject(err) : resolve(res)));
    autocannon.track(instance, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false });
    process.stderr.write(`running: ${title} (${DURATION} s, ${CONNECTIONS} connections)\n`);
  });
}

const rows = [];
function record(title, res, pid) {
  rows.push({
    title,
    rps: res.requests.average,
    p50: res.latency.p50,
    p99: res.latency.p99,
    ok: res["2xx"],
    bad: res.non2xx + res.errors + res.timeouts,
    rss: rssMiB(pid),
  });
}

try {
  process.stderr.write(`seeding ${HASHES} hashes...\n`);
  const { key, sample, seedMs } = await seed();
  const { url, readyMs } = await startServe();
  const rssIdle = rssMiB(child.pid);

  const lookupBody = (n) => {
    const queries = [];
    for (let i = 0; i < n; i++) queries.push({ type: "pdq", value: flip(sample[Math.floor(Math.random() * sample.length)], 8) });
    return JSON.stringify({ queries, maxDistance: 31 });
  };
  const bodies1 = Array.from({ length: 500 }, () => lookupBody(1));
  const bodies100 = Array.from({ length: 50 }, () => lookupBody(100));
  const lookupReq = (bodies) => ({
    url,
    requests: [
      {
        method: "POST",
        path: "/v1/lookup",
        setupRequest: (req) => ({
          ...req,
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${key}`,
            "idempotency-key": randomUUID(),
          },
          body: bodies[Math.floor(Math.random() * bodies.length)],
        }),
      },
    ],
  });

  record("lookup, 1 query per request", await run("lookup x1", lookupReq(bodies1)), child.pid);
  record("lookup, 100 queries per request", await run("lookup x100", lookupReq(bodies100)), child.pid);
  record(
    "case creation (1 new hash, scrypt N=2^14)",
    await run("create", {
      url,
      requests: [
        {
          method: "POST",
          path: "/v1/cases",
          setupRequest: (req) => ({
            ...req,
            headers: { "content-type": "application/json", "idempotency-key": randomUUID() },
            body: JSON.stringify({ hashes: [{ type: "pdq", value: randomPdq() }], client: { name: "bench", version: "0" } }),
          }),
        },
      ],
    }),
    child.pid,
  );
  record(
    "feed, 1000 records per page",
    await run("feed", { url: `${url}/v1/feed?limit=1000`, headers: { authorization: `Bearer ${key}` } }),
    child.pid,
  );

  const f = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "n/a");
  const out = [];
  out.push(
    `hashsafe serve on loopback, SQLite file with ${HASHES.toLocaleString("en")} active PDQ hashes; ` +
      `autocannon, ${CONNECTIONS} connections, ${DURATION} s per row; Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}).`,
  );
  out.push("");
  out.push("| scenario | requests/s | p50 ms | p99 ms | 2xx | errors / non-2xx | server RSS MiB |");
  out.push("|---|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) out.push(`| ${r.title} | ${f(r.rps)} | ${f(r.p50)} | ${f(r.p99)} | ${r.ok} | ${r.bad} | ${f(r.rss)} |`);
  out.push("");
  out.push(
    `Seeding (through the store): ${f(seedMs / 1000, 1)} s. Server start to ready (index of ${HASHES.toLocaleString("en")} loaded): ${f(readyMs)} ms. ` +
      `Server RSS when ready, idle: ${f(rssIdle)} MiB.`,
  );
  console.log(out.join("\n"));
} finally {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}
