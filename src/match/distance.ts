/** Hamming distance between hex hashes (PDQ, or MD5), on the hex and bit-count rules of hash256.ts. */
import { nibble, POP16 } from "./hash256.ts";

/** Bits that differ between two hex hashes of the same length. Throws on malformed input. */
export function hammingDistance(a: string, b: string): number {
  if (a.length !== b.length || a.length % 2 !== 0) {
    throw new TypeError(`hashes differ in length or are malformed (${a.length} and ${b.length} hex digits)`);
  }
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const x = nibble(a.charCodeAt(i));
    const y = nibble(b.charCodeAt(i));
    if (x < 0 || y < 0) throw new TypeError(`not a hex hash: ${JSON.stringify((x < 0 ? a : b)[i])} at column ${i + 1}`);
    d += POP16[x ^ y];
  }
  return d;
}
