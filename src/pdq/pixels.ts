/**
 * Pixel arrays and their luminance, as the reference reads them.
 *
 * No I/O and no Node APIs: this file runs in browsers and workers too.
 */
import type { LumaSource } from "./blur.ts";
import { type RowSums, wasmRowSums } from "./wasm/prefix.ts";

/** Interleaved 8-bit pixels, row-major, `channels` bytes a pixel. */
export interface PixelImage {
  /** width * height * channels bytes (a `Buffer` is a `Uint8Array`). */
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. Alpha is ignored, never composited. */
  channels: 1 | 2 | 3 | 4;
}

/** Side length the `squash512` mode squashes large images to. */
export const SQUASH_SIDE = 512;

/** Nearest-neighbour source indices: dest d takes floor(d * n / size). */
export function nearestIndices(n: number, size: number): Int32Array {
  const idx = new Int32Array(size);
  for (let d = 0; d < size; d++) idx[d] = Math.floor((d * n) / size);
  return idx;
}

/** Luminance x 1000 as an integer: 299 R + 587 G + 114 B (exact). */
export const LUMA_SCALE = 1000;

/**
 * Row sums in JavaScript (the same integers as prefix.wat): S2 = running sum
 * of S1, the running sum of luminance x 1000 (see blur.ts).
 */
function jsRowSums(
  data: Uint8Array | Uint8ClampedArray,
  width: number,
  channels: number,
  rowOf: Int32Array | null,
  cols: Int32Array | null,
): RowSums {
  const n = cols ? cols.length : width;
  const s2 = new Float64Array(n + 2);
  const off = cols ? cols.map((x) => x * channels) : null;
  const grey = channels < 3;
  const [g, b, cr, cg, cb] = grey ? [0, 0, 1000, 0, 0] : [1, 2, 299, 587, 114];
  const rowBytes = width * channels;
  return (y) => {
    const base = (rowOf ? rowOf[y] : y) * rowBytes;
    let a = 0;
    let c = 0;
    if (off) {
      for (let x = 0; x < n; x++) {
        const p = base + off[x];
        c += a;
        s2[x + 1] = c;
        a += cr * data[p] + cg * data[p + g] + cb * data[p + b];
      }
    } else {
      for (let x = 0, p = base; x < n; x++, p += channels) {
        c += a;
        s2[x + 1] = c;
        a += cr * data[p] + cg * data[p + g] + cb * data[p + b];
      }
    }
    s2[n + 1] = c + a;
    return s2;
  };
}

/**
 * A {@link LumaSource} over `image`; with `squash`, images over 512 px on a
 * side are read as if resampled to 512x512 by nearest neighbour first.
 */
export function lumaSource(image: PixelImage, squash: boolean): LumaSource {
  const { data, width, height, channels } = image;
  const squashed = squash && (width > SQUASH_SIDE || height > SQUASH_SIDE);
  const rowOf = squashed ? nearestIndices(height, SQUASH_SIDE) : null;
  const cols = squashed ? nearestIndices(width, SQUASH_SIDE) : null;
  const sums = wasmRowSums(data, width, channels, rowOf, cols) ?? jsRowSums(data, width, channels, rowOf, cols);
  return {
    width: squashed ? SQUASH_SIDE : width,
    height: squashed ? SQUASH_SIDE : height,
    scale: LUMA_SCALE,
    sums,
  };
}
