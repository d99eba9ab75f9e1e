/**
 * Robust matching: the extra query hashes that catch rotated, mirrored and
 * bordered copies that a plain PDQ comparison misses.
 *
 * - dihedral: the 7 other orientations of the query, from its one DCT (cheap);
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

function variantsOf(img: PixelImage, prefix: string, options: VariantOptions): { quality: number; variants: QueryVariant[] } {
  const r = hashPixels(img, { mode: options.mode, dihedral: options.dihedral });
  const name = (t: string) => (prefix ? (t === "original" ? prefix : `${prefix}+${t}`) : t);
  const variants: QueryVariant[] = [{ hash: r.hash, transform: name("original") }];
  if (r.dihedral) {
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
  for (const v of variants) {
    for (const hit of index.search(v.hash, maxDistance)) {
      const prev = best.get(hit.id);
      if (!prev || hit.distance < prev.distance) best.set(hit.id, { id: hit.id, distance: hit.distance, transform: v.transform });
    }
  }
  return [...best.values()].sort((a, b) => a.distance - b.distance || a.id - b.id);
}
