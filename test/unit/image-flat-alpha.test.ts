/**
 * The file-level rule for flat pictures, and transparency at decoding:
 * hashFile / hashImage / hashFiles refuse a picture with nothing to recognise
 * (code FLAT) while hashPixels still gives the reference's values for it
 * (quality 0); `transparent` means some pixel has alpha under 255 (an alpha
 * channel that is all 255 is not transparency); `alpha: "drop"` keeps the
 * stored colours exactly as removing the alpha channel does; white / black
 * flatten like sharp's flatten.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp, { type OutputInfo } from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/node.ts";
import { type FileHashOutcome, hashFile, hashFiles, hashImage } from "../../src/image/hash.ts";
import { hashPixels } from "../../src/pdq/index.ts";
import { conformanceImage, FIXTURES, hexDistance, readTsv } from "../helpers.ts";

let dir: string;
const file = (n: string) => path.join(dir, n);
let tower: { data: Buffer; info: OutputInfo };

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "hs-flat-alpha-"));
  await sharp({ create: { width: 64, height: 64, channels: 3, background: "#000000" } }).png().toFile(file("black.png"));
  await sharp({ create: { width: 80, height: 60, channels: 3, background: "#808080" } }).jpeg().toFile(file("grey.jpg"));
  await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toFile(file("clear.png"));
  tower = await sharp(path.join(FIXTURES, "images", "tower.png")).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const { info } = tower;
  // an alpha channel that is all 255: not transparent
  await sharp(tower.data, { raw: info }).png().toFile(file("opaque-rgba.png"));
  // one pixel at alpha 254: transparent
  const one = Buffer.from(tower.data);
  one[3 + 4 * 1234] = 254;
  await sharp(one, { raw: info }).png().toFile(file("one-pixel.png"));
  // left half fully transparent (its colours kept), right half at alpha 128
  const half = Buffer.from(tower.data);
  for (let y = 0; y < info.height; y++) for (let x = 0; x < info.width; x++) half[(y * info.width + x) * 4 + 3] = x < info.width / 2 ? 0 : 128;
  await sharp(half, { raw: info }).png().toFile(file("half.png"));
  await sharp(half, { raw: info }).toColourspace("rgb16").png().toFile(file("half16.png"));
  // grey + alpha
  await sharp(half, { raw: info }).toColourspace("b-w").png().toFile(file("half-grey.png"));
  await sharp(file("half.png")).flatten({ background: "#ffffff" }).png().toFile(file("half-on-white.png"));
  await sharp(file("half.png")).flatten({ background: "#000000" }).png().toFile(file("half-on-black.png"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("flat pictures at file level", () => {
  it("hashFile, hashImage and hashFiles refuse flat black, flat grey and fully transparent pictures with FLAT", async () => {
    for (const n of ["black.png", "grey.jpg", "clear.png"]) {
      await expect(hashFile(file(n)), n).rejects.toMatchObject({ code: "FLAT", message: expect.stringMatching(/single colour/) });
      await expect(hashImage(readFileSync(file(n))), n).rejects.toMatchObject({ code: "FLAT" });
    }
    const got: FileHashOutcome[] = [];
    await hashFiles([file("black.png"), path.join(FIXTURES, "images", "harbour.jpg"), file("clear.png")], { jobs: 2 }, (o, i) => (got[i] = o));
    expect(got.map((o) => (o.result ? "hash" : (o.error as { code: string }).code))).toEqual(["FLAT", "hash", "FLAT"]);
    // with alpha white, the fully transparent picture is flat white: still FLAT
    await expect(hashFile(file("clear.png"), { alpha: "white" })).rejects.toMatchObject({ code: "FLAT" });
  });

  it("hashPixels still gives the reference's values for the same pixels (quality 0 included)", async () => {
    const img = await decodeImage(file("black.png"));
    const r = hashPixels(img);
    expect(r.quality).toBe(0);
    expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    // and the conformance set's two flat pictures, exactly as expected.tsv has them
    const rows = readTsv(readFileSync(path.join(FIXTURES, "conformance", "expected.tsv"), "utf8"));
    for (const name of ["c051-flat-gray-200x200.png", "c052-flat-black-64x64.png"]) {
      const want = rows.find((x) => x.file === name && x.mode === "full")!;
      expect(want, name).toBeDefined();
      const px = await decodeImage(conformanceImage(name), { orient: false });
      const got = hashPixels(px);
      expect(got.hash, name).toBe(want.hash);
      expect(got.quality, name).toBe(Number(want.quality));
      expect(got.quality, name).toBe(0);
      await expect(hashFile(conformanceImage(name))).rejects.toMatchObject({ code: "FLAT" });
    }
  });
});

describe("transparency at decoding", () => {
  it("is any pixel under 255, not just an alpha channel", async () => {
    expect((await decodeImage(path.join(FIXTURES, "images", "harbour.jpg"))).transparent ?? false).toBe(false);
    expect((await decodeImage(file("opaque-rgba.png"))).transparent).toBe(false);
    expect((await decodeImage(file("one-pixel.png"))).transparent).toBe(true);
    expect((await decodeImage(file("half.png"))).transparent).toBe(true);
    expect((await hashFile(file("opaque-rgba.png"))).transparent).toBe(false);
    expect((await hashFile(file("half.png"))).transparent).toBe(true);
  });

  it("drop keeps the stored colours exactly as removing the alpha channel does (8 and 16 bits, grey + alpha)", async () => {
    for (const n of ["half.png", "half16.png", "half-grey.png", "one-pixel.png"]) {
      const ours = await decodeImage(file(n), { alpha: "drop" });
      const plain = await sharp(file(n)).removeAlpha().toColourspace("srgb").raw({ depth: "uchar" }).toBuffer();
      expect(Buffer.compare(Buffer.from(ours.data), plain), n).toBe(0);
      expect(Buffer.compare(Buffer.from((await decodeImage(file(n))).data), Buffer.from(ours.data)), `${n}: drop is the default`).toBe(0);
    }
  });

  it("white and black hash like the picture flattened onto that background by sharp and saved as PNG", async () => {
    const white = await hashFile(file("half.png"), { alpha: "white" });
    const black = await hashFile(file("half.png"), { alpha: "black" });
    const drop = await hashFile(file("half.png"));
    expect(hexDistance(white.hash, (await hashFile(file("half-on-white.png"))).hash)).toBe(0);
    expect(hexDistance(black.hash, (await hashFile(file("half-on-black.png"))).hash)).toBe(0);
    const d = { dropWhite: hexDistance(drop.hash, white.hash), dropBlack: hexDistance(drop.hash, black.hash) };
    console.log(`half-transparent tower.png: distance drop-white ${d.dropWhite}, drop-black ${d.dropBlack}, white-black ${hexDistance(white.hash, black.hash)} (of 256)`);
    expect(d.dropWhite).toBeGreaterThan(0);
    // an opaque picture is the same whatever --alpha says
    const opaque = await Promise.all((["drop", "white", "black"] as const).map(async (alpha) => (await hashFile(file("opaque-rgba.png"), { alpha })).hash));
    expect(new Set(opaque).size).toBe(1);
  });
});
