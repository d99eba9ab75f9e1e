/**
 * Random identifiers and secrets, and how the server keeps them.
 *
 * Case secrets carry 140 random bits (28 Crockford base32 characters in
 * groups of 4), so no slow hash is needed: the server stores
 * `hmac1$<HMAC-SHA-256(server key, case id, secret)>`, with the server key
 * kept outside the database (server-key.ts), and compares in constant time.
 * Secrets are read leniently: spaces, dashes and letter case do not matter,
 * and the look-alikes I, L (1) and O (0) are taken as Crockford says.
 * Secrets from before (43 base64url characters) keep working; rows stored as
 * scrypt hashes (`scrypt$N$r$p$salt$hash`) are checked with scrypt once and
 * then re-stored as HMAC. Platform keys carry 256 random bits, so a plain
 * SHA-256 of the key is enough to store them. All ids are random, never
 * sequential.
 */
import { createHash, createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from "node:crypto";

/** scrypt cost parameters. The default costs ~16 MiB and some tens of milliseconds per check. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 14, r: 8, p: 1 };
const KEY_LEN = 32;
const SALT_LEN = 16;

function scrypt(secret: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCb(secret, salt, KEY_LEN, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const b64 = (b: Buffer): string => b.toString("base64url");

/** `c_` + 128 random bits. */
export function newCaseId(): string {
  return `c_${b64(randomBytes(16))}`;
}

/** `h_` + 96 random bits. */
export function newHashId(): string {
  return `h_${b64(randomBytes(12))}`;
}

/** Crockford's base32 alphabet (no I, L, O, U). */
export const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Characters of a new case secret: 28 x 5 = 140 random bits. */
export const SECRET_CHARS = 28;

/** A new case secret: 140 random bits as 7 groups of 4 Crockford base32 characters, e.g. `7KQ2-M0ZD-...`. */
export function newCaseSecret(): string {
  const bytes = randomBytes(SECRET_CHARS); // one byte per character: 256 % 32 == 0, so no bias
  let out = "";
  for (let i = 0; i < SECRET_CHARS; i++) {
    if (i > 0 && i % 4 === 0) out += "-";
    out += CROCKFORD[bytes[i] & 31];
  }
  return out;
}

/** A legacy secret (before base32): 43 base64url characters, taken exactly as given. */
const LEGACY_SECRET = /^[A-Za-z0-9_-]{43}$/;

/**
 * The canonical form of a presented secret, or null when it cannot be one:
 * a legacy secret as is; otherwise spaces and dashes dropped, upper case,
 * I/L read as 1 and O as 0, and then exactly 28 base32 characters.
 */
export function canonicalSecret(presented: string): string | null {
  const t = presented.trim();
  if (LEGACY_SECRET.test(t)) return t;
  const s = t.replace(/[\s-]+/g, "").toUpperCase().replace(/[IL]/g, "1").replace(/O/g, "0");
  if (s.length !== SECRET_CHARS) return null;
  for (const ch of s) if (!CROCKFORD.includes(ch)) return null;
  return s;
}

/** The stored form of a case secret: `hmac1$` + base64url HMAC-SHA-256 over the case id and the canonical secret. */
export function macSecret(key: Buffer, caseId: string, canonical: string): string {
  return `hmac1$${b64(createHmac("sha256", key).update("hashsafe/case-secret/v1\0").update(caseId).update("\0").update(canonical).digest())}`;
}

/** The outcome of checking a case secret. */
export interface SecretCheck {
  ok: boolean;
  /** set when the stored form should be replaced (a legacy scrypt row checked right) */
  restore?: string;
}

/**
 * Check a presented secret against the stored form of case `caseId`, in
 * constant time. With `stored` null (no such case) the same HMAC work is done
 * against a throwaway value and the answer is false, so an unknown case and a
 * wrong secret look the same. A legacy scrypt row is checked with scrypt and,
 * when right, `restore` carries its HMAC form.
 */
export async function checkSecret(key: Buffer, caseId: string, presented: string, stored: string | null): Promise<SecretCheck> {
  const canonical = canonicalSecret(presented) ?? "";
  const mac = Buffer.from(macSecret(key, caseId, canonical));
  if (stored !== null && stored.startsWith("scrypt$")) {
    const ok = canonical !== "" && (await verifySecret(canonical, stored, stored));
    return ok ? { ok, restore: mac.toString() } : { ok };
  }
  const want = Buffer.from(stored ?? `hmac1$${b64(randomBytes(32))}`);
  const same = want.length === mac.length && timingSafeEqual(want, mac);
  return { ok: stored !== null && canonical !== "" && same };
}

/** `hsk_` + 256 random bits. */
export function newApiKey(): string {
  return `hsk_${b64(randomBytes(32))}`;
}

/** The legacy stored form of a case secret: `scrypt$N$r$p$salt$hash` (kept for old rows, tests and the bench). */
export async function hashSecret(secret: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const key = await scrypt(secret, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${b64(salt)}$${b64(key)}`;
}

/**
 * Check a secret against its stored form in constant time. With `stored`
 * null (no such case) the same scrypt work is done against a throwaway hash
 * and the answer is false, so an unknown case and a wrong secret take the same
 * time.
 */
export async function verifySecret(secret: string, stored: string | null, dummy: string): Promise<boolean> {
  const parts = (stored ?? dummy).split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const params = { N: Number(parts[1]), r: Number(parts[2]), p: Number(parts[3]) };
  const salt = Buffer.from(parts[4], "base64url");
  const want = Buffer.from(parts[5], "base64url");
  const got = await scrypt(secret, salt, params);
  const same = got.length === want.length && timingSafeEqual(got, want);
  return stored !== null && same;
}

/** SHA-256 hex of a platform key: what the store keeps and looks keys up by. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** SHA-256 hex of some bytes. */
export function sha256Hex(...parts: (string | Uint8Array)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}
