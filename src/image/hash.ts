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
