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
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
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

function readKeyFile(file: string): Buffer | null {
  let key: Buffer;
  try {
    key = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  if (key.length !== SERVER_KEY_BYTES) {
    throw new ServerKeyError(`the server key file ${file} has ${key.length} bytes, not ${SERVER_KEY_BYTES}; restore it from a backup`);
  }
  return key;
}

/**
 * Read the key at `file`, or make it (owner-only, 0600) when it does not
 * exist. A file of the wrong size is refused. Several processes starting at
 * once on a fresh path end with one key: each writes a complete temporary
 * file and link()s it to `file`, which only one can do (the others read the
 * winner's file, never a half-written one).
 */
export function loadOrCreateKeyFile(file: string): { key: Buffer; created: boolean } {
  const existing = readKeyFile(file);
  if (existing) return { key: existing, created: false };
  const key = randomBytes(SERVER_KEY_BYTES);
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  let won = false;
  try {
    linkSync(tmp, file);
    won = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    unlinkSync(tmp);
  }
  if (!won) {
    const theirs = readKeyFile(file);
    if (!theirs) throw new ServerKeyError(`the server key file ${file} vanished while it was being made; start again`);
    return { key: theirs, created: false };
  }
  try {
    const dfd = openSync(dirname(file), "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // not every platform can fsync a folder; the file itself is synced
  }
  return { key, created: true };
}

/**
 * The server keys for `store`: from the key `file` (made at first start;
 * `keyPathFor(db)` for a SQLite file), or a throwaway in-memory key when
 * `file` is null (`:memory:` databases). Checks the key's fingerprint
 * against the one kept in the store (and keeps it there the first time).
 * Several processes on one PostgreSQL database must share one key file: one
 * started with another key refuses to start (the fingerprint differs).
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
  // the first process to start keeps its fingerprint (atomically, also across processes on one PostgreSQL)
  const known = await store.setMetaOnce("server_key_fingerprint", keys.fingerprint);
  if (known !== keys.fingerprint) {
    if (created && file) unlinkSync(file);
    if (store.kind === "postgres") {
      throw new ServerKeyError(
        `the server key ${file ?? "(in memory)"}${created ? " (made just now)" : ""} is not the key this PostgreSQL database is used with: ` +
          "another serve process, or an earlier start, used a different key file. Every process on one database must use the same " +
          "server key file (--key-file): copy the first one to each host, or restore it from a backup",
      );
    }
    throw new ServerKeyError(
      created
        ? `the server key file ${file ?? "(in memory)"} was missing, but this database was used with another key: case secrets cannot be checked without it. Restore the key file from a backup`
        : `the server key file ${file} does not belong to this database (another key was used with it); restore the right key file`,
    );
  }
  return keys;
}
