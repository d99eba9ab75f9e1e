/**
 * Robust matching: the extra query hashes that catch rotated, mirrored and
 * bordered copies that a plain PDQ comparison misses.
 *
 * - dihedral: the 7 other orientations of the query, from its one DCT (cheap),
 *   or for small images (up to 512 x 512) by turning the pixels (exact);
 * - trim: the query hashed again with uniform borders (letterbox, pillarbox,
 *   solid frames) cut off; with dihedral too, its 8 orientations.
 *
 * A variant's `transform` names what was done to the query to match:
 * "original", one of the dihedral names ("rotate90", "flipx", ...), "trim",
 * or "trim+rotate90" and so on. Pure: pixels in, hashes out.
 */
import { DIHEDRAL_NAMES, hashPixels, type PdqMode } from "../pdq/index.ts";
import type { PixelImage } from "../pdq/pixels.ts";
import { trimCandidates, type TrimOptions } from "../image/trim.ts";
import type { HashIndex } from "./mih.ts";

export interface QueryVariant {
  hash: string;
  transform: string;
}

export interface VariantOptions {
  dihedral?: boolean;
  trimBorders?: boolean;
  mode?: PdqMode;
  trim?: TrimOptions;
}

export interface QueryVariants {
  /** The quality of the untransformed hash. */
  quality: number;
  /** The untransformed hash first. */
  variants: QueryVariant[];
  /** The borders cut off (first the crop of all of them), when there were any and trimming was asked for. */
  trimmed: { top: number; bottom: number; left: number; right: number; quality: number }[];
}

/**
 * Images up to this many pixels get their 7 other orientations by turning the
 * pixels and hashing each again, instead of from the one DCT: PDQ's
 * decimation is not exactly symmetric, and on small detailed pictures the DCT
 * variant of a turned copy can land 26-98 bits away (the turned pixels give
 * 0-10). Up to 512 x 512 the 7 extra hashes cost a few milliseconds.
 */
export const PHYSICAL_DIHEDRAL_MAX_PIXELS = 512 * 512;

/** Where pixel (x, y) of a w x h image goes, per dihedral name, and whether the sides swap. */
const TURNS: Record<string, { swap: boolean; to: (x: number, y: number, w: number, h: number) => number[] }> = {
  rotate90: { swap: true, to: (x, y, w) => [y, w - 1 - x] },
  rotate180: { swap: false, to: (x, y, w, h) => [w - 1 - x, h - 1 - y] },
  rotate270: { swap: true, to: (x, y, _w, h) => [h - 1 - y, x] },
  flipx: { swap: false, to: (x, y, _w, h) => [x, h - 1 - y] },
  flipy: { swap: false, to: (x, y, w) => [w - 1 - x, y] },
  flipplus1: { swap: true, to: (x, y) => [y, x] },
  flipminus1: { swap: true, to: (x, y, w, h) => [h - 1 - y, w - 1 - x] },
};

/** The image turned or mirrored as the reference's dihedral variant `name` describes. */
export function turnImage(img: PixelImage, name: string): PixelImage {
  const t = TURNS[name];
  if (!t) throw new RangeError(`unknown dihedral variant "${name}"`);
  const { width: w, height: h, channels: c, data } = img;
  const W = t.swap ? h : w;
  const H = t.swap ? w : h;
  const out = new Uint8Array(w * h * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [X, Y] = t.to(x, y, w, h);
      const s = (y * w + x) * c;
      const d = (Y * W + X) * c;
      for (let k = 0; k < c; k++) out[d + k] = data[s + k];
    }
  }
  return { data: out, width: W, height: H, channels: c };
}

function variantsOf(img: PixelImage, prefix: string, options: VariantOptions): { quality: number; variants: QueryVariant[] } {
  const physical = options.dihedral && img.width * img.height <= PHYSICAL_DIHEDRAL_MAX_PIXELS;
  const r = hashPixels(img, { mode: options.mode, dihedral: options.dihedral && !physical });
  const name = (t: string) => (prefix ? (t === "original" ? prefix : `${prefix}+${t}`) : t);
  const variants: QueryVariant[] = [{ hash: r.hash, transform: name("original") }];
  if (physical) {
    for (const t of DIHEDRAL_NAMES.slice(1)) variants.push({ hash: hashPixels(turnImage(img, t), { mode: options.mode }).hash, transform: name(t) });
  } else if (r.dihedral) {
    for (const t of DIHEDRAL_NAMES.slice(1)) variants.push({ hash: r.dihedral[t], transform: name(t) });
  }
  return { quality: r.quality, variants };
}

/** The query hashes of an image for the options given (the plain hash alone by default). */
export function queryVariants(img: PixelImage, options: VariantOptions = {}): QueryVariants {
  const base = variantsOf(img, "", options);
  const out: QueryVariants = { quality: base.quality, variants: base.variants, trimmed: [] };
  if (options.trimBorders) {
    for (const t of trimCandidates(img, options.trim)) {
      const v = variantsOf(t.image, "trim", options);
      out.variants.push(...v.variants);
      out.trimmed.push({ top: t.top, bottom: t.bottom, left: t.left, right: t.right, quality: v.quality });
    }
  }
  return out;
}

export interface RobustHit {
  id: number;
  distance: number;
  /** The variant of the query that matched (the nearest; ties to the earlier variant). */
  transform: string;
}

/**
 * Search every variant and keep, per id, the nearest match and the transform
 * that gave it. Sorted by distance, then id.
 */
export function searchVariants(index: HashIndex, variants: readonly QueryVariant[], maxDistance: number): RobustHit[] {
  const best = new Map<number, RobustHit>();
  const results = index.searchBatch(variants.map((v) => v.hash), maxDistance);
  for (let i = 0; i < variants.length; i++) {
    const v = variants[i];
    for (const hit of results[i]) {
      const prev = best.get(hit.id);
      if (!prev || hit.distance < prev.distance) best.set(hit.id, { id: hit.id, distance: hit.distance, transform: v.transform });
    }
  }
  return [...best.values()].sort((a, b) => a.distance - b.distance || a.id - b.id);
}
