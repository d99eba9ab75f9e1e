/**
 * HEIC photos (what iPhones save) through `hashsafe hash`, the real binary:
 * each fixture in fixtures/heic gives a PDQ record, near the hash of the
 * lossless PNG it was encoded from (HEVC is lossy), upright when the file
 * says so with `irot`; damaged and over-limit files give clear error records.
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, FIXTURES, hexDistance } from "../helpers.ts";
import { ensureBuilt, removeDir, tempDir } from "./e2e-support.ts";

const HEIC = path.join(FIXTURES, "heic");
/**
 * Largest PDQ distance allowed between a HEIC and its PNG source. Measured
 * with libheif-js 1.23.2 on these files (heif-enc -q 50): 8, 2 and 4 bits;
 * the bound is twice the largest, and half of 31, the usual match threshold.
 */
const MAX_DISTANCE = 16;
const PHOTOS = [
  { name: "harbour-160x120", width: 160, height: 120 },
  { name: "meadow-161x91", width: 161, height: 91 },
  // stored 160x120 on its side; irot (and EXIF orientation 6) say a quarter turn clockwise
  { name: "tower-upright-120x160", width: 120, height: 160 },
];

interface Rec {
  path: string;
  hash?: string;
  quality?: number;
  width?: number;
  height?: number;
  mode?: string;
  orientation?: number;
  transparent?: boolean;
  error?: { code: string; message: string };
}

function hash(args: string[]): Promise<{ code: number; recs: Rec[]; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, "hash", "--format", "ndjson", ...args], { env: { ...process.env, CI: "true" }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const recs = stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Rec);
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, recs, stderr });
    });
  });
}

let dir: string;
beforeAll(async () => {
  await ensureBuilt();
  dir = tempDir("hashsafe-heic-");
}, 120_000);
afterAll(() => removeDir(dir));

