/**
 * A PNG decoder for the browser, so PNGs give sharp's pixels exactly.
 *
 * Why not the canvas: a 2D canvas stores premultiplied alpha, so any pixel
 * that is not fully opaque comes back with changed (or, at alpha 0, lost)
 * colour; sharp drops the alpha channel without compositing. Browsers also
 * differ on gAMA/cHRM/sRGB chunks and 16-bit rounding. Here the colour values
 * are read as stored: no gamma, no ICC, no compositing, alpha kept beside.
 *
 * Inflating is the browser's own `DecompressionStream("deflate")` (zlib,
 * with its Adler-32 check); chunk parsing, filters, Adam7 interlacing, bit
 * depths 1..16 and palettes are here. Conversions match libvips as measured
 * (test/e2e/browser-exact.test.ts): 16-bit samples keep their high byte;
 * grey at 1, 2 and 4 bits is scaled by bit replication (x255, x85, x17).
 *
 * Runs in a worker or a page; no Node APIs.
 */
import { HashError } from "../pdq/errors.ts";

export interface PngPixels {
  /** RGBA, 8 bits a sample, row-major. */
  data: Uint8ClampedArray;
  width: number;
  height: number;
  /** Colour type from IHDR: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colorType: number;
  bitDepth: number;
  interlaced: boolean;
  /** True when the picture has an alpha channel or a tRNS chunk. */
  hasAlpha: boolean;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, readonly number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
/** Adam7: x0, y0, dx, dy of each pass. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

const damaged = (why: string, cause?: unknown) => new HashError("CORRUPT", `damaged PNG: ${why}`, cause === undefined ? undefined : { cause });
const u32 = (b: Uint8Array, at: number) => ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8) + b[at + 3];

interface Header {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
}

/** True when a PNG has an alpha channel or a tRNS chunk (reads chunk headers only). */
export function pngHasAlpha(b: Uint8Array): boolean {
  if (b.length < 26) return false;
  const ct = b[25];
  if (ct === 4 || ct === 6) return true;
  for (let at = 8; at + 8 <= b.length; ) {
    const len = u32(b, at);
    const type = String.fromCharCode(b[at + 4], b[at + 5], b[at + 6], b[at + 7]);
    if (type === "tRNS") return true;
    if (type === "IDAT" || type === "IEND") return false;
    at += 12 + len;
  }
  return false;
}

async function inflate(parts: Uint8Array[], expected: number): Promise<Uint8Array> {
  const ds = new DecompressionStream("deflate");
  const writer = ds.writable.getWriter();
  const writing = (async () => {
    for (const p of parts) await writer.write(p as Uint8Array<ArrayBuffer>);
    await writer.close();
  })();
  writing.catch(() => {}); // the reader reports the error
  const out = new Uint8Array(expected);
  let n = 0;
  const reader = ds.readable.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (n + value.length > expected) {
        // More data than the header allows: libspng ignores the extra; so do we.
        out.set(value.subarray(0, expected - n), n);
        n = expected;
        await reader.cancel().catch(() => {});
        break;
      }
      out.set(value, n);
      n += value.length;
    }
    await writing.catch((err: unknown) => {
      if (n < expected) throw err;
    });
  } catch (err) {
    throw damaged("the compressed image data is broken", err);
  }
  if (n < expected) throw damaged("the image data ends early");
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Undo the filters of one (sub)image in place; `at` is where it starts in `raw`. Returns the bytes used. */
function unfilter(raw: Uint8Array, at: number, rowBytes: number, rows: number, bpp: number): number {
  let prev = -1; // start of the previous row's data, -1 for none
  for (let y = 0; y < rows; y++) {
    const f = raw[at];
    const row = at + 1;
    if (f > 4) throw damaged(`unknown row filter ${f}`);
    if (f === 1) {
      for (let i = bpp; i < rowBytes; i++) raw[row + i] = (raw[row + i] + raw[row + i - bpp]) & 255;
    } else if (f === 2) {
      if (prev >= 0) for (let i = 0; i < rowBytes; i++) raw[row + i] = (raw[row + i] + raw[prev + i]) & 255;
    } else if (f === 3) {
      for (let i = 0; i < rowBytes; i++) {
        const left = i >= bpp ? raw[row + i - bpp] : 0;
        const up = prev >= 0 ? raw[prev + i] : 0;
        raw[row + i] = (raw[row + i] + ((left + up) >> 1)) & 255;
      }
    } else if (f === 4) {
      for (let i = 0; i < rowBytes; i++) {
        const left = i >= bpp ? raw[row + i - bpp] : 0;
        const up = prev >= 0 ? raw[prev + i] : 0;
        const ul = prev >= 0 && i >= bpp ? raw[prev + i - bpp] : 0;
        raw[row + i] = (raw[row + i] + paeth(left, up, ul)) & 255;
      }
    }
    prev = row;
    at = row + rowBytes;
  }
  return rows * (rowBytes + 1);
}

