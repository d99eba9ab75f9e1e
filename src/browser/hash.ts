/**
 * Encoded image -> PDQ hash in the browser (decode.ts, then src/pdq): what
 * the worker runs. Also usable directly in any worker of your own.
 * No Node APIs.
 */
import { type DihedralHashes, HashError, hashPixels, type PdqMode } from "../pdq/index.ts";
import { flatError, isFlat } from "../image/flat.ts";
import type { ImageFormat } from "../image/sniff.ts";
import { type BrowserDecodeOptions, decodeInBrowser } from "./decode.ts";

export interface BrowserHashOptions extends BrowserDecodeOptions {
  /** `full` (default) or `squash512`, as `hashsafe hash --mode`. */
  mode?: PdqMode;
  /** Also give the 7 rotated and mirrored hashes. */
  dihedral?: boolean;
}

export interface BrowserHashResult {
  hash: string;
  quality: number;
  /** Size of the pixels hashed (after orientation). */
  width: number;
  height: number;
  mode: PdqMode;
  format: ImageFormat;
  orientation: number;
  /**
   * True when some pixel is transparent (alpha under 255). Its alpha is
   * dropped, as the CLI does, so copies shared flattened onto a background
   * may hash far from this.
   */
  transparent: boolean;
  dihedral?: DihedralHashes;
}

/** What a failed hash reports: the same codes as the CLI (`TOO_SMALL`, `NOT_AN_IMAGE`, `FLAT`, ...). */
export interface BrowserHashFailure {
  code: string;
  message: string;
}

/**
 * Decode and hash one encoded image. Throws {@link HashError}; as the CLI,
 * a picture with nothing to recognise (PDQ quality 0 or an all-zero hash: a
 * single colour, or almost) is refused with the code `FLAT`, never hashed.
 */
export async function hashBytes(bytes: Uint8Array, options: BrowserHashOptions = {}): Promise<BrowserHashResult> {
  const img = await decodeInBrowser(bytes, options);
  const r = hashPixels(img, { mode: options.mode, dihedral: options.dihedral });
  if (isFlat(r)) throw flatError();
  const out: BrowserHashResult = {
    hash: r.hash,
    quality: r.quality,
    width: r.width,
    height: r.height,
    mode: r.mode,
    format: img.format,
    orientation: img.orientation,
    transparent: hasTransparency(img.data),
  };
  if (r.dihedral) out.dihedral = r.dihedral;
  return out;
}

/** Whether some pixel of RGBA `data` has alpha under 255. */
function hasTransparency(data: ArrayLike<number>): boolean {
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) return true;
  return false;
}

/** A thrown value as {@link BrowserHashFailure}. */
export function failureOf(err: unknown): BrowserHashFailure {
  if (err instanceof HashError) return { code: err.code, message: err.message };
  return { code: "CORRUPT", message: err instanceof Error ? err.message : String(err) };
}
