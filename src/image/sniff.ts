/**
 * Image type from content (magic bytes), never from the file extension.
 * Runs anywhere (no Node APIs).
 */

export type ImageFormat = "jpeg" | "png" | "webp" | "gif" | "avif" | "heif" | "tiff";

/** Formats hashsafe decodes. SVG, PDF and the like are refused on purpose. */
export const SUPPORTED_FORMATS: readonly ImageFormat[] = ["jpeg", "png", "webp", "gif", "avif", "heif", "tiff"];

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

/** What a file that is not a picture we decode is, from its first bytes (for "skipped: not pictures" summaries). */
export type NonPictureKind = "pdf" | "svg" | "video" | "text" | "other";

/** Kinds of files that are not pictures, from content; null when the bytes are a picture format we decode. */
export function describeNonPicture(head: Uint8Array): NonPictureKind | null {
  if (sniffFormat(head) !== null) return null;
  if (ascii(head, 0, 5) === "%PDF-") return "pdf";
  if (isVideo(head)) return "video";
  const text = ascii(head, 0, Math.min(head.length, 512)).replace(/^\uFEFF|^\xEF\xBB\xBF/, "").trimStart().toLowerCase();
  if (text.startsWith("<svg") || (text.startsWith("<?xml") && text.includes("<svg"))) return "svg";
  if (looksLikeText(head)) return "text";
  return "other";
}

/**
 * True for common video containers: ISO BMFF (MP4, MOV, 3GP, M4V) by its
 * `ftyp` brand, Matroska/WebM, AVI, MPEG transport and program streams, FLV, ASF/WMV.
 */
export function isVideo(head: Uint8Array): boolean {
  if (ascii(head, 4, 4) === "ftyp") {
    const brand = ascii(head, 8, 4);
    if (["avif", "avis", "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"].includes(brand)) return false;
    return true; // isom, mp41, mp42, qt  , M4V , 3gp4, ...
  }
  if (ascii(head, 4, 4) === "moov" || ascii(head, 4, 4) === "mdat" || ascii(head, 4, 4) === "wide") return true;
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return true; // Matroska / WebM
  if (ascii(head, 0, 4) === "RIFF" && ascii(head, 8, 4) === "AVI ") return true;
  if (head[0] === 0x00 && head[1] === 0x00 && head[2] === 0x01 && (head[3] === 0xba || head[3] === 0xb3)) return true; // MPEG-PS
  if (head[0] === 0x47 && head.length > 188 && head[188] === 0x47) return true; // MPEG-TS
  if (ascii(head, 0, 3) === "FLV") return true;
  if (head[0] === 0x30 && head[1] === 0x26 && head[2] === 0xb2 && head[3] === 0x75) return true; // ASF / WMV
  return false;
}
