/**
 * The SQLite store (better-sqlite3): one file, WAL mode, versioned migrations;
 * `:memory:` for tests. Every write method is atomic (a savepoint); the writes
 * that arrive in one turn of the event loop share one IMMEDIATE transaction and
 * one commit (group commit, see `write`), and each is answered after that commit
 * is on disk: by default SQLite commits with `synchronous = NORMAL` (no fsync
 * on the event loop) and the store then `fdatasync`s the WAL on libuv's thread
 * pool before it answers, one sync for every commit since the last one (see
 * `SqliteStoreOptions.walSync`). Reads wait for that sync too, so no answer
 * shows a write that a power loss could still undo.
 *
 * One process per file: the connection takes SQLite's EXCLUSIVE locking mode
 * and holds the write lock from the start, so a second server on the same file
 * is refused at once (`DatabaseLockedError`), and SQLite keeps the WAL index
 * in its own memory instead of memory-mapping a `-shm` file (a damaged or
 * read-only `-shm` cannot crash the process). Use the PostgreSQL store for
 * several processes.
 *
 * Opening checks what the file is before writing to it: a 0-byte file, another
 * application's SQLite file or a file that is not SQLite at all is refused
 * unless `init` is set (`ForeignDatabaseError`); `PRAGMA quick_check` must
 * pass (`CorruptDatabaseError`). At run time, disk full, I/O errors,
 * corruption and a read-only file come out of every method as `StorageError`.
 */
