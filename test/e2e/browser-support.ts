/**
 * Support for the browser tests: Debian's Chromium driven by playwright-core
 * (nothing is downloaded), the intake page built into a temporary folder,
 * and a real `hashsafe` server on loopback over a SQLite file serving it.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { type RunningServer, startServer, type StartOptions } from "../../src/server/index.ts";
import { BIN, ROOT } from "../helpers.ts";

export const CHROMIUM = process.env.HASHSAFE_CHROMIUM ?? "/usr/bin/chromium";

/** Flags for a closed network: no background calls home, no QUIC, no GPU. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--metrics-recording-only",
  "--no-default-browser-check",
];

export interface LaunchedBrowser {
  context: BrowserContext;
  userDataDir: string;
  close(): Promise<void>;
}

/** A persistent context with a fresh profile folder (IndexedDB survives reloads; each call is a new device). */
export async function launch(options: { locale?: string; viewport?: { width: number; height: number } } = {}): Promise<LaunchedBrowser> {
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), "hashsafe-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    locale: options.locale ?? "es-419",
    viewport: options.viewport ?? { width: 1280, height: 900 },
    serviceWorkers: "block",
    acceptDownloads: true,
  });
  return {
    context,
    userDataDir,
    async close() {
      await context.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

let sharedBrowser: Browser | null = null;
/** One non-persistent browser per test file, for contexts that need no profile. */
export async function browser(): Promise<Browser> {
  sharedBrowser ??= await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  return sharedBrowser;
}
export async function closeBrowser(): Promise<void> {
  await sharedBrowser?.close();
  sharedBrowser = null;
}

/** Build the page (and, when asked, the library) into a fresh temporary folder. */
export async function buildPage(options: { config?: unknown; lib?: boolean } = {}): Promise<{ web: string; lib: string; dir: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "hashsafe-web-"));
  const web = path.join(dir, "web");
  const lib = path.join(dir, "browser");
  const args = [path.join(ROOT, "src/web/build.mjs"), "--out", web];
  if (options.lib) args.push("--lib-out", lib);
  if (options.config !== undefined) {
    mkdirSync(web, { recursive: true });
    const file = path.join(dir, "config.json");
    writeFileSync(file, JSON.stringify(options.config, null, 2));
    args.push("--config", file);
  }
  await promisify(execFile)(process.execPath, args, { cwd: ROOT });
  return { web, lib, dir };
}

/** A real server on loopback over a SQLite file, serving the page from `webRoot`. */
export function startWithPage(db: string, webRoot: string, options: StartOptions = {}): Promise<RunningServer> {
  return startServer({
    host: "127.0.0.1",
    port: 0,
    db,
    logLevel: "silent",
    scrypt: { N: 1024, r: 8, p: 1 },
    web: { root: webRoot },
    ...options,
  } as StartOptions);
}

export interface RecordedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
  resourceType: string;
}

/** Record every request the page (and its workers) makes, from the browser's side. */
export function recordRequests(context: BrowserContext): RecordedRequest[] {
  const list: RecordedRequest[] = [];
  context.on("request", (r) => {
    list.push({ url: r.url(), method: r.method(), headers: r.headers(), body: r.postData(), resourceType: r.resourceType() });
  });
  return list;
}

/** Wait until the page has rendered a screen (data-screen on <main>). */
export async function onScreen(page: Page, screen: string): Promise<void> {
  await page.waitForSelector(`main[data-screen="${screen}"]`, { timeout: 30_000 });
}

/** Serve files to the page under `${origin}/__fixtures/` without touching the server (request interception). */
export async function serveFixtures(page: Page, origin: string, files: Map<string, Buffer>): Promise<void> {
  await page.route(`${origin}/__fixtures/**`, (route) => {
    const name = decodeURIComponent(new URL(route.request().url()).pathname.slice("/__fixtures/".length));
    const body = files.get(name);
    if (!body) return route.fulfill({ status: 404, body: "" });
    return route.fulfill({ status: 200, body, headers: { "content-type": "application/octet-stream" } });
  });
}

