import { readFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { hashPixels, type PdqMode } from "../../src/pdq/index.ts";
import { readTsv } from "../helpers.ts";
import { REF } from "./shared.ts";

const vectors = readTsv(readFileSync(path.join(REF, "vectors", "expected.tsv"), "utf8"));
const dihedral = readTsv(readFileSync(path.join(REF, "dihedral.tsv"), "utf8"));

async function loadVector(name: string) {
  const { data, info } = await sharp(path.join(REF, "vectors", name)).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels as 3 };
}

function modeOf(vector: string): PdqMode {
  return vector.startsWith("squash512/") ? "squash512" : "full";
}

describe("PDQ core on the reference's bit-exact pixel vectors", () => {
  it("has all 73 vectors", () => {
    expect(vectors.length).toBe(73);
  });

  it.each(vectors.map((v) => [v.vector, v]))("%s: hash and quality equal the reference", async (_n, v) => {
    const px = await loadVector(v.vector);
    const r = hashPixels(px, { mode: modeOf(v.vector) });
    expect(r.hash).toBe(v.hash);
    expect(r.quality).toBe(Number(v.quality));
  });

  it.each(vectors.map((v) => [v.vector, v]))("%s: the exact 32-bit path gives the same hash and quality", async (_n, v) => {
    const px = await loadVector(v.vector);
    const r = hashPixels(px, { mode: modeOf(v.vector), exact: true });
    expect([r.hash, r.quality]).toEqual([v.hash, Number(v.quality)]);
  });

  it.each(vectors.map((v) => [v.vector, v]))("%s: the 8 dihedral hashes equal dihedral.tsv", async (_n, v) => {
    const mode = modeOf(v.vector);
    const file = path.basename(v.vector).replace(/\.png$/, "");
    const row = dihedral.find((d) => d.file === file && d.mode === mode);
    expect(row, `dihedral.tsv has ${file} ${mode}`).toBeDefined();
    const px = await loadVector(v.vector);
    const r = hashPixels(px, { mode, dihedral: true });
    expect(r.dihedral).toEqual({
      original: row!.original,
      rotate90: row!.rotate90,
      rotate180: row!.rotate180,
      rotate270: row!.rotate270,
      flipx: row!.flipx,
      flipy: row!.flipy,
      flipplus1: row!.flipplus1,
      flipminus1: row!.flipminus1,
    });
  });
});
