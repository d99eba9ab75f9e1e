/**
 * HEIC in the browser: the intake page's own worker (as src/web/build.mjs
 * builds it), in Debian's Chromium, served by a real `hashsafe` server with
 * the page's Content-Security-Policy, gives the same hash, quality, size and
 * dihedral hashes as `hashsafe hash` on the fixtures/heic photos (one
 * decoder, libheif-js, on both sides), and the same error codes for damaged
 * files. The HEIC decoder is a chunk of its own, fetched from the page's
 * origin only when the first HEIC is hashed.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server/index.ts";
import { FIXTURES, hexDistance } from "../helpers.ts";
import { browser, buildPage, cliHashes, closeBrowser, hashInWorker, type RecordedRequest, recordRequests, serveFixtures, startWithPage } from "./browser-support.ts";
import { ensureBuilt, removeDir, tempDir } from "./e2e-support.ts";

interface Hashed {
  hash?: string;
  quality?: number;
  width?: number;
  height?: number;
  orientation?: number;
  dihedral?: Record<string, string>;
  error?: { code: string; message: string };
}

const HEIC = path.join(FIXTURES, "heic");
let dir: string;
let web: string;
let server: RunningServer;
let context: BrowserContext;
let page: Page;
let requests: RecordedRequest[];
const consoleErrors: string[] = [];
const files = new Map<string, Buffer>();

const cli = (args: string[], names: string[]) => cliHashes<Hashed>(args, names.map((n) => path.join(dir, n)));

/** Hash the named fixtures in one fresh worker of the page (`/worker.js`, as the page loads it). */
const inBrowser = (names: string[], options: Record<string, unknown>) => hashInWorker<Hashed>(page, names, options);

function compare(node: Map<string, Hashed>, browser: Map<string, Hashed>, names: string[]): string[] {
  const diffs: string[] = [];
  for (const name of names) {
    const a = node.get(name);
    const b = browser.get(name);
    if (!a || !b) {
      diffs.push(`${name}: missing (${!a ? "cli" : "browser"})`);
      continue;
    }
    if (a.error || b.error) {
      if (a.error?.code !== b.error?.code) diffs.push(`${name}: cli ${a.error?.code ?? "ok"} browser ${b.error?.code ?? "ok"} (${b.error?.message ?? ""})`);
      continue;
    }
    if (a.hash !== b.hash) diffs.push(`${name}: hash ${hexDistance(a.hash!, b.hash!)} bits apart`);
    if (a.quality !== b.quality) diffs.push(`${name}: quality ${a.quality} vs ${b.quality}`);
    if (a.width !== b.width || a.height !== b.height) diffs.push(`${name}: size ${a.width}x${a.height} vs ${b.width}x${b.height}`);
    if (a.orientation !== b.orientation) diffs.push(`${name}: orientation ${a.orientation} vs ${b.orientation}`);
    const dihedral = Object.entries(a.dihedral ?? {});
    if (dihedral.length !== 8) diffs.push(`${name}: cli gave ${dihedral.length} dihedral hashes`);
    for (const [k, v] of dihedral) if (b.dihedral?.[k] !== v) diffs.push(`${name}: dihedral ${k} differs`);
  }
  return diffs;
}

const heicChunks = () => requests.filter((r) => /\/heic-[A-Z0-9]+\.js$/.test(new URL(r.url).pathname));

beforeAll(async () => {
  await ensureBuilt();
  dir = tempDir("hashsafe-bheic-");
  for (const f of readdirSync(HEIC).filter((f) => /\.(heic|png)$/.test(f))) files.set(f, readFileSync(path.join(HEIC, f)));
  const harbour = files.get("harbour-160x120.heic")!;
  files.set("cut.heic", harbour.subarray(0, Math.floor(harbour.length * 0.6)));
  files.set("junk.heic", Buffer.concat([harbour.subarray(0, harbour.readUInt32BE(0)), Buffer.alloc(500, 0x5a)]));
  for (const [name, bytes] of files) writeFileSync(path.join(dir, name), bytes);
  const built = await buildPage();
  web = built.web;
  server = await startWithPage(path.join(dir, "db.sqlite"), web);
  const b = await browser();
  context = await b.newContext();
  requests = recordRequests(context);
  page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  await serveFixtures(page, server.url, files);
  await page.goto(server.url + "/");
}, 180_000);

afterAll(async () => {
  await closeBrowser();
  await server?.close();
  await removeDir(dir);
});

describe("HEIC in the page's worker", () => {
  it("the decoder is a chunk of its own beside the worker, not in app.js or worker.js", () => {
    const names = readdirSync(web);
    const chunk = names.filter((n) => /^heic-[A-Z0-9]+\.js$/.test(n));
    expect(chunk).toHaveLength(1);
    for (const f of ["app.js", "worker.js"]) {
      const text = readFileSync(path.join(web, f), "utf8");
      expect(text, f).not.toContain("heif_context_alloc");
      expect(Buffer.byteLength(text), f).toBeLessThan(1024 * 1024);
    }
    expect(readFileSync(path.join(web, chunk[0]), "utf8")).toContain("heif_context_alloc");
    console.log(`bundle sizes: ${["app.js", "worker.js", ...names.filter((n) => /^(heic|chunk)-/.test(n))].map((n) => `${n} ${readFileSync(path.join(web, n)).length} B`).join(", ")}`);
  });

  it("a PNG loads no HEIC decoder; the first HEIC fetches it once, from the page's origin", async () => {
    await inBrowser(["harbour-160x120.png"], {});
    expect(heicChunks()).toEqual([]);
    const r = await inBrowser(["harbour-160x120.heic", "meadow-161x91.heic"], {});
    expect(r.get("harbour-160x120.heic")!.error).toBeUndefined();
    const fetched = heicChunks();
    expect(fetched).toHaveLength(1);
    expect(new URL(fetched[0].url).origin).toBe(server.url);
    const others = requests.filter((q) => !q.url.startsWith(server.url + "/") && !q.url.startsWith("data:") && !q.url.startsWith("blob:"));
    expect(others.map((q) => q.url)).toEqual([]);
    // The page's CSP (script-src 'self' 'wasm-unsafe-eval') let libheif's WebAssembly compile.
    expect(consoleErrors.filter((e) => /Content Security Policy|WebAssembly/i.test(e))).toEqual([]);
  });

  for (const mode of ["full", "squash512"] as const) {
    it(`same hash, quality, size and dihedral hashes as hashsafe hash, mode ${mode}; same error codes`, async () => {
      const names = [...files.keys()];
      const node = await cli(["--mode", mode], names);
      const web = await inBrowser(names, { mode, dihedral: true });
      const diffs = compare(node, web, names);
      expect(diffs, diffs.join("\n")).toEqual([]);
      for (const n of names.filter((n) => n.endsWith(".heic") && !/^(cut|junk)/.test(n))) expect(web.get(n)!.hash, n).toMatch(/^[0-9a-f]{64}$/);
      expect(web.get("tower-upright-120x160.heic")).toMatchObject({ width: 120, height: 160 });
      expect(web.get("cut.heic")!.error?.code).toBe("TRUNCATED");
      expect(web.get("junk.heic")!.error?.code).toBe("CORRUPT");
    }, 300_000);
  }

  it("the pixel limit is checked from the container, as in the CLI", async () => {
    const r = await inBrowser(["harbour-160x120.heic"], { maxPixels: 10_000 });
    expect(r.get("harbour-160x120.heic")!.error).toMatchObject({ code: "TOO_LARGE" });
    expect(r.get("harbour-160x120.heic")!.error!.message).toMatch(/^too large: 160x120 is over the/);
  });
});
