/**
 * Node decoding adapter: encoded image (file or buffer) to 8-bit RGB pixels,
 * with sharp (libvips).
 *
 * - The type is detected from content; only JPEG, PNG, WebP, GIF, AVIF and
 *   TIFF are decoded (the first frame of an animation or multi-page file),
 *   and HEIC/HEIF (the primary image) by libheif in WebAssembly (heic.ts).
 * - EXIF orientation is applied unless `orient: false`.
 * - Alpha is dropped, not composited, as the reference does (`alpha: "drop"`,
 *   the default), or the picture is flattened onto white or black first
 *   (`alpha: "white" | "black"`, sharp's flatten); either way the result says
 *   whether any pixel was transparent (alpha under 255). Grey, palette, 1-bit,
 *   16-bit and CMYK inputs become 8-bit RGB.
 * - Embedded ICC profiles are not applied (the reference does not apply them);
 *   CMYK becomes RGB by the plain formula R = (1 - C)(1 - K), also without
 *   colour management, which lands closest to the reference.
 * - The pixel limit is checked from the header, before any decoding.
 */
import { type FileHandle, open } from "node:fs/promises";
import sharp, { type Metadata, type SharpOptions } from "sharp";
import { HashError } from "../pdq/errors.ts";
import type { PixelImage } from "../pdq/pixels.ts";
import { readJpegHead } from "./jpeg-head.ts";
import { DEFAULT_MAX_PIXELS, megapixels } from "./limits.ts";
import { describeNonPicture, type ImageFormat, sniffFormat } from "./sniff.ts";

export interface DecodeOptions {
  /** Apply EXIF orientation (default true). False hashes the stored pixel order, as the reference does. */
  orient?: boolean;
  /** Refuse images with more pixels than this (default 100 megapixels). */
  maxPixels?: number;
  /**
   * What to do with transparency: `drop` (default, the reference's) hashes
   * the stored colour of every pixel, seen or not; `white` / `black` flatten
   * the picture onto that background first, as it looks when shared on one.
   */
  alpha?: AlphaMode;
}

/** How transparency is handled before hashing (see {@link DecodeOptions.alpha}). */
export type AlphaMode = "drop" | "white" | "black";
export const ALPHA_MODES: readonly AlphaMode[] = ["drop", "white", "black"];

export interface DecodedImage extends PixelImage {
  channels: 3;
  format: ImageFormat;
  /** The EXIF orientation tag (1..8), 1 when absent. */
  orientation: number;
  /** True when some pixel has alpha under 255 (whatever `alpha` did with it). */
  transparent?: boolean;
}

const SNIFF_BYTES = 64;
/** Files up to this size are read whole (one read, no race between sniff and decode); larger ones are decoded from the path. */
const READ_WHOLE = 64 * 1024 * 1024;

/** The file's first bytes and what to decode from: its bytes, or its path when it is large. */
async function readSource(path: string): Promise<{ head: Uint8Array; source: string | Buffer }> {
  const fh = await open(path, "r");
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw Object.assign(new Error("EISDIR"), { code: "EISDIR" });
    if (st.size > READ_WHOLE) return { head: await headOf(fh), source: path };
    // Read to the end, whatever the size said (the file may be growing).
    const source = await fh.readFile();
    return { head: source.subarray(0, SNIFF_BYTES), source };
  } finally {
    await fh.close();
  }
}

/**
 * Sets how many libvips threads work on each image (process-wide: it is
 * sharp's `concurrency`). When several images decode at once on all cores,
 * as `hashsafe hash` does, one thread each is about 7% faster than the
 * default (one per core each): a JPEG decodes sequentially anyway, and the
 * extra threads only contend.
 */
export function setDecoderThreads(threads: number): void {
  sharp.concurrency(Math.max(1, Math.floor(threads)));
}

/** The first `SNIFF_BYTES` bytes of an open file (fewer if it is shorter). */
async function headOf(fh: FileHandle): Promise<Uint8Array> {
  const buf = new Uint8Array(SNIFF_BYTES);
  const { bytesRead } = await fh.read(buf, 0, SNIFF_BYTES, 0);
  return buf.subarray(0, bytesRead);
}

/** The first `SNIFF_BYTES` bytes of a file (fewer if it is shorter). */
export async function readHead(path: string): Promise<Uint8Array> {
  const fh = await open(path, "r");
  try {
    return await headOf(fh);
  } finally {
    await fh.close();
  }
}

/** {@link readHead}, or null when the file cannot be read. */
export async function tryReadHead(path: string): Promise<Uint8Array | null> {
  try {
    return await readHead(path);
  } catch {
    return null;
  }
}

