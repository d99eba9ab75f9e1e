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
import { EXACT_WASM_BASE64 } from "./wasm/exact-wasm.ts";
import { ensureMemory, wasmInstance } from "./wasm/instance.ts";

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

/** fround(coefficient * v) for v = 0..255: the reference's three products. */
const LUT_R = Float32Array.from({ length: 256 }, (_, v) => f(CR * v));
const LUT_G = Float32Array.from({ length: 256 }, (_, v) => f(CG * v));
const LUT_B = Float32Array.from({ length: 256 }, (_, v) => f(CB * v));

/** Luminance as the reference computes it, in 32-bit floats. */
function luma32(image: PixelImage, squash: boolean): { luma: Float32Array; w: number; h: number } {
  const { data, width, height, channels } = image;
  const squashed = squash && (width > SQUASH_SIDE || height > SQUASH_SIDE);
  const w = squashed ? SQUASH_SIDE : width;
  const h = squashed ? SQUASH_SIDE : height;
  const rowOf = squashed ? nearestIndices(height, SQUASH_SIDE) : null;
  const colOf = squashed ? nearestIndices(width, SQUASH_SIDE) : null;
  const luma = new Float32Array(w * h);
  const gOff = channels < 3 ? 0 : 1;
  const bOff = channels < 3 ? 0 : 2;
  for (let y = 0; y < h; y++) {
    const base = (rowOf ? rowOf[y] : y) * width * channels;
    for (let x = 0, o = y * w; x < w; x++, o++) {
      const p = base + (colOf ? colOf[x] : x) * channels;
      luma[o] = f(LUT_R[data[p]] + LUT_G[data[p + gOff]]) + LUT_B[data[p + bOff]];
    }
  }
  return { luma, w, h };
}

/**
 * The reference's 1-D box filter over `n` samples of `inp` (from `start`,
 * `stride` apart) into `out`: a running sum in 32-bit floats in the
 * reference's four phases (fill, grow, slide, shrink), out = sum / count.
 * (The JavaScript fallback of exact.wat; simple on purpose.)
 */
function box1d(inp: Float32Array, out: Float32Array, start: number, n: number, stride: number, win: number): void {
  const half = Math.floor((win + 2) / 2);
  const p1 = half - 1;
  const p2 = win - half + 1;
  const p3 = n - win;
  let li = start;
  let ri = start;
  let oi = start;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < p1; i++, ri += stride) {
    sum = f(sum + inp[ri]);
    count++;
  }
  for (let i = 0; i < p2; i++, ri += stride, oi += stride) {
    sum = f(sum + inp[ri]);
    count++;
    out[oi] = sum / count;
  }
  for (let i = 0; i < p3; i++, ri += stride, li += stride, oi += stride) {
    sum = f(sum + inp[ri]);
    sum = f(sum - inp[li]);
    out[oi] = sum / count;
  }
  for (let i = 0; i < p1; i++, li += stride, oi += stride) {
    sum = f(sum - inp[li]);
    count--;
    out[oi] = sum / count;
  }
}

interface ExactExports {
  memory: WebAssembly.Memory;
  lumaRow(src: number, offp: number, n: number, step: number, goff: number, boff: number, dst: number): void;
  boxRows(inp: number, out: number, w: number, h: number, win: number, maskp: number): void;
  boxCols(inp: number, out: number, w: number, h: number, win: number, colsp: number, ncols: number, sumsp: number): void;
}
const exactCache: { value?: ExactExports | null } = {};

/** Largest working memory the WebAssembly path may take (else JavaScript runs). */
const WASM_EXACT_MAX_BYTES = 1 << 30;

/** {@link referenceBlock} in WebAssembly (exact.wat); null when unavailable. */
function referenceBlockWasm(image: PixelImage, squash: boolean): Float32Array | null {
  const m = wasmInstance<ExactExports>(EXACT_WASM_BASE64, exactCache);
  if (!m) return null;
  const { data, width, height, channels } = image;
  const squashed = squash && (width > SQUASH_SIDE || height > SQUASH_SIDE);
  const w = squashed ? SQUASH_SIDE : width;
  const h = squashed ? SQUASH_SIDE : height;
  const rowBytes = width * channels;
  const a8 = (n: number) => (n + 7) & ~7;
  // Layout: row bytes | column offsets | luma | tmp | mask | all columns | kept columns | sums
  const offp = a8(rowBytes) + 8;
  const lumap = offp + a8(4 * w);
  const tmpp = lumap + 4 * w * h;
  const maskp = tmpp + 4 * w * h;
  const allp = maskp + a8(w);
  const keepp = allp + 4 * w;
  const sump = keepp + 4 * 64;
  const need = sump + 4 * Math.max(w, 64);
  if (need > WASM_EXACT_MAX_BYTES || !ensureMemory(m.memory, need)) return null;
  const buf = m.memory.buffer;
  const bytes = new Uint8Array(buf);
  const rowOf = squashed ? nearestIndices(height, SQUASH_SIDE) : null;
  if (squashed) {
    const off = new Int32Array(buf, offp, w);
    const cols = nearestIndices(width, SQUASH_SIDE);
    for (let x = 0; x < w; x++) off[x] = cols[x] * channels;
  }
  const grey = channels < 3;
  const rowSrc = 8; // not 0: 0 means "no mask" below
  for (let y = 0; y < h; y++) {
    const base = (rowOf ? rowOf[y] : y) * rowBytes;
    bytes.set(data.subarray(base, base + rowBytes), rowSrc);
    m.lumaRow(rowSrc, squashed ? offp : 0, w, channels, grey ? 0 : 1, grey ? 0 : 2, lumap + 4 * w * y);
  }
  const keepCols = Int32Array.from({ length: 64 }, (_, j) => decimationIndex(w, j));
  bytes.fill(0, maskp, maskp + w);
  for (const x of keepCols) bytes[maskp + x] = 1;
  const all = new Int32Array(buf, allp, w);
  for (let x = 0; x < w; x++) all[x] = x;
  new Int32Array(buf, keepp, 64).set(keepCols);
  const wx = Math.floor((w + 127) / 128);
  const wy = Math.floor((h + 127) / 128);
  const sums = new Float32Array(buf, sump, Math.max(w, 64));
  m.boxRows(lumap, tmpp, w, h, wx, 0);
  sums.fill(0);
  m.boxCols(tmpp, lumap, w, h, wy, allp, w, sump);
  m.boxRows(lumap, tmpp, w, h, wx, maskp);
  sums.fill(0);
  m.boxCols(tmpp, lumap, w, h, wy, keepp, 64, sump);
  const luma = new Float32Array(buf, lumap, w * h);
  const block = new Float32Array(64 * 64);
  for (let i = 0; i < 64; i++) {
    const row = decimationIndex(h, i) * w;
    for (let j = 0; j < 64; j++) block[i * 64 + j] = luma[row + keepCols[j]];
  }
  return block;
}

/**
 * The 64x64 block exactly as the reference computes it (32-bit floats):
 * in WebAssembly where available, else in JavaScript with Math.fround.
 */
export function referenceBlock(image: PixelImage, squash: boolean): Float32Array {
  return referenceBlockWasm(image, squash) ?? referenceBlockJs(image, squash);
}

function referenceBlockJs(image: PixelImage, squash: boolean): Float32Array {
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
