// The robust-matching checks (dihedral variants, border trimming), shared by
// the unit tier (the project's own pictures, turned by sharp) and the
// reference suite (the upstream bridge and thumbnail images).
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/node.ts";
import { trimBorders } from "../../src/image/trim.ts";
import { HashIndex } from "../../src/match/mih.ts";
import { queryVariants, searchVariants, turnImage } from "../../src/match/robust.ts";
import { DIHEDRAL_NAMES, hashPixels } from "../../src/pdq/index.ts";
import { hexDistance } from "../helpers.ts";

export interface RobustSuiteOptions {
  /** The file of each picture name used below (bridge-*.jpg, original.jpg, q*.jpg, ...). */
  img: (name: string) => string;
  /** Pictures to border and find again. */
  bordered: string[];
  /** Pictures with no border of their own. */
  borderless: string[];
  /** The diagonal flips are told apart exactly, and one trim is found (true for the upstream images). */
  exactDiagonals: boolean;
}

export function robustMatchingSuite(opts: RobustSuiteOptions): void {
  const img = opts.img;
  const BRIDGES = [
    ["bridge-1-original.jpg", "original"],
    ["bridge-2-rotate-90.jpg", "rotate270"],
    ["bridge-3-rotate-180.jpg", "rotate180"],
    ["bridge-4-rotate-270.jpg", "rotate90"],
    ["bridge-5-flipx.jpg", "flipx"],
    ["bridge-6-flipy.jpg", "flipy"],
    ["bridge-7-flip-plus-1.jpg", "flipplus1"],
    ["bridge-8-flip-minus-1.jpg", "flipminus1"],
  ] as const;

  async function bordered(file: string, border: { top: number; bottom: number; left: number; right: number; background: string }, jpeg = true) {
    const { background, ...sides } = border;
    let s = sharp(img(file)).extend({ ...sides, background });
    s = jpeg ? s.jpeg({ quality: 85 }) : s.png();
    return decodeImage(await s.toBuffer());
  }

  describe("dihedral variants", () => {
    it("find all 8 bridge images as one picture, naming the orientation", async () => {
      const bank = new HashIndex();
      bank.add(hashPixels(await decodeImage(img("bridge-1-original.jpg"))).hash, 1);
      let plainFound = 0;
      for (const [file] of BRIDGES) {
        const q = queryVariants(await decodeImage(img(file)), { dihedral: true });
        expect(q.variants).toHaveLength(8);
        const hits = searchVariants(bank, q.variants, 31);
        expect(hits, file).toHaveLength(1);
        expect(hits[0].id).toBe(1);
        // each bridge image matches through exactly one orientation, near 0 bits
        expect(hits[0].distance, file).toBeLessThanOrEqual(12);
        if (searchVariants(bank, q.variants.slice(0, 1), 31).length) plainFound++;
      }
      // without --dihedral only the unrotated one matches
      expect(plainFound).toBe(1);
    });

    it("report the transform that turns the query into the bank picture", async () => {
      const bank = new HashIndex();
      bank.add(hashPixels(await decodeImage(img("bridge-1-original.jpg"))).hash, 1);
      for (const [file, transform] of BRIDGES) {
        const q = queryVariants(await decodeImage(img(file)), { dihedral: true });
        const hit = searchVariants(bank, q.variants, 31)[0];
        // rotate90/rotate270 name the query's own rotation, so either label of a quarter turn
        if (transform === "rotate90" || transform === "rotate270") expect(["rotate90", "rotate270"]).toContain(hit.transform);
        else if (!opts.exactDiagonals && (transform === "flipplus1" || transform === "flipminus1")) expect(["flipplus1", "flipminus1"]).toContain(hit.transform);
        else expect(hit.transform, file).toBe(transform);
      }
    });
  });

  describe("dihedral variants of small images", () => {
    it("turned pixels agree with the reference's DCT variants of the same name", async () => {
      const big = await decodeImage(img("bridge-1-original.jpg"));
      const r = hashPixels(big, { dihedral: true });
      for (const name of DIHEDRAL_NAMES.slice(1)) {
        expect(hexDistance(hashPixels(turnImage(big, name)).hash, r.dihedral![name]), name).toBeLessThanOrEqual(10);
      }
    });

    it("find turned and mirrored copies of 256x256 thumbnails (by turning the pixels)", async () => {
      for (const file of ["q0122.jpg", "q1050.jpg", "q2821.jpg"]) {
        const orig = await decodeImage(img(file));
        const bank = new HashIndex();
        bank.add(hashPixels(orig).hash, 1);
        for (const [turn, expected] of [[90, ["rotate90", "rotate270"]], [180, ["rotate180"]], [270, ["rotate90", "rotate270"]]] as const) {
          const q = await decodeImage(await sharp(img(file)).rotate(turn).png().toBuffer());
          const hits = searchVariants(bank, queryVariants(q, { dihedral: true }).variants, 31);
          expect(hits.map((h) => h.id), `${file} rotate ${turn}`).toEqual([1]);
          expect(expected, `${file} rotate ${turn}`).toContain(hits[0].transform);
          expect(hits[0].distance).toBeLessThanOrEqual(4);
        }
        const mirrored = await decodeImage(await sharp(img(file)).flop().png().toBuffer());
        expect(searchVariants(bank, queryVariants(mirrored, { dihedral: true }).variants, 31).map((h) => [h.id, h.transform])).toEqual([[1, "flipy"]]);
      }
    });
  });

  describe("border trimming", () => {
    const pictures = opts.bordered;
    const borders = [
      { name: "black letterbox 15%", f: (w: number, h: number) => ({ top: Math.round(h * 0.15), bottom: Math.round(h * 0.15), left: 0, right: 0, background: "#000" }) },
      { name: "white pillarbox 20%", f: (w: number) => ({ top: 0, bottom: 0, left: Math.round(w * 0.2), right: Math.round(w * 0.2), background: "#fff" }) },
      { name: "red frame 8%", f: (w: number, h: number) => ({ top: Math.round(h * 0.08), bottom: Math.round(h * 0.08), left: Math.round(w * 0.08), right: Math.round(w * 0.08), background: "#c01020" }) },
      { name: "grey bottom bar 25%", f: (_w: number, h: number) => ({ top: 0, bottom: Math.round(h * 0.25), left: 0, right: 0, background: "#808080" }) },
    ];

    it("finds bordered copies that the plain hash misses", async () => {
      let plainMissed = 0;
      for (const file of pictures) {
        const orig = await decodeImage(img(file));
        const bank = new HashIndex();
        bank.add(hashPixels(orig).hash, 7);
        for (const b of borders) {
          const q = await bordered(file, b.f(orig.width, orig.height));
          const plain = queryVariants(q);
          const robust = queryVariants(q, { trimBorders: true });
          expect(robust.trimmed.length, `${file} ${b.name}`).toBeGreaterThan(0);
          const hits = searchVariants(bank, robust.variants, 31);
          expect(hits.map((h) => [h.id, h.transform]), `${file} ${b.name}`).toEqual([[7, "trim"]]);
          if (searchVariants(bank, plain.variants, 31).length === 0) plainMissed++;
        }
      }
      expect(plainMissed).toBeGreaterThanOrEqual(pictures.length * borders.length - 2);
    });

    it("cuts the border it was given, give or take the JPEG-blurred edge", async () => {
      const orig = await decodeImage(img("original.jpg"));
      const q = await bordered("original.jpg", { top: 100, bottom: 60, left: 0, right: 0, background: "#000" }, false);
      const t = trimBorders(q)!;
      expect(t.top).toBe(100);
      expect(t.bottom).toBe(60);
      expect(t.left + t.right).toBe(0);
      expect(hexDistance(hashPixels(t.image).hash, hashPixels(orig).hash)).toBe(0);
    });

    it("leaves pictures without borders alone and does not trim a flat image to nothing", async () => {
      for (const file of opts.borderless) {
        expect(trimBorders(await decodeImage(img(file))), file).toBe(null);
      }
      const flat = { data: new Uint8Array(64 * 64 * 3).fill(200), width: 64, height: 64, channels: 3 as const };
      expect(trimBorders(flat)).toBe(null);
    });

    it("combines with dihedral: a rotated letterboxed copy matches as trim+rotation", async () => {
      const orig = await decodeImage(img("original.jpg"));
      const bank = new HashIndex();
      bank.add(hashPixels(orig).hash, 3);
      const buf = await sharp(img("original.jpg")).extend({ top: 150, bottom: 150, background: "#000" }).rotate(90).jpeg().toBuffer();
      const q = queryVariants(await decodeImage(buf), { dihedral: true, trimBorders: true });
      if (opts.exactDiagonals) expect(q.variants).toHaveLength(16);
      else expect(q.variants.length).toBeGreaterThanOrEqual(16); // 8 plain, 8 per trim found
      const hits = searchVariants(bank, q.variants, 31);
      expect(hits).toHaveLength(1);
      expect(hits[0].transform).toMatch(/^trim\+rotate(90|270)$/);
    });
  });

}
