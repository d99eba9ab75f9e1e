/**
 * Feed cursors: a feed sequence number sealed with AES-256-GCM under a key
 * derived from the server key, base64url. A cursor is opaque (it looks random
 * and differs each time, even for the same position), cannot be forged or
 * edited, and survives restarts. Cursors of the earlier readable form
 * (`hsf1:<seq>`, base64url) are still accepted, so platforms keep their place
 * across the upgrade; they reveal only the position a platform already has.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const VERSION = 2;

export function sealCursor(key: Buffer, seq: number): string {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", key, iv);
  c.setAAD(Buffer.from([VERSION]));
  const plain = Buffer.alloc(8);
  plain.writeBigUInt64BE(BigInt(seq));
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, c.getAuthTag(), ct]).toString("base64url");
}

/** The sequence number inside a cursor this server gave out, or null. */
export function openCursor(key: Buffer, cursor: string): number | null {
  const raw = Buffer.from(cursor, "base64url");
  if (raw.length === 1 + 12 + 16 + 8 && raw[0] === VERSION) {
    try {
      const d = createDecipheriv("aes-256-gcm", key, raw.subarray(1, 13));
      d.setAAD(raw.subarray(0, 1));
      d.setAuthTag(raw.subarray(13, 29));
      const plain = Buffer.concat([d.update(raw.subarray(29)), d.final()]);
      const seq = Number(plain.readBigUInt64BE());
      return Number.isSafeInteger(seq) ? seq : null;
    } catch {
      return null;
    }
  }
  const m = /^hsf1:(0|[1-9][0-9]{0,14})$/.exec(raw.toString("latin1"));
  return m ? Number(m[1]) : null;
}
