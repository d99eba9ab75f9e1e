// The reference images decoded by us (sharp), hashed in both modes.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp, { type Sharp } from "sharp";
import { describe, expect, it } from "vitest";
import { decodeImage, type HashOptions, hashPixels, type PdqMode } from "../../src/index.ts";
import { hexDistance, readTsv } from "../helpers.ts";
import { REF } from "./shared.ts";

/**
 * The reference's values on the pixels sharp decodes: PDQ on the decoded image, quality 0
 * included (the upstream set has flat pictures, which the file-level APIs refuse as FLAT).
 */
async function hashFile(file: string, options: HashOptions = {}) {
  const img = await decodeImage(file, options);
  return { ...hashPixels(img, options), orientation: img.orientation };
}

const expected = readTsv(readFileSync(path.join(REF, "expected.tsv"), "utf8"));

describe.each(["full", "squash512"] as PdqMode[])("reference images decoded by sharp, --no-orient, mode %s", (mode) => {
  it("at least 48 of 49 equal the reference exactly and none is more than 10 bits away", async () => {
    const rows = expected.filter((r) => r.mode === mode);
    expect(rows).toHaveLength(49);
    const lines: string[] = [];
    let exact = 0;
    let worst = 0;
    for (const r of rows) {
      const got = await hashFile(path.join(REF, "images", r.file), { mode, orient: false });
      const d = hexDistance(got.hash, r.hash);
      if (d === 0) exact++;
      worst = Math.max(worst, d);
      lines.push(`${r.file.padEnd(28)} ${String(d).padStart(3)} bits  quality ${got.quality}/${r.quality}`);
    }
    console.log(`mode ${mode}: ${exact}/49 exact, worst ${worst} bits\n${lines.join("\n")}`);
    expect(exact).toBeGreaterThanOrEqual(48);
    expect(worst).toBeLessThanOrEqual(10);
  });
});

describe("EXIF orientation", () => {
  const rotn = ["exif-rotn-1.jpg", "exif-rotn-3.jpg", "exif-rotn-6.jpg", "exif-rotn-8.jpg"];

  it("applied (the default): each exif-rotn photo hashes as the picture a person sees", async () => {
    // The four upstream files are four different shots of one desk (landscape and
    // portrait framings: 110..138 bits apart however they are turned), each stored
    // with a different EXIF tag. With the tag applied, each one's hash is the
    // reference's dihedral hash of its stored pixels for that turn.
    const dihedral = readTsv(readFileSync(path.join(REF, "dihedral.tsv"), "utf8"));
    const turn: Record<string, string> = {
      "exif-rotn-1.jpg": "original",
      "exif-rotn-3.jpg": "rotate180",
      "exif-rotn-6.jpg": "rotate270",
      "exif-rotn-8.jpg": "rotate90",
    };
    for (const f of rotn) {
      const got = await hashFile(path.join(REF, "images", f));
      const want = dihedral.find((r) => r.file === f && r.mode === "full")![turn[f]];
      const d = hexDistance(got.hash, want);
      console.log(`${f}: orientation ${got.orientation}, ${got.width}x${got.height}, ${d} bits from the reference's ${turn[f]}`);
      expect(d, f).toBeLessThanOrEqual(10);
    }
  });

  it("applied (the default): one picture stored in four orientations hashes within 10 bits of itself", async () => {
    // exif-rotn-1.jpg (orientation 1) re-stored with its pixels turned and the
    // EXIF tag that turns them back: what a phone writes for each way it is held.
    const dir = await mkdtemp(path.join(tmpdir(), "hashsafe-orient-"));
    try {
      const upright = await sharp(path.join(REF, "images", "exif-rotn-1.jpg")).resize(1008, 756).png().toBuffer();
      const stored: Record<number, (s: Sharp) => Sharp> = {
        1: (s) => s,
        3: (s) => s.rotate(180),
        6: (s) => s.rotate(270),
        8: (s) => s.rotate(90),
      };
      const hashes = [];
      for (const [tag, turnPixels] of Object.entries(stored)) {
        const file = path.join(dir, `stored-${tag}.jpg`);
        const pixels = await turnPixels(sharp(upright)).png().toBuffer();
        await sharp(pixels).jpeg({ quality: 95 }).withMetadata({ orientation: Number(tag) }).toFile(file);
        const h = await hashFile(file);
        expect(h.orientation).toBe(Number(tag));
        hashes.push(h);
      }
      const dists: number[] = [];
      for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) dists.push(hexDistance(hashes[i].hash, hashes[j].hash));
      console.log("pairwise distances with orientation applied:", dists.join(", "));
      expect(Math.max(...dists)).toBeLessThanOrEqual(10);
      for (const h of hashes) expect([h.width, h.height]).toEqual([1008, 756]);
      // Without orientation they are different pictures.
      const raw = await hashFile(path.join(dir, "stored-6.jpg"), { orient: false });
      expect(hexDistance(raw.hash, hashes[0].hash)).toBeGreaterThan(31);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each(["full", "squash512"] as PdqMode[])("not applied (--no-orient), mode %s: each equals the reference", async (mode) => {
    for (const f of rotn) {
      const want = expected.find((r) => r.file === f && r.mode === mode)!;
      const got = await hashFile(path.join(REF, "images", f), { mode, orient: false });
      expect(got.hash, f).toBe(want.hash);
      expect(got.quality, f).toBe(Number(want.quality));
    }
  });

  it("stored orientations really differ without orientation applied", async () => {
    const a = await hashFile(path.join(REF, "images", "exif-rotn-1.jpg"), { orient: false });
    const b = await hashFile(path.join(REF, "images", "exif-rotn-6.jpg"), { orient: false });
    expect(hexDistance(a.hash, b.hash)).toBeGreaterThan(31);
  });
});
