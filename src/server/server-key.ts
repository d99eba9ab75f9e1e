/**
 * The server key: 32 random bytes kept in a file outside the database
 * (`<db>.key`, owner-only, made at first start), from which the keys of case
 * secrets (HMAC), feed cursors (AES-GCM) and quota subjects are derived. A
 * copy of the database alone (a backup, a stolen disk image) thus reveals no
 * way to check case secrets, forge cursors or tell client addresses.
 *
 * The database keeps the key's fingerprint: starting with another key (or
 * none, after the file was lost) over a database that has case secrets made
 * with the first one is refused, since no case could be opened any more.
 */
import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import type { Store } from "./store.ts";

export const SERVER_KEY_BYTES = 32;

/** The key file of a database file. */
export function keyPathFor(db: string): string {
  return `${db}.key`;
}

/** Derived keys, one per use. */
export interface ServerKeys {
  /** case secrets: HMAC-SHA-256 key */
  secrets: Buffer;
  /** feed cursors: AES-256-GCM key */
  cursors: Buffer;
  /** quota subjects (client addresses): HMAC-SHA-256 key */
  subjects: Buffer;
  /** identifies the key without revealing it */
  fingerprint: string;
}

export function deriveKeys(master: Buffer): ServerKeys {
  const d = (info: string) => Buffer.from(hkdfSync("sha256", master, "hashsafe-server-key", info, 32));
  return {
    secrets: d("case-secrets/v1"),
    cursors: d("feed-cursors/v1"),
    subjects: d("quota-subjects/v1"),
    fingerprint: createHmac("sha256", master).update("hashsafe/fingerprint/v1").digest("base64url").slice(0, 22),
  };
}

/** Raised when the key file and the database do not belong together. */
export class ServerKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServerKeyError";
  }
}

/**
 * Read the key at `file`, or make it (owner-only, 0600) when it does not
 * exist. A file of the wrong size is refused.
 */
export function loadOrCreateKeyFile(file: string): { key: Buffer; created: boolean } {
  try {
    const key = readFileSync(file);
    if (key.length !== SERVER_KEY_BYTES) {
      throw new ServerKeyError(`the server key file ${file} has ${key.length} bytes, not ${SERVER_KEY_BYTES}; restore it from a backup`);
    }
    return { key, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const key = randomBytes(SERVER_KEY_BYTES);
  const fd = openSync(file, "wx", 0o600);
  try {
    writeSync(fd, key);
  } finally {
    closeSync(fd);
  }
  return { key, created: true };
}

/**
 * The server keys for `store`: from the key `file` (made at first start;
 * `keyPathFor(db)` for a SQLite file), or a throwaway in-memory key when
 * `file` is null (`:memory:` databases). Checks the key's fingerprint
 * against the one kept in the store (and keeps it there the first time).
 * Several processes on one PostgreSQL database must share one key file.
 */
export async function serverKeysFor(store: Store, file: string | null): Promise<ServerKeys> {
  let keys: ServerKeys;
  let created = true;
  if (file === null) keys = deriveKeys(randomBytes(SERVER_KEY_BYTES));
  else {
    const k = loadOrCreateKeyFile(file);
    created = k.created;
    keys = deriveKeys(k.key);
  }
  const known = await store.getMeta("server_key_fingerprint");
  if (known === null) await store.setMeta("server_key_fingerprint", keys.fingerprint);
  else if (known !== keys.fingerprint) {
    if (created && file) unlinkSync(file);
    throw new ServerKeyError(
      created
        ? `the server key file ${file ?? "(in memory)"} was missing, but this database was used with another key: case secrets cannot be checked without it. Restore the key file from a backup`
        : `the server key file ${file} does not belong to this database (another key was used with it); restore the right key file`,
    );
  }
  return keys;
}
