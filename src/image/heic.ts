/**
 * HEIC/HEIF decoding (what iPhones save), one decoder for Node and the
 * browser: libheif compiled to WebAssembly (the npm package libheif-js, its
 * bundle with the .wasm inside, so nothing is fetched). No Node APIs.
 *
 * - The primary image is decoded (not the thumbnails, depth or other items);
 *   a grid image (iPhone photos are 512x512 tiles) is put together by libheif.
 * - The size is read from the container (the `ispe` property, after the
 *   transforms) and checked against the pixel limit before anything is decoded.
 * - Orientation: libheif applies the container's transforms itself (`irot`
 *   rotation, `imir` mirror, `clap` crop), as HEIF requires of every reader;
 *   the width and height above are already the displayed ones. The EXIF
 *   orientation tag inside a HEIC (iPhones write it too, agreeing with
 *   `irot`) is not applied again.
 * - Pixels come out as 8-bit RGB(A), converted from YCbCr by libheif with the
 *   file's own nclx matrix (no ICC profile applied, as for the other formats).
 */
import libheif, { type HeifError, type LibHeif } from "libheif-js/libheif-wasm/libheif-bundle.mjs";
import { HashError } from "../pdq/errors.ts";
import { DEFAULT_MAX_PIXELS, megapixels } from "./limits.ts";

export interface HeicDecodeOptions {
  /** Refuse images with more pixels than this, from the container (default 100 megapixels). */
  maxPixels?: number;
  /**
   * 4 (default): RGBA; 3: RGB, alpha dropped (the stored colour of each pixel
   * is kept); "auto": RGBA when the image has an alpha plane, RGB otherwise.
   */
  channels?: 3 | 4 | "auto";
}

export interface HeicImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
  /** True when the image has an alpha plane (libheif's `has_alpha_channel`). */
  hasAlpha: boolean;
}

// libheif's heif_error_code and heif_suberror_code values (libheif/heif_error.h).
const ERR_UNSUPPORTED_FILETYPE = 3;
const ERR_UNSUPPORTED_FEATURE = 4;
const ERR_MEMORY = 6;
const ERR_DECODER_PLUGIN = 7;
const SUB_END_OF_DATA = 100;
const SUB_SECURITY_LIMIT = 1000;
const SUB_NO_DECODER = 6003;
const CHANNEL_INTERLEAVED = 10;

let module: LibHeif | null = null;

/** The libheif module, instantiated on first use (about 0.2 s; the WebAssembly is inside the bundle). */
function lib(): LibHeif {
  if (!module) {
    try {
      // libheif prints warnings; nothing may reach stdout (the CLI writes records there).
      module = libheif({ print: () => {}, printErr: () => {} });
    } catch (err) {
      throw new HashError("UNSUPPORTED_FORMAT", "HEIC/HEIF photos cannot be decoded here: the HEIC decoder (WebAssembly) did not start", { cause: err });
    }
  }
  return module;
}

/** The libheif version inside the bundle (e.g. "1.23.2"). */
export function heicDecoderVersion(): string {
  return lib().heif_get_version();
}

function isError(v: unknown): v is HeifError {
  return typeof v === "object" && v !== null && "code" in v && typeof (v as HeifError).code?.value === "number";
}

/** A libheif error as a HashError with a message for a person. */
function heifError(e: HeifError, stage: "read" | "decode"): HashError {
  const code = e.code.value;
  const sub = e.subcode.value;
  const detail = e.message ? ` (${e.message.trim()})` : "";
  if (sub === SUB_END_OF_DATA || /end of (file|data)|truncat/i.test(e.message)) {
    return new HashError("TRUNCATED", `truncated HEIC: the file is damaged or was not copied completely${detail}`);
  }
  if (sub === SUB_SECURITY_LIMIT) return new HashError("TOO_LARGE", `too large: this HEIC is over libheif's safety limits${detail}`);
  if (code === ERR_MEMORY) return new HashError("TOO_LARGE", `too large: not enough memory to decode this HEIC${detail}`);
  if (code === ERR_UNSUPPORTED_FILETYPE || code === ERR_UNSUPPORTED_FEATURE || sub === SUB_NO_DECODER) {
    return new HashError("UNSUPPORTED_FORMAT", `unsupported HEIF variant: this file cannot be decoded${detail}`);
  }
  if (stage === "decode" || code === ERR_DECODER_PLUGIN) {
    return new HashError("CORRUPT", `damaged HEIC: the image data cannot be decoded${detail}`);
  }
  return new HashError("CORRUPT", `damaged HEIC: the file's structure cannot be read${detail}`);
}

