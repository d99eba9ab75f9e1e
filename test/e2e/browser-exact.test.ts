/**
 * Exactness in the browser: the intake page's own worker (dist/web/worker.js
 * as built), in Debian's Chromium, gives the same hash, quality and dihedral
 * hashes as `hashsafe hash` on the same files: the bundled conformance set,
 * the project's fixtures, and EXIF-rotated photos made here, in both modes,
 * with and without orientation.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server/index.ts";
import { BIN, CONFORMANCE, FIXTURES, hexDistance } from "../helpers.ts";
import { browser, buildPage, closeBrowser, serveFixtures, startWithPage } from "./browser-support.ts";
import { removeDir, tempDir } from "./e2e-support.ts";

interface Hashed {
  hash?: string;
  quality?: number;
  width?: number;
  height?: number;
  orientation?: number;
  dihedral?: Record<string, string>;
  error?: { code: string; message: string };
}

let dir: string;
let server: RunningServer;
let page: Page;
const files = new Map<string, Buffer>();
const paths = new Map<string, string>();

async function cli(args: string[], list: string[]): Promise<Map<string, Hashed>> {
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, "hash", "--format", "ndjson", "--dihedral", ...args, ...list], {
    maxBuffer: 64 * 1024 * 1024,
  }).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
  const out = new Map<string, Hashed>();
  for (const line of stdout.trim().split("\n")) {
    const r = JSON.parse(line) as Hashed & { path: string };
    out.set(path.basename(r.path), r);
  }
  return out;
}

async function inBrowser(names: string[], options: Record<string, unknown>): Promise<Map<string, Hashed>> {
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
    { names, options },
  );
  return new Map(Object.entries(results as Record<string, Hashed>));
}

beforeAll(async () => {
  dir = tempDir("hashsafe-bexact-");
  for (const f of readdirSync(path.join(CONFORMANCE, "images"))) paths.set(f, path.join(CONFORMANCE, "images", f));
  for (const f of readdirSync(path.join(FIXTURES, "images"))) paths.set(f, path.join(FIXTURES, "images", f));
  // Photos with EXIF orientation (every one of 2..8), made from a fixture.
  const base = await sharp(path.join(FIXTURES, "images", "harbour.jpg")).resize(320, 200).raw().toBuffer({ resolveWithObject: true });
  for (const o of [2, 3, 4, 5, 6, 7, 8]) {
    const p = path.join(dir, `oriented-${o}.jpg`);
    writeFileSync(p, await sharp(base.data, { raw: base.info }).jpeg({ quality: 90 }).withMetadata({ orientation: o }).toBuffer());
    paths.set(path.basename(p), p);
  }
  // PNG with transparency (alpha is dropped, never composited).
  const alpha = path.join(dir, "alpha.png");
  writeFileSync(alpha, await sharp(base.data, { raw: base.info }).ensureAlpha(0.6).png().toBuffer());
  paths.set("alpha.png", alpha);
  for (const [name, p] of paths) files.set(name, readFileSync(p));
  const built = await buildPage();
  server = await startWithPage(path.join(dir, "db.sqlite"), built.web);
  const b = await browser();
  page = await (await b.newContext()).newPage();
  await serveFixtures(page, server.url, files);
  await page.goto(server.url + "/");
}, 180_000);

afterAll(async () => {
  await closeBrowser();
  await server?.close();
  await removeDir(dir);
});

/** Compare, and list every difference (so a report can say which formats differ and by how many bits). */
function compare(node: Map<string, Hashed>, web: Map<string, Hashed>, names: string[]): string[] {
  const diffs: string[] = [];
  for (const name of names) {
    const a = node.get(name);
    const b = web.get(name);
    if (!a || !b) {
      diffs.push(`${name}: missing (${!a ? "cli" : "browser"})`);
      continue;
    }
    if (a.error || b.error) {
      if (a.error?.code !== b.error?.code) diffs.push(`${name}: cli ${a.error?.code ?? "ok"} browser ${b.error?.code ?? "ok"}`);
      continue;
    }
    if (a.hash !== b.hash) diffs.push(`${name}: hash ${hexDistance(a.hash!, b.hash!)} bits apart`);
    if (a.quality !== b.quality) diffs.push(`${name}: quality ${a.quality} vs ${b.quality}`);
    if (a.width !== b.width || a.height !== b.height) diffs.push(`${name}: size ${a.width}x${a.height} vs ${b.width}x${b.height}`);
    for (const [k, v] of Object.entries(a.dihedral ?? {})) if (b.dihedral?.[k] !== v) diffs.push(`${name}: dihedral ${k} differs`);
  }
  return diffs;
}

describe("the page's worker gives hashsafe hash's bits", () => {
  for (const mode of ["full", "squash512"] as const) {
    it(`conformance set and fixtures, mode ${mode}, orientation applied`, async () => {
      const names = [...paths.keys()];
      const node = await cli(["--mode", mode], [...paths.values()]);
      const web = await inBrowser(names, { mode, dihedral: true });
      const diffs = compare(node, web, names);
      expect(diffs, diffs.join("\n")).toEqual([]);
      // Every file hashed (none of these is bad input) and the EXIF ones really rotated.
      expect([...web.values()].filter((r) => r.error)).toEqual([]);
      expect(web.get("oriented-6.jpg")!.width).toBe(200);
      expect(web.get("oriented-6.jpg")!.orientation).toBe(6);
    }, 300_000);
  }

  it("EXIF-rotated photos with --no-orient (orient: false)", async () => {
    const names = [...paths.keys()].filter((n) => n.startsWith("oriented-"));
    const node = await cli(["--no-orient"], names.map((n) => paths.get(n)!));
    const web = await inBrowser(names, { orient: false, dihedral: true });
    const diffs = compare(node, web, names);
    expect(diffs, diffs.join("\n")).toEqual([]);
    expect(web.get("oriented-6.jpg")!.width).toBe(320);
  });

  it("the conformance set's expected hashes hold in the browser too", async () => {
    const rows = readFileSync(path.join(CONFORMANCE, "expected.tsv"), "utf8").trim().split("\n").slice(1).map((l) => l.split("\t"));
    const full = rows.filter((r) => r[1] === "full");
    const web = await inBrowser(full.map((r) => r[0]), { mode: "full" });
    const wrong = full.filter((r) => web.get(r[0])?.hash !== r[4] || web.get(r[0])?.quality !== Number(r[5])).map((r) => r[0]);
    expect(wrong).toEqual([]);
  }, 300_000);
});
