/**
 * Random bytes for the hot paths (ids, case secrets, IVs): the same CSPRNG as
 * `crypto.randomBytes`, drawn 4 KiB at a time. A call to `randomBytes` costs
 * a round trip into OpenSSL of about 2 us whatever its size, and a case
 * creation needs five or more small draws. Every byte is handed out once and
 * wiped from the pool as it is taken; the caller gets its own copy.
 */
import { randomFillSync } from "node:crypto";

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/** `n` fresh random bytes (n <= 256; larger draws go straight to the CSPRNG). */
export function randomBytesPooled(n: number): Buffer {
  if (n > 256) return randomFillSync(Buffer.alloc(n));
  if (offset + n > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n));
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