describe("hashsafe hash on HEIC photos", () => {
  it(`each fixture gives a PDQ record within ${MAX_DISTANCE} bits of its lossless PNG source`, async () => {
    const files = PHOTOS.flatMap((p) => [path.join(HEIC, `${p.name}.heic`), path.join(HEIC, `${p.name}.png`)]);
    const r = await hash(["--dihedral", ...files]);
    expect(r.code, r.stderr).toBe(0);
    const by = new Map(r.recs.map((x) => [path.basename(x.path), x]));
    const report: string[] = [];
    for (const p of PHOTOS) {
      const heic = by.get(`${p.name}.heic`)!;
      const png = by.get(`${p.name}.png`)!;
      expect(heic.error, JSON.stringify(heic.error)).toBeUndefined();
      expect(heic.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(heic.mode).toBe("full");
      expect(heic.quality).toBeGreaterThanOrEqual(50);
      expect([heic.width, heic.height]).toEqual([p.width, p.height]);
      expect(heic.orientation).toBe(1);
      const d = hexDistance(heic.hash!, png.hash!);
      report.push(`${p.name}: ${d} bits (quality ${heic.quality} vs PNG ${png.quality})`);
      expect(d, `${p.name}.heic is ${d} bits from its PNG`).toBeLessThanOrEqual(MAX_DISTANCE);
    }
    console.log(`PDQ distance HEIC to PNG source (bound ${MAX_DISTANCE}):\n  ${report.join("\n  ")}`);
  });

  it("the irot rotation is applied once: the upright photo is far from its own stored (sideways) order", async () => {
    const r = await hash(["--dihedral", path.join(HEIC, "tower-upright-120x160.heic"), path.join(HEIC, "tower-upright-120x160.png")]);
    expect(r.code, r.stderr).toBe(0);
    const [heic, png] = r.recs as [Rec & { dihedral: Record<string, string> }, Rec & { dihedral: Record<string, string> }];
    // Not rotated (the stored order) would be near the PNG's rotate270; rotated twice (irot and EXIF 6), near its rotate180.
    expect(hexDistance(heic.hash!, png.hash!)).toBeLessThanOrEqual(MAX_DISTANCE);
    expect(hexDistance(heic.hash!, png.dihedral.rotate270)).toBeGreaterThan(64);
    expect(hexDistance(heic.hash!, png.dihedral.rotate180)).toBeGreaterThan(64);
    // The container's transforms are part of the picture: --no-orient (EXIF) leaves them applied.
    const raw = await hash(["--no-orient", path.join(HEIC, "tower-upright-120x160.heic")]);
    expect(raw.recs[0].hash).toBe(heic.hash);
    expect([raw.recs[0].width, raw.recs[0].height]).toEqual([120, 160]);
  });

  it("a HEIC with an alpha plane: transparent, said so, and hashed as its PNG source in each --alpha mode", async () => {
    // the harbour photo with its left half at alpha 0 (the stored colours kept under it)
    const heicFile = path.join(HEIC, "harbour-half-transparent-160x120.heic");
    const pngFile = path.join(HEIC, "harbour-half-transparent-160x120.png");
    const opaque = await hash([path.join(HEIC, "harbour-160x120.heic")]);
    expect(opaque.recs[0].transparent).toBeUndefined();
    expect(opaque.stderr).not.toMatch(/transparent/);
    const got: Record<string, string> = {};
    const report: string[] = [];
    for (const mode of ["drop", "white", "black"]) {
      const r = await hash(["--alpha", mode, heicFile, pngFile]);
      expect(r.code, r.stderr).toBe(0);
      const [heic, png] = r.recs;
      expect(heic.error, JSON.stringify(heic.error)).toBeUndefined();
      expect(heic.transparent, mode).toBe(true);
      expect(png.transparent, mode).toBe(true);
      expect(r.stderr).toMatch(/harbour-half-transparent-160x120\.heic: this picture has transparent parts/);
      const d = hexDistance(heic.hash!, png.hash!);
      report.push(`${mode} ${d}`);
      expect(d, `--alpha ${mode}: HEIC ${d} bits from its PNG`).toBeLessThanOrEqual(MAX_DISTANCE);
      got[mode] = heic.hash!;
    }
    // the mode changed the pixels hashed: flattened is far from the stored colours
    const apart = hexDistance(got.drop, got.white);
    console.log(`transparent HEIC to its PNG, by --alpha: ${report.join(", ")} bits; drop to white ${apart} bits`);
    expect(apart).toBeGreaterThan(MAX_DISTANCE);
  });

  it("squash512 mode decodes the same HEIC too", async () => {
    const r = await hash(["--mode", "squash512", path.join(HEIC, "harbour-160x120.heic"), path.join(HEIC, "harbour-160x120.png")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.recs[0].error).toBeUndefined();
    expect(hexDistance(r.recs[0].hash!, r.recs[1].hash!)).toBeLessThanOrEqual(MAX_DISTANCE);
  });

  it("a cut-off HEIC, a damaged one and one over --max-pixels give error records that say why", async () => {
    const bytes = readFileSync(path.join(HEIC, "harbour-160x120.heic"));
    const cut = path.join(dir, "cut.heic");
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    // The ftyp box of a HEIC, then garbage where the meta box should be.
    const junk = path.join(dir, "junk.heic");
    writeFileSync(junk, Buffer.concat([bytes.subarray(0, bytes.readUInt32BE(0)), Buffer.alloc(500, 0x5a)]));
    const r = await hash([cut, junk]);
    expect(r.code, r.stderr).toBe(2);
    const by = new Map(r.recs.map((x) => [path.basename(x.path), x]));
    expect(by.get("cut.heic")!.error?.code).toBe("TRUNCATED");
    expect(by.get("cut.heic")!.error?.message).toMatch(/^truncated HEIC: the file is damaged or was not copied completely/);
    expect(by.get("junk.heic")!.error?.code).toBe("CORRUPT");
    expect(by.get("junk.heic")!.error?.message).toMatch(/^damaged HEIC/);
    const big = await hash(["--max-pixels", "10000", path.join(HEIC, "harbour-160x120.heic")]);
    expect(big.code, big.stderr).toBe(2);
    expect(big.recs[0].error?.code).toBe("TOO_LARGE");
    expect(big.recs[0].error?.message).toMatch(/^too large: 160x120 is over the .* limit; raise it with --max-pixels$/);
  });
});
