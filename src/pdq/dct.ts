/**
 * Quality, the 16x16 DCT, the median threshold and the dihedral variants.
 *
 * No I/O and no Node APIs: this file runs in browsers and workers too.
 */

/** D[i][j] = sqrt(2/64) cos(pi/128 (i + 1)(2j + 1)), i = 0..15, j = 0..63. */
const DCT = (() => {
  const d = new Float64Array(16 * 64);
  const scale = Math.sqrt(2 / 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) d[i * 64 + j] = scale * Math.cos((Math.PI / 2 / 64) * (i + 1) * (2 * j + 1));
  }
  return d;
})();

/**
 * Quality 0..100 of a 64x64 block: the sum over adjacent pairs of
 * trunc((u - v) * 100 / 255) in absolute value, divided by 90.
 *
 * `stable` is false when a rounding error as large as the fast path's
 * (see exact.ts) could move a gradient across an integer and change the result.
 */
export function qualityWithMargin(block: Float64Array, margin = QUALITY_MARGIN): { quality: number; stable: boolean } {
  let sum = 0;
  let unsure = 0;
  const add = (u: number, v: number) => {
    const x = ((u - v) * 100) / 255;
    sum += Math.abs(Math.trunc(x));
    const ax = Math.abs(x);
    if (ax > 0.5 && Math.abs(ax - Math.round(ax)) < margin) unsure++;
  };
  for (let i = 0; i < 63; i++) for (let j = 0; j < 64; j++) add(block[i * 64 + j], block[(i + 1) * 64 + j]);
  for (let i = 0; i < 64; i++) for (let j = 0; j < 63; j++) add(block[i * 64 + j], block[i * 64 + j + 1]);
  const q = (s: number) => Math.min(100, Math.floor(s / 90));
  return { quality: q(sum), stable: q(sum - unsure) === q(sum + unsure) };
}

/**
 * Distance from an integer below which a quality gradient is "unsure": the
 * fast path's 64x64 values were seen at most 0.0019 from the reference's
 * (up to 12 MP), which moves a gradient by at most 0.0015.
 */
export const QUALITY_MARGIN = 0.005;

/** B = D A D^T (16x16, row-major) of a 64x64 block A. */
export function dct16(block: Float64Array): Float64Array {
  const t = new Float64Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      let acc = 0;
      for (let k = 0; k < 64; k++) acc += DCT[i * 64 + k] * block[k * 64 + j];
      t[i * 64 + j] = acc;
    }
  }
  const b = new Float64Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let acc = 0;
      for (let k = 0; k < 64; k++) acc += t[i * 64 + k] * DCT[j * 64 + k];
      b[i * 16 + j] = acc;
    }
  }
  return b;
}

/**
 * 256 bits as sixteen 16-bit words: bit k of the hash (DCT cell row k >> 4,
 * column k & 15) is bit (k & 15) of word k >> 4. Word 15 is printed first.
 */
export type HashWords = Uint16Array;

/**
 * The gap between the 129th and the 128th smallest values: a hash bit can
 * only change under a small rounding error if that error is larger than it.
 */
export function medianGap(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[128] - sorted[127];
}

/** Threshold 256 DCT values at their median (the 128th smallest). */
export function threshold(values: Float64Array): HashWords {
  const sorted = Float64Array.from(values).sort();
  const median = sorted[127];
  const words = new Uint16Array(16);
  for (let k = 0; k < 256; k++) {
    if (values[k] > median) words[k >> 4] |= 1 << (k & 15);
  }
  return words;
}

const HEX = "0123456789abcdef";

/** 64 lowercase hex digits, word 15 first. */
export function wordsToHex(words: HashWords): string {
  let s = "";
  for (let w = 15; w >= 0; w--) {
    const v = words[w];
    s += HEX[(v >> 12) & 15] + HEX[(v >> 8) & 15] + HEX[(v >> 4) & 15] + HEX[v & 15];
  }
  return s;
}

/** Names of the eight dihedral variants, in the reference's order. */
export const DIHEDRAL_NAMES = [
  "original",
  "rotate90",
  "rotate180",
  "rotate270",
  "flipx",
  "flipy",
  "flipplus1",
  "flipminus1",
] as const;
export type DihedralName = (typeof DIHEDRAL_NAMES)[number];

// [transpose, negate(i, j)] per variant, from docs/pdq-spec.md.
const VARIANTS: ReadonlyArray<readonly [boolean, (i: number, j: number) => boolean]> = [
  [false, () => false],
  [true, (_i, j) => (j & 1) === 0],
  [false, (i, j) => ((i + j) & 1) === 1],
  [true, (i) => (i & 1) === 0],
  [false, (i) => (i & 1) === 0],
  [false, (_i, j) => (j & 1) === 0],
  [true, () => false],
  [true, (i, j) => ((i + j) & 1) === 1],
];

/** The DCT matrix of the image after dihedral variant `v` (0..7). */
export function dihedralDct(dct: Float64Array, v: number): Float64Array {
  const [transpose, negate] = VARIANTS[v];
  const out = new Float64Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      const a = dct[i * 16 + j];
      out[transpose ? j * 16 + i : i * 16 + j] = negate(i, j) ? -a : a;
    }
  }
  return out;
}
