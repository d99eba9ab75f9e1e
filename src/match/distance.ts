/** Hamming distance between PDQ hashes. */

const POP8 = (() => {
  const t = new Uint8Array(256);
  for (let i = 1; i < 256; i++) t[i] = (i & 1) + t[i >> 1];
  return t;
})();

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Bits that differ between two hex hashes of the same length. Throws on malformed input. */
export function hammingDistance(a: string, b: string): number {
  if (a.length !== b.length || a.length % 2 !== 0) {
    throw new TypeError(`hashes differ in length or are malformed (${a.length} and ${b.length} hex digits)`);
  }
  let d = 0;
  for (let i = 0; i < a.length; i += 2) {
    const x = hexNibble(a.charCodeAt(i)) * 16 + hexNibble(a.charCodeAt(i + 1));
    const y = hexNibble(b.charCodeAt(i)) * 16 + hexNibble(b.charCodeAt(i + 1));
    if (x < 0 || y < 0 || Number.isNaN(x) || Number.isNaN(y)) throw new TypeError(`not a hex hash`);
    d += POP8[(x ^ y) & 255];
  }
  return d;
}