function fsError(err: unknown, path: string): HashError {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") return new HashError("NOT_FOUND", `no such file: ${path}`, { cause: err });
  if (code === "EACCES" || code === "EPERM") {
    return new HashError("READ_ERROR", `permission denied: cannot read ${path}`, { cause: err });
  }
  if (code === "EISDIR") return new HashError("READ_ERROR", `is a directory, not an image file`, { cause: err });
  if (code === "ELOOP") return new HashError("SYMLINK_LOOP", `symbolic link loop: skipped`, { cause: err });
  return new HashError("READ_ERROR", `could not read the file (${code ?? String(err)})`, { cause: err });
}

function notAnImage(head: Uint8Array): HashError {
  if (head.length === 0) return new HashError("EMPTY_FILE", "empty file (0 bytes): nothing to hash");
  const kind = describeNonPicture(head);
  if (kind === "pdf") return new HashError("NOT_AN_IMAGE", "not a picture: this is a PDF document (export its pages as pictures to hash them)");
  if (kind === "svg") return new HashError("NOT_AN_IMAGE", "not a picture: this is an SVG drawing (hashsafe hashes photos; export it as PNG to hash it)");
  if (kind === "video") return new HashError("NOT_AN_IMAGE", "not a picture: this is a video (`hashsafe submit` sends a video's MD5)");
  if (kind === "text") return new HashError("NOT_AN_IMAGE", "not an image: this is a text file");
  return new HashError(
    "NOT_AN_IMAGE",
    "not an image: the content is not JPEG, PNG, WebP, GIF, HEIC, AVIF or TIFF (the file name does not matter)",
  );
}

/** Turn a libvips error into a message a person understands. */
function decodeError(err: unknown, format: ImageFormat): HashError {
  const msg = err instanceof Error ? err.message : String(err);
  const name = format.toUpperCase();
  if (/premature end|truncat|unexpected end|end of (file|stream)|short read|read error|not enough data|incomplete/i.test(msg)) {
    return new HashError("TRUNCATED", `truncated ${name}: the file is damaged or was not copied completely`, {
      cause: err,
    });
  }
  if (/pixel limit|exceeds pixel/i.test(msg)) {
    return new HashError("TOO_LARGE", `too large: over the pixel limit; raise it with --max-pixels`, { cause: err });
  }
  if (/unsupported|not a known|no loader|is not in a known format/i.test(msg)) {
    return new HashError("UNSUPPORTED_FORMAT", `unsupported ${name} variant: this file cannot be decoded`, {
      cause: err,
    });
  }
  return new HashError("CORRUPT", `damaged ${name}: the image data cannot be decoded`, { cause: err });
}

/**
 * Decode an encoded image (a path or the bytes) to 8-bit RGB.
 * Throws {@link HashError} with a code and a message for a person.
 */
export async function decodeImage(input: string | Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const orient = options.orient ?? true;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  let head: Uint8Array;
  let source: string | Buffer;
  if (typeof input === "string") {
    try {
      const read = await readSource(input);
      head = read.head;
      source = read.source;
    } catch (err) {
      throw fsError(err, input);
    }
  } else {
    head = input.subarray(0, SNIFF_BYTES);
    source = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  }
  const format = sniffFormat(head);
  if (!format) throw notAnImage(head);
  if (format === "heif") {
    // HEIC/HEIF: libheif in WebAssembly (src/image/heic.ts, the browser's decoder too),
    // loaded on the first HEIC only. libheif applies irot/imir itself: `orient` does not apply.
    const { decodeHeic } = await import("./heic.ts");
    let bytes: Uint8Array;
    if (typeof source === "string") {
      try {
        const fh = await open(source, "r");
        try {
          bytes = await fh.readFile();
        } finally {
          await fh.close();
        }
      } catch (err) {
        throw fsError(err, source);
      }
    } else {
      bytes = source;
    }
    try {
      const heic = decodeHeic(bytes, { maxPixels, channels: "auto" });
      if (heic.channels === 4) {
        // an alpha plane: scanned and handled as for every other format (drop, white, black)
        const rgba = Buffer.from(heic.data.buffer, heic.data.byteOffset, heic.data.byteLength);
        return await fromRgba(rgba, heic.width, heic.height, format, 1, options.alpha ?? "drop");
      }
      return { data: heic.data, width: heic.width, height: heic.height, channels: 3, format, orientation: 1 };
    } catch (err) {
      if (err instanceof HashError && err.code === "TOO_LARGE" && err.message.endsWith(" limit")) {
        throw new HashError("TOO_LARGE", `${err.message}; raise it with --max-pixels`);
      }
      throw err;
    }
  }

  const base = { failOn: "error" as const, limitInputPixels: false as const, pages: 1, page: 0, ignoreIcc: true };
  // A plain JPEG's header is read here; anything else (and CMYK) asks libvips.
  const jpeg = format === "jpeg" && typeof source !== "string" ? readJpegHead(source) : null;
  let width: number;
  let height: number;
  let orientation: number;
  let cmyk: boolean;
  let hasAlpha = false;
  if (jpeg && jpeg.components !== 4) {
    ({ width, height, orientation } = jpeg);
    cmyk = false;
  } else {
    let meta: Metadata;
    try {
      meta = await sharp(source, base).metadata();
    } catch (err) {
      throw decodeError(err, format);
    }
    width = meta.width ?? 0;
    height = meta.pageHeight && meta.pages && meta.pages > 1 ? meta.pageHeight : (meta.height ?? 0);
    orientation = meta.orientation ?? 1;
    cmyk = meta.space === "cmyk";
    hasAlpha = Boolean(meta.hasAlpha);
  }
  if (width * height > maxPixels) {
    throw new HashError(
      "TOO_LARGE",
      `too large: ${width}x${height} is over the ${megapixels(maxPixels)} limit; raise it with --max-pixels`,
    );
  }
  try {
    if (cmyk) return await decodeCmyk(source, { ...base, limitInputPixels: Math.max(1, maxPixels), autoOrient: orient }, format, orientation);
    if (hasAlpha) {
      return await decodeWithAlpha(source, { ...base, limitInputPixels: Math.max(1, maxPixels), autoOrient: orient }, format, orientation, options.alpha ?? "drop");
    }
    const { data, info } = await sharp(source, { ...base, limitInputPixels: Math.max(1, maxPixels), autoOrient: orient })
      .removeAlpha()
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) {
      throw new HashError("BAD_PIXELS", `decoder returned ${info.channels} channels, expected 3`);
    }
    return { data, width: info.width, height: info.height, channels: 3, format, orientation };
  } catch (err) {
    if (err instanceof HashError) throw err;
    throw decodeError(err, format);
  }
}

