/**
 * The SQLite store (better-sqlite3): one file, WAL mode, versioned migrations;
 * `:memory:` for tests. Every write method is one IMMEDIATE transaction.
 */
import { randomInt } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { CanonicalHash, HashType, Scope } from "../protocol/index.ts";
import { MIGRATIONS, type Migration } from "./migrations.ts";
import type {
  ApiKeyInfo,
  CaseHashesResult,
  CaseView,
  Commit,
  Committed,
  FeedbackWrite,
  FeedRow,
  HashChange,
  IdempotencyRecord,
  Store,
  StoredHash,
  WithdrawResult,
} from "./store.ts";

/** Raised when the database was written by a newer hashsafe (more migrations than this one knows). */
export class SchemaTooNewError extends Error {
  constructor(found: number, known: number) {
    super(`the database has schema version ${found}, newer than this hashsafe knows (${known}); upgrade hashsafe`);
    this.name = "SchemaTooNewError";
  }
}

/** Options of {@link SqliteStore.open}. */
export interface SqliteStoreOptions {
  /** `synchronous` pragma: FULL (default) survives power loss; NORMAL is faster and survives process crashes. */
  synchronous?: "FULL" | "NORMAL";
  /** migrations to apply (tests only); defaults to {@link MIGRATIONS} */
  migrations?: readonly Migration[];
}

interface HashRow {
  id: number;
  public_id: string;
  type: HashType;
  value: string;
  active: number;
}

interface KeyRow {
  id: number;
  name: string;
  scopes: string;
  created_at: number;
  revoked_at: number | null;
}

/** 0..n-1 in a random order (Fisher-Yates with crypto randomness). */
function shuffled(n: number): number[] {
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
  return db.pragma("user_version", { simple: true }) as number;
}

