/** Decompression-bomb and size limits for decoding. */

/** Default pixel limit: 100 megapixels. An over-limit file is refused from its header. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** "100 MP" style wording for messages. */
export function megapixels(n: number): string {
  const mp = n / 1_000_000;
  return `${Number.isInteger(mp) ? mp : mp.toFixed(1)} MP`;
}
