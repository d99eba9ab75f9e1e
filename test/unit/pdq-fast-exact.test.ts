// The fast path (64-bit, one sweep) must give exactly the bits of the exact
// path (the reference's 32-bit arithmetic, which matches every reference vector):
// on real photos, and on nearly flat pictures where near-ties are common.
import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeImage, hashPixels, type PdqMode } from "../../src/index.ts";
import { REF, SHARED } from "../helpers.ts";

function same(px: Parameters<typeof hashPixels>[0], mode: PdqMode) {
  const fast = hashPixels(px, { mode, dihedral: true });
  const exact = hashPixels(px, { mode, dihedral: true, exact: true });
  return { fast: [fast.quality, fast.dihedral], exact: [exact.quality, exact.dihedral] };
}

describe("fast path == exact 32-bit path", () => {
  const files = [
    ...readdirSync(path.join(REF, "images")).map((f) => path.join(REF, "images", f)),
    ...readdirSync(path.join(SHARED, "bench-corpus")).filter((f) => f.endsWith(".jpg")).slice(0, 30).map((f) => path.join(SHARED, "bench-corpus", f)),
  ];

  it("on the reference images and 30 benchmark photos, both modes, all 8 dihedral hashes and quality", async () => {
    for (const file of files) {
      const px = await decodeImage(file, { orient: false });
      for (const mode of ["full", "squash512"] as PdqMode[]) {
        const r = same(px, mode);
        expect(r.fast, `${path.basename(file)} ${mode}`).toEqual(r.exact);
      }
    }
  }, 300_000);

  it("on 300 nearly flat random pictures (where the median is crowded)", () => {
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let n = 0; n < 300; n++) {
      const width = 5 + Math.floor(rnd() * 300);
      const height = 5 + Math.floor(rnd() * 300);
      const base = Math.floor(rnd() * 256);
      const amp = 1 + Math.floor(rnd() * 4);
      const data = new Uint8Array(width * height * 3);
      for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, base + Math.floor(rnd() * amp)));
      const r = same({ data, width, height, channels: 3 }, "full");
      expect(r.fast, `picture ${n} ${width}x${height}`).toEqual(r.exact);
    }
  });
});
