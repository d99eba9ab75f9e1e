/**
 * Uniform-border trimming on decoded pixels: letterbox and pillarbox bars and
 * solid frames around a picture move its PDQ hash by 100+ bits; hashing the
 * picture with them cut off finds the copy again.
 *
 * From each edge inwards, a row (or column) is border while nearly all of its
 * pixels are within `tolerance` of the colour of the edge's first row
 * (column) and that row itself is near-uniform. JPEG ringing at the bar's
 * inner edge is allowed for by a small share of outlying pixels. Pure: no I/O.
 */
import type { PixelImage } from "../pdq/pixels.ts";

export interface TrimOptions {
  /** Largest per-channel difference from the border colour still counted as border (default 24). */
  tolerance?: number;
  /** Share of a row's pixels that may be off-colour (noise, default 0.02). */
  outliers?: number;
  /** Smallest border worth trimming, in pixels (default 2, and at least 1% of the side). */
  minBorder?: number;
  /** Never keep less than this share of the width or height (default 0.25). */
  minKeep?: number;
}

export interface TrimResult {
  image: PixelImage;
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** The colour of pixel i (RGB or grey), as three values. */
function rgbAt(img: PixelImage, x: number, y: number, out: Int32Array): void {
  const c = img.channels;
  const i = (y * img.width + x) * c;
  if (c >= 3) {
    out[0] = img.data[i];
    out[1] = img.data[i + 1];
    out[2] = img.data[i + 2];
  } else {
    out[0] = out[1] = out[2] = img.data[i];
  }
}

/**
 * How many pixels along a line (row y, or column x) are off `ref` by more
 * than `tol` in some channel.
 */
function offCount(img: PixelImage, horizontal: boolean, at: number, ref: Int32Array, tol: number, budget: number): number {
  const { width, height, channels: c, data } = img;
  const n = horizontal ? width : height;
  const step = horizontal ? c : width * c;
  let i = horizontal ? at * width * c : at * c;
  let off = 0;
  for (let k = 0; k < n; k++, i += step) {
    let bad: boolean;
    if (c >= 3) {
      bad = Math.abs(data[i] - ref[0]) > tol || Math.abs(data[i + 1] - ref[1]) > tol || Math.abs(data[i + 2] - ref[2]) > tol;
    } else bad = Math.abs(data[i] - ref[0]) > tol;
    if (bad && ++off > budget) return off;
  }
  return off;
}

/** The median colour of a line, per channel (robust to a few noisy pixels). */
function lineColour(img: PixelImage, horizontal: boolean, at: number, out: Int32Array): void {
  const n = horizontal ? img.width : img.height;
  const hist = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)];
  const px = new Int32Array(3);
  for (let k = 0; k < n; k++) {
    rgbAt(img, horizontal ? k : at, horizontal ? at : k, px);
    hist[0][px[0]]++;
    hist[1][px[1]]++;
    hist[2][px[2]]++;
  }
  for (let ch = 0; ch < 3; ch++) {
    let acc = 0;
    let v = 0;
    while (v < 255 && (acc += hist[ch][v]) * 2 < n) v++;
    out[ch] = v;
  }
}

/** Border depth at one edge: lines from `start` stepping by `dir` that match the edge colour. */
function depth(img: PixelImage, horizontal: boolean, start: number, dir: 1 | -1, maxDepth: number, o: Required<TrimOptions>): number {
  const n = horizontal ? img.width : img.height;
  const budget = Math.floor(n * o.outliers);
  const ref = new Int32Array(3);
  lineColour(img, horizontal, start, ref);
  let d = 0;
  while (d < maxDepth && offCount(img, horizontal, start + dir * d, ref, o.tolerance, budget) <= budget) d++;
  return d;
}

/**
 * The image with uniform borders cut off, or null when it has none worth
 * trimming. Works on 1..4-channel 8-bit pixels; the result has the same channels.
 */