/**
 * A small PNG encoder for the tests (node:zlib), so colour types and bit
 * depths sharp does not write (grey at 1, 2, 4 bits, tRNS colour keys) can be
 * checked against sharp's decoding. Each row uses filter `y % 5`, so all five
 * filters are exercised. `samples` holds one number per sample, at `bitDepth`.
 */
export function encodePng(o: {
  width: number;
  height: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  samples: ArrayLike<number>;
  palette?: Uint8Array;
  trns?: Uint8Array;
}): Buffer {
  const ch = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[o.colorType];
  const bits = ch * o.bitDepth;
  const rowBytes = Math.ceil((o.width * bits) / 8);
  const bpp = Math.max(1, bits >> 3);
  const rows: Buffer[] = [];
  let prev = Buffer.alloc(rowBytes);
  for (let y = 0; y < o.height; y++) {
    const row = Buffer.alloc(rowBytes);
    for (let x = 0; x < o.width; x++) {
      for (let c = 0; c < ch; c++) {
        const v = o.samples[(y * o.width + x) * ch + c];
        if (o.bitDepth === 16) row.writeUInt16BE(v, (x * ch + c) * 2);
        else if (o.bitDepth === 8) row[x * ch + c] = v;
        else {
          const bit = x * o.bitDepth;
          row[bit >> 3] |= v << (8 - o.bitDepth - (bit & 7));
        }
      }
    }
    const f = y % 5;
    const out = Buffer.alloc(rowBytes + 1);
    out[0] = f;
    for (let i = 0; i < rowBytes; i++) {
      const a = i >= bpp ? row[i - bpp] : 0;
      const b = y > 0 ? prev[i] : 0;
      const c = y > 0 && i >= bpp ? prev[i - bpp] : 0;
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[i + 1] = (row[i] - pred) & 255;
    }
    rows.push(out);
    prev = row;
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(o.width, 0);
  ihdr.writeUInt32BE(o.height, 4);
  ihdr[8] = o.bitDepth;
  ihdr[9] = o.colorType;
  const parts = [Buffer.from("\x89PNG\r\n\x1a\n", "latin1"), chunk("IHDR", ihdr)];
  if (o.palette) parts.push(chunk("PLTE", Buffer.from(o.palette)));
  if (o.trns) parts.push(chunk("tRNS", Buffer.from(o.trns)));
  const data = zlib.deflateSync(Buffer.concat(rows));
  // Two IDAT chunks, to check they are joined.
  const cut = data.length >> 1;
  parts.push(chunk("IDAT", data.subarray(0, cut)), chunk("IDAT", data.subarray(cut)), chunk("IEND", Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/**
 * `hashsafe hash --format ndjson --dihedral ARGS FILES`: the CLI's records by file name
 * (its exit status is not looked at: error records are records too).
 */
export async function cliHashes<T>(args: readonly string[], files: readonly string[]): Promise<Map<string, T>> {
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, "hash", "--format", "ndjson", "--dihedral", ...args, ...files], {
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, CI: "true" },
  }).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
  const out = new Map<string, T>();
  for (const line of stdout.trim().split("\n")) {
    const r = JSON.parse(line) as T & { path: string };
    out.set(path.basename(r.path), r);
  }
  return out;
}

/**
 * Hash the named files (served under /__fixtures/, see serveFixtures) in one fresh worker of
 * the page (`/worker.js`, as the page loads it): each name's result, or `{ error }`.
 */
export async function hashInWorker<T>(page: Page, names: readonly string[], options: Record<string, unknown>): Promise<Map<string, T>> {
  const results = await page.evaluate(
    async ({ names, options }) => {
      const worker = new Worker("/worker.js", { type: "module" });
      const out: Record<string, unknown> = {};
      let id = 0;
      for (const name of names) {
        const bytes = await (await fetch(`/__fixtures/${encodeURIComponent(name)}`)).arrayBuffer();
        const my = ++id;
        out[name] = await new Promise((resolve) => {
          worker.onmessage = (ev: MessageEvent) => {
            if (ev.data.id === my) resolve(ev.data.ok ? ev.data.result : { error: ev.data.error });
          };
          worker.postMessage({ id: my, bytes, options }, [bytes]);
        });
      }
      worker.terminate();
      return out;
    },
    { names: [...names], options },
  );
  return new Map(Object.entries(results as Record<string, T>));
}
