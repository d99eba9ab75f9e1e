// The fast path's own bits, observed with `path: "fast"` (no fallback), must
// equal the exact 32-bit path's (the reference's arithmetic) wherever the
// default path keeps them; where it falls back, that must be because of a
// real near-tie, and the fallback must stay rare on photo-like pictures.
import { describe, expect, it } from "vitest";
import { computePdq, type PixelImage } from "../../src/pdq/index.ts";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

function compare(px: PixelImage) {
  const bits = (p: "auto" | "fast" | "exact") => {
    const r = computePdq(px, { dihedral: true, path: p });
    return { path: r.path, bits: JSON.stringify([r.result.quality, r.result.dihedral]) };
  };
  const auto = bits("auto");
  return { autoPath: auto.path, auto: auto.bits, fast: bits("fast").bits, exact: bits("exact").bits };
}

/**
 * Photo-like statistics: a few smooth waves of random frequency and angle,
 * soft discs, and sensor-like noise, so that every DCT cell carries energy.
 */
function photoLike(r: () => number): PixelImage {
  const width = 16 + Math.floor(r() * 600);
  const height = 16 + Math.floor(r() * 600);
  const data = new Uint8Array(width * height * 3);
  const waves = Array.from({ length: 6 }, () => [(r() - 0.5) * 40, (r() - 0.5) * 40, r() * 6.3, 10 + r() * 30]);
  const discs = Array.from({ length: 4 }, () => [r() * width, r() * height, 5 + r() * width * 0.3, r() * 120 - 60]);
  const noise = r() * 12;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = 128;
      for (const [fx, fy, ph, amp] of waves) v += amp * Math.sin((fx * x) / width + (fy * y) / height + ph);
      for (const [cx, cy, rad, dv] of discs) if ((x - cx) ** 2 + (y - cy) ** 2 < rad * rad) v += dv;
      for (let c = 0; c < 3; c++) {
        data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v + (c - 1) * 20 + (r() - 0.5) * noise)));
      }
    }
  }
  return { data, width, height, channels: 3 };
}

describe("the fast path itself", () => {
  it("150 photo-like pictures: the fast path alone gives the exact path's bits on every one, and the default path keeps it on most", () => {
    const r = rng(2026);
    let kept = 0;
    let fastAlone = 0;
    for (let n = 0; n < 150; n++) {
      const c = compare(photoLike(r));
      expect(c.auto, `picture ${n}`).toEqual(c.exact);
      if (c.autoPath === "fast") {
        kept++;
        expect(c.fast, `picture ${n}: fast path alone`).toEqual(c.exact);
      }
      if (c.fast === c.exact) fastAlone++;
    }
    console.log(`photo-like: fast path kept ${kept}/150; fast path alone exact on ${fastAlone}/150`);
    // Measured 2026-12-02: all 150 exact alone; 89 kept with all 8 dihedral gaps checked.
    expect(fastAlone).toBe(150);
    expect(kept).toBeGreaterThanOrEqual(75);
  });

  it("300 nearly flat pictures: every one falls back (the median is crowded), and the fast path alone still gets most right", () => {
    const r = rng(12345);
    let fastAlone = 0;
    let kept = 0;
    for (let n = 0; n < 300; n++) {
      const width = 5 + Math.floor(r() * 300);
      const height = 5 + Math.floor(r() * 300);
      const base = Math.floor(r() * 256);
      const amp = 1 + Math.floor(r() * 4);
      const data = new Uint8Array(width * height * 3);
      for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, base + Math.floor(r() * amp)));
      const c = compare({ data, width, height, channels: 3 });
      expect(c.auto, `picture ${n} ${width}x${height}`).toEqual(c.exact);
      if (c.autoPath === "fast") {
        kept++;
        expect(c.fast, `picture ${n}: fast path alone`).toEqual(c.exact);
      }
      if (c.fast === c.exact) fastAlone++;
    }
    console.log(`nearly flat: fast path kept ${kept}/300; fast path alone exact on ${fastAlone}/300`);
    // Measured 2026-12-02: 213 of 300. A broken fast path gets next to none.
    expect(fastAlone).toBeGreaterThanOrEqual(200);
  });
});
