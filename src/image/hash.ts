/**
 * Encoded image -> PDQ hash, in Node (decode with sharp, hash with src/pdq).
 */
import { hashPixels, type PdqOptions, type PdqResult } from "../pdq/index.ts";
import { refuseFlat } from "./flat.ts";
import { type DecodedImage, type DecodeOptions, decodeImage } from "./node.ts";
import type { ImageFormat } from "./sniff.ts";

export interface HashOptions extends PdqOptions, DecodeOptions {}

export interface ImageHashResult extends PdqResult {
  /** The container format detected from the content. */
  format: ImageFormat;
  /** The EXIF orientation tag of the file (1 when absent); applied unless `orient: false`. */
  orientation: number;
  /**
   * True when some pixel is transparent (alpha under 255): copies shared
   * flattened onto a background may then hash far from this (see `alpha`).
   */
  transparent: boolean;
}

/**
 * The hash of decoded pixels, with the file-level rule: a flat picture
 * (quality 0, or an all-zero hash) is a `FLAT` HashError, never a hash.
 */
function hashDecoded(img: DecodedImage, options: HashOptions): ImageHashResult {
  const r = refuseFlat(hashPixels(img, options));
  return { ...r, format: img.format, orientation: img.orientation, transparent: img.transparent ?? false };
}

/**
 * Hash an encoded image held in memory (JPEG, PNG, WebP, GIF, AVIF, TIFF).
 * Throws HashError; `FLAT` for a picture of one colour (also a fully
 * transparent one whose alpha is dropped): it has nothing to recognise.
 */
export async function hashImage(input: Uint8Array, options: HashOptions = {}): Promise<ImageHashResult> {
  return hashDecoded(await decodeImage(input, options), options);
}

/** Hash an image file (as {@link hashImage}). */
export async function hashFile(path: string, options: HashOptions = {}): Promise<ImageHashResult> {
  return hashDecoded(await decodeImage(path, options), options);
}

export type FileHashOutcome =
  | { path: string; result: ImageHashResult; error?: undefined }
  | { path: string; result?: undefined; error: unknown };

/**
 * Hash many files, `jobs` decodes in flight (default 2). Each worker starts
 * its next decode before it hashes the image it just got, so the decoder
 * threads stay busy while the hashing runs on this thread. `onResult` is
 * called as each file is done (in completion order; `index` is the file's
 * position in `paths`). A file that fails (a flat picture too: `FLAT`) is
 * an outcome with an error; the others go on.
 */
export async function hashFiles(
  paths: readonly string[],
  options: HashOptions & { jobs?: number },
  onResult: (outcome: FileHashOutcome, index: number) => void,
): Promise<void> {
  const jobs = Math.max(1, options.jobs ?? 2);
  let next = 0;
  const decode = (i: number) =>
    decodeImage(paths[i], options).then(
      (img) => ({ img, error: undefined }),
      (error: unknown) => ({ img: undefined, error }),
    );
  async function worker(): Promise<void> {
    let i = next++;
    if (i >= paths.length) return;
    let pending = decode(i);
    for (;;) {
      const { img, error } = await pending;
      const cur = i;
      i = next++;
      const more = i < paths.length;
      if (more) pending = decode(i);
      if (img) {
        let outcome: FileHashOutcome;
        try {
          outcome = { path: paths[cur], result: hashDecoded(img, options) };
        } catch (err) {
          outcome = { path: paths[cur], error: err };
        }
        onResult(outcome, cur);
      } else {
        onResult({ path: paths[cur], error }, cur);
      }
      if (!more) return;
    }
  }
  await Promise.all(Array.from({ length: Math.min(jobs, paths.length) }, worker));
}
