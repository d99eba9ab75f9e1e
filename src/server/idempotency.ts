/**
 * Idempotency keys. A record is found by a digest of principal + key; it keeps
 * a digest of the request (method, path, body) and the answer, encrypted
 * (AES-256-GCM) with a key derived from the client's Idempotency-Key, which
 * the server never stores. So the database at rest does not reveal the answers
 * (a create's answer holds the case secret), and a record expires after 24 h.
 * Requests still running are tracked in memory, per process.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";

/** The digest a record is stored under. */
export function keyDigest(principal: string, key: string): string {
  return createHash("sha256").update("hashsafe/idempotency-id/v1\0").update(principal).update("\0").update(key).digest("hex");
}

/** The digest of a request: method, path and raw body. */
export function requestDigest(method: string, path: string, body: Uint8Array): string {
  return createHash("sha256").update(method).update("\0").update(path).update("\0").update(body).digest("hex");
}

const SEAL_INFO = Buffer.from("hashsafe/idempotency-seal/v1\x01", "latin1");

/**
 * HKDF-SHA-256 (RFC 5869) of the client's key, salt = principal, info =
 * "hashsafe/idempotency-seal/v1", 32 bytes: PRK = HMAC(salt, key), then the
 * first output block HMAC(PRK, info || 0x01). The same bytes as
 * `hkdfSync("sha256", key, principal, info, 32)` at half its cost (no key
 * objects), which a case creation pays once.
 */
export function cipherKey(principal: string, key: string): Buffer {
  const prk = createHmac("sha256", principal).update(key).digest();
  return createHmac("sha256", prk).update(SEAL_INFO).digest();
}

/** Encrypt an answer body under the client's key. */
export function seal(principal: string, key: string, body: string): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", cipherKey(principal, key), iv);
  const ct = Buffer.concat([c.update(body, "utf8"), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), ct]);
}

/** Decrypt an answer body; throws if it was not sealed under this key. */
export function unseal(principal: string, key: string, sealed: Buffer): string {
  const d = createDecipheriv("aes-256-gcm", cipherKey(principal, key), sealed.subarray(0, 12));
  d.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([d.update(sealed.subarray(28)), d.final()]).toString("utf8");
}
