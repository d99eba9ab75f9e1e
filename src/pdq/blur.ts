/**
 * Jarosz blur followed by 64x64 decimation, computed in one sweep.
 *
 * The reference applies two passes of a 1-D box filter along rows and along
 * columns (rows, columns, rows, columns) over the whole luminance image and
 * then keeps 64x64 point samples. Box filters are linear and the row and
 * column passes act on different axes, so the result equals
 * (column filter twice) applied to (row filter twice). We therefore only
 * compute the values that the 64x64 samples depend on: for each sampled
 * column (and row) the two box passes collapse into one small weight vector
 * (a "tent" of about 2 * W / 128 taps). Every pixel is touched about once,
 * instead of four full-image passes, and the sums are kept in 64-bit floats
 * (the reference's 32-bit running sums and 64-bit arithmetic give the same
 * hash bits on every reference vector; see docs/pdq-spec.md).
 *
 * No I/O and no Node APIs: this file runs in browsers and workers too.
 */

/** Window of the reference box filter for a side of `n` pixels. */
export function boxWindow(n: number): number {
  return Math.floor((n + 127) / 128);
}

/** A sparse weight vector over `first .. first + weights.length - 1`. */
export interface Taps {
  first: number;
  weights: Float64Array;
}

/**
 * Weights of one output sample `k` of two box-filter passes (window `w`)
 * over a line of `n` samples, as the reference defines them:
 * out[k] = mean(in[max(0, k - (w - half)) .. min(n - 1, k + half - 1)]),
 * half = floor((w + 2) / 2).
 */
export function twoPassTaps(n: number, w: number, k: number): Taps {
  const half = Math.floor((w + 2) / 2);
  const left = w - half;
  const lo = (j: number) => Math.max(0, j - left);
  const hi = (j: number) => Math.min(n - 1, j + half - 1);
  const lo2 = lo(k);
  const hi2 = hi(k);
  const first = lo(lo2);
  const last = hi(hi2);
  const weights = new Float64Array(last - first + 1);
  const outer = 1 / (hi2 - lo2 + 1);
  for (let j = lo2; j <= hi2; j++) {
    const a = lo(j);
    const b = hi(j);
    const wgt = outer / (b - a + 1);
    for (let i = a; i <= b; i++) weights[i - first] += wgt;
  }
  return { first, weights };
}

/** Index of the sample kept for output cell `i` (0..63) along a side of `n`. */
export function decimationIndex(n: number, i: number): number {
  // floor((i + 0.5) * n / 64), computed exactly in integers.
  return Math.floor(((2 * i + 1) * n) / 128);
}

/** The 64 tap vectors of one axis: blur twice, then decimate. */
export function axisTaps(n: number): Taps[] {
  const w = boxWindow(n);
  const taps: Taps[] = [];
  for (let i = 0; i < 64; i++) taps.push(twoPassTaps(n, w, decimationIndex(n, i)));
  return taps;
}

const tapCache = new Map<number, Taps[]>();

/** Cached {@link axisTaps}: photos come in few distinct sizes. */
export function cachedAxisTaps(n: number): Taps[] {
  let t = tapCache.get(n);
  if (!t) {
    t = axisTaps(n);
    if (tapCache.size > 64) tapCache.clear();
    tapCache.set(n, t);
  }
  return t;
}

/**
 * For every source row, which output rows it feeds and with what weight.
 * Returned as a CSR-like structure so the row loop stays flat.
 */
interface RowFan {
  start: Int32Array; // length n + 1
  out: Int32Array;
  weight: Float64Array;
}

function rowFan(n: number, taps: Taps[]): RowFan {
  const count = new Int32Array(n + 1);
  for (const t of taps) {
    for (let r = 0; r < t.weights.length; r++) if (t.weights[r] !== 0) count[t.first + r + 1]++;
  }
  for (let r = 0; r < n; r++) count[r + 1] += count[r];
  const total = count[n];
  const out = new Int32Array(total);
  const weight = new Float64Array(total);
  const fill = count.slice(0, n);
  for (let i = 0; i < 64; i++) {
    const t = taps[i];
    for (let r = 0; r < t.weights.length; r++) {
      const wgt = t.weights[r];
      if (wgt === 0) continue;
      const at = fill[t.first + r]++;
      out[at] = i;
      weight[at] = wgt;
    }
  }
  return { start: count, out, weight };
}

const fanCache = new Map<number, RowFan>();

function cachedRowFan(n: number): RowFan {
  let f = fanCache.get(n);
  if (!f) {
    f = rowFan(n, cachedAxisTaps(n));
    if (fanCache.size > 64) fanCache.clear();
    fanCache.set(n, f);
  }
  return f;
}

/**
 * A source of luminance rows, as running sums: `sums(y)` gives
 * s2[m] = s1[0] + ... + s1[m - 1] for m = 0..width + 1, where s1[0] = 0 and
 * s1[x + 1] = s1[x] + scale * luma(x, y) (so s1[m] = s2[m + 1] - s2[m]). The
 * array may be reused by the next call. Integer-scaled luminance keeps it exact.
 */
