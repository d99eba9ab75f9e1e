/**
 * The reference's arithmetic, operation for operation, in 32-bit floats.
 *
 * The fast path (blur.ts, 64-bit floats, one sweep) agrees with the reference
 * except when two DCT values sit closer to the median than the rounding
 * error of the reference's 32-bit running sums, or a quality gradient sits
 * on an integer boundary. Then the hash is recomputed here, where every
 * addition, multiplication and division is rounded to 32 bits exactly as
 * the C++ reference does (luminance, four box-filter passes over the full
 * image, decimation, quality and the DCT), so the bits are the reference's.
 *
 * No I/O and no Node APIs: this file runs in browsers and workers too.
 */
import { decimationIndex } from "./blur.ts";
import { type PixelImage, nearestIndices, SQUASH_SIDE } from "./pixels.ts";

const f = Math.fround;
const CR = f(0.299);
const CG = f(0.587);
const CB = f(0.114);

/** The reference's 32-bit DCT matrix. */
export const DCT32 = (() => {
  const d = new Float32Array(16 * 64);
  const scale = f(Math.sqrt(2 / 64));
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) d[i * 64 + j] = scale * Math.cos((Math.PI / 2 / 64) * (i + 1) * (2 * j + 1));
  }
  return d;
})();

/** Luminance as the reference computes it, in 32-bit floats. */
function luma32(image: PixelImage, squash: boolean): { luma: Float32Array; w: number; h: number } {
  const { data, width, height, channels } = image;
  const squashed = squash && (width > SQUASH_SIDE || height > SQUASH_SIDE);
  const w = squashed ? SQUASH_SIDE : width;
  const h = squashed ? SQUASH_SIDE : height;
  const rowOf = squashed ? nearestIndices(height, SQUASH_SIDE) : null;
  const colOf = squashed ? nearestIndices(width, SQUASH_SIDE) : null;
  const luma = new Float32Array(w * h);
  const grey = channels < 3;
  for (let y = 0; y < h; y++) {
    const base = (rowOf ? rowOf[y] : y) * width * channels;
    for (let x = 0; x < w; x++) {
      const p = base + (colOf ? colOf[x] : x) * channels;
      const r = data[p];
      const g = grey ? r : data[p + 1];
      const b = grey ? r : data[p + 2];
      luma[y * w + x] = f(f(f(CR * r) + f(CG * g)) + f(CB * b));
    }
  }
  return { luma, w, h };
}

/** One 1-D box filter as the reference's running sum, in 32-bit floats. */
function box1d(inp: Float32Array, out: Float32Array, start: number, n: number, stride: number, win: number): void {
  const half = Math.floor((win + 2) / 2);
  const p1 = half - 1;
  const p2 = win - half + 1;
  const p3 = n - win;
  const p4 = half - 1;
  let li = start;
  let ri = start;
  let oi = start;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < p1; i++) {
    sum = f(sum + inp[ri]);
    count++;
    ri += stride;
  }
  for (let i = 0; i < p2; i++) {
    sum = f(sum + inp[ri]);
    count++;
    out[oi] = sum / count;
    ri += stride;
    oi += stride;
  }
  for (let i = 0; i < p3; i++) {
    sum = f(sum + inp[ri]);
    sum = f(sum - inp[li]);
    out[oi] = sum / count;
    li += stride;
    ri += stride;
    oi += stride;
  }
  for (let i = 0; i < p4; i++) {
    sum = f(sum - inp[li]);
    count--;
    out[oi] = sum / count;
    li += stride;
    oi += stride;
  }
}

/** The 64x64 block exactly as the reference computes it (32-bit floats). */
export function referenceBlock(image: PixelImage, squash: boolean): Float32Array {
  const { luma, w, h } = luma32(image, squash);
  const tmp = new Float32Array(w * h);
  const wx = Math.floor((w + 127) / 128);
  const wy = Math.floor((h + 127) / 128);
  for (let pass = 0; pass < 2; pass++) {
    for (let y = 0; y < h; y++) box1d(luma, tmp, y * w, w, 1, wx);
    for (let x = 0; x < w; x++) box1d(tmp, luma, x, h, w, wy);
  }
  const block = new Float32Array(64 * 64);
  for (let i = 0; i < 64; i++) {
    const row = decimationIndex(h, i) * w;
    for (let j = 0; j < 64; j++) block[i * 64 + j] = luma[row + decimationIndex(w, j)];
  }
  return block;
}

/** Quality with the reference's 32-bit arithmetic. */
export function quality32(block: Float32Array): number {
  let sum = 0;
  const g = (u: number, v: number) => Math.abs(Math.trunc(f(f(f(u - v) * 100) / 255)));
  for (let i = 0; i < 63; i++) for (let j = 0; j < 64; j++) sum += g(block[i * 64 + j], block[(i + 1) * 64 + j]);
  for (let i = 0; i < 64; i++) for (let j = 0; j < 63; j++) sum += g(block[i * 64 + j], block[i * 64 + j + 1]);
  return Math.min(100, Math.floor(sum / 90));
}

/** B = D A D^T with the reference's 32-bit sums in the reference's order. */
export function dct32(block: Float32Array): Float64Array {
  const t = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      let acc = 0;
      for (let k = 0; k < 64; k++) acc = f(acc + f(DCT32[i * 64 + k] * block[k * 64 + j]));
      t[i * 64 + j] = acc;
    }
  }
  const b = new Float64Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let acc = 0;
      for (let k = 0; k < 64; k++) acc = f(acc + f(t[i * 64 + k] * DCT32[j * 64 + k]));
      b[i * 16 + j] = acc;
    }
  }
  return b;
}
