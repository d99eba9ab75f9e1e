/**
 * Encoded image -> PDQ hash, in Node (decode with sharp, hash with src/pdq).
 */
import { hashPixels, type PdqOptions, type PdqResult } from "../pdq/index.ts";
import { type DecodeOptions, decodeImage } from "./node.ts";
import type { ImageFormat } from "./sniff.ts";

export interface HashOptions extends PdqOptions, DecodeOptions {}

export interface ImageHashResult extends PdqResult {
  /** The container format detected from the content. */
  format: ImageFormat;
  /** The EXIF orientation tag of the file (1 when absent); applied unless `orient: false`. */
  orientation: number;
}

/** Hash an encoded image held in memory (JPEG, PNG, WebP, GIF, AVIF, TIFF). */
export async function hashImage(input: Uint8Array, options: HashOptions = {}): Promise<ImageHashResult> {
  const img = await decodeImage(input, options);
  return { ...hashPixels(img, options), format: img.format, orientation: img.orientation };
}

/** Hash an image file. */
export async function hashFile(path: string, options: HashOptions = {}): Promise<ImageHashResult> {
  const img = await decodeImage(path, options);
  return { ...hashPixels(img, options), format: img.format, orientation: img.orientation };
}

export type FileHashOutcome =
  | { path: string; result: ImageHashResult; error?: undefined }
  | { path: string; result?: undefined; error: unknown };

/**
 * Hash many files, `jobs` decodes in flight (default 2). Each worker starts
 * its next decode before it hashes the image it just got, so the decoder
 * threads stay busy while the hashing runs on this thread. `onResult` is
 * called as each file is done (in completion order; `index` is the file's
 * position in `paths`). A file that fails is an outcome with an error; the
 * others go on.
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
          outcome = { path: paths[cur], result: { ...hashPixels(img, options), format: img.format, orientation: img.orientation } };
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
