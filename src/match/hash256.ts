/**
 * Compact 256-bit PDQ hashes: eight 32-bit words in a Uint32Array.
 *
 * The 64 hex digits PDQ prints are one big-endian 256-bit number: word 0 holds
 * hex digits 0..7 (the most significant), word 7 digits 56..63. Many hashes
 * live in one flat Uint32Array, 8 words each, so hot loops never touch
 * strings or BigInt.
 */

import { PDQ_MAX_BITS, PDQ_MIN_BITS } from "../protocol/limits.ts";

/** Words in a hash. */
export const HASH_WORDS = 8;
/** Hex digits in a hash. */
export const HASH_HEX_LENGTH = 64;
/** Hashes with fewer bits set than this (or more than 256 - this) are degenerate (the protocol's limits: one rule). */
export const MIN_BITS_SET = PDQ_MIN_BITS;
export const MAX_BITS_SET = PDQ_MAX_BITS;

/** 64 hex digits of either case: what a PDQ hash typed on a command line or in a list looks like. */
export const PDQ_HEX = /^[0-9a-fA-F]{64}$/;

/** One hash: 8 words, most significant first. */
export type Hash256 = Uint32Array;

const HEX = "0123456789abcdef";

/** 0..15 for a hex digit's char code, -1 otherwise (the one hex-digit rule of the project). */
export function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Bits set in a 32-bit word. */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Bits set in each 16-bit value (64 KiB, shared by the hot loops). */
export const POP16: Uint8Array = (() => {
  const t = new Uint8Array(65536);
  for (let i = 1; i < 65536; i++) t[i] = (i & 1) + t[i >> 1];
  return t;
})();

/**
 * Why `hex` is not a usable PDQ hash, or null when it is. Checks, in order:
 * length, hex digits, all-zero, and degenerate bit counts (fewer than 16 or
 * more than 240 bits set).
 */
export function hashProblem(hex: string): string | null {
  if (hex.length !== HASH_HEX_LENGTH) {
    return `wrong length: ${hex.length} characters, a PDQ hash is ${HASH_HEX_LENGTH} hex digits`;
  }
  let bits = 0;
  for (let i = 0; i < HASH_HEX_LENGTH; i++) {
    const n = nibble(hex.charCodeAt(i));
    if (n < 0) return `not hex: ${JSON.stringify(hex[i])} at column ${i + 1}`;
    bits += POP16[n];
  }
  if (bits === 0) return "all-zero hash (what the reference emits for an image it could not hash)";
  if (bits < MIN_BITS_SET || bits > MAX_BITS_SET) {
    return `degenerate hash: ${bits} of 256 bits set (a usable hash has ${MIN_BITS_SET} to ${MAX_BITS_SET})`;
  }
  return null;
}

/** A thrown error for a malformed hash given to the library. */
export class HashFormatError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "HashFormatError";
  }
}

/**
 * Parse 64 hex digits into `out` at word offset `offset` (a new hash when
 * `out` is omitted). Throws {@link HashFormatError} on a wrong length or a
 * non-hex digit; does not judge bit counts (see {@link hashProblem}).
 */
export function parseHash(hex: string, out?: Uint32Array, offset = 0): Hash256 {
  const dst = out ?? new Uint32Array(HASH_WORDS);
  if (hex.length !== HASH_HEX_LENGTH) {
    throw new HashFormatError(`wrong length: ${hex.length} characters, a PDQ hash is ${HASH_HEX_LENGTH} hex digits`);
  }
  for (let w = 0; w < HASH_WORDS; w++) {
    let v = 0;
    for (let k = 0; k < 8; k++) {
      const n = nibble(hex.charCodeAt(w * 8 + k));
      if (n < 0) throw new HashFormatError(`not hex: ${JSON.stringify(hex[w * 8 + k])} at column ${w * 8 + k + 1}`);
      v = (v << 4) | n;
    }
    dst[offset + w] = v >>> 0;
  }
  return out ? dst.subarray(offset, offset + HASH_WORDS) : dst;
}

/** 64 lowercase hex digits of the hash at word offset `offset`. */
export function formatHash(words: Uint32Array, offset = 0): string {
  let s = "";
  for (let w = 0; w < HASH_WORDS; w++) {
    const v = words[offset + w];
    for (let sh = 28; sh >= 0; sh -= 4) s += HEX[(v >>> sh) & 15];
  }
  return s;
}

/** Hamming distance between the hash at `a[ao..]` and the hash at `b[bo..]`. */
export function hamming(a: Uint32Array, b: Uint32Array, ao = 0, bo = 0): number {
  return (
    popcount32(a[ao] ^ b[bo]) +
    popcount32(a[ao + 1] ^ b[bo + 1]) +
    popcount32(a[ao + 2] ^ b[bo + 2]) +
    popcount32(a[ao + 3] ^ b[bo + 3]) +
    popcount32(a[ao + 4] ^ b[bo + 4]) +
    popcount32(a[ao + 5] ^ b[bo + 5]) +
    popcount32(a[ao + 6] ^ b[bo + 6]) +
    popcount32(a[ao + 7] ^ b[bo + 7])
  );
}

/** Bits set in the hash at word offset `offset`. */
export function bitsSet(words: Uint32Array, offset = 0): number {
  let n = 0;
  for (let w = 0; w < HASH_WORDS; w++) n += popcount32(words[offset + w]);
  return n;
}

/** A hash given as hex or as words, as words (hex is parsed; words are not copied). */
export function toHash(hash: string | Uint32Array): Hash256 {
  if (typeof hash === "string") return parseHash(hash);
  if (!(hash instanceof Uint32Array) || hash.length !== HASH_WORDS) {
    throw new HashFormatError("a hash is 64 hex digits or a Uint32Array of 8 words");
  }
  return hash;
}
