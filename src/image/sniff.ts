/**
 * Image type from content (magic bytes), never from the file extension.
 * Runs anywhere (no Node APIs).
 */

export type ImageFormat = "jpeg" | "png" | "webp" | "gif" | "avif" | "heif" | "tiff";

/** Formats hashsafe decodes. SVG, PDF and the like are refused on purpose. */
export const SUPPORTED_FORMATS: readonly ImageFormat[] = ["jpeg", "png", "webp", "gif", "avif", "tiff"];

function ascii(b: Uint8Array, at: number, len: number): string {
  let s = "";
  for (let i = at; i < at + len && i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** The format of an encoded image from its first bytes (32 are enough), or null. */
export function sniffFormat(head: Uint8Array): ImageFormat | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "jpeg";
  if (ascii(head, 0, 8) === "\x89PNG\r\n\x1a\n") return "png";
  if (ascii(head, 0, 6) === "GIF87a" || ascii(head, 0, 6) === "GIF89a") return "gif";
  if (ascii(head, 0, 4) === "RIFF" && ascii(head, 8, 4) === "WEBP") return "webp";
  const tiff = ascii(head, 0, 4);
  if (tiff === "II*\0" || tiff === "MM\0*") return "tiff";
  if (ascii(head, 4, 4) === "ftyp") {
    const brand = ascii(head, 8, 4);
    if (brand === "avif" || brand === "avis") return "avif";
    if (["heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"].includes(brand)) return "heif";
  }
  return null;
}

/** True when the bytes look like text (so "not an image" can say so). */
export function looksLikeText(head: Uint8Array): boolean {
  if (head.length === 0) return false;
  let printable = 0;
  for (const c of head) if (c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 128) printable++;
  return printable / head.length > 0.95;
}
