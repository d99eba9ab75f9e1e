/**
 * Image size from the first bytes of a file, without decoding: what the
 * decompression-bomb check needs before any pixel is decoded. JPEG goes
 * through the project's own header reader (src/image/jpeg-head.ts), which
 * also gives the EXIF orientation. Runs anywhere (no Node APIs).
 */
import { readJpegHead } from "../image/jpeg-head.ts";
import type { ImageFormat } from "../image/sniff.ts";

export interface ImageHead {
  width: number;
  height: number;
  /** The EXIF orientation tag (1..8) when the header says; 1 otherwise. */
  orientation: number;
}

const u32be = (b: Uint8Array, at: number) => ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8) + b[at + 3];
const u16le = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);
const u24le = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);

/**
 * The stored size of an image (before orientation), or null when the
 * header cannot be read (too short, damaged, or a layout not handled here:
 * the decoder then gets the last word).
 */
export function readImageHead(b: Uint8Array, format: ImageFormat): ImageHead | null {
  switch (format) {
    case "jpeg": {
      const h = readJpegHead(b);
      return h ? { width: h.width, height: h.height, orientation: h.orientation } : null;
    }
    case "png":
      // signature (8), IHDR length (4), "IHDR" (4), width, height
      if (b.length < 24 || b[12] !== 0x49 || b[13] !== 0x48 || b[14] !== 0x44 || b[15] !== 0x52) return null;
      return { width: u32be(b, 16), height: u32be(b, 20), orientation: 1 };
    case "gif":
      if (b.length < 10) return null;
      return { width: u16le(b, 6), height: u16le(b, 8), orientation: 1 };
    case "webp": {
      if (b.length < 30) return null;
      const chunk = String.fromCharCode(b[12], b[13], b[14], b[15]);
      if (chunk === "VP8X") return { width: 1 + u24le(b, 24), height: 1 + u24le(b, 27), orientation: 1 };
      if (chunk === "VP8L") {
        if (b[20] !== 0x2f) return null;
        const bits = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
        return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, orientation: 1 };
      }
      if (chunk === "VP8 ") {
        // frame tag (3), start code 9d 01 2a, then 14-bit sizes
        if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return null;
        return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff, orientation: 1 };
      }
      return null;
    }
    default:
      return null;
  }
}

/** How many bytes of a file {@link readImageHead} may need (a JPEG's EXIF can come first). */
export const HEAD_BYTES = 256 * 1024;
