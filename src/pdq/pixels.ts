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

export const LUMA_R = 0.299;
export const LUMA_G = 0.587;
export const LUMA_B = 0.114;

/** Side length the `squash512` mode squashes large images to. */
export const SQUASH_SIDE = 512;

/** Nearest-neighbour source indices: dest d takes floor(d * n / size). */
export function nearestIndices(n: number, size: number): Int32Array {
  const idx = new Int32Array(size);
  for (let d = 0; d < size; d++) idx[d] = Math.floor((d * n) / size);
  return idx;
}

/**
 * A {@link LumaSource} over `image`; with `squash`, images over 512 px on a
 * side are read as if resampled to 512x512 by nearest neighbour first.
 */
export function lumaSource(image: PixelImage, squash: boolean): LumaSource {
  const { data, width, height, channels } = image;
  const squashed = squash && (width > SQUASH_SIDE || height > SQUASH_SIDE);
  const outW = squashed ? SQUASH_SIDE : width;
  const outH = squashed ? SQUASH_SIDE : height;
  const rowOf = squashed ? nearestIndices(height, SQUASH_SIDE) : null;
  const colOf = squashed ? nearestIndices(width, SQUASH_SIDE) : null;
  const stride = width * channels;
  const grey = channels < 3;
  return {
    width: outW,
    height: outH,
    row(y: number, into: Float64Array): void {
      const base = (rowOf ? rowOf[y] : y) * stride;
      if (colOf) {
        for (let x = 0; x < outW; x++) {
          const p = base + colOf[x] * channels;
          if (grey) {
            const g = data[p];
            into[x] = LUMA_R * g + LUMA_G * g + LUMA_B * g;
          } else {
            into[x] = LUMA_R * data[p] + LUMA_G * data[p + 1] + LUMA_B * data[p + 2];
          }
        }
      } else if (grey) {
        for (let x = 0, p = base; x < outW; x++, p += channels) {
          const g = data[p];
          into[x] = LUMA_R * g + LUMA_G * g + LUMA_B * g;
        }
      } else if (channels === 3) {
        for (let x = 0, p = base; x < outW; x++, p += 3) {
          into[x] = LUMA_R * data[p] + LUMA_G * data[p + 1] + LUMA_B * data[p + 2];
        }
      } else {
        for (let x = 0, p = base; x < outW; x++, p += 4) {
          into[x] = LUMA_R * data[p] + LUMA_G * data[p + 1] + LUMA_B * data[p + 2];
        }
      }
    },
  };
}
