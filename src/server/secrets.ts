/**
 * Random identifiers and secrets, and how the server keeps them.
 *
 * Case secrets are stored as salted scrypt hashes (`scrypt$N$r$p$salt$hash`,
 * parameters inside, so they can be raised later without breaking old cases)
 * and checked in constant time. Platform keys carry 256 random bits, so a
 * plain SHA-256 of the key is enough to store them. All ids are random, never
 * sequential.
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from "node:crypto";

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

/** 256 random bits, base64url (43 characters). */
export function newCaseSecret(): string {
  return b64(randomBytes(32));
}

/** `hsk_` + 256 random bits. */
export function newApiKey(): string {
  return `hsk_${b64(randomBytes(32))}`;
}

/** The stored form of a case secret: `scrypt$N$r$p$salt$hash`. */
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
