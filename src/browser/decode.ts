/**
 * Decoding in the browser: encoded bytes to RGBA pixels, with the same
 * pixels as the Node path (sharp) wherever the browser allows it.
 *
 * - The type comes from the content (magic bytes), never from the name.
 * - The size is read from the header and checked against the pixel limit
 *   before anything is decoded (decompression bombs).
 * - `createImageBitmap` with `colorSpaceConversion: "none"` (no ICC profile
 *   applied, as sharp is told) and `premultiplyAlpha: "none"`, drawn on an
 *   OffscreenCanvas and read back. EXIF orientation is applied by default,
 *   as in the CLI (`imageOrientation: "from-image"`); `orient: false` keeps
 *   the stored pixel order: Chromium 150 rotates even with `"none"`, so the
 *   JPEG header's orientation is undone here.
 * - PNG is decoded by png.ts (the canvas premultiplies alpha): exact for every PNG.
 * - HEIC/HEIF goes through src/image/heic.ts (libheif in WebAssembly, the
 *   CLI's decoder too, so the pixels are the same): a chunk of its own,
 *   imported from the same origin when the first HEIC comes, never before.
 *
 * docs/browser.md has what was measured. Runs in a worker or a page; no Node APIs.
 */
import { HashError } from "../pdq/errors.ts";
import type { PixelImage } from "../pdq/pixels.ts";
import { DEFAULT_MAX_PIXELS, megapixels } from "../image/limits.ts";
import { type ImageFormat, looksLikeText, sniffFormat } from "../image/sniff.ts";
import { readImageHead } from "./header.ts";
import { decodePng } from "./png.ts";

export interface BrowserDecodeOptions {
  /** Apply EXIF orientation (default true), as the CLI does. */
  orient?: boolean;
  /** Refuse images with more pixels than this, from the header (default 100 MP). */
  maxPixels?: number;
}

export interface BrowserDecodedImage extends PixelImage {
  channels: 4;
  format: ImageFormat;
  /** The EXIF orientation tag (1..8), 1 when absent or unknown. */
  orientation: number;
}

/** Formats decoded in the browser by canvas or png.ts (HEIF has its own path, decodeHeif). */
const BROWSER_FORMATS: ReadonlySet<ImageFormat> = new Set(["jpeg", "png", "webp", "gif", "avif"]);

function notAnImage(head: Uint8Array): HashError {
  if (head.length === 0) return new HashError("EMPTY_FILE", "empty file (0 bytes): nothing to hash");
  if (looksLikeText(head)) return new HashError("NOT_AN_IMAGE", "not an image: this is a text file");
  return new HashError("NOT_AN_IMAGE", "not an image: the content is not JPEG, PNG, WebP, GIF or AVIF (the file name does not matter)");
}

/** True when the bytes end the way a complete file of this format ends. */
function looksComplete(b: Uint8Array, format: ImageFormat): boolean {
  const n = b.length;
  if (format === "jpeg") {
    // EOI, possibly followed by padding
    for (let i = n - 2; i >= Math.max(0, n - 64); i--) if (b[i] === 0xff && b[i + 1] === 0xd9) return true;
    return false;
  }
  if (format === "png") {
    // IEND chunk: 00 00 00 00 49 45 4e 44 ae 42 60 82
    for (let i = n - 8; i >= Math.max(0, n - 64); i--) {
      if (b[i] === 0x49 && b[i + 1] === 0x45 && b[i + 2] === 0x4e && b[i + 3] === 0x44) return true;
    }
    return false;
  }
  return true;
}

/** A HEIC decoder of your own (bytes to RGBA), instead of the built-in one (src/image/heic.ts). */
export type HeicDecoder = (bytes: Uint8Array) => Promise<{ data: Uint8Array | Uint8ClampedArray; width: number; height: number }>;
let heicDecoder: HeicDecoder | null = null;
/** Plug in a HEIC decoder (bytes to RGBA); null (the default) uses the built-in libheif one. */
export function setHeicDecoder(d: HeicDecoder | null): void {
  heicDecoder = d;
}

/** Which orientations swap width and height. */
const SWAPS = (o: number) => o >= 5 && o <= 8;

/**
 * Decode an encoded image to RGBA. Throws {@link HashError} with a code and a
 * message for a person (the page words them in its own language by code).
 */
