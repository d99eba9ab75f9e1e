/**
 * Exactness in the browser: the intake page's own worker (dist/web/worker.js
 * as built), in Debian's Chromium, gives the same hash, quality and dihedral
 * hashes as `hashsafe hash` on the same files: the bundled conformance set,
 * the project's fixtures, and EXIF-rotated photos made here, in both modes,
 * with and without orientation.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server/index.ts";
import { CONFORMANCE, FIXTURES, hexDistance, ROOT } from "../helpers.ts";
import { browser, buildPage, cliHashes, closeBrowser, encodePng, hashInWorker, serveFixtures, startWithPage } from "./browser-support.ts";
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

const cli = (args: string[], list: string[]) => cliHashes<Hashed>(args, list);

const inBrowser = (names: string[], options: Record<string, unknown>) => hashInWorker<Hashed>(page, names, options);

/**
 * PNGs of every colour type and bit depth, with and without transparency,
 * interlaced or not: made from a photo (so PDQ has something to see) by the
 * test's own encoder (browser-support.ts) and by sharp.
 */
async function pngVariants(rgb: Buffer, width: number, height: number): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const n = width * height;
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) & 0xffff;
  const luma = Array.from({ length: n }, (_, i) => Math.round(0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2]));
  for (const depth of [1, 2, 4] as const) {
    const max = (1 << depth) - 1;
    const samples = luma.map((v) => Math.min(max, Math.floor(((v + (rand() % 64) - 32) * (max + 1)) / 256)));
    out.set(`png-grey${depth}.png`, encodePng({ width, height, colorType: 0, bitDepth: depth, samples: samples.map((v) => Math.max(0, v)) }));
  }
  out.set("png-grey8-trns.png", encodePng({ width, height, colorType: 0, bitDepth: 8, samples: luma, trns: Uint8Array.of(0, luma[500]) }));
  const grey16 = luma.map((v) => v * 256 + (rand() & 255));
  out.set("png-grey16-trns.png", encodePng({ width, height, colorType: 0, bitDepth: 16, samples: grey16, trns: Uint8Array.of(grey16[9] >> 8, grey16[9] & 255) }));
  const ga = (depth: 8 | 16) => luma.flatMap((v, i) => (depth === 8 ? [v, i % 256] : [v * 256 + (rand() & 255), (i % 256) * 256 + (rand() & 255)]));
  out.set("png-greyalpha8.png", encodePng({ width, height, colorType: 4, bitDepth: 8, samples: ga(8) }));
  out.set("png-greyalpha16.png", encodePng({ width, height, colorType: 4, bitDepth: 16, samples: ga(16) }));
  const k = 3 * 777;
  out.set("png-rgb8-trns.png", encodePng({ width, height, colorType: 2, bitDepth: 8, samples: rgb, trns: Uint8Array.of(0, rgb[k], 0, rgb[k + 1], 0, rgb[k + 2]) }));
  const rgb16 = Array.from(rgb, (v) => v * 256 + (rand() & 255));
  out.set("png-rgb16.png", encodePng({ width, height, colorType: 2, bitDepth: 16, samples: rgb16 }));
  const rgba = (depth: 8 | 16) =>
    Array.from({ length: n }, (_, i) => {
      const a = i % 7 === 0 ? 0 : rand() & 255; // alpha 0 keeps its colour in the file
      const px = [rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], a];
      return depth === 8 ? px : px.map((v) => v * 256 + (rand() & 255));
    }).flat();
  out.set("png-rgba8.png", encodePng({ width, height, colorType: 6, bitDepth: 8, samples: rgba(8) }));
  out.set("png-rgba16.png", encodePng({ width, height, colorType: 6, bitDepth: 16, samples: rgba(16) }));
  for (const depth of [1, 2, 4, 8] as const) {
    const colours = 1 << depth;
    const palette = new Uint8Array(colours * 3);
    for (let c = 0; c < colours; c++) palette.set([(c * 255) / (colours - 1), (c * 97) % 256, 255 - (c * 255) / (colours - 1)], c * 3);
    const samples = luma.map((v) => Math.min(colours - 1, Math.max(0, Math.floor(((v + (rand() % 32) - 16) * colours) / 256))));
    const trns = Uint8Array.from({ length: Math.max(1, colours >> 1) }, (_, c) => (c * 80) % 256);
    out.set(`png-palette${depth}-trns.png`, encodePng({ width, height, colorType: 3, bitDepth: depth, samples, palette, trns }));
  }
  const img = () => sharp(rgb, { raw: { width, height, channels: 3 } });
  out.set("png-interlaced-rgb.png", await img().png({ progressive: true }).toBuffer());
  out.set("png-interlaced-rgba.png", await img().ensureAlpha(0.3).png({ progressive: true }).toBuffer());
  out.set("png-interlaced-palette.png", await img().png({ progressive: true, palette: true, colours: 16 }).toBuffer());
  out.set("png-sharp-palette-alpha.png", await img().ensureAlpha(0.5).png({ palette: true }).toBuffer());
  out.set("png-sharp-16bit.png", await img().toColourspace("rgb16").png().toBuffer());
  return out;
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
  for (const [name, bytes] of await pngVariants(base.data, base.info.width, base.info.height)) {
    const p = path.join(dir, name);
    writeFileSync(p, bytes);
    paths.set(name, p);
  }
  for (const [name, p] of paths) files.set(name, readFileSync(p));
  const built = await buildPage({ lib: true });
  server = await startWithPage(path.join(dir, "db.sqlite"), built.web);
  const b = await browser();
  page = await (await b.newContext()).newPage();
  await serveFixtures(page, server.url, files);
  // The library bundle (dist/browser as built), for decodeInBrowser itself.
  await page.route(`${server.url}/__lib/**`, (route) =>
    route.fulfill({ status: 200, body: readFileSync(path.join(built.lib, path.basename(new URL(route.request().url()).pathname))), contentType: "text/javascript" }),
  );
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
      // Every file hashed (none of these is bad input) but the flat ones (quality 0 or an all-zero
      // hash), refused as FLAT exactly where the CLI refuses them (compare checks the codes); the EXIF ones really rotated.
      expect([...web.values()].filter((r) => r.error && r.error.code !== "FLAT")).toEqual([]);
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
    // The reference's flat results (quality 0 or an all-zero hash) are refused as FLAT, as by the CLI; the others hold bit for bit.
    const flat = (r: string[]) => Number(r[5]) === 0 || /^0+$/.test(r[4]);
    const wrong = full
      .filter((r) => (flat(r) ? web.get(r[0])?.error?.code !== "FLAT" : web.get(r[0])?.hash !== r[4] || web.get(r[0])?.quality !== Number(r[5])))
      .map((r) => r[0]);
    expect(wrong).toEqual([]);
    expect(full.filter(flat).length).toBeGreaterThan(0);
  }, 300_000);

  it("decoded pixels equal sharp's byte for byte: every PNG, and the fixtures in each format", async () => {
    const names = [...paths.keys()].filter((n) => !n.startsWith("oriented-"));
    // sharp's pixels (the CLI's decode: alpha dropped, no ICC), served to the page for the comparison.
    const raw = new Map<string, Buffer>();
    const sizes: Record<string, [number, number]> = {};
    for (const name of names) {
      const { data, info } = await sharp(paths.get(name)!, { ignoreIcc: true, pages: 1, page: 0 }).removeAlpha().toColourspace("srgb").raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
      raw.set(name, data);
      sizes[name] = [info.width, info.height];
    }
    await page.route(`${server.url}/__raw/**`, (route) =>
      route.fulfill({ status: 200, body: raw.get(decodeURIComponent(new URL(route.request().url()).pathname.slice(7)))! }),
    );
    // A string, so vitest's transform leaves the dynamic import alone.
    await page.evaluate("import('/__lib/index.js').then((m) => { globalThis.__hashsafe = m; })");
    const report = (await page.evaluate(
      async ({ names, sizes }) => {
        type Lib = { decodeInBrowser(b: Uint8Array): Promise<{ data: Uint8ClampedArray; width: number; height: number }> };
        const lib = (globalThis as unknown as { __hashsafe: Lib }).__hashsafe;
        const out: Record<string, string> = {};
        for (const name of names) {
          const bytes = new Uint8Array(await (await fetch(`/__fixtures/${encodeURIComponent(name)}`)).arrayBuffer());
          try {
            const img = await lib.decodeInBrowser(bytes);
            const [w, h] = sizes[name];
            if (img.width !== w || img.height !== h) {
              out[name] = `size ${w}x${h} vs ${img.width}x${img.height}`;
              continue;
            }
            const want = new Uint8Array(await (await fetch(`/__raw/${encodeURIComponent(name)}`)).arrayBuffer());
            let differ = 0;
            let most = 0;
            for (let i = 0, j = 0; i < want.length; i += 3, j += 4) {
              for (let c = 0; c < 3; c++) {
                const d = Math.abs(want[i + c] - img.data[j + c]);
                if (d) differ++;
                if (d > most) most = d;
              }
            }
            out[name] = differ ? `${differ} of ${want.length} samples differ, by up to ${most}` : "exact";
          } catch (e) {
            out[name] = String(e);
          }
        }
        return out;
      },
      { names, sizes },
    )) as Record<string, string>;
    mkdirSync(path.join(ROOT, "test-output"), { recursive: true });
    writeFileSync(path.join(ROOT, "test-output", "browser-pixels.json"), JSON.stringify(report, null, 2));
    const pngs = names.filter((n) => n.endsWith(".png"));
    expect(pngs.length).toBeGreaterThan(20);
    expect(Object.fromEntries(pngs.map((n) => [n, report[n]]))).toEqual(Object.fromEntries(pngs.map((n) => [n, "exact"])));
  }, 120_000);
});