export interface LumaSource {
  width: number;
  height: number;
  /** Luminance is delivered multiplied by this. */
  scale: number;
  sums(y: number): Float64Array;
}

/**
 * The horizontal half of blur + decimation, from running sums. With
 * S1 = running sum of the row and S2 = running sum of S1, output column k is
 *   sum over the first pass's samples j in k's window of (S1[hi(j) + 1] - S1[lo(j)]) / (count(j) * count(k)).
 * Where no window touches an edge every count(j) is the full window, and the
 * sum collapses to four reads of S2 ("interior" columns). Columns near the
 * edges keep the explicit terms. All sums are integers, exact in 64-bit floats.
 */
interface ColumnPlan {
  /** per output column: 1 when interior (S2 form), 0 when explicit terms */
  interior: Uint8Array;
  /** interior: the four S2 indices a, b, c, d: (S2[a] - S2[b]) - (S2[c] - S2[d]) */
  s2: Int32Array;
  /** interior: 1 / (window * count(k)); */
  s2coef: Float64Array;
  /** explicit terms: per output column, where its terms start (65 entries) */
  start: Int32Array;
  hiIdx: Int32Array;
  loIdx: Int32Array;
  coef: Float64Array;
}

function columnPlan(n: number): ColumnPlan {
  const w = boxWindow(n);
  const half = Math.floor((w + 2) / 2);
  const left = w - half;
  const lo = (j: number) => Math.max(0, j - left);
  const hi = (j: number) => Math.min(n - 1, j + half - 1);
  const interior = new Uint8Array(64);
  const s2 = new Int32Array(64 * 4);
  const s2coef = new Float64Array(64);
  const start = new Int32Array(65);
  const his: number[] = [];
  const los: number[] = [];
  const coefs: number[] = [];
  for (let k = 0; k < 64; k++) {
    const c = decimationIndex(n, k);
    const lo2 = lo(c);
    const hi2 = hi(c);
    const outer = 1 / (hi2 - lo2 + 1);
    if (lo2 - left >= 0 && hi2 + half - 1 <= n - 1) {
      interior[k] = 1;
      // sum_j S1[j + half] - S1[j - left], j = lo2..hi2
      s2.set([hi2 + half + 1, lo2 + half, hi2 - left + 1, lo2 - left], k * 4);
      s2coef[k] = outer / w;
    } else {
      for (let j = lo2; j <= hi2; j++) {
        his.push(hi(j) + 1);
        los.push(lo(j));
        coefs.push(outer / (hi(j) - lo(j) + 1));
      }
    }
    start[k + 1] = his.length;
  }
  return {
    interior,
    s2,
    s2coef,
    start,
    hiIdx: Int32Array.from(his),
    loIdx: Int32Array.from(los),
    coef: Float64Array.from(coefs),
  };
}

const planCache = new Map<number, ColumnPlan>();

function cachedColumnPlan(n: number): ColumnPlan {
  let p = planCache.get(n);
  if (!p) {
    p = columnPlan(n);
    if (planCache.size > 64) planCache.clear();
    planCache.set(n, p);
  }
  return p;
}

/**
 * Blur and decimate a luminance image to the 64x64 array (row-major) the
 * rest of PDQ works on.
 */
export function blurDecimate(src: LumaSource): Float64Array {
  const { width, height } = src;
  const plan = cachedColumnPlan(width);
  const fan = cachedRowFan(height);
  const out = new Float64Array(64 * 64);
  const rowSamples = new Float64Array(64);
  const { interior, s2, s2coef, start, hiIdx, loIdx, coef } = plan;
  const inv = 1 / src.scale;
  for (let y = 0; y < height; y++) {
    const s = fan.start[y];
    const e = fan.start[y + 1];
    if (s === e) continue;
    const prefix2 = src.sums(y);
    for (let k = 0; k < 64; k++) {
      let acc = 0;
      if (interior[k]) {
        const q = k * 4;
        acc = (prefix2[s2[q]] - prefix2[s2[q + 1]] - (prefix2[s2[q + 2]] - prefix2[s2[q + 3]])) * s2coef[k];
      } else {
        for (let t = start[k], end = start[k + 1]; t < end; t++) {
          const hi = hiIdx[t];
          const lo = loIdx[t];
          acc += (prefix2[hi + 1] - prefix2[hi] - (prefix2[lo + 1] - prefix2[lo])) * coef[t];
        }
      }
      rowSamples[k] = acc * inv;
    }
    for (let q = s; q < e; q++) {
      const base = fan.out[q] * 64;
      const wgt = fan.weight[q];
      for (let j = 0; j < 64; j++) out[base + j] += wgt * rowSamples[j];
    }
  }
  return out;
}