export async function decodeInBrowser(bytes: Uint8Array, options: BrowserDecodeOptions = {}): Promise<BrowserDecodedImage> {
  const orient = options.orient ?? true;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const format = sniffFormat(bytes.subarray(0, 64));
  if (!format) throw notAnImage(bytes.subarray(0, 64));
  if (format === "heif") return decodeHeif(bytes, maxPixels);
  if (!BROWSER_FORMATS.has(format)) {
    throw new HashError("UNSUPPORTED_FORMAT", `${format.toUpperCase()} images cannot be hashed in the browser: save the picture as JPEG or PNG first`);
  }
  const head = readImageHead(bytes, format);
  if (head && head.width * head.height > maxPixels) {
    throw new HashError("TOO_LARGE", `too large: ${head.width}x${head.height} is over the ${megapixels(maxPixels)} limit`);
  }
  if (!head && format !== "avif") {
    throw bytes.length < 64
      ? new HashError("TRUNCATED", `truncated ${format.toUpperCase()}: the file is damaged or was not copied completely`)
      : new HashError("CORRUPT", `damaged ${format.toUpperCase()}: the image header cannot be read`);
  }
  if (!looksComplete(bytes, format)) {
    // Browsers draw what they can of a cut-off file (grey below); sharp refuses it. So do we.
    throw new HashError("TRUNCATED", `truncated ${format.toUpperCase()}: the file is damaged or was not copied completely`);
  }
  if (format === "png") {
    // Our own decoder: the canvas premultiplies alpha (and browsers differ on gAMA); see png.ts.
    const png = await decodePng(bytes);
    return { data: png.data, width: png.width, height: png.height, channels: 4, format, orientation: 1 };
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]), {
      colorSpaceConversion: "none",
      premultiplyAlpha: "none",
      imageOrientation: "from-image",
    });
  } catch (err) {
    throw new HashError("CORRUPT", `damaged ${format.toUpperCase()}: the image data cannot be decoded`, { cause: err });
  }
  try {
    const orientation = head?.orientation ?? 1;
    const width = bitmap.width;
    const height = bitmap.height;
    if (width * height > maxPixels) {
      throw new HashError("TOO_LARGE", `too large: ${width}x${height} is over the ${megapixels(maxPixels)} limit`);
    }
    const data = readPixels(bitmap, width, height);
    let image: BrowserDecodedImage = { data, width, height, channels: 4, format, orientation };
    if (!orient && orientation !== 1) {
      // Browsers now always apply EXIF orientation ("none" means "from-image" since the
      // spec change); the stored order is wanted, so undo it here (measured: docs/browser.md).
      image = { ...unorient(image, orientation), channels: 4, format, orientation };
    }
    return image;
  } finally {
    bitmap.close();
  }
}

function readPixels(bitmap: ImageBitmap, width: number, height: number): Uint8ClampedArray {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true, colorSpace: "srgb", alpha: true }) as OffscreenCanvasRenderingContext2D | null;
  if (!ctx) throw new HashError("CORRUPT", "this browser cannot read image pixels (no 2D canvas)");
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, width, height, { colorSpace: "srgb" }).data;
}

/**
 * The stored pixel order back from a displayed (EXIF-oriented) image: for
 * each stored pixel, where orientation `o` put it on display.
 */
function unorient(img: PixelImage, o: number): PixelImage {
  const { width: dw, data } = img;
  const swap = SWAPS(o);
  const sw = swap ? img.height : img.width;
  const sh = swap ? img.width : img.height;
  const out = new Uint8ClampedArray(sw * sh * 4);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      let dx: number;
      let dy: number;
      switch (o) {
        case 2: dx = sw - 1 - x; dy = y; break; // mirrored
        case 3: dx = sw - 1 - x; dy = sh - 1 - y; break; // rotated 180
        case 4: dx = x; dy = sh - 1 - y; break; // mirrored vertically
        case 5: dx = y; dy = x; break; // transposed
        case 6: dx = sh - 1 - y; dy = x; break; // rotated 90 clockwise
        case 7: dx = sh - 1 - y; dy = sw - 1 - x; break; // transversed
        case 8: dx = y; dy = sw - 1 - x; break; // rotated 270 clockwise
        default: dx = x; dy = y;
      }
      const s = (dy * dw + dx) * 4;
      const d = (y * sw + x) * 4;
      out[d] = data[s];
      out[d + 1] = data[s + 1];
      out[d + 2] = data[s + 2];
      out[d + 3] = data[s + 3];
    }
  }
  return { data: out, width: sw, height: sh, channels: 4 };
}

async function decodeHeif(bytes: Uint8Array, maxPixels: number): Promise<BrowserDecodedImage> {
  if (!heicDecoder) {
    // libheif (about 2 MB with its WebAssembly) is loaded on the first HEIC only, from this origin.
    let heic: typeof import("../image/heic.ts");
    try {
      heic = await import("../image/heic.ts");
    } catch (err) {
      throw new HashError("UNSUPPORTED_FORMAT", "HEIC/HEIF photos cannot be read here: the HEIC decoder could not be loaded", { cause: err });
    }
    // Checks the pixel limit from the container before decoding; throws HashError.
    const img = heic.decodeHeic(bytes, { maxPixels, channels: 4 });
    return { data: img.data, width: img.width, height: img.height, channels: 4, format: "heif", orientation: 1 };
  }
  let out: Awaited<ReturnType<HeicDecoder>>;
  try {
    out = await heicDecoder(bytes);
  } catch (err) {
    if (err instanceof HashError) throw err;
    throw new HashError("CORRUPT", "damaged HEIF: the image data cannot be decoded", { cause: err });
  }
  if (out.width * out.height > maxPixels) {
    throw new HashError("TOO_LARGE", `too large: ${out.width}x${out.height} is over the ${megapixels(maxPixels)} limit`);
  }
  return { data: out.data, width: out.width, height: out.height, channels: 4, format: "heif", orientation: 1 };
}