export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly path: string;
  private readonly db: Database.Database;
  private readonly q;

  private constructor(db: Database.Database, path: string) {
    this.db = db;
    this.path = path;
    this.q = {
      caseAuth: db.prepare<[string], { id: number; secret_hash: string }>(
        "SELECT id, secret_hash FROM cases WHERE public_id = ?",
      ),
      insertCase: db.prepare(
        "INSERT INTO cases (public_id, secret_hash, client_name, client_version, created_at) VALUES (?, ?, ?, ?, ?)",
      ),
      caseById: db.prepare<[number], { public_id: string; created_at: number }>(
        "SELECT public_id, created_at FROM cases WHERE id = ?",
      ),
      nextSeq: db.prepare<[], { value: number }>(
        "UPDATE counters SET value = value + 1 WHERE name = 'feed_seq' RETURNING value",
      ),
      hashByValue: db.prepare<[string, string], HashRow>(
        "SELECT id, public_id, type, value, active FROM hashes WHERE type = ? AND value = ?",
      ),
      hashById: db.prepare<[number], HashRow>("SELECT id, public_id, type, value, active FROM hashes WHERE id = ?"),
      hashByPublicId: db.prepare<[string], HashRow>(
        "SELECT id, public_id, type, value, active FROM hashes WHERE public_id = ?",
      ),
      insertHash: db.prepare(
        "INSERT INTO hashes (public_id, type, value, active, seq, updated_at) VALUES (?, ?, ?, 1, ?, ?)",
      ),
      setHashActive: db.prepare("UPDATE hashes SET active = ?, seq = ?, updated_at = ? WHERE id = ?"),
      caseHash: db.prepare<[number, number], { active: number }>(
        "SELECT active FROM case_hashes WHERE case_id = ? AND hash_id = ?",
      ),
      maxPosition: db.prepare<[number], { p: number | null }>(
        "SELECT max(position) AS p FROM case_hashes WHERE case_id = ?",
      ),
      insertCaseHash: db.prepare(
        "INSERT INTO case_hashes (case_id, hash_id, position, active, updated_at) VALUES (?, ?, ?, 1, ?)",
      ),
      setCaseHashActive: db.prepare("UPDATE case_hashes SET active = ?, updated_at = ? WHERE case_id = ? AND hash_id = ?"),
      activeCaseHashes: db.prepare<[number], { hash_id: number }>(
        "SELECT hash_id FROM case_hashes WHERE case_id = ? AND active = 1",
      ),
      anyActiveHolder: db.prepare<[number], { one: number }>(
        "SELECT 1 AS one FROM case_hashes WHERE hash_id = ? AND active = 1 LIMIT 1",
      ),
      caseView: db.prepare<
        [number],
        { id: string; type: HashType; value: string; active: number; blocked: number; not_blocked: number; pending: number }
      >(`
        SELECT h.public_id AS id, h.type, h.value, ch.active,
          (SELECT count(*) FROM feedback f WHERE f.hash_id = h.id AND f.verdict = 'blocked') AS blocked,
          (SELECT count(*) FROM feedback f WHERE f.hash_id = h.id AND f.verdict = 'not_blocked') AS not_blocked,
          (SELECT count(*) FROM feedback f WHERE f.hash_id = h.id AND f.verdict = 'pending_review') AS pending
        FROM case_hashes ch JOIN hashes h ON h.id = ch.hash_id
        WHERE ch.case_id = ? ORDER BY ch.position`),
      feed: db.prepare<[number, number], { seq: number; public_id: string; type: HashType; value: string; active: number; updated_at: number }>(
        "SELECT seq, public_id, type, value, active, updated_at FROM hashes WHERE seq > ? ORDER BY seq LIMIT ?",
      ),
      activeHashes: db.prepare<[number, number], HashRow>(
        "SELECT id, public_id, type, value, active FROM hashes WHERE active = 1 AND id > ? ORDER BY id LIMIT ?",
      ),
      upsertFeedback: db.prepare(`
        INSERT INTO feedback (key_id, hash_id, verdict, tags, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (key_id, hash_id) DO UPDATE SET verdict = excluded.verdict, tags = excluded.tags, updated_at = excluded.updated_at`),
      insertKey: db.prepare<[string, string, string, number], KeyRow>(
        "INSERT INTO api_keys (name, key_hash, scopes, created_at) VALUES (?, ?, ?, ?) RETURNING id, name, scopes, created_at, revoked_at",
      ),
      keyByHash: db.prepare<[string], KeyRow>(
        "SELECT id, name, scopes, created_at, revoked_at FROM api_keys WHERE key_hash = ?",
      ),
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
    };
  }

  /**
   * Open (creating it and its missing parent folders, owner-only, if needed)
   * and migrate the database at `path` (`:memory:` for a private in-memory one).
   */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    if (path !== ":memory:" && path !== "") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const db = new Database(path);
    try {
      if (path !== ":memory:") db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${options.synchronous ?? "FULL"}`);
      db.pragma("foreign_keys = ON");
      db.pragma("busy_timeout = 5000");
      migrate(db, options.migrations);
      return new SqliteStore(db, path);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** The schema version (number of migrations applied). */
  schemaVersion(): number {
    return this.db.pragma("user_version", { simple: true }) as number;
  }

  /** The journal mode in use ("wal" for files). */
  journalMode(): string {
    return this.db.pragma("journal_mode", { simple: true }) as string;
  }

  /** Run `fn` as one IMMEDIATE transaction, committing the answer (and idempotency record) with it. */
  private write<R>(fn: () => R, commit: Commit<R>): Committed<R> {
    return this.db
      .transaction((): Committed<R> => {
        const result = fn();
        const answer = commit.respond(result);
        const idem = commit.idempotency;
        if (idem && answer.status < 300) {
          this.q.putIdem.run(idem.keyDigest, idem.requestDigest, answer.status, idem.seal(JSON.stringify(answer.body)), idem.expiresAt);
        }
        return { result, answer };
      })
      .immediate();
  }

  private nextSeq(): number {
    return this.q.nextSeq.get()!.value;
  }

  /**
   * Store `hashes` in a case; part of a transaction. New hashes get their ids
   * and feed sequence numbers in a random order, so the feed does not replay
   * the order of the submitter's files.
   */
  private putCaseHashes(caseRowId: number, caseId: string, hashes: CanonicalHash[], now: number, newHashId: () => string): CaseHashesResult {
    const out: StoredHash[] = new Array(hashes.length);
    const changes: HashChange[] = [];
    const base = (this.q.maxPosition.get(caseRowId)?.p ?? -1) + 1;
    // a value sent twice takes the position of its first occurrence
    const first = new Map<string, number>();
    hashes.forEach((h, i) => {
      if (!first.has(`${h.type}:${h.value}`)) first.set(`${h.type}:${h.value}`, i);
    });
    for (const i of shuffled(hashes.length)) {
      const h = hashes[i];
      let row = this.q.hashByValue.get(h.type, h.value);
      if (!row) {
        let publicId = newHashId();
        while (this.q.hashByPublicId.get(publicId)) publicId = newHashId();
        const info = this.q.insertHash.run(publicId, h.type, h.value, this.nextSeq(), now);
        row = { id: Number(info.lastInsertRowid), public_id: publicId, type: h.type, value: h.value, active: 1 };
        changes.push({ rowId: row.id, id: publicId, type: h.type, value: h.value, active: true });
      } else if (!row.active) {
        this.q.setHashActive.run(1, this.nextSeq(), now, row.id);
        row.active = 1;
        changes.push({ rowId: row.id, id: row.public_id, type: row.type, value: row.value, active: true });
      }
      const link = this.q.caseHash.get(caseRowId, row.id);
      if (!link) this.q.insertCaseHash.run(caseRowId, row.id, base + first.get(`${h.type}:${h.value}`)!, now);
      else if (!link.active) this.q.setCaseHashActive.run(1, now, caseRowId, row.id);
      out[i] = { rowId: row.id, id: row.public_id, type: row.type, value: row.value };
    }
    return { caseRowId, caseId, hashes: out, changes };
  }

  async getCaseAuth(caseId: string): Promise<{ rowId: number; secretHash: string } | null> {
    const r = this.q.caseAuth.get(caseId);
    return r ? { rowId: r.id, secretHash: r.secret_hash } : null;
  }

  async createCase(
    input: Parameters<Store["createCase"]>[0],
    commit: Commit<CaseHashesResult>,
  ): Promise<Committed<CaseHashesResult>> {
    return this.write(() => {
      const info = this.q.insertCase.run(input.caseId, input.secretHash, input.client.name, input.client.version, input.now);
      return this.putCaseHashes(Number(info.lastInsertRowid), input.caseId, input.hashes, input.now, input.newHashId);
    }, commit);
  }

  async addHashes(input: Parameters<Store["addHashes"]>[0], commit: Commit<CaseHashesResult>): Promise<Committed<CaseHashesResult>> {
    return this.write(() => {
      const c = this.q.caseById.get(input.caseRowId);
      if (!c) throw new Error(`no case ${input.caseRowId}`);
      return this.putCaseHashes(input.caseRowId, c.public_id, input.hashes, input.now, input.newHashId);
    }, commit);
  }

  async getCase(caseRowId: number): Promise<CaseView | null> {
    return this.caseViewSync(caseRowId);
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
      if (input.hashId === null) {
        const active = this.q.activeCaseHashes.all(input.caseRowId);
        targets = shuffled(active.length).map((i) => active[i].hash_id);
      } else {
        const h = this.q.hashByPublicId.get(input.hashId);
        const link = h ? this.q.caseHash.get(input.caseRowId, h.id) : undefined;
        if (!h || !link) return { found: false, changes: [], view: null };
        targets = link.active ? [h.id] : [];
      }
      const changes: HashChange[] = [];
      for (const hashRowId of targets) {
        this.q.setCaseHashActive.run(0, input.now, input.caseRowId, hashRowId);
        if (!this.q.anyActiveHolder.get(hashRowId)) {
          this.q.setHashActive.run(0, this.nextSeq(), input.now, hashRowId);
          const h = this.q.hashById.get(hashRowId)!;
          changes.push({ rowId: h.id, id: h.public_id, type: h.type, value: h.value, active: false });
        }
      }
      return { found: true, changes, view: this.caseViewSync(input.caseRowId) };
    }, commit);
  }

  async readFeed(afterSeq: number, limit: number): Promise<FeedRow[]> {
    return this.q.feed.all(afterSeq, limit).map((r) => ({
      seq: r.seq,
      id: r.public_id,
      type: r.type,
      value: r.value,
      active: r.active === 1,
      updatedAt: r.updated_at,
    }));
  }

  async activeHashes(afterRowId: number, limit: number): Promise<StoredHash[]> {
    return this.q.activeHashes.all(afterRowId, limit).map((r) => ({ rowId: r.id, id: r.public_id, type: r.type, value: r.value }));
  }

  async recordFeedback(
    input: Parameters<Store["recordFeedback"]>[0],
    commit: Commit<{ unknown: Set<number> }>,
  ): Promise<Committed<{ unknown: Set<number> }>> {
    return this.write(() => {
      const unknown = new Set<number>();
      input.items.forEach((item: FeedbackWrite, i) => {
        const h = this.q.hashByPublicId.get(item.id);
        if (!h) unknown.add(i);
        else this.q.upsertFeedback.run(input.keyId, h.id, item.verdict, JSON.stringify(item.tags), input.now);
      });
      return { unknown };
    }, commit);
  }

  async createApiKey(input: { name: string; keyHash: string; scopes: Scope[]; now: number }): Promise<ApiKeyInfo> {
    return keyInfo(this.q.insertKey.get(input.name, input.keyHash, input.scopes.join(","), input.now)!);
  }

  async findApiKey(keyHash: string): Promise<ApiKeyInfo | null> {
    const r = this.q.keyByHash.get(keyHash);
    return r ? keyInfo(r) : null;
  }

  async listApiKeys(): Promise<ApiKeyInfo[]> {
    return this.q.listKeys.all().map(keyInfo);
  }

  async revokeApiKey(idOrName: string, now: number): Promise<ApiKeyInfo | null> {
    const r = /^[0-9]+$/.test(idOrName)
      ? (this.q.revokeKeyById.get(now, Number(idOrName)) ?? this.q.revokeKeyByName.get(now, idOrName))
      : this.q.revokeKeyByName.get(now, idOrName);
    return r ? keyInfo(r) : null;
  }

  async getIdempotency(keyDigest: string, now: number): Promise<IdempotencyRecord | null> {
    const r = this.q.getIdem.get(keyDigest, now);
    return r ? { requestDigest: r.request_digest, status: r.status, sealed: r.sealed, expiresAt: r.expires_at } : null;
  }

  async purgeIdempotency(now: number): Promise<number> {
    return this.q.purgeIdem.run(now).changes;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