import { randomInt } from "node:crypto";
import fs, { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import type { CanonicalHash, HashType, Scope } from "../protocol/index.ts";
import { APPLICATION_ID, MIGRATIONS, type Migration } from "./migrations.ts";
import {
  type ApiKeyInfo,
  type CaseEntry,
  type CaseHashesResult,
  type CaseView,
  type Commit,
  type Committed,
  type FeedbackWrite,
  type FeedRow,
  type HashChange,
  type IdempotencyRecord,
  LimitError,
  type PendingInfo,
  type PublishPolicy,
  type PublishResult,
  StorageError,
  type StorageFaultKind,
  type Store,
  type StoredHash,
  type WithdrawResult,
  type WriteLimits,
} from "./store.ts";

/** Raised when the database was written by a newer hashsafe (more migrations than this one knows). */
export class SchemaTooNewError extends Error {
  constructor(found: number, known: number) {
    super(`the database has schema version ${found}, newer than this hashsafe knows (${known}); upgrade hashsafe`);
    this.name = "SchemaTooNewError";
  }
}

/** The file is not a hashsafe database (0 bytes, another program's SQLite file, not SQLite); refused unless `init`. */
export class ForeignDatabaseError extends Error {
  constructor(path: string, what: string) {
    super(
      `${path} ${what}; hashsafe will not turn it into its own database. ` +
        `Check --db; to start a new hashsafe database in this file anyway, pass --init`,
    );
    this.name = "ForeignDatabaseError";
  }
}

/** `PRAGMA quick_check` failed: the file is damaged. */
export class CorruptDatabaseError extends Error {
  constructor(path: string, detail: string) {
    super(
      `${path} is damaged (SQLite's quick_check: ${detail}); hashsafe will not serve from it. ` +
        `Restore it from a backup, or recover what is readable with: sqlite3 ${path} .recover | sqlite3 recovered.db`,
    );
    this.name = "CorruptDatabaseError";
  }
}

/** Another process holds the database. */
export class DatabaseLockedError extends Error {
  constructor(path: string) {
    super(
      `${path} is in use by another process (probably another \`hashsafe serve\`); a SQLite database serves one process only. ` +
        `Stop the other one first, or use PostgreSQL (--db postgres://...) to run several processes`,
    );
    this.name = "DatabaseLockedError";
  }
}

/** Options of {@link SqliteStore.open}. */
export interface SqliteStoreOptions {
  /**
   * Durability. FULL (default): a write is answered only once it is on disk,
   * so it survives power loss. NORMAL: answered once committed; it survives a
   * crash of the process but maybe not of the machine.
   */
  synchronous?: "FULL" | "NORMAL";
  /**
   * How FULL is made durable. "thread" (default): SQLite commits without
   * syncing (`synchronous = NORMAL`) and the store fdatasyncs the WAL file on
   * libuv's thread pool before it answers, so the event loop goes on serving
   * while the disk syncs, and one sync covers every commit made meanwhile.
   * "inline": SQLite's own `synchronous = FULL`, an fsync inside each COMMIT
   * on the event loop. Same guarantee; "inline" is kept for comparison.
   */
  walSync?: "thread" | "inline";
  /** migrations to apply (tests only); defaults to {@link MIGRATIONS} */
  migrations?: readonly Migration[];
  /** accept a 0-byte or foreign file and make it a hashsafe database (`serve --init`) */
  init?: boolean;
  /** how long to wait for another process's lock before giving up, in ms (default 1000) */
  lockTimeoutMs?: number;
  /** `PRAGMA max_page_count` (tests: a "disk" that fills up); none by default */
  maxPageCount?: number;
}

interface HashRow {
  id: number;
  public_id: string;
  type: HashType;
  value: string;
  active: number;
  seq: number;
}

interface KeyRow {
  id: number;
  name: string;
  scopes: string;
  created_at: number;
  revoked_at: number | null;
}

/** 0..n-1 in a uniformly random order (Fisher-Yates with crypto randomness). */
export function shuffled(n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function keyInfo(r: KeyRow): ApiKeyInfo {
  return {
    id: r.id,
    name: r.name,
    scopes: r.scopes ? (r.scopes.split(",") as Scope[]) : [],
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}

/** The kind of storage fault a SQLite error code is, or null when it is not one. */
export function faultKind(code: string | undefined): StorageFaultKind | null {
  if (!code) return null;
  if (code.startsWith("SQLITE_FULL")) return "full";
  if (code.startsWith("SQLITE_IOERR")) return "io";
  if (code.startsWith("SQLITE_CORRUPT") || code.startsWith("SQLITE_NOTADB")) return "corrupt";
  if (code.startsWith("SQLITE_READONLY")) return "readonly";
  if (code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_PROTOCOL") || code.startsWith("SQLITE_NOLFS")) {
    return "unavailable";
  }
  return null;
}

/** A SQLite error as a StorageError when it is a storage fault; anything else unchanged. */
function asStorageError(err: unknown): unknown {
  const code = (err as { code?: string } | null)?.code;
  const kind = faultKind(code);
  return kind ? new StorageError(kind, `SQLite: ${(err as Error).message}`, code) : err;
}

/** Apply the migrations the database lacks; returns the schema version. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const current = db.pragma("user_version", { simple: true }) as number;
  const known = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
  if (current > known) throw new SchemaTooNewError(current, known);
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  if ((db.pragma("application_id", { simple: true }) as number) !== APPLICATION_ID) db.pragma(`application_id = ${APPLICATION_ID}`);
  return db.pragma("user_version", { simple: true }) as number;
}

/** What the file at `path` is, before anything is written to it. Throws ForeignDatabaseError unless `init`. */
function checkIdentity(db: Database.Database, path: string, init: boolean): void {
  let appId: number;
  let version: number;
  let tables: string[];
  try {
    appId = db.pragma("application_id", { simple: true }) as number;
    version = db.pragma("user_version", { simple: true }) as number;
    tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name);
  } catch (err) {
    if ((err as { code?: string }).code === "SQLITE_NOTADB") {
      if (init) throw new ForeignDatabaseError(path, "is not a SQLite database (it cannot be initialised in place; move it away)");
      throw new ForeignDatabaseError(path, "is not a SQLite database");
    }
    throw err;
  }
  if (init) return;
  if (appId === APPLICATION_ID) return;
  if (appId !== 0) throw new ForeignDatabaseError(path, `belongs to another application (application_id ${appId})`);
  if (tables.length === 0) return; // a new database (user_version 0, nothing in it)
  // a hashsafe database from before application_id was set: schema version >= 1 with our tables
  if (version >= 1 && tables.includes("cases") && tables.includes("hashes") && tables.includes("case_hashes")) return;
  throw new ForeignDatabaseError(path, `is another program's SQLite database (tables ${tables.slice(0, 5).join(", ")}${tables.length > 5 ? ", ..." : ""})`);
}

/** Stores open in this process, by absolute path (see `SqliteStore.openAt`). */
const OPEN = new Map<string, SqliteStore>();

export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly path: string;
  private readonly db: Database.Database;
  private readonly q;
  /** writes waiting for the next group commit (see {@link write}) */
  /** findApiKey's answers by key hash (see there) */
  private readonly keyCache = new Map<string, ApiKeyInfo>();
  private readonly pendingWrites: { run: () => unknown; resolve: (v: unknown) => void; reject: (err: unknown) => void }[] = [];

  /** the WAL file to fdatasync after each commit, or null when SQLite syncs itself (or there is no file) */
  private readonly walPath: string | null;
  private walFd: number | null = null;
  /** commits made so far, and how many of them are known to be on disk (see {@link durable}) */
  private commitGen = 0;
  private syncedGen = 0;
  private syncing = false;
  private readonly syncWaiters: { gen: number; resolve: () => void; reject: (err: unknown) => void }[] = [];

  private constructor(db: Database.Database, path: string, threadSync: boolean) {
    this.db = db;
    this.path = path;
    this.walPath = threadSync ? `${path}-wal` : null;
    const hashCols = "id, public_id, type, value, active, seq";
    this.q = {
      caseAuth: db.prepare<[string], { id: number; secret_hash: string }>("SELECT id, secret_hash FROM cases WHERE public_id = ?"),
      setSecret: db.prepare("UPDATE cases SET secret_hash = ? WHERE id = ?"),
      insertCase: db.prepare(
        "INSERT INTO cases (public_id, secret_hash, client_name, client_version, created_at) VALUES (?, ?, ?, ?, ?)",
      ),
      caseById: db.prepare<[number], { public_id: string; created_at: number }>("SELECT public_id, created_at FROM cases WHERE id = ?"),
      nextSeq: db.prepare<[], { value: number }>("UPDATE counters SET value = value + 1 WHERE name = 'feed_seq' RETURNING value"),
      hashByValue: db.prepare<[string, string], HashRow>(`SELECT ${hashCols} FROM hashes WHERE type = ? AND value = ?`),
      hashById: db.prepare<[number], HashRow>(`SELECT ${hashCols} FROM hashes WHERE id = ?`),
      hashByPublicId: db.prepare<[string], HashRow>(`SELECT ${hashCols} FROM hashes WHERE public_id = ?`),
      // never published: active 0 and a unique negative placeholder seq
      insertHash: db.prepare(
        "INSERT INTO hashes (public_id, type, value, active, seq, updated_at) VALUES (?, ?, ?, 0, (SELECT -coalesce(max(id), 0) - 1 FROM hashes), ?)",
      ),
      publishHash: db.prepare("UPDATE hashes SET active = ?, seq = ?, updated_at = ? WHERE id = ?"),
      link: db.prepare<[number, number], { active: number; entry_id: string }>(
        "SELECT active, entry_id FROM case_hashes WHERE case_id = ? AND hash_id = ?",
      ),
      linkByEntry: db.prepare<[number, string], { hash_id: number; active: number }>(
        "SELECT hash_id, active FROM case_hashes WHERE case_id = ? AND entry_id = ?",
      ),
      entryTaken: db.prepare<[number, string], { one: number }>("SELECT 1 AS one FROM case_hashes WHERE case_id = ? AND entry_id = ?"),
      maxPosition: db.prepare<[number], { p: number | null; n: number }>(
        "SELECT max(position) AS p, count(*) AS n FROM case_hashes WHERE case_id = ?",
      ),
      insertLink: db.prepare(
        "INSERT INTO case_hashes (case_id, hash_id, position, active, updated_at, entry_id, added_at) VALUES (?, ?, ?, 1, ?, ?, ?)",
      ),
      setLinkActive: db.prepare("UPDATE case_hashes SET active = ?, updated_at = ? WHERE case_id = ? AND hash_id = ?"),
      activeLinks: db.prepare<[number], { hash_id: number }>("SELECT hash_id FROM case_hashes WHERE case_id = ? AND active = 1"),
      anyActiveHolder: db.prepare<[number], { one: number }>(
        "SELECT 1 AS one FROM case_hashes WHERE hash_id = ? AND active = 1 LIMIT 1",
      ),
      notePending: db.prepare("INSERT INTO feed_pending (hash_id, case_id, since) VALUES (?, ?, ?) ON CONFLICT (hash_id) DO NOTHING"),
      pending: db.prepare<[], { hash_id: number; case_id: number; since: number; active: number; held: number }>(`
        SELECT p.hash_id, p.case_id, p.since, h.active,
          EXISTS (SELECT 1 FROM case_hashes ch WHERE ch.hash_id = p.hash_id AND ch.active = 1) AS held
        FROM feed_pending p JOIN hashes h ON h.id = p.hash_id`),
      dropPending: db.prepare("DELETE FROM feed_pending WHERE hash_id = ?"),
      caseView: db.prepare<
        [number],
        { id: string; type: HashType; value: string; active: number; blocked: number; not_blocked: number; pending: number }
      >(`
        SELECT ch.entry_id AS id, h.type, h.value, ch.active,
          (SELECT count(*) FROM feedback f WHERE f.hash_id = h.id AND f.verdict = 'blocked' AND f.updated_at >= ch.added_at) AS blocked,
          (SELECT count(*) FROM feedback f WHERE f.hash_id = h.id AND f.verdict = 'not_blocked' AND f.updated_at >= ch.added_at) AS not_blocked,
          (SELECT count(*) FROM feedback f WHERE f.hash_id = h.id AND f.verdict = 'pending_review' AND f.updated_at >= ch.added_at) AS pending
        FROM case_hashes ch JOIN hashes h ON h.id = ch.hash_id
        WHERE ch.case_id = ? ORDER BY ch.position`),
      feed: db.prepare<[number, number], { seq: number; public_id: string; type: HashType; value: string; active: number; updated_at: number }>(
        "SELECT seq, public_id, type, value, active, updated_at FROM hashes WHERE seq > ? ORDER BY seq LIMIT ?",
      ),
      activeHashes: db.prepare<[number, number], HashRow>(
        `SELECT ${hashCols} FROM hashes WHERE active = 1 AND id > ? ORDER BY id LIMIT ?`,
      ),
      upsertFeedback: db.prepare(`
        INSERT INTO feedback (key_id, hash_id, verdict, tags, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (key_id, hash_id) DO UPDATE SET verdict = excluded.verdict, tags = excluded.tags, updated_at = excluded.updated_at`),
      insertKey: db.prepare<[string, string, string, number], KeyRow>(
        "INSERT INTO api_keys (name, key_hash, scopes, created_at) VALUES (?, ?, ?, ?) RETURNING id, name, scopes, created_at, revoked_at",
      ),
      keyByHash: db.prepare<[string], KeyRow>("SELECT id, name, scopes, created_at, revoked_at FROM api_keys WHERE key_hash = ?"),
      listKeys: db.prepare<[], KeyRow>("SELECT id, name, scopes, created_at, revoked_at FROM api_keys ORDER BY id"),
      revokeKeyById: db.prepare<[number, number], KeyRow>(
        "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING id, name, scopes, created_at, revoked_at",
      ),
      revokeKeyByName: db.prepare<[number, string], KeyRow>(
        "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL RETURNING id, name, scopes, created_at, revoked_at",
      ),
      getIdem: db.prepare<[string, number], { request_digest: string; status: number; sealed: Buffer; expires_at: number }>(
        "SELECT request_digest, status, sealed, expires_at FROM idempotency WHERE key_digest = ? AND expires_at > ?",
      ),
      putIdem: db.prepare(
        "INSERT OR REPLACE INTO idempotency (key_digest, request_digest, status, sealed, expires_at) VALUES (?, ?, ?, ?, ?)",
      ),
      purgeIdem: db.prepare("DELETE FROM idempotency WHERE expires_at <= ?"),
      usage: db.prepare<[string, number], { cases: number; hashes: number }>("SELECT cases, hashes FROM quota_usage WHERE subject = ? AND day = ?"),
      addUsage: db.prepare(`
        INSERT INTO quota_usage (subject, day, cases, hashes) VALUES (?, ?, ?, ?)
        ON CONFLICT (subject, day) DO UPDATE SET cases = cases + excluded.cases, hashes = hashes + excluded.hashes`),
      purgeUsage: db.prepare("DELETE FROM quota_usage WHERE day < ?"),
      getMeta: db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE name = ?"),
      setMeta: db.prepare("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"),
      probe: db.prepare("UPDATE health SET probed_at = ? WHERE id = 1"),
    };
  }

  /**
   * Open (creating it and its missing parent folders, owner-only, if needed),
   * check and migrate the database at `path` (`:memory:` for a private
   * in-memory one). Throws DatabaseLockedError, ForeignDatabaseError,
   * CorruptDatabaseError or SchemaTooNewError with a message that says what to do.
   */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    const memory = path === ":memory:" || path === "";
    if (!memory) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      let size = -1;
      try {
        size = statSync(path).size;
      } catch {
        // a new file
      }
      if (size === 0 && !options.init) throw new ForeignDatabaseError(path, "is an empty (0-byte) file, not a hashsafe database");
    }
    const db = new Database(path);
    try {
      if (!memory) {
        // before anything touches the file: no shared memory, and the lock held from now on
        db.pragma("locking_mode = EXCLUSIVE");
        db.pragma(`busy_timeout = ${options.lockTimeoutMs ?? 1000}`);
        try {
          db.exec("BEGIN EXCLUSIVE; COMMIT");
        } catch (err) {
          if (String((err as { code?: string }).code).startsWith("SQLITE_BUSY")) throw new DatabaseLockedError(path);
          if ((err as { code?: string }).code === "SQLITE_NOTADB") throw new ForeignDatabaseError(path, "is not a SQLite database");
          throw err;
        }
      }
      checkIdentity(db, path, options.init === true);
      if (!memory) {
        const check = db.pragma("quick_check", { simple: false }) as { quick_check: string }[];
        if (check.length !== 1 || check[0].quick_check !== "ok") {
          throw new CorruptDatabaseError(path, check.slice(0, 3).map((r) => r.quick_check).join("; "));
        }
        db.pragma("journal_mode = WAL");
      }
      const threadSync = !memory && (options.synchronous ?? "FULL") === "FULL" && (options.walSync ?? "thread") === "thread";
      db.pragma(`synchronous = ${threadSync ? "NORMAL" : (options.synchronous ?? "FULL")}`);
      db.pragma("foreign_keys = ON");
      db.pragma("temp_store = MEMORY");
      db.pragma("wal_autocheckpoint = 10000");
      migrate(db, options.migrations);
      if (options.maxPageCount) db.pragma(`max_page_count = ${options.maxPageCount}`);
      const store = new SqliteStore(db, memory ? path : resolve(path), threadSync);
      if (!memory) OPEN.set(store.path, store);
      return store;
    } catch (err) {
      db.close();
      const code = (err as { code?: string }).code;
      if (code === "SQLITE_CORRUPT" || code === "SQLITE_CORRUPT_VTAB") throw new CorruptDatabaseError(path, (err as Error).message);
      throw err;
    }
  }

  /** The store this process has open on the file at `path`, if any (tests and tools read through it). */
  static openAt(path: string): SqliteStore | undefined {
    return OPEN.get(resolve(path));
  }

  /** The schema version (number of migrations applied). */
  schemaVersion(): number {
    return this.db.pragma("user_version", { simple: true }) as number;
  }

  /** The journal mode in use ("wal" for files). */
  journalMode(): string {
    return this.db.pragma("journal_mode", { simple: true }) as string;
  }

  /** Tests: `PRAGMA max_page_count` (a "disk" of this many pages); returns the value now in force. */
  setMaxPageCount(pages: number): number {
    return this.db.pragma(`max_page_count = ${Math.floor(pages)}`, { simple: true }) as number;
  }

  /** Pages in use now. */
  pageCount(): number {
    return this.db.pragma("page_count", { simple: true }) as number;
  }

  /**
   * Tests and tools: run one read-only query through this connection (other
   * connections cannot read the file while the store holds it).
   */
  readQuery<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T[] {
    const st = this.db.prepare(sql);
    if (!st.reader || !st.readonly) throw new Error("readQuery runs read-only queries only");
    return st.all(...params) as T[];
  }

  /** Run `fn`, turning SQLite's storage faults into StorageError. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw asStorageError(err);
    }
  }

  /**
   * Rule 1 of the contract: each write is atomic (its own savepoint), its
   * idempotency record is checked first and stored with the answer, and it is
   * answered only once the transaction that holds it has committed (with
   * `synchronous` as opened: FULL, an fsync). Writes that arrive while one is
   * being handled in the same turn of the event loop share one IMMEDIATE
   * transaction and one commit (group commit): one fsync for several
   * creations instead of one each. A write that throws is rolled back to its
   * savepoint and rejected alone; a failed commit rejects every write of its group.
   */
  private write<R>(fn: () => R, commit: Commit<R>): Promise<Committed<R>> {
    return new Promise<Committed<R>>((resolve, reject) => {
      this.pendingWrites.push({ run: () => this.writeBody(fn, commit), resolve: resolve as (v: unknown) => void, reject });
      if (this.pendingWrites.length === 1) setImmediate(() => this.flushWrites());
    });
  }

  private writeBody<R>(fn: () => R, commit: Commit<R>): Committed<R> {
    const idem = commit.idempotency;
    if (idem) {
      const r = this.q.getIdem.get(idem.keyDigest, idem.now);
      if (r) return { replayed: { requestDigest: r.request_digest, status: r.status, sealed: r.sealed, expiresAt: r.expires_at } };
    }
    const result = fn();
    const answer = commit.respond(result);
    if (idem && answer.status < 300) {
      this.q.putIdem.run(idem.keyDigest, idem.requestDigest, answer.status, idem.seal(JSON.stringify(answer.body)), idem.expiresAt);
    }
    return { result, answer };
  }

  /** Run the queued writes in one transaction (see {@link write}). */
  private flushWrites(): void {
    const batch = this.pendingWrites.splice(0, 256);
    if (this.pendingWrites.length) setImmediate(() => this.flushWrites());
    if (batch.length === 0) return;
    const db = this.db;
    if (!db.open) {
      for (const w of batch) w.reject(new StorageError("unavailable", "the store is closed"));
      return;
    }
    try {
      db.exec("BEGIN IMMEDIATE");
    } catch (err) {
      for (const w of batch) w.reject(asStorageError(err));
      return;
    }
    const done: { w: (typeof batch)[number]; out: unknown }[] = [];
    for (let i = 0; i < batch.length; i++) {
      const w = batch[i];
      try {
        db.exec("SAVEPOINT hashsafe_write");
      } catch (err) {
        // the transaction is unusable: nothing of this group is committed
        for (const d of done) d.w.reject(asStorageError(err));
        for (const x of batch.slice(i)) x.reject(asStorageError(err));
        if (db.inTransaction) db.exec("ROLLBACK");
        return;
      }
      try {
        const out = w.run();
        db.exec("RELEASE hashsafe_write");
        done.push({ w, out });
      } catch (err) {
        if (db.inTransaction) {
          try {
            db.exec("ROLLBACK TO hashsafe_write");
            db.exec("RELEASE hashsafe_write");
            w.reject(asStorageError(err));
            continue;
          } catch {
            // fall through: give the whole group up
          }
        }
        // SQLite rolled the whole transaction back (or it cannot go on): the earlier writes of the group are gone too
        for (const d of done) d.w.reject(asStorageError(err));
        w.reject(asStorageError(err));
        if (db.inTransaction) {
          try {
            db.exec("ROLLBACK");
          } catch {
            // already gone
          }
        }
        const rest = batch.slice(i + 1);
        if (rest.length) {
          this.pendingWrites.unshift(...rest);
          if (this.pendingWrites.length === rest.length) setImmediate(() => this.flushWrites());
        }
        return;
      }
    }
    try {
      db.exec("COMMIT");
    } catch (err) {
      if (db.inTransaction) {
        try {
          db.exec("ROLLBACK");
        } catch {
          // already gone
        }
      }
      for (const d of done) d.w.reject(asStorageError(err));
      return;
    }
    this.durable().then(
      () => {
        for (const d of done) d.w.resolve(d.out);
      },
      (err) => {
        for (const d of done) d.w.reject(err);
      },
    );
  }

  /**
   * Resolves once everything committed so far is on disk: with `walSync`
   * "thread", after an fdatasync of the WAL that started after the last
   * commit (one sync in flight at a time; the commits made while it runs
   * share the next one); at once otherwise. A failed sync rejects with
   * StorageError "io" (the write's answer is then 503, and a retry with the
   * same Idempotency-Key gets the committed answer once storage recovers).
   */
  private durable(): Promise<void> {
    if (this.walPath === null) return Promise.resolve();
    return this.syncTo(++this.commitGen);
  }

  /** Reads wait until what they could see is on disk (no answer shows a write a power loss could undo). */
  private settled(): Promise<void> | undefined {
    return this.syncedGen >= this.commitGen ? undefined : this.syncTo(this.commitGen);
  }

  /** Resolves once a sync covering commit `gen` has finished. */
  private syncTo(gen: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.syncWaiters.push({ gen, resolve, reject });
      this.startSync();
    });
  }

  private startSync(): void {
    if (this.syncing || this.syncWaiters.length === 0) return;
    const target = this.commitGen;
    let fd: number | null;
    try {
      fd = this.openWal();
    } catch (err) {
      this.finishSync(target, new StorageError("io", `SQLite: cannot open the WAL to sync it: ${(err as Error).message}`, (err as { code?: string }).code));
      return;
    }
    if (fd === null) {
      // no WAL file: nothing was written to one, so nothing is waiting for a sync
      this.finishSync(target, null);
      return;
    }
    this.syncing = true;
    fs.fdatasync(fd, (err) => {
      this.syncing = false;
      this.finishSync(target, err ? new StorageError("io", `SQLite: fdatasync of the WAL failed: ${err.message}`, err.code) : null);
    });
  }

  private finishSync(target: number, err: StorageError | null): void {
    if (!err) this.syncedGen = Math.max(this.syncedGen, target);
    const rest: typeof this.syncWaiters = [];
    for (const w of this.syncWaiters.splice(0)) {
      if (w.gen > target) rest.push(w);
      else if (err) w.reject(err);
      else w.resolve();
    }
    this.syncWaiters.push(...rest);
    if (rest.length) setImmediate(() => this.startSync());
  }

  /**
   * The WAL's descriptor, or null while there is no WAL file. Opened once: in
   * EXCLUSIVE locking mode SQLite keeps one WAL file for the life of the
   * connection (it truncates or rewrites it, never replaces it), so this is
   * the file SQLite writes to.
   */
  private openWal(): number | null {
    if (this.walFd !== null) return this.walFd;
    try {
      this.walFd = fs.openSync(this.walPath!, "r");
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return null;
      throw err;
    }
    return this.walFd;
  }

  /**
   * Insert a new hash row under a fresh public id. The unique index on
   * public_id is the check: a taken id (96 random bits, so in practice never)
   * fails that one statement and another id is drawn.
   */
  private insertHashRow(h: CanonicalHash, now: number, newHashId: () => string): Pick<HashRow, "id" | "type" | "value"> {
    for (;;) {
      const publicId = newHashId();
      try {
        const info = this.q.insertHash.run(publicId, h.type, h.value, now);
        return { id: Number(info.lastInsertRowid), type: h.type, value: h.value };
      } catch (err) {
        if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE" && /hashes\.public_id/.test((err as Error).message)) continue;
        throw err;
      }
    }
  }

  /** A new entry id for `caseRowId`, unique within the case. */
  private newEntryId(caseRowId: number, newHashId: () => string): string {
    let id = newHashId();
    while (this.q.entryTaken.get(caseRowId, id)) id = newHashId();
    return id;
  }

  /**
   * Store `hashes` in a case; part of a transaction. A new hash value gets a
   * feed row that is not yet published; a hash that no case held before is
   * noted as pending for the next batch (rule 4).
   */
  private putCaseHashes(
    caseRowId: number,
    caseId: string,
    hashes: CanonicalHash[],
    now: number,
    newHashId: () => string,
    limits: WriteLimits | undefined,
  ): { result: CaseHashesResult; added: number } {
    const out: CaseEntry[] = new Array(hashes.length);
    const before = this.q.maxPosition.get(caseRowId);
    let position = (before?.p ?? -1) + 1;
    let added = 0;
    const seen = new Map<string, CaseEntry>();
    hashes.forEach((h, i) => {
      const key = `${h.type}:${h.value}`;
      const done = seen.get(key);
      if (done) {
        out[i] = done;
        return;
      }
      const row: Pick<HashRow, "id" | "type" | "value"> = this.q.hashByValue.get(h.type, h.value) ?? this.insertHashRow(h, now, newHashId);
      const link = this.q.link.get(caseRowId, row.id);
      let entryId: string;
      if (!link || !link.active) {
        const held = this.q.anyActiveHolder.get(row.id) !== undefined;
        if (!link) {
          entryId = this.newEntryId(caseRowId, newHashId);
          this.q.insertLink.run(caseRowId, row.id, position++, now, entryId, now);
          added++;
        } else {
          entryId = link.entry_id;
          this.q.setLinkActive.run(1, now, caseRowId, row.id);
        }
        if (!held) this.q.notePending.run(row.id, caseRowId, now);
      } else {
        entryId = link.entry_id;
      }
      const entry = { entryId, type: row.type, value: row.value };
      seen.set(key, entry);
      out[i] = entry;
    });
    if (limits?.hashesPerCase !== undefined && (before?.n ?? 0) + added > limits.hashesPerCase) {
      throw new LimitError("hashes_per_case", limits.hashesPerCase, before?.n ?? 0);
    }
    return { result: { caseRowId, caseId, entries: out }, added };
  }

  /** Check and count the subject's daily use (rule 5); part of a transaction. */
  private countUsage(limits: WriteLimits | undefined, cases: number, hashes: number): void {
    if (!limits?.subject || limits.day === undefined) return;
    const used = this.q.usage.get(limits.subject, limits.day) ?? { cases: 0, hashes: 0 };
    if (cases > 0 && limits.casesPerDay !== undefined && used.cases + cases > limits.casesPerDay) {
      throw new LimitError("cases_per_day", limits.casesPerDay, used.cases);
    }
    if (hashes > 0 && limits.hashesPerDay !== undefined && used.hashes + hashes > limits.hashesPerDay) {
      throw new LimitError("hashes_per_day", limits.hashesPerDay, used.hashes);
    }
    if (cases > 0 || hashes > 0) this.q.addUsage.run(limits.subject, limits.day, cases, hashes);
  }

  async getCaseAuth(caseId: string): Promise<{ rowId: number; secretHash: string } | null> {
    await this.settled();
    const r = this.guard(() => this.q.caseAuth.get(caseId));
    return r ? { rowId: r.id, secretHash: r.secret_hash } : null;
  }

  async setCaseSecretHash(caseRowId: number, secretHash: string): Promise<void> {
    this.guard(() => this.q.setSecret.run(secretHash, caseRowId));
    await this.durable();
  }

  async createCase(input: Parameters<Store["createCase"]>[0], commit: Commit<CaseHashesResult>): Promise<Committed<CaseHashesResult>> {
    return this.write(() => {
      if (input.limits?.subject && input.limits.day !== undefined) this.countUsage(input.limits, 1, 0);
      const info = this.q.insertCase.run(input.caseId, input.secretHash, input.client.name, input.client.version, input.now);
      const { result, added } = this.putCaseHashes(Number(info.lastInsertRowid), input.caseId, input.hashes, input.now, input.newHashId, input.limits);
      this.countUsage(input.limits, 0, added);
      return result;
    }, commit);
  }

  async addHashes(input: Parameters<Store["addHashes"]>[0], commit: Commit<CaseHashesResult>): Promise<Committed<CaseHashesResult>> {
    return this.write(() => {
      const c = this.q.caseById.get(input.caseRowId);
      if (!c) throw new Error(`no case ${input.caseRowId}`);
      const { result, added } = this.putCaseHashes(input.caseRowId, c.public_id, input.hashes, input.now, input.newHashId, input.limits);
      this.countUsage(input.limits, 0, added);
      return result;
    }, commit);
  }

  async getCase(caseRowId: number): Promise<CaseView | null> {
    await this.settled();
    return this.guard(() => this.caseViewSync(caseRowId));
  }

  private caseViewSync(caseRowId: number): CaseView | null {
    const c = this.q.caseById.get(caseRowId);
    if (!c) return null;
    const hashes = this.q.caseView.all(caseRowId).map((r) => ({
      id: r.id,
      type: r.type,
      value: r.value,
      active: r.active === 1,
      feedback: { blocked: r.blocked, notBlocked: r.not_blocked, pendingReview: r.pending },
    }));
    return {
      caseId: c.public_id,
      status: hashes.some((h) => h.active) ? "active" : "withdrawn",
      createdAt: c.created_at,
      hashes,
    };
  }

  async withdraw(input: Parameters<Store["withdraw"]>[0], commit: Commit<WithdrawResult>): Promise<Committed<WithdrawResult>> {
    return this.write((): WithdrawResult => {
      let targets: number[];
      if (input.entryId === null) {
        targets = this.q.activeLinks.all(input.caseRowId).map((r) => r.hash_id);
      } else {
        const link = this.q.linkByEntry.get(input.caseRowId, input.entryId);
        if (!link) return { found: false, view: null };
        targets = link.active ? [link.hash_id] : [];
      }
      for (const hashRowId of targets) {
        this.q.setLinkActive.run(0, input.now, input.caseRowId, hashRowId);
        // rule 3: the feed record changes only when no case holds the hash any more
        if (!this.q.anyActiveHolder.get(hashRowId)) this.q.notePending.run(hashRowId, input.caseRowId, input.now);
      }
      return { found: true, view: this.caseViewSync(input.caseRowId) };
    }, commit);
  }

  async pendingFeed(): Promise<PendingInfo> {
    await this.settled();
    return this.guard(() => {
      const eff = this.q.pending.all().filter((r) => r.held !== r.active);
      return {
        changes: eff.length,
        cases: new Set(eff.map((r) => r.case_id)).size,
        oldest: eff.length ? Math.min(...eff.map((r) => r.since)) : null,
      };
    });
  }

  async publishFeed(policy: PublishPolicy): Promise<PublishResult> {
    const out = this.guard(() =>
      this.db
        .transaction((): PublishResult => {
          const all = this.q.pending.all();
          // a pending row whose hash is back where it was published (or never published and gone) changes nothing
          for (const r of all) if (r.held === r.active) this.q.dropPending.run(r.hash_id);
          const eff = all.filter((r) => r.held !== r.active);
          // additions and withdrawals are told apart by their status, so each kind must mix minCases cases on its own
          const publish = [1, 0].flatMap((held) => {
            const kind = eff.filter((r) => r.held === held);
            if (kind.length === 0) return [];
            const cases = new Set(kind.map((r) => r.case_id)).size;
            const oldest = Math.min(...kind.map((r) => r.since));
            const wait = held === 1 ? policy.maxDelayMs : (policy.withdrawMaxDelayMs ?? policy.maxDelayMs);
            return cases >= policy.minCases || policy.now - oldest >= wait ? kind : [];
          });
          if (publish.length === 0) return { published: false, changes: [], cases: new Set(eff.map((r) => r.case_id)).size };
          const g = Math.max(1, policy.granularityMs);
          const stamp = Math.floor(policy.now / g) * g;
          const changes: HashChange[] = [];
          for (const i of shuffled(publish.length)) {
            const r = publish[i];
            const seq = this.q.nextSeq.get()!.value;
            this.q.publishHash.run(r.held, seq, stamp, r.hash_id);
            this.q.dropPending.run(r.hash_id);
            const h = this.q.hashById.get(r.hash_id)!;
            changes.push({ rowId: h.id, id: h.public_id, type: h.type, value: h.value, active: r.held === 1 });
          }
          return { published: true, changes, cases: new Set(publish.map((r) => r.case_id)).size };
        })
        .immediate(),
    );
    // (also when nothing was published: pending rows that changed nothing may have been dropped)
    await this.durable();
    return out;
  }

  async readFeed(afterSeq: number, limit: number): Promise<FeedRow[]> {
    await this.settled();
    return this.guard(() =>
      this.q.feed.all(Math.max(0, afterSeq), limit).map((r) => ({
        seq: r.seq,
        id: r.public_id,
        type: r.type,
        value: r.value,
        active: r.active === 1,
        updatedAt: r.updated_at,
      })),
    );
  }

  async activeHashes(afterRowId: number, limit: number): Promise<StoredHash[]> {
    await this.settled();
    return this.guard(() =>
      this.q.activeHashes.all(afterRowId, limit).map((r) => ({ rowId: r.id, id: r.public_id, type: r.type, value: r.value })),
    );
  }

  async recordFeedback(
    input: Parameters<Store["recordFeedback"]>[0],
    commit: Commit<{ unknown: Set<number> }>,
  ): Promise<Committed<{ unknown: Set<number> }>> {
    return this.write(() => {
      const unknown = new Set<number>();
      input.items.forEach((item: FeedbackWrite, i) => {
        const h = this.q.hashByPublicId.get(item.id);
        if (!h || h.seq < 0) unknown.add(i);
        else this.q.upsertFeedback.run(input.keyId, h.id, item.verdict, JSON.stringify(item.tags), input.now);
      });
      return { unknown };
    }, commit);
  }

  async createApiKey(input: { name: string; keyHash: string; scopes: Scope[]; now: number }): Promise<ApiKeyInfo> {
    const info = this.guard(() => keyInfo(this.q.insertKey.get(input.name, input.keyHash, input.scopes.join(","), input.now)!));
    await this.durable();
    return info;
  }

  /**
   * A known key is answered from memory: only this connection writes the file
   * (EXCLUSIVE locking), and revokeApiKey forgets them all, so the answer is
   * always the file's. Unknown keys are not remembered.
   */
  async findApiKey(keyHash: string): Promise<ApiKeyInfo | null> {
    const hit = this.keyCache.get(keyHash);
    if (hit) return hit;
    await this.settled();
    const r = this.guard(() => this.q.keyByHash.get(keyHash));
    const info = r ? keyInfo(r) : null;
    if (info) {
      if (this.keyCache.size >= 1000) this.keyCache.clear();
      this.keyCache.set(keyHash, info);
    }
    return info;
  }

  async listApiKeys(): Promise<ApiKeyInfo[]> {
    await this.settled();
    return this.guard(() => this.q.listKeys.all().map(keyInfo));
  }

  async revokeApiKey(idOrName: string, now: number): Promise<ApiKeyInfo | null> {
    this.keyCache.clear();
    const r = this.guard(() =>
      /^[0-9]+$/.test(idOrName)
        ? (this.q.revokeKeyById.get(now, Number(idOrName)) ?? this.q.revokeKeyByName.get(now, idOrName))
        : this.q.revokeKeyByName.get(now, idOrName),
    );
    await this.durable();
    return r ? keyInfo(r) : null;
  }

  async getIdempotency(keyDigest: string, now: number): Promise<IdempotencyRecord | null> {
    await this.settled();
    const r = this.guard(() => this.q.getIdem.get(keyDigest, now));
    return r ? { requestDigest: r.request_digest, status: r.status, sealed: r.sealed, expiresAt: r.expires_at } : null;
  }

  async purgeIdempotency(now: number): Promise<number> {
    const n = this.guard(() => {
      this.q.purgeUsage.run(Math.floor(now / 86_400_000) - 1);
      return this.q.purgeIdem.run(now).changes;
    });
    await this.durable();
    return n;
  }

  async getMeta(name: string): Promise<string | null> {
    await this.settled();
    return this.guard(() => this.q.getMeta.get(name)?.value ?? null);
  }

  async setMeta(name: string, value: string): Promise<void> {
    this.guard(() => this.q.setMeta.run(name, value));
    await this.durable();
  }

  async setMetaOnce(name: string, value: string): Promise<string> {
    const kept = this.guard(() => {
      this.db.prepare("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING").run(name, value);
      return this.q.getMeta.get(name)!.value;
    });
    await this.durable();
    return kept;
  }

  async probe(now: number): Promise<void> {
    this.guard(() => this.db.transaction(() => this.q.probe.run(now)).immediate());
    await this.durable();
  }

  async close(): Promise<void> {
    if (OPEN.get(this.path) === this) OPEN.delete(this.path);
    // writes already asked for are committed (or rejected) before the file is closed
    while (this.pendingWrites.length && this.db.open) this.flushWrites();
    // and answered once on disk: the syncs they wait for finish before the descriptor is closed
    await this.settled()?.catch(() => {}); // a failed sync was already told to the writes waiting for it
    if (this.walFd !== null) {
      fs.closeSync(this.walFd);
      this.walFd = null;
    }
    if (this.db.open) this.db.close();
  }
}