/**
 * A picture with an alpha channel: decoded once with its alpha, which is
 * scanned (transparent = some pixel under 255). `drop` keeps the stored RGB
 * (the same values as removeAlpha gives); `white` / `black` flatten the
 * decoded pixels onto that background with sharp's flatten.
 */
async function decodeWithAlpha(
  source: string | Buffer,
  options: SharpOptions,
  format: ImageFormat,
  orientation: number,
  alpha: AlphaMode,
): Promise<DecodedImage> {
  const { data, info } = await sharp(source, options).toColourspace("srgb").raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
  if (info.channels === 3) return { data, width: info.width, height: info.height, channels: 3, format, orientation, transparent: false };
  if (info.channels !== 4) throw new HashError("BAD_PIXELS", `decoder returned ${info.channels} channels, expected 4`);
  return fromRgba(data, info.width, info.height, format, orientation, alpha);
}

/** Decoded RGBA pixels to RGB as `alpha` says (see {@link decodeWithAlpha}); sharp's decoder and libheif's both end here. */
async function fromRgba(
  data: Buffer,
  width: number,
  height: number,
  format: ImageFormat,
  orientation: number,
  alpha: AlphaMode,
): Promise<DecodedImage> {
  const info = { width, height };
  const n = info.width * info.height;
  let transparent = false;
  for (let p = 3; p < data.length; p += 4) {
    if (data[p] !== 255) {
      transparent = true;
      break;
    }
  }
  if (transparent && alpha !== "drop") {
    const background = alpha === "white" ? { r: 255, g: 255, b: 255 } : { r: 0, g: 0, b: 0 };
    const flat = await sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } })
      .flatten({ background })
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (flat.info.channels !== 3) throw new HashError("BAD_PIXELS", `flatten returned ${flat.info.channels} channels, expected 3`);
    return { data: flat.data, width: info.width, height: info.height, channels: 3, format, orientation, transparent };
  }
  const rgb = Buffer.allocUnsafe(n * 3);
  for (let i = 0, p = 0, q = 0; i < n; i++, p += 4, q += 3) {
    rgb[q] = data[p];
    rgb[q + 1] = data[p + 1];
    rgb[q + 2] = data[p + 2];
  }
  return { data: rgb, width: info.width, height: info.height, channels: 3, format, orientation, transparent };
}

/** CMYK pixels to RGB with R = 255 (1 - C)(1 - K) (no colour management). */
async function decodeCmyk(
  source: string | Buffer,
  options: SharpOptions,
  format: ImageFormat,
  orientation: number,
): Promise<DecodedImage> {
  const { data, info } = await sharp(source, options)
    .toColourspace("cmyk")
    .raw({ depth: "uchar" })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 4) throw new HashError("BAD_PIXELS", `CMYK decode returned ${info.channels} channels, expected 4`);
  const n = info.width * info.height;
  const rgb = Buffer.allocUnsafe(n * 3);
  for (let i = 0, p = 0, q = 0; i < n; i++, p += 4, q += 3) {
    const k = 255 - data[p + 3];
    rgb[q] = Math.floor(((255 - data[p]) * k) / 255);
    rgb[q + 1] = Math.floor(((255 - data[p + 1]) * k) / 255);
    rgb[q + 2] = Math.floor(((255 - data[p + 2]) * k) / 255);
  }
  return { data: rgb, width: info.width, height: info.height, channels: 3, format, orientation };
}
