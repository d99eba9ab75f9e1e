// The library API as an NGO tool would use it.
import { readFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { HashError, hammingDistance, hashFile, hashFiles, hashImage, hashPixels, selfTest, verifyHashes } from "../../src/index.ts";
import { CONFORMANCE, conformanceImage, FIXTURES, ROOT, readTsv } from "../helpers.ts";

const expected = readTsv(readFileSync(path.join(CONFORMANCE, "expected.tsv"), "utf8"));

describe("library API", () => {
  it("hashFile, hashImage and hashPixels agree and match the reference", async () => {
    const name = expected.find((r) => r.file.endsWith(".jpg") && r.file.includes("444"))?.file ?? expected.find((r) => r.file.endsWith(".jpg"))!.file;
    const file = conformanceImage(name);
    const want = expected.find((r) => r.file === name && r.mode === "full")!;
    const a = await hashFile(file, { orient: false });
    const b = await hashImage(readFileSync(file), { orient: false });
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    const c = hashPixels({ data, width: info.width, height: info.height, channels: info.channels as 3 });
    expect(a.hash).toBe(want.hash);
    expect(b.hash).toBe(want.hash);
    expect(c.hash).toBe(want.hash);
    expect(a).toMatchObject({ quality: Number(want.quality), width: info.width, height: info.height, mode: "full" });
  });

  it("RGBA and grey pixel arrays hash like their RGB expansion (alpha ignored, never composited)", async () => {
    const { data, info } = await sharp(path.join(FIXTURES, "images", "tower.png")).raw().toBuffer({ resolveWithObject: true });
    const n = info.width * info.height;
    const rgba = new Uint8ClampedArray(n * 4);
    const grey = new Uint8Array(n);
    const greyRgb = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      rgba.set([data[i * 3], data[i * 3 + 1], data[i * 3 + 2], i % 7 === 0 ? 0 : 255], i * 4);
      grey[i] = data[i * 3 + 1];
      greyRgb.fill(data[i * 3 + 1], i * 3, i * 3 + 3);
    }
    const size = { width: info.width, height: info.height };
    expect(hashPixels({ data: rgba, ...size, channels: 4 }).hash).toBe(hashPixels({ data, ...size, channels: 3 }).hash);
    expect(hashPixels({ data: grey, ...size, channels: 1 }).hash).toBe(hashPixels({ data: greyRgb, ...size, channels: 3 }).hash);
  });

  it("hashFiles hashes many files, each like hashFile, and reports failures without stopping", async () => {
    const names = ["harbour.jpg", "tower.png", "meadow.webp", "square.gif", "harbour-small.jpg"];
    const paths = [...names.map((n) => path.join(FIXTURES, "images", n)), path.join(FIXTURES, "bad", "damaged.jpg")];
    const got: Record<number, string> = {};
    await hashFiles(paths, { jobs: 2 }, (o, i) => {
      got[i] = o.result ? o.result.hash : `error ${(o.error as HashError).code}`;
    });
    for (let i = 0; i < names.length; i++) expect(got[i]).toBe((await hashFile(paths[i])).hash);
    expect(got[5]).toBe("error TRUNCATED");
  });

  it("throws typed errors with a code", async () => {
    await expect(hashImage(Buffer.from("hello, not a picture"))).rejects.toMatchObject({ code: "NOT_AN_IMAGE" });
    await expect(hashFile(path.join(FIXTURES, "bad", "damaged.jpg"))).rejects.toBeInstanceOf(HashError);
    expect(() => hashPixels({ data: new Uint8Array(12), width: 2, height: 2, channels: 3 })).toThrow(/too small to hash/);
    expect(() => hashPixels({ data: new Uint8Array(10), width: 8, height: 8, channels: 3 })).toThrow(/pixel buffer too short/);
  });

  it("hammingDistance counts differing bits", () => {
    const a = "f".repeat(64);
    expect(hammingDistance(a, a)).toBe(0);
    expect(hammingDistance(a, "0".repeat(64))).toBe(256);
    expect(hammingDistance(a, "e" + "f".repeat(63))).toBe(1);
  });

  it("selfTest and verifyHashes come from the main entry: this installation is exact, and a wrong hash is caught", async () => {
    const report = await selfTest();
    expect(report).toMatchObject({ ok: true, images: 62, exact: { full: 62, squash512: 62 }, mismatches: [] });
    const good = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    const flipped = (parseInt(good[0], 16) ^ 8).toString(16) + good.slice(1);
    const { summary } = verifyHashes(
      [{ file: "a.jpg", keys: ["a.jpg"], hash: good }, { file: "b.jpg", keys: ["b.jpg"], hash: good }],
      [{ key: "a.jpg", hash: good, line: 1 }, { key: "b.jpg", hash: flipped, line: 2 }],
      0,
    );
    expect(summary).toMatchObject({ pass: false, total: 2, exact: 1, over: 1 });
  });

  it("hashsafe/pdq is built without sharp or any Node API (for browsers and workers)", async () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:import|export)[^"']*?from\s*["']([^"']+)["']|import\(["']([^"']+)["']\)/g)) {
        const spec = m[1] ?? m[2];
        expect(spec, `${path.basename(file)} imports ${spec}`).toMatch(/^\.\.?\//);
        visit(path.resolve(path.dirname(file), spec));
      }
      expect(text).not.toMatch(/\brequire\(|process\.|Buffer\./);
    };
    visit(path.join(ROOT, "dist", "pdq", "index.js"));
    const pdq = await import(path.join(ROOT, "dist", "pdq", "index.js"));
    const px = new Uint8Array(32 * 32 * 3).map((_, i) => (i * 37) % 256);
    expect(pdq.hashPixels({ data: px, width: 32, height: 32, channels: 3 }).hash).toMatch(/^[0-9a-f]{64}$/);
  });
});
