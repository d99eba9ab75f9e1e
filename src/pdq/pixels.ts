/**
 * Pixel arrays and their luminance, as the reference reads them.
 *
 * No I/O and no Node APIs: this file runs in browsers and workers too.
 */
import type { LumaSource } from "./blur.ts";

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

function prefixRgb(data: Uint8Array | Uint8ClampedArray, base: number, width: number, step: number, into: Float64Array): void {
  let sum = 0;
  into[0] = 0;
  for (let x = 0, p = base; x < width; x++, p += step) {
    sum += 299 * data[p] + 587 * data[p + 1] + 114 * data[p + 2];
    into[x + 1] = sum;
  }
}

function prefixGrey(data: Uint8Array | Uint8ClampedArray, base: number, width: number, step: number, into: Float64Array): void {
  let sum = 0;
  into[0] = 0;
  for (let x = 0, p = base; x < width; x++, p += step) {
    sum += 1000 * data[p];
    into[x + 1] = sum;
  }
}

function prefixSampled(
  data: Uint8Array | Uint8ClampedArray,
  base: number,
  offsets: Int32Array,
  grey: boolean,
  into: Float64Array,
): void {
  let sum = 0;
  into[0] = 0;
  const n = offsets.length;
  if (grey) {
    for (let x = 0; x < n; x++) {
      sum += 1000 * data[base + offsets[x]];
      into[x + 1] = sum;
    }
  } else {
    for (let x = 0; x < n; x++) {
      const p = base + offsets[x];
      sum += 299 * data[p] + 587 * data[p + 1] + 114 * data[p + 2];
      into[x + 1] = sum;
    }
  }
}

/**
 * A {@link LumaSource} over `image`; with `squash`, images over 512 px on a
 * side are read as if resampled to 512x512 by nearest neighbour first.
 */
export function lumaSource(image: PixelImage, squash: boolean): LumaSource {
  const { data, width, height, channels } = image;
  const squashed = squash && (width > SQUASH_SIDE || height > SQUASH_SIDE);
  const grey = channels < 3;
  const stride = width * channels;
  if (squashed) {
    const rowOf = nearestIndices(height, SQUASH_SIDE);
    const offsets = nearestIndices(width, SQUASH_SIDE).map((x) => x * channels);
    return {
      width: SQUASH_SIDE,
      height: SQUASH_SIDE,
      scale: LUMA_SCALE,
      prefixRow: (y, into) => prefixSampled(data, rowOf[y] * stride, offsets, grey, into),
    };
  }
  return {
    width,
    height,
    scale: LUMA_SCALE,
    prefixRow: grey
      ? (y, into) => prefixGrey(data, y * stride, width, channels, into)
      : (y, into) => prefixRgb(data, y * stride, width, channels, into),
  };
}