/** Decode a PNG to RGBA. Throws {@link HashError} (CORRUPT / TRUNCATED) on a damaged file. */
export async function decodePng(b: Uint8Array): Promise<PngPixels> {
  let h: Header | null = null;
  let palette: Uint8Array | null = null;
  let trns: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let idatBytes = 0;
  let sawEnd = false;
  for (let at = 8; at + 8 <= b.length; ) {
    const len = u32(b, at);
    const type = String.fromCharCode(b[at + 4], b[at + 5], b[at + 6], b[at + 7]);
    const data = b.subarray(at + 8, at + 8 + len);
    if (at + 12 + len > b.length) throw new HashError("TRUNCATED", "truncated PNG: the file is damaged or was not copied completely");
    if (type === "IHDR") {
      if (len < 13) throw damaged("the header is too short");
      h = { width: u32(data, 0), height: u32(data, 4), bitDepth: data[8], colorType: data[9], interlaced: data[12] === 1 };
      if (!DEPTHS[h.colorType]?.includes(h.bitDepth)) throw damaged(`colour type ${h.colorType} at ${h.bitDepth} bits is not valid`);
      if (h.width === 0 || h.height === 0) throw damaged("the image has no pixels");
      if (data[10] !== 0 || data[11] !== 0 || data[12] > 1) throw damaged("unknown compression, filter or interlace method");
    } else if (type === "PLTE") {
      palette = data;
    } else if (type === "tRNS") {
      trns = data;
    } else if (type === "IDAT") {
      idat.push(data);
      idatBytes += len;
    } else if (type === "IEND") {
      sawEnd = true;
      break;
    }
    at += 12 + len;
  }
  if (!h) throw damaged("the image header cannot be read");
  if (!sawEnd) throw new HashError("TRUNCATED", "truncated PNG: the file is damaged or was not copied completely");
  if (idatBytes === 0) throw damaged("there is no image data");
  if (h.colorType === 3 && !palette) throw damaged("the palette is missing");

  const { width, height, bitDepth, colorType, interlaced } = h;
  const ch = CHANNELS[colorType];
  const bitsPerPixel = ch * bitDepth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const rowBytesOf = (w: number) => Math.ceil((w * bitsPerPixel) / 8);
  const passes = interlaced
    ? ADAM7.map(([x0, y0, dx, dy]) => ({ x0, y0, dx, dy, w: Math.ceil((width - x0) / dx), h: Math.ceil((height - y0) / dy) })).filter((p) => p.w > 0 && p.h > 0)
    : [{ x0: 0, y0: 0, dx: 1, dy: 1, w: width, h: height }];
  let expected = 0;
  for (const p of passes) expected += p.h * (rowBytesOf(p.w) + 1);
  const raw = await inflate(idat, expected);

  const out = new Uint8ClampedArray(width * height * 4);
  // The tRNS colour key (grey or RGB), compared at the stored bit depth.
  const key = trns && (colorType === 0 || colorType === 2) ? trns : null;
  const keyGrey = key && colorType === 0 && key.length >= 2 ? (key[0] << 8) | key[1] : -1;
  const keyRgb = key && colorType === 2 && key.length >= 6 ? [(key[0] << 8) | key[1], (key[2] << 8) | key[3], (key[4] << 8) | key[5]] : null;
  const scale = colorType === 0 ? [0, 255, 85, 0, 17][bitDepth] ?? 1 : 1;
  const mask = (1 << bitDepth) - 1;

  let at = 0;
  for (const p of passes) {
    const rowBytes = rowBytesOf(p.w);
    unfilter(raw, at, rowBytes, p.h, bpp);
    for (let y = 0; y < p.h; y++) {
      const row = at + y * (rowBytes + 1) + 1;
      const oy = p.y0 + y * p.dy;
      for (let x = 0; x < p.w; x++) {
        const o = (oy * width + p.x0 + x * p.dx) * 4;
        let r: number;
        let g: number;
        let bl: number;
        let a = 255;
        if (bitDepth < 8) {
          const bit = x * bitDepth;
          const v = (raw[row + (bit >> 3)] >> (8 - bitDepth - (bit & 7))) & mask;
          if (colorType === 3) {
            if (v * 3 + 2 < palette!.length) {
              r = palette![v * 3];
              g = palette![v * 3 + 1];
              bl = palette![v * 3 + 2];
            } else r = g = bl = 0;
            if (trns && v < trns.length) a = trns[v];
          } else {
            r = g = bl = v * scale;
            if (v === keyGrey) a = 0;
          }
        } else if (bitDepth === 8) {
          const s = row + x * ch;
          if (colorType === 3) {
            const v = raw[s];
            if (v * 3 + 2 < palette!.length) {
              r = palette![v * 3];
              g = palette![v * 3 + 1];
              bl = palette![v * 3 + 2];
            } else r = g = bl = 0;
            if (trns && v < trns.length) a = trns[v];
          } else if (colorType === 0) {
            r = g = bl = raw[s];
            if (raw[s] === keyGrey) a = 0;
          } else if (colorType === 4) {
            r = g = bl = raw[s];
            a = raw[s + 1];
          } else {
            r = raw[s];
            g = raw[s + 1];
            bl = raw[s + 2];
            if (colorType === 6) a = raw[s + 3];
            else if (keyRgb && r === keyRgb[0] && g === keyRgb[1] && bl === keyRgb[2]) a = 0;
          }
        } else {
          // 16 bits: the high byte (as libvips' cast to 8 bits measured); the key is compared at 16 bits.
          const s = row + x * ch * 2;
          const w0 = (raw[s] << 8) | raw[s + 1];
          if (colorType === 0) {
            r = g = bl = raw[s];
            if (w0 === keyGrey) a = 0;
          } else if (colorType === 4) {
            r = g = bl = raw[s];
            a = raw[s + 2];
          } else {
            r = raw[s];
            g = raw[s + 2];
            bl = raw[s + 4];
            if (colorType === 6) a = raw[s + 6];
            else if (keyRgb && w0 === keyRgb[0] && ((raw[s + 2] << 8) | raw[s + 3]) === keyRgb[1] && ((raw[s + 4] << 8) | raw[s + 5]) === keyRgb[2]) a = 0;
          }
        }
        out[o] = r;
        out[o + 1] = g;
        out[o + 2] = bl;
        out[o + 3] = a;
      }
    }
    at += p.h * (rowBytes + 1);
  }
  return { data: out, width, height, colorType, bitDepth, interlaced, hasAlpha: colorType === 4 || colorType === 6 || trns !== null };
}