/**
 * Decode the primary image of a HEIC/HEIF file to 8-bit RGBA (or RGB).
 * Throws {@link HashError}: TRUNCATED, CORRUPT, UNSUPPORTED_FORMAT, TOO_LARGE.
 */
export function decodeHeic(bytes: Uint8Array, options: HeicDecodeOptions = {}): HeicImage {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const wanted = options.channels ?? 4;
  const heif = lib();
  const ctx = heif.heif_context_alloc();
  if (!ctx) throw new HashError("TOO_LARGE", "too large: not enough memory to decode this HEIC");
  let handle: object | null = null;
  try {
    // Parses the boxes only: nothing is decoded yet.
    const read = heif.heif_context_read_from_memory(ctx, bytes);
    if (read.code.value !== 0) throw heifError(read, "read");
    const h = heif.heif_js_context_get_primary_image_handle(ctx);
    if (isError(h)) throw heifError(h, "read");
    handle = h;
    const width = heif.heif_image_handle_get_width(h);
    const height = heif.heif_image_handle_get_height(h);
    if (!(width > 0 && height > 0)) throw new HashError("CORRUPT", "damaged HEIC: the image has no size");
    if (width * height > maxPixels) {
      throw new HashError("TOO_LARGE", `too large: ${width}x${height} is over the ${megapixels(maxPixels)} limit`);
    }
    const hasAlpha = heif.heif_image_handle_has_alpha_channel(h) !== 0;
    const channels: 3 | 4 = wanted === "auto" ? (hasAlpha ? 4 : 3) : wanted;
    let decoded: ReturnType<LibHeif["heif_js_decode_image2"]>;
    try {
      decoded = heif.heif_js_decode_image2(h, heif.heif_colorspace.heif_colorspace_RGB, heif.heif_chroma.heif_chroma_interleaved_RGBA);
    } catch (err) {
      // An abort inside the WebAssembly (a RuntimeError); the module is not reused after one.
      module = null;
      throw new HashError("CORRUPT", "damaged HEIC: the image data cannot be decoded", { cause: err });
    }
    if (!decoded) throw new HashError("CORRUPT", "damaged HEIC: the image data cannot be decoded");
    if (isError(decoded)) throw heifError(decoded, "decode");
    try {
      const plane = decoded.channels.find((c) => c.id.value === CHANNEL_INTERLEAVED);
      if (!plane || plane.bits_per_pixel !== 8 || plane.width !== width || plane.height !== height || plane.stride < width * 4) {
        throw new HashError("BAD_PIXELS", `HEIC decoder returned ${plane ? `${plane.width}x${plane.height} at ${plane.bits_per_pixel} bits` : "no interleaved plane"}, expected ${width}x${height} RGBA`);
      }
      return { data: copyOut(plane.data, plane.stride, width, height, channels), width, height, channels, hasAlpha };
    } finally {
      heif.heif_image_release(decoded.image);
    }
  } finally {
    if (handle && module) heif.heif_image_handle_release(handle);
    if (module) heif.heif_context_free(ctx);
  }
}

/** The pixels out of the module's memory (which the next decode reuses), rows packed, as RGBA or RGB. */
function copyOut(src: Uint8Array, stride: number, width: number, height: number, channels: 3 | 4): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  if (channels === 4) {
    if (stride === width * 4) out.set(src.subarray(0, width * height * 4));
    else for (let y = 0; y < height; y++) out.set(src.subarray(y * stride, y * stride + width * 4), y * width * 4);
    return out;
  }
  for (let y = 0, q = 0; y < height; y++) {
    for (let x = 0, p = y * stride; x < width; x++, p += 4, q += 3) {
      out[q] = src[p];
      out[q + 1] = src[p + 1];
      out[q + 2] = src[p + 2];
    }
  }
  return out;
}
