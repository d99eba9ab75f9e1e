/**
 * PDQ, Meta's 256-bit perceptual image hash, on pixel arrays.
 *
 * Pure TypeScript with no I/O and no Node APIs, so the same code runs in
 * Node, workers and browsers (`import { hashPixels } from "hashsafe/pdq"`).
 * It reproduces the reference C++ implementation bit for bit on the same
 * pixels; see docs/pdq-spec.md for the algorithm facts.
 */
import { blurDecimate } from "./blur.ts";
import {
  DIHEDRAL_NAMES,
  type DihedralName,
  dct16,
  dihedralDct,
  medianGap,
  QUALITY_MARGIN,
  qualityWithMargin,
  threshold,
  wordsToHex,
} from "./dct.ts";
import { dct32, quality32, referenceBlock } from "./exact.ts";
import { HashError } from "./errors.ts";
import { lumaSource, type PixelImage, SQUASH_SIDE } from "./pixels.ts";

export { HashError, type HashErrorCode } from "./errors.ts";
export { DIHEDRAL_NAMES, type DihedralName } from "./dct.ts";
export type { PixelImage } from "./pixels.ts";

/**
 * `full` hashes the full-resolution pixels (the C++ library API, pdqhash,
 * python-threatexchange, HMA, Java); `squash512` first squashes images over
 * 512 px on a side to 512x512 by nearest neighbour (the C++
 * `pdq-photo-hasher` tool and Meta's WASM build).
 */
export type PdqMode = "full" | "squash512";
export const PDQ_MODES: readonly PdqMode[] = ["full", "squash512"];

/** The smallest side PDQ can hash; the reference emits an all-zero hash below it. */
export const MIN_SIDE = 5;

export interface PdqOptions {
  /** Default `full`. */
  mode?: PdqMode;
  /** Also compute the 7 rotated and mirrored hashes (cheap: one DCT). */
  dihedral?: boolean;
  /**
   * Always use the reference's 32-bit arithmetic (slower; the same bits).
   * By default a fast path is used and the exact one only on a near-tie.
   * The same as `path: "exact"`.
   */
  exact?: boolean;
  /**
   * Which arithmetic to use. `auto` (default): the fast path, and the exact
   * one on a near-tie. `exact`: always the reference's 32-bit arithmetic.
   * `fast`: never fall back. That can differ from the reference by a bit on a
   * near-tie, so it is for tests and measurements only (see {@link computePdq}).
   */
  path?: "auto" | "fast" | "exact";
}

/** Which arithmetic produced a result: the fast path, or the exact 32-bit one. */
export type PdqPath = "fast" | "exact";

export type DihedralHashes = Record<DihedralName, string>;

export interface PdqResult {
  /** 64 lowercase hex digits. */
  hash: string;
  /** 0..100; under 50 the hash carries too little information to match on. */
  quality: number;
  /** Size of the pixels hashed (before any squash). */
  width: number;
  height: number;
  mode: PdqMode;
  dihedral?: DihedralHashes;
}

function checkPixels(image: PixelImage): void {
  const { data, width, height, channels } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new HashError("BAD_PIXELS", `invalid image size ${width}x${height}`);
  }
  if (![1, 2, 3, 4].includes(channels)) {
    throw new HashError("BAD_PIXELS", `unsupported channel count ${channels}: expected 1, 2, 3 or 4`);
  }
  if (!data || data.length < width * height * channels) {
    throw new HashError(
      "BAD_PIXELS",
      `pixel buffer too short: ${data ? data.length : 0} bytes for ${width}x${height}x${channels}`,
    );
  }
  if (width < MIN_SIDE || height < MIN_SIDE) {
    throw new HashError(
      "TOO_SMALL",
      `too small to hash: ${width}x${height} (PDQ needs at least ${MIN_SIDE} pixels on each side)`,
    );
  }
}

/**
 * Below this gap between the two DCT values around the median, the fast
 * path's rounding could flip a bit, so the exact path is used. On the 49
 * reference images and the 200 benchmark photos (up to 12 MP, both modes) the
 * fast path's DCT values were at most 0.0037 from the reference's 32-bit ones,
 * so two values can close a gap by at most 0.0074: this is 2.7x that. The
 * reference's rounding error grows with the size of the image, so the margins
 * grow with its square root above 12 MP.
 */
const EXACT_GAP = 0.02;
const MEASURED_PIXELS = 12_192_768; // 4032 x 3024, the largest image measured

/**
 * The PDQ hash of a pixel array. Throws {@link HashError} `TOO_SMALL` for an
 * image under 5 pixels on a side (never an all-zero hash).
 */
export function hashPixels(image: PixelImage, options: PdqOptions = {}): PdqResult {
  return computePdq(image, options).result;
}

/**
 * {@link hashPixels}, also saying which path ran (`fast`, or `exact` after a
 * near-tie or when asked for). With `path: "fast"` the fallback is forbidden,
 * so tests can compare the fast path's own bits with the exact path's.
 */
export function computePdq(image: PixelImage, options: PdqOptions = {}): { result: PdqResult; path: PdqPath } {
  checkPixels(image);
  const choice = options.exact ? "exact" : (options.path ?? "auto");
  if (choice !== "auto" && choice !== "fast" && choice !== "exact") {
    throw new HashError("BAD_PIXELS", `unknown PDQ path "${String(choice)}": use auto, fast or exact`);
  }
  const mode = options.mode ?? "full";
  if (mode !== "full" && mode !== "squash512") {
    throw new HashError("BAD_PIXELS", `unknown PDQ mode "${String(mode)}": use full or squash512`);
  }
  const squash = mode === "squash512";
  const variants = options.dihedral ? DIHEDRAL_NAMES.length : 1;
  const block = blurDecimate(lumaSource(image, squash));
  let dct = dct16(block);
  const grow = Math.max(1, Math.sqrt((image.width * image.height) / MEASURED_PIXELS));
  let { quality, stable } = qualityWithMargin(block, QUALITY_MARGIN * grow);
  if (choice === "fast") stable = true;
  else if (choice === "exact") stable = false;
  else {
    for (let v = 0; v < variants && stable; v++) {
      if (medianGap(v === 0 ? dct : dihedralDct(dct, v)) < EXACT_GAP * grow) stable = false;
    }
  }
  if (!stable) {
    // A near-tie: redo it with the reference's own 32-bit arithmetic.
    const exact = referenceBlock(image, squash);
    dct = dct32(exact);
    quality = quality32(exact);
  }
  const result: PdqResult = {
    hash: wordsToHex(threshold(dct)),
    quality,
    width: image.width,
    height: image.height,
    mode,
  };
  if (options.dihedral) {
    const d = {} as DihedralHashes;
    DIHEDRAL_NAMES.forEach((name, v) => {
      d[name] = v === 0 ? result.hash : wordsToHex(threshold(dihedralDct(dct, v)));
    });
    result.dihedral = d;
  }
  return { result, path: stable ? "fast" : "exact" };
}

export { SQUASH_SIDE };

/**
 * Building blocks, for benchmarks and for callers that bring their own
 * pipeline: luminance (with the optional squash), blur + decimation to 64x64,
 * the 16x16 DCT, thresholding and hex encoding.
 */
export { blurDecimate, type LumaSource } from "./blur.ts";
export { lumaSource } from "./pixels.ts";
export { useWasm } from "./wasm/instance.ts";
export { dct16, qualityWithMargin, threshold, wordsToHex } from "./dct.ts";
export { dct32, referenceBlock } from "./exact.ts";