export function trimBorders(img: PixelImage, options: TrimOptions = {}): TrimResult | null {
  const o: Required<TrimOptions> = {
    tolerance: options.tolerance ?? 24,
    outliers: options.outliers ?? 0.02,
    minBorder: options.minBorder ?? 2,
    minKeep: options.minKeep ?? 0.25,
  };
  const { width, height } = img;
  if (width < 8 || height < 8) return null;
  const maxV = Math.floor(height * (1 - o.minKeep));
  const maxH = Math.floor(width * (1 - o.minKeep));
  let top = depth(img, true, 0, 1, maxV, o);
  // A (nearly) uniform image has nothing to trim to.
  if (top >= maxV) return null;
  let bottom = depth(img, true, height - 1, -1, maxV - top, o);
  const minV = Math.max(o.minBorder, Math.round(height * 0.01));
  const minH = Math.max(o.minBorder, Math.round(width * 0.01));
  if (top < minV) top = 0;
  if (bottom < minV) bottom = 0;
  // Columns are judged on the rows between the top and bottom bars.
  const rowsOnly = crop(img, 0, top, width, height - top - bottom);
  let left = depth(rowsOnly, false, 0, 1, maxH, o);
  if (left >= maxH) return null;
  let right = depth(rowsOnly, false, width - 1, -1, maxH - left, o);
  if (left < minH) left = 0;
  if (right < minH) right = 0;
  if (top + bottom + left + right === 0) return null;
  const w = width - left - right;
  const h = height - top - bottom;
  if (w < 5 || h < 5) return null;
  const image = crop(img, left, top, w, h);
  return { image, top, bottom, left, right };
}

/**
 * The crops worth hashing: all borders cut, and when both axes have borders,
 * also only the top/bottom ones (a letterbox) and only the left/right ones (a
 * pillarbox), since a picture's own uniform edge (a dark margin, a flat sky)
 * is easily taken for a border on the other axis; and a looser cut that also
 * takes off caption bars (text on a plain band).
 */
export function trimCandidates(img: PixelImage, options: TrimOptions = {}): TrimResult[] {
  const out: TrimResult[] = [];
  const t = trimBorders(img, options);
  if (t) {
    out.push(t);
    if (t.top + t.bottom > 0 && t.left + t.right > 0) {
      const h = img.height - t.top - t.bottom;
      const w = img.width - t.left - t.right;
      out.push({ image: crop(img, 0, t.top, img.width, h), top: t.top, bottom: t.bottom, left: 0, right: 0 });
      out.push({ image: crop(img, t.left, 0, w, img.height), top: 0, bottom: 0, left: t.left, right: t.right });
    }
  }
  // A caption bar (text on a plain band) is a border with many off-colour
  // pixels: a looser pass, kept when it cuts something the strict one did not.
  if (options.outliers === undefined) {
    const loose = trimBorders(img, { ...options, outliers: LOOSE_OUTLIERS });
    // captions are bands across the picture: only the rows of the loose cut
    if (loose && loose.top + loose.bottom > 0 && !out.some((o) => o.top === loose.top && o.bottom === loose.bottom && o.left === 0 && o.right === 0)) {
      const h = img.height - loose.top - loose.bottom;
      out.push({ image: crop(img, 0, loose.top, img.width, h), top: loose.top, bottom: loose.bottom, left: 0, right: 0 });
    }
  }
  return out;
}

/** Share of off-colour pixels a caption-bar row may have (text on the band). */
const LOOSE_OUTLIERS = 0.4;

/** A copy of the w x h rectangle at (x, y). */
function crop(img: PixelImage, x: number, y: number, w: number, h: number): PixelImage {
  if (x === 0 && y === 0 && w === img.width && h === img.height) return img;
  const c = img.channels;
  const data = new Uint8Array(w * h * c);
  for (let r = 0; r < h; r++) {
    const from = ((r + y) * img.width + x) * c;
    data.set(img.data.subarray(from, from + w * c), r * w * c);
  }
  return { data, width: w, height: h, channels: c };
}
