/**
 * The PostgreSQL store (`pg`), for several `serve` processes on one database.
 * Same contract as the SQLite store (store.ts); what differs is how the rules
 * hold when several processes write at once:
 *
 * - **Idempotency** (rule 1): a write first claims its key digest with
 *   `INSERT ... ON CONFLICT DO UPDATE ... WHERE expired`: the primary key makes
 *   a second request with the same key (in any process) wait for the first's
 *   commit and then find its record and replay. A non-2xx answer deletes the
 *   claim before commit.
 * - **A hash withdrawn only when no case holds it** (rule 3): every write
 *   locks the hash rows it touches (`FOR UPDATE`, always in (type, value)
 *   order, after the case row and the quota row), so two cases withdrawing
 *   one hash at once cannot both think the other still holds it.
 * - **Feed batches** (rule 4): the publisher locks the `feed_seq` counter row
 *   and then the pending hash rows; sequence numbers become visible in order,
 *   one batch at a time, whichever process publishes. Each batch sends a
 *   NOTIFY on {@link FEED_CHANNEL} so that the other processes' match indexes
 *   follow ({@link PostgresStore.follow}).
 * - **Quotas** (rule 5): counted in `quota_usage`, one locked row per subject
 *   and day, shared by every process.
 * - **Rate limits and failed secrets** (rule 7, {@link PostgresStore.limits}):
 *   token buckets in `rate_buckets` and failed case-secret attempts in
 *   `secret_failures`, both UNLOGGED; a take is one
 *   `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` (no race, no
 *   transaction, no fsync).
 * - **Storage faults** (rule 6): the database unreachable, shutting down or
 *   refusing connections is `StorageError("unavailable")`; disk full, I/O
 *   errors, corruption and a read-only server map to their kinds.
 *
 * Deadlocks and serialization failures (rare: locks are taken in one order)
 * are retried a few times.
 */
import pg from "pg";
import type { CanonicalHash, HashType, Scope } from "../protocol/index.ts";
import type { Migration } from "./migrations.ts";
import { PG_MIGRATIONS } from "./pg-migrations.ts";
import { shuffled, SchemaTooNewError } from "./sqlite-store.ts";
import {
  type ApiKeyInfo,
  type CaseEntry,
  type CaseHashesResult,
  type CaseView,
  type Commit,
  type Committed,
  type FeedRow,
  type HashChange,
  type IdempotencyRecord,
  LimitError,
  type PendingInfo,
  type PublishPolicy,
  type PublishResult,
  type SharedLimits,
  StorageError,
  type StorageFaultKind,
  type Store,
  type StoredHash,
  type WithdrawResult,
  type WriteLimits,
} from "./store.ts";

/** The NOTIFY channel of published feed batches (payload: the batch's last sequence number). */
export const FEED_CHANNEL = "hashsafe_feed";
/** How long a process answers a known API key from memory (ms): a key revoked by another process stops working here within this bound. */
export const API_KEY_CACHE_MS = 1000;
/** Advisory lock key held while migrating ("HSAF"). */
const MIGRATION_LOCK = 0x48534146;

/** True for a `postgres://` or `postgresql://` URL (what `--db` takes for this store). */
export function isPostgresUrl(db: string | undefined): db is string {
  return db !== undefined && /^postgres(ql)?:\/\//i.test(db);
}

/** The database has tables but none of hashsafe's; refused unless `init`. */
export class ForeignPostgresError extends Error {
  constructor(where: string, tables: string[]) {
    super(
      `${where} already holds other tables (${tables.slice(0, 5).join(", ")}${tables.length > 5 ? ", ..." : ""}) and no hashsafe schema; ` +
        `hashsafe will not add its tables to another application's database. Use an empty database, or pass --init to share this one`,
    );
    this.name = "ForeignPostgresError";
  }
}

/** Options of {@link PostgresStore.open}. */
export interface PostgresStoreOptions {
  /** most connections this process opens (default 10) */
  poolSize?: number;
  /** how long to wait for a connection, in ms (default 3000) */
  connectTimeoutMs?: number;
  /** migrations to apply (tests only); defaults to {@link PG_MIGRATIONS} */
  migrations?: readonly Migration[];
  /** accept a database that already holds other tables */
  init?: boolean;
  /** `application_name` of the connections */
  applicationName?: string;
}

/** int8 (bigint, count(*)) as a JS number: every value this store keeps fits in 2^53. */
const TYPES = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === 20 && format !== "binary") return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as "text");
  },
} as pg.CustomTypesConfig;

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOENT"]);

/** The kind of storage fault a `pg` error is, or null when it is not one. */
export function pgFaultKind(err: unknown): StorageFaultKind | null {
  const code = (err as { code?: string } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code) {
    if (CONNECTION_CODES.has(code)) return "unavailable";
    if (code === "53100") return "full"; // disk_full
    if (code.startsWith("53")) return "unavailable"; // out of memory, too many connections
    if (code === "58030") return "io";
    if (code === "XX001" || code === "XX002") return "corrupt";
    if (code === "25006") return "readonly";
    if (code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" || code === "57014") return "unavailable";
  }
  if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection timeout|Connection ended|not queryable/i.test(message)) {
    return "unavailable";
  }
  return null;
}

function asStorageError(err: unknown): unknown {
  if (err instanceof StorageError || err instanceof LimitError) return err;
  const kind = pgFaultKind(err);
  return kind ? new StorageError(kind, `PostgreSQL: ${(err as Error).message}`, (err as { code?: string }).code) : err;
}

/** Deadlock or serialization failure: the transaction can simply run again. */
function retryable(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === "40P01" || code === "40001";
}

/** A unique violation on a random public id or entry id (vanishingly rare): run again with new ids. */
function idCollision(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string } | null;
  return e?.code === "23505" && /public_id|entry_id/.test(e.constraint ?? "");
}

interface KeyRow {
  id: number;
  name: string;
  scopes: string;
  created_at: number;
  revoked_at: number | null;
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

type Q = pg.PoolClient;

/** Where a URL points, without its password (for messages and logs). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    const host = u.searchParams.get("host") ?? u.host;
    return `postgres://${u.username ? `${u.username}@` : ""}${host}${u.pathname}`;
  } catch {
    return "the PostgreSQL database";
  }
}

/** A running follower of the feed (see {@link PostgresStore.follow}). */
export interface FeedFollower {
  /** the last sequence number applied */
  readonly lastSeq: number;
  /** Read and apply what was published since the last poll (also runs on every NOTIFY and every `pollMs`). */
  poll(): Promise<void>;
  stop(): Promise<void>;
}

export class PostgresStore implements Store {
  readonly kind = "postgres";
  /** where the store points (no password) */
  readonly where: string;
  private readonly pool: pg.Pool;
  private readonly url: string;
  private readonly connectTimeoutMs: number;
  /** publishFeed and the follower's polls, one at a time in this process (see follow) */
  private feedLock: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** findApiKey's answers by key hash, with when they were read */
  private readonly keyCache = new Map<string, { info: ApiKeyInfo; at: number }>();
  /** bumped by revokeApiKey: a read that started before it is not remembered */
  private keyGeneration = 0;
  /** Rate-limit buckets and failed-secret counts, shared by every process on this database (store rule 7). */
  readonly limits: SharedLimits = {
    takeTokens: (name, key, limit, now, want) => this.takeTokens(name, key, limit, now, want),
    secretFailures: (id) => this.secretFailures(id),
    addSecretFailure: (id, now, forgetAfterMs) => this.addSecretFailure(id, now, forgetAfterMs),
    claimSecretAttempt: (id, now, policy) => this.claimSecretAttempt(id, now, policy),
    clearSecretFailures: (id) => this.clearSecretFailures(id),
  };

  private constructor(url: string, pool: pg.Pool, connectTimeoutMs: number) {
    this.url = url;
    this.pool = pool;
    this.where = describeUrl(url);
    this.connectTimeoutMs = connectTimeoutMs;
  }

  /**
   * Connect, check and migrate the database at `url`. Throws StorageError
   * ("unavailable") when it cannot be reached, ForeignPostgresError or
   * SchemaTooNewError with a message that says what to do.
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const connectTimeoutMs = options.connectTimeoutMs ?? 3000;
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: options.applicationName ?? "hashsafe",
      types: TYPES,
    });
    // an idle connection that breaks (the server restarts) must not crash the process; the next query reports it
    pool.on("error", () => {});
    // nor one that breaks while a request holds it between two queries (pg would emit an 'error' nobody hears):
    // the request's next query fails instead, as a StorageError, and the connection is dropped
    pool.on("connect", (client) => client.on("error", () => {}));
    const store = new PostgresStore(url, pool, connectTimeoutMs);
    try {
      await store.migrate(options.migrations ?? PG_MIGRATIONS, options.init === true);
    } catch (err) {
      await pool.end().catch(() => {});
      const e = asStorageError(err);
      if (e instanceof StorageError) {
        throw new StorageError(e.kind, `cannot use PostgreSQL at ${store.where}: ${(err as Error).message}`, e.code);
      }
      throw e;
    }
    return store;
  }

  private async migrate(migrations: readonly Migration[], init: boolean): Promise<number> {
    const c = await this.pool.connect();
    try {
      await c.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
      try {
        const tables = (
          await c.query<{ name: string }>(
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name",
          )
        ).rows.map((r) => r.name);
        if (!tables.includes("hashsafe_migrations")) {
          if (tables.length > 0 && !init) throw new ForeignPostgresError(this.where, tables);
          await c.query(
            "CREATE TABLE hashsafe_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)",
          );
        }
        const current = (await c.query<{ v: number | null }>("SELECT max(version) AS v FROM hashsafe_migrations")).rows[0].v ?? 0;
        const known = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
        if (current > known) throw new SchemaTooNewError(current, known);
        for (const m of migrations) {
          if (m.version <= current) continue;
          await c.query("BEGIN");
          try {
            await c.query(m.sql);
            await c.query("INSERT INTO hashsafe_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [m.version, m.name, Date.now()]);
            await c.query("COMMIT");
          } catch (err) {
            await c.query("ROLLBACK").catch(() => {});
            throw err;
          }
        }
        return Math.max(current, known);
      } finally {
        await c.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => {});
      }
    } finally {
      c.release();
    }
  }

  /** The schema version (highest migration applied). */
  async schemaVersion(): Promise<number> {
    return this.guard(async () => (await this.pool.query<{ v: number | null }>("SELECT max(version) AS v FROM hashsafe_migrations")).rows[0].v ?? 0);
  }

  /** Tests and tools: one read-only query (run in a READ ONLY transaction). */
  async readQuery<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]> {
    const c = await this.pool.connect();
    try {
      await c.query("BEGIN READ ONLY");
      const r = await c.query(sql, params);
      await c.query("COMMIT");
      return r.rows as T[];
    } catch (err) {
      await c.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw asStorageError(err);
    }
  }

  /** One transaction on one connection; retried on deadlocks, serialization failures and random-id collisions. */
  private async tx<T>(fn: (c: Q) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let c: Q;
      try {
        c = await this.pool.connect();
      } catch (err) {
        throw asStorageError(err);
      }
      let broken: Error | undefined;
      try {
        await c.query("BEGIN");
        const out = await fn(c);
        await c.query("COMMIT");
        return out;
      } catch (err) {
        await c.query("ROLLBACK").catch((e: Error) => (broken = e));
        if ((retryable(err) || idCollision(err)) && attempt < 8) {
          await new Promise((r) => setTimeout(r, 2 + Math.random() * 10 * (attempt + 1)));
          continue;
        }
        throw asStorageError(err);
      } finally {
        c.release(broken);
      }
    }
  }

  /**
   * Rule 1: claim the key digest (the primary key serializes one key across
   * processes). Answers the earlier request's record when the key is taken
   * (replay), null when this transaction now holds the claim.
   */
  private async claim(c: Q, idem: Commit<unknown>["idempotency"]): Promise<IdempotencyRecord | null> {
    if (!idem) return null;
    const claimed = await c.query(
      `INSERT INTO idempotency (key_digest, request_digest, status, sealed, expires_at) VALUES ($1, $2, 0, '\\x'::bytea, $3)
       ON CONFLICT (key_digest) DO UPDATE SET request_digest = EXCLUDED.request_digest, status = 0, sealed = EXCLUDED.sealed,
         expires_at = EXCLUDED.expires_at
       WHERE idempotency.expires_at <= $4
       RETURNING key_digest`,
      [idem.keyDigest, idem.requestDigest, idem.expiresAt, idem.now],
    );
    if (claimed.rowCount !== 0) return null;
    const r = await c.query<{ request_digest: string; status: number; sealed: Buffer; expires_at: number }>(
      "SELECT request_digest, status, sealed, expires_at FROM idempotency WHERE key_digest = $1",
      [idem.keyDigest],
    );
    const rec = r.rows[0];
    if (!rec || rec.status === 0) throw Object.assign(new Error("idempotency record vanished"), { code: "40001" });
    return { requestDigest: rec.request_digest, status: rec.status, sealed: rec.sealed, expiresAt: rec.expires_at };
  }

  /** Rule 1: claim the key digest first, store the answer with the writes (a non-2xx answer drops the claim). */
  private write<R>(fn: (c: Q) => Promise<R>, commit: Commit<R>): Promise<Committed<R>> {
    return this.tx(async (c): Promise<Committed<R>> => {
      const idem = commit.idempotency;
      const replayed = await this.claim(c, idem);
      if (replayed) return { replayed };
      const result = await fn(c);
      const answer = commit.respond(result);
      if (idem) {
        if (answer.status < 300) {
          await c.query("UPDATE idempotency SET status = $2, sealed = $3 WHERE key_digest = $1", [
            idem.keyDigest,
            answer.status,
            idem.seal(JSON.stringify(answer.body)),
          ]);
        } else {
          await c.query("DELETE FROM idempotency WHERE key_digest = $1", [idem.keyDigest]);
        }
      }
      return { result, answer };
    });
  }

  /** Lock the subject's quota row of the day (first of all locks a write takes) and answer its counts. */
  private async lockUsage(c: Q, limits: WriteLimits | undefined): Promise<{ cases: number; hashes: number } | null> {
    if (!limits?.subject || limits.day === undefined) return null;
    const r = await c.query<{ cases: number; hashes: number }>(
      `INSERT INTO quota_usage (subject, day, cases, hashes) VALUES ($1, $2, 0, 0)
       ON CONFLICT (subject, day) DO UPDATE SET cases = quota_usage.cases RETURNING cases, hashes`,
      [limits.subject, limits.day],
    );
    return r.rows[0];
  }

  private async countUsage(
    c: Q,
    limits: WriteLimits | undefined,
    used: { cases: number; hashes: number } | null,
    cases: number,
    hashes: number,
  ): Promise<void> {
    if (!used || !limits?.subject || limits.day === undefined) return;
    if (cases > 0 && limits.casesPerDay !== undefined && used.cases + cases > limits.casesPerDay) {
      throw new LimitError("cases_per_day", limits.casesPerDay, used.cases);
    }
    if (hashes > 0 && limits.hashesPerDay !== undefined && used.hashes + hashes > limits.hashesPerDay) {
      throw new LimitError("hashes_per_day", limits.hashesPerDay, used.hashes);
    }
    if (cases > 0 || hashes > 0) {
      await c.query("UPDATE quota_usage SET cases = cases + $3, hashes = hashes + $4 WHERE subject = $1 AND day = $2", [
        limits.subject,
        limits.day,
        cases,
        hashes,
      ]);
      used.cases += cases;
      used.hashes += hashes;
    }
  }

  /**
   * Store `hashes` in a case (whose row this transaction holds); a new value
   * gets an unpublished feed row, and a hash that no case held is noted as
   * pending. Hash rows are locked in (type, value) order.
   */
  private async putCaseHashes(
    c: Q,
    caseRowId: number,
    caseId: string,
    hashes: CanonicalHash[],
    now: number,
    newHashId: () => string,
    limits: WriteLimits | undefined,
  ): Promise<{ result: CaseHashesResult; added: number }> {
    const distinct = new Map<string, CanonicalHash>();
    for (const h of hashes) if (!distinct.has(`${h.type}:${h.value}`)) distinct.set(`${h.type}:${h.value}`, h);
    const list = [...distinct.values()];
    const types = list.map((h) => h.type);
    const values = list.map((h) => h.value);
    await c.query(
      `INSERT INTO hashes (public_id, type, value, active, updated_at)
       SELECT p, t, v, false, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS x(p, t, v) ORDER BY t, v
       ON CONFLICT (type, value) DO NOTHING`,
      [list.map(() => newHashId()), types, values, now],
    );
    const rows = (
      await c.query<{ id: number; type: HashType; value: string }>(
        `SELECT h.id, h.type, h.value FROM hashes h JOIN unnest($1::text[], $2::text[]) AS x(t, v) ON h.type = x.t AND h.value = x.v
         ORDER BY h.type, h.value FOR UPDATE OF h`,
        [types, values],
      )
    ).rows;
    const byKey = new Map(rows.map((r) => [`${r.type}:${r.value}`, r]));
    const ids = rows.map((r) => r.id);
    const links = new Map(
      (
        await c.query<{ hash_id: number; active: boolean; entry_id: string }>(
          "SELECT hash_id, active, entry_id FROM case_hashes WHERE case_id = $1 AND hash_id = ANY($2::bigint[])",
          [caseRowId, ids],
        )
      ).rows.map((r) => [r.hash_id, r]),
    );
    const held = new Set(
      (await c.query<{ hash_id: number }>("SELECT DISTINCT hash_id FROM case_hashes WHERE hash_id = ANY($1::bigint[]) AND active", [ids])).rows.map(
        (r) => r.hash_id,
      ),
    );
    const before = (
      await c.query<{ p: number | null; n: number }>("SELECT max(position) AS p, count(*) AS n FROM case_hashes WHERE case_id = $1", [caseRowId])
    ).rows[0];
    let position = (before.p ?? -1) + 1;
    const insert = { hash: [] as number[], position: [] as number[], entry: [] as string[] };
    const reactivate: number[] = [];
    const pending: number[] = [];
    const entries = new Map<string, CaseEntry>();
    for (const h of list) {
      const key = `${h.type}:${h.value}`;
      const row = byKey.get(key)!;
      const link = links.get(row.id);
      let entryId: string;
      if (!link) {
        entryId = newHashId();
        insert.hash.push(row.id);
        insert.position.push(position++);
        insert.entry.push(entryId);
      } else {
        entryId = link.entry_id;
        if (!link.active) reactivate.push(row.id);
      }
      if ((!link || !link.active) && !held.has(row.id)) pending.push(row.id);
      entries.set(key, { entryId, type: row.type, value: row.value });
    }
    const added = insert.hash.length;
    if (limits?.hashesPerCase !== undefined && before.n + added > limits.hashesPerCase) {
      throw new LimitError("hashes_per_case", limits.hashesPerCase, before.n);
    }
    if (added) {
      await c.query(
        `INSERT INTO case_hashes (case_id, hash_id, position, active, updated_at, entry_id, added_at)
         SELECT $1, h, p, true, $2, e, $2 FROM unnest($3::bigint[], $4::int[], $5::text[]) AS x(h, p, e)`,
        [caseRowId, now, insert.hash, insert.position, insert.entry],
      );
    }
    if (reactivate.length) {
      await c.query("UPDATE case_hashes SET active = true, updated_at = $2 WHERE case_id = $1 AND hash_id = ANY($3::bigint[])", [
        caseRowId,
        now,
        reactivate,
      ]);
    }
    if (pending.length) {
      await c.query(
        "INSERT INTO feed_pending (hash_id, case_id, since) SELECT h, $1, $2 FROM unnest($3::bigint[]) AS x(h) ON CONFLICT (hash_id) DO NOTHING",
        [caseRowId, now, pending],
      );
    }
    return { result: { caseRowId, caseId, entries: hashes.map((h) => entries.get(`${h.type}:${h.value}`)!) }, added };
  }

  async getCaseAuth(caseId: string): Promise<{ rowId: number; secretHash: string } | null> {
    const r = await this.guard(() => this.pool.query<{ id: number; secret_hash: string }>("SELECT id, secret_hash FROM cases WHERE public_id = $1", [caseId]));
    return r.rows[0] ? { rowId: r.rows[0].id, secretHash: r.rows[0].secret_hash } : null;
  }

  async setCaseSecretHash(caseRowId: number, secretHash: string): Promise<void> {
    await this.guard(() => this.pool.query("UPDATE cases SET secret_hash = $1 WHERE id = $2", [secretHash, caseRowId]));
  }

  /**
   * A new case in four round trips when no quota is counted (BEGIN, the
   * idempotency claim, one statement for the case row and its hash rows, one
   * for its entries, the pending feed rows and the sealed answer, COMMIT):
   * the same rows, locks (hash rows in (type, value) order) and answers as
   * {@link putCaseHashes} on a case that holds nothing yet.
   */
  async createCase(input: Parameters<Store["createCase"]>[0], commit: Commit<CaseHashesResult>): Promise<Committed<CaseHashesResult>> {
    const limits = input.limits;
    if (limits?.subject === undefined || limits.day === undefined) {
      const one = await this.createCaseInOneCall(input, commit);
      if (one) return one;
    }
    return this.tx(async (c): Promise<Committed<CaseHashesResult>> => {
      const idem = commit.idempotency;
      const replayed = await this.claim(c, idem);
      if (replayed) return { replayed };
      const limits = input.limits;
      const used = await this.lockUsage(c, limits);
      await this.countUsage(c, limits, used, 1, 0);
      const distinct = new Map<string, CanonicalHash>();
      for (const h of input.hashes) if (!distinct.has(`${h.type}:${h.value}`)) distinct.set(`${h.type}:${h.value}`, h);
      const list = [...distinct.values()];
      const publicIds = list.map(() => input.newHashId());
      // The case row, then the hash rows: new ones inserted, existing ones locked (DO UPDATE locks the row and
      // returns it; the SET changes nothing), in (type, value) order.
      const rows = (
        await c.query<{ case_id: number; id: number | null; type: HashType | null; value: string | null }>(
          `WITH c AS (
             INSERT INTO cases (public_id, secret_hash, client_name, client_version, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id
           ), h AS (
             INSERT INTO hashes (public_id, type, value, active, updated_at)
             SELECT p, t, v, false, $5 FROM unnest($6::text[], $7::text[], $8::text[]) AS x(p, t, v) ORDER BY t, v
             ON CONFLICT (type, value) DO UPDATE SET value = EXCLUDED.value
             RETURNING id, type, value
           )
           SELECT c.id AS case_id, h.id, h.type, h.value FROM c LEFT JOIN h ON true`,
          [
            input.caseId,
            input.secretHash,
            input.client.name,
            input.client.version,
            input.now,
            publicIds,
            list.map((h) => h.type),
            list.map((h) => h.value),
          ],
        )
      ).rows;
      const caseRowId = rows[0].case_id;
      const byKey = new Map(rows.filter((r) => r.id !== null).map((r) => [`${r.type}:${r.value}`, r]));
      const insert = { hash: [] as number[], position: [] as number[], entry: [] as string[] };
      const entries = new Map<string, CaseEntry>();
      for (const h of list) {
        const key = `${h.type}:${h.value}`;
        const row = byKey.get(key)!;
        const entryId = input.newHashId();
        insert.hash.push(row.id!);
        insert.position.push(insert.position.length);
        insert.entry.push(entryId);
        entries.set(key, { entryId, type: row.type!, value: row.value! });
      }
      const added = insert.hash.length;
      if (limits?.hashesPerCase !== undefined && added > limits.hashesPerCase) {
        throw new LimitError("hashes_per_case", limits.hashesPerCase, 0);
      }
      await this.countUsage(c, limits, used, 0, added);
      const result: CaseHashesResult = { caseRowId, caseId: input.caseId, entries: input.hashes.map((h) => entries.get(`${h.type}:${h.value}`)!) };
      const answer = commit.respond(result);
      const ok = answer.status < 300;
      // Entries, pending feed rows for the hashes no other case holds, and the answer (or, non-2xx, the claim dropped).
      await c.query(
        `WITH held AS (
           SELECT DISTINCT hash_id FROM case_hashes WHERE hash_id = ANY($3::bigint[]) AND active
         ), e AS (
           INSERT INTO case_hashes (case_id, hash_id, position, active, updated_at, entry_id, added_at)
           SELECT $1, h, p, true, $2, e, $2 FROM unnest($3::bigint[], $4::int[], $5::text[]) AS x(h, p, e)
         ), f AS (
           INSERT INTO feed_pending (hash_id, case_id, since)
           SELECT h, $1, $2 FROM unnest($3::bigint[]) AS x(h) WHERE h NOT IN (SELECT hash_id FROM held)
           ON CONFLICT (hash_id) DO NOTHING
         ), sealed AS (
           UPDATE idempotency SET status = $7, sealed = $8 WHERE key_digest = $6 AND $9
         ), dropped AS (
           DELETE FROM idempotency WHERE key_digest = $6 AND NOT $9
         )
         SELECT 1`,
        [
          caseRowId,
          input.now,
          insert.hash,
          insert.position,
          insert.entry,
          idem?.keyDigest ?? null,
          answer.status,
          idem && ok ? idem.seal(JSON.stringify(answer.body)) : Buffer.alloc(0),
          ok,
        ],
      );
      return { result, answer };
    });
  }

  /**
   * A new case in one round trip, one implicit transaction (the
   * hashsafe_create_case function of migration 3): when no quota is counted
   * and the answer does not depend on the case's row id (it is sealed with the
   * writes, before the id is known: respond is asked twice with two made-up
   * ids and must give the same answer; otherwise null, and the caller takes the
   * multi-statement path).
   */
  private async createCaseInOneCall(
    input: Parameters<Store["createCase"]>[0],
    commit: Commit<CaseHashesResult>,
  ): Promise<Committed<CaseHashesResult> | null> {
    const distinct = new Map<string, CanonicalHash>();
    for (const h of input.hashes) if (!distinct.has(`${h.type}:${h.value}`)) distinct.set(`${h.type}:${h.value}`, h);
    const list = [...distinct.values()];
    const idem = commit.idempotency;
    for (let attempt = 0; ; attempt++) {
      const publicIds = list.map(() => input.newHashId());
      const entryIds = list.map(() => input.newHashId());
      const entries = new Map<string, CaseEntry>(list.map((h, i) => [`${h.type}:${h.value}`, { entryId: entryIds[i], type: h.type, value: h.value }]));
      const resultFor = (caseRowId: number): CaseHashesResult => ({
        caseRowId,
        caseId: input.caseId,
        entries: input.hashes.map((h) => entries.get(`${h.type}:${h.value}`)!),
      });
      const answer = commit.respond(resultFor(-1));
      const other = commit.respond(resultFor(-2));
      if (answer.status !== other.status || JSON.stringify(answer.body) !== JSON.stringify(other.body)) return null;
      try {
        const r = await this.pool.query<{ case_id: number | null; request_digest: string; status: number; sealed: Buffer; expires_at: number }>(
          "SELECT * FROM hashsafe_create_case($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
          [
            idem?.keyDigest ?? null,
            idem?.requestDigest ?? null,
            idem?.expiresAt ?? null,
            idem?.now ?? null,
            input.now,
            input.caseId,
            input.secretHash,
            input.client.name,
            input.client.version,
            publicIds,
            list.map((h) => h.type),
            list.map((h) => h.value),
            entryIds,
            input.limits?.hashesPerCase ?? null,
            answer.status,
            idem && answer.status < 300 ? idem.seal(JSON.stringify(answer.body)) : Buffer.alloc(0),
          ],
        );
        const row = r.rows[0];
        if (row.case_id === null) {
          return { replayed: { requestDigest: row.request_digest, status: row.status, sealed: row.sealed, expiresAt: row.expires_at } };
        }
        return { result: resultFor(row.case_id), answer };
      } catch (err) {
        if ((err as { code?: string }).code === "HS001") {
          throw new LimitError("hashes_per_case", input.limits!.hashesPerCase!, 0);
        }
        if ((retryable(err) || idCollision(err)) && attempt < 8) {
          await new Promise((r) => setTimeout(r, 2 + Math.random() * 10 * (attempt + 1)));
          continue;
        }
        throw asStorageError(err);
      }
    }
  }

  async addHashes(input: Parameters<Store["addHashes"]>[0], commit: Commit<CaseHashesResult>): Promise<Committed<CaseHashesResult>> {
    return this.write(async (c) => {
      const used = await this.lockUsage(c, input.limits);
      const cs = (await c.query<{ public_id: string }>("SELECT public_id FROM cases WHERE id = $1 FOR UPDATE", [input.caseRowId])).rows[0];
      if (!cs) throw new Error(`no case ${input.caseRowId}`);
      const { result, added } = await this.putCaseHashes(c, input.caseRowId, cs.public_id, input.hashes, input.now, input.newHashId, input.limits);
      await this.countUsage(c, input.limits, used, 0, added);
      return result;
    }, commit);
  }

  private async caseView(c: Q | pg.Pool, caseRowId: number): Promise<CaseView | null> {
    const cs = (await c.query<{ public_id: string; created_at: number }>("SELECT public_id, created_at FROM cases WHERE id = $1", [caseRowId])).rows[0];
    if (!cs) return null;
    const rows = (
      await c.query<{ id: string; type: HashType; value: string; active: boolean; blocked: number; not_blocked: number; pending: number }>(
        `SELECT ch.entry_id AS id, h.type, h.value, ch.active,
           count(f.*) FILTER (WHERE f.verdict = 'blocked') AS blocked,
           count(f.*) FILTER (WHERE f.verdict = 'not_blocked') AS not_blocked,
           count(f.*) FILTER (WHERE f.verdict = 'pending_review') AS pending
         FROM case_hashes ch JOIN hashes h ON h.id = ch.hash_id
           LEFT JOIN feedback f ON f.hash_id = h.id AND f.updated_at >= ch.added_at
         WHERE ch.case_id = $1 GROUP BY ch.position, ch.entry_id, h.type, h.value, ch.active ORDER BY ch.position`,
        [caseRowId],
      )
    ).rows;
    const hashes = rows.map((r) => ({
      id: r.id,
      type: r.type,
      value: r.value,
      active: r.active,
      feedback: { blocked: r.blocked, notBlocked: r.not_blocked, pendingReview: r.pending },
    }));
    return { caseId: cs.public_id, status: hashes.some((h) => h.active) ? "active" : "withdrawn", createdAt: cs.created_at, hashes };
  }

  async getCase(caseRowId: number): Promise<CaseView | null> {
    return this.guard(() => this.caseView(this.pool, caseRowId));
  }

  async withdraw(input: Parameters<Store["withdraw"]>[0], commit: Commit<WithdrawResult>): Promise<Committed<WithdrawResult>> {
    return this.write(async (c): Promise<WithdrawResult> => {
      const cs = (await c.query("SELECT 1 FROM cases WHERE id = $1 FOR UPDATE", [input.caseRowId])).rows[0];
      if (!cs) return { found: false, view: null };
      let targets: number[];
      if (input.entryId === null) {
        targets = (
          await c.query<{ hash_id: number }>(
            `SELECT ch.hash_id FROM case_hashes ch JOIN hashes h ON h.id = ch.hash_id
             WHERE ch.case_id = $1 AND ch.active ORDER BY h.type, h.value FOR UPDATE OF h`,
            [input.caseRowId],
          )
        ).rows.map((r) => r.hash_id);
      } else {
        const link = (
          await c.query<{ hash_id: number; active: boolean }>(
            `SELECT ch.hash_id, ch.active FROM case_hashes ch JOIN hashes h ON h.id = ch.hash_id
             WHERE ch.case_id = $1 AND ch.entry_id = $2 FOR UPDATE OF h`,
            [input.caseRowId, input.entryId],
          )
        ).rows[0];
        if (!link) return { found: false, view: null };
        targets = link.active ? [link.hash_id] : [];
      }
      if (targets.length) {
        await c.query("UPDATE case_hashes SET active = false, updated_at = $2 WHERE case_id = $1 AND hash_id = ANY($3::bigint[])", [
          input.caseRowId,
          input.now,
          targets,
        ]);
        // rule 3: the feed record changes only when no case holds the hash any more (the hash rows are locked: no one else is changing them)
        await c.query(
          `INSERT INTO feed_pending (hash_id, case_id, since)
           SELECT h, $1, $2 FROM unnest($3::bigint[]) AS x(h)
           WHERE NOT EXISTS (SELECT 1 FROM case_hashes ch WHERE ch.hash_id = x.h AND ch.active)
           ON CONFLICT (hash_id) DO NOTHING`,
          [input.caseRowId, input.now, targets],
        );
      }
      return { found: true, view: await this.caseView(c, input.caseRowId) };
    }, commit);
  }

  async pendingFeed(): Promise<PendingInfo> {
    return this.guard(async () => {
      const r = (
        await this.pool.query<{ changes: number; cases: number; oldest: number | null }>(
          `SELECT count(*) AS changes, count(DISTINCT p.case_id) AS cases, min(p.since) AS oldest
           FROM feed_pending p JOIN hashes h ON h.id = p.hash_id
           WHERE h.active <> EXISTS (SELECT 1 FROM case_hashes ch WHERE ch.hash_id = p.hash_id AND ch.active)`,
        )
      ).rows[0];
      return { changes: r.changes, cases: r.cases, oldest: r.oldest };
    });
  }

  /** Run `fn` after every earlier publish or follower poll of this process has finished. */
  private serialFeed<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.feedLock.then(fn, fn);
    this.feedLock = p.catch(() => {});
    return p;
  }

  async publishFeed(policy: PublishPolicy): Promise<PublishResult> {
    return this.serialFeed(() =>
      this.tx(async (c): Promise<PublishResult> => {
        // one publisher at a time, in every process: the counter row stays locked until commit
        const base = (await c.query<{ value: number }>("SELECT value FROM counters WHERE name = 'feed_seq' FOR UPDATE")).rows[0].value;
        // then the pending hash rows, in the writers' order: a write still changing one of them finishes first
        await c.query("SELECT h.id FROM feed_pending p JOIN hashes h ON h.id = p.hash_id ORDER BY h.type, h.value FOR UPDATE OF h");
        const all = (
          await c.query<{ hash_id: number; case_id: number; since: number; active: boolean; held: boolean }>(
            `SELECT p.hash_id, p.case_id, p.since, h.active,
               EXISTS (SELECT 1 FROM case_hashes ch WHERE ch.hash_id = p.hash_id AND ch.active) AS held
             FROM feed_pending p JOIN hashes h ON h.id = p.hash_id`,
          )
        ).rows;
        const idle = all.filter((r) => r.held === r.active).map((r) => r.hash_id);
        if (idle.length) await c.query("DELETE FROM feed_pending WHERE hash_id = ANY($1::bigint[])", [idle]);
        const eff = all.filter((r) => r.held !== r.active);
        const publish = [true, false].flatMap((held) => {
          const kind = eff.filter((r) => r.held === held);
          if (kind.length === 0) return [];
          const cases = new Set(kind.map((r) => r.case_id)).size;
          const oldest = Math.min(...kind.map((r) => r.since));
          const wait = held ? policy.maxDelayMs : (policy.withdrawMaxDelayMs ?? policy.maxDelayMs);
          return cases >= policy.minCases || policy.now - oldest >= wait ? kind : [];
        });
        if (publish.length === 0) return { published: false, changes: [], cases: new Set(eff.map((r) => r.case_id)).size };
        const g = Math.max(1, policy.granularityMs);
        const stamp = Math.floor(policy.now / g) * g;
        const order = shuffled(publish.length).map((i) => publish[i]);
        const ids = order.map((r) => r.hash_id);
        const seqs = order.map((_, i) => base + 1 + i);
        const actives = order.map((r) => r.held);
        // every new seq is above all earlier ones, so the unique index on seq never sees two rows with one value
        const updated = (
          await c.query<{ id: number; public_id: string; type: HashType; value: string; active: boolean; seq: number }>(
            `UPDATE hashes h SET active = x.a, seq = x.s, updated_at = $4
             FROM unnest($1::bigint[], $2::bigint[], $3::boolean[]) AS x(id, s, a) WHERE h.id = x.id
             RETURNING h.id, h.public_id, h.type, h.value, h.active, h.seq`,
            [ids, seqs, actives, stamp],
          )
        ).rows;
        await c.query("DELETE FROM feed_pending WHERE hash_id = ANY($1::bigint[])", [ids]);
        const last = base + order.length;
        await c.query("UPDATE counters SET value = $1 WHERE name = 'feed_seq'", [last]);
        await c.query("SELECT pg_notify($1, $2)", [FEED_CHANNEL, String(last)]);
        updated.sort((a, b) => a.seq - b.seq);
        const changes: HashChange[] = updated.map((h) => ({ rowId: h.id, id: h.public_id, type: h.type, value: h.value, active: h.active }));
        return { published: true, changes, cases: new Set(publish.map((r) => r.case_id)).size };
      }),
    );
  }

  async readFeed(afterSeq: number, limit: number): Promise<FeedRow[]> {
    return this.guard(async () =>
      (
        await this.pool.query<{ seq: number; public_id: string; type: HashType; value: string; active: boolean; updated_at: number }>(
          "SELECT seq, public_id, type, value, active, updated_at FROM hashes WHERE seq > $1 ORDER BY seq LIMIT $2",
          [Math.max(0, afterSeq), limit],
        )
      ).rows.map((r) => ({ seq: r.seq, id: r.public_id, type: r.type, value: r.value, active: r.active, updatedAt: r.updated_at })),
    );
  }

  /** Published state changes after `afterSeq`, in feed order, with the row ids the match index uses. */
  async feedChanges(afterSeq: number, limit: number): Promise<{ seq: number; change: HashChange }[]> {
    return this.guard(async () =>
      (
        await this.pool.query<{ id: number; seq: number; public_id: string; type: HashType; value: string; active: boolean }>(
          "SELECT id, seq, public_id, type, value, active FROM hashes WHERE seq > $1 ORDER BY seq LIMIT $2",
          [Math.max(0, afterSeq), limit],
        )
      ).rows.map((r) => ({ seq: r.seq, change: { rowId: r.id, id: r.public_id, type: r.type, value: r.value, active: r.active } })),
    );
  }

  /** The last feed sequence number published (by any process). */
  async lastFeedSeq(): Promise<number> {
    return this.guard(async () => (await this.pool.query<{ value: number }>("SELECT value FROM counters WHERE name = 'feed_seq'")).rows[0].value);
  }

  /**
   * Keep a match index in step with what every process publishes: from
   * `fromSeq` on, apply each published state change to `apply`, in feed
   * order. A LISTEN connection wakes it at every batch (NOTIFY from
   * publishFeed, any process); it also polls every `pollMs` (default 1000),
   * which bounds the delay when notifications are lost (the listening
   * connection reconnects with backoff). Polls and this process's own
   * publications run one at a time, so a poll never applies an older state
   * over a newer one. `onError` hears every failed poll (the database gone).
   */
  async follow(
    fromSeq: number,
    apply: (changes: HashChange[]) => void,
    options: { pollMs?: number; onError?: (err: unknown) => void; onCaughtUp?: (lastSeq: number) => void } = {},
  ): Promise<FeedFollower> {
    const pollMs = options.pollMs ?? 1000;
    let lastSeq = fromSeq;
    let stopped = false;
    let listener: pg.Client | null = null;
    let reconnect: ReturnType<typeof setTimeout> | null = null;
    let backoff = 100;
    let queued: Promise<void> | null = null;

    const pollOnce = () =>
      this.serialFeed(async () => {
        for (;;) {
          const page = await this.feedChanges(lastSeq, 5000);
          if (page.length === 0) break;
          apply(page.map((p) => p.change));
          lastSeq = page[page.length - 1].seq;
          if (page.length < 5000) break;
        }
        options.onCaughtUp?.(lastSeq);
      });
    // at most one poll waiting behind the running one: a burst of NOTIFYs costs one extra read
    const poll = (): Promise<void> => {
      if (queued) return queued;
      const p = pollOnce()
        .catch((err) => {
          if (!stopped) options.onError?.(asStorageError(err));
        })
        .finally(() => {
          if (queued === p) queued = null;
        });
      queued = p;
      return p;
    };

    const listen = async (): Promise<void> => {
      if (stopped) return;
      const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: this.connectTimeoutMs, types: TYPES });
      const retry = () => {
        if (stopped || reconnect) return;
        if (listener === client) listener = null;
        client.end().catch(() => {});
        reconnect = setTimeout(() => {
          reconnect = null;
          void listen();
        }, backoff);
        reconnect.unref();
        backoff = Math.min(backoff * 2, 5000);
      };
      client.on("error", retry);
      client.on("end", retry);
      client.on("notification", (n) => {
        if (n.channel === FEED_CHANNEL && Number(n.payload) > lastSeq) void poll();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${FEED_CHANNEL}`);
        if (stopped) {
          await client.end().catch(() => {});
          return;
        }
        listener = client;
        backoff = 100;
        void poll(); // what was published while not listening
      } catch {
        retry();
      }
    };

    await listen();
    await poll();
    const timer = setInterval(() => void poll(), pollMs);
    timer.unref();
    return {
      get lastSeq() {
        return lastSeq;
      },
      poll,
      async stop() {
        stopped = true;
        clearInterval(timer);
        if (reconnect) clearTimeout(reconnect);
        const l = listener;
        listener = null;
        if (l) {
          l.removeAllListeners("end");
          l.removeAllListeners("error");
          l.on("error", () => {});
          await l.end().catch(() => {});
        }
        await queued?.catch(() => {});
      },
    };
  }

  async activeHashes(afterRowId: number, limit: number): Promise<StoredHash[]> {
    return this.guard(async () =>
      (
        await this.pool.query<{ id: number; public_id: string; type: HashType; value: string }>(
          "SELECT id, public_id, type, value FROM hashes WHERE active AND id > $1 ORDER BY id LIMIT $2",
          [afterRowId, limit],
        )
      ).rows.map((r) => ({ rowId: r.id, id: r.public_id, type: r.type, value: r.value })),
    );
  }

  async recordFeedback(
    input: Parameters<Store["recordFeedback"]>[0],
    commit: Commit<{ unknown: Set<number> }>,
  ): Promise<Committed<{ unknown: Set<number> }>> {
    return this.write(async (c) => {
      const ids = [...new Set(input.items.map((i) => i.id))];
      const known = new Map(
        (
          await c.query<{ id: number; public_id: string }>("SELECT id, public_id FROM hashes WHERE public_id = ANY($1::text[]) AND seq IS NOT NULL", [ids])
        ).rows.map((r) => [r.public_id, r.id]),
      );
      const unknown = new Set<number>();
      // one verdict per (key, hash): the last item wins, as when they are written one by one
      const last = new Map<number, { verdict: string; tags: string }>();
      input.items.forEach((item, i) => {
        const h = known.get(item.id);
        if (h === undefined) unknown.add(i);
        else last.set(h, { verdict: item.verdict, tags: JSON.stringify(item.tags) });
      });
      if (last.size) {
        const hs = [...last.keys()].sort((a, b) => a - b);
        await c.query(
          `INSERT INTO feedback (key_id, hash_id, verdict, tags, updated_at)
           SELECT $1, h, v, t, $2 FROM unnest($3::bigint[], $4::text[], $5::text[]) AS x(h, v, t)
           ON CONFLICT (key_id, hash_id) DO UPDATE SET verdict = EXCLUDED.verdict, tags = EXCLUDED.tags, updated_at = EXCLUDED.updated_at`,
          [input.keyId, input.now, hs, hs.map((h) => last.get(h)!.verdict), hs.map((h) => last.get(h)!.tags)],
        );
      }
      return { unknown };
    }, commit);
  }

  async createApiKey(input: { name: string; keyHash: string; scopes: Scope[]; now: number }): Promise<ApiKeyInfo> {
    return this.guard(async () =>
      keyInfo(
        (
          await this.pool.query<KeyRow>(
            "INSERT INTO api_keys (name, key_hash, scopes, created_at) VALUES ($1, $2, $3, $4) RETURNING id, name, scopes, created_at, revoked_at",
            [input.name, input.keyHash, input.scopes.join(","), input.now],
          )
        ).rows[0],
      ),
    );
  }

  /**
   * A known key is answered from memory for up to {@link API_KEY_CACHE_MS}
   * after it was read (every platform call needs it; one query each was most
   * of a lookup's cost). So a key revoked by another process (`serve keys
   * revoke`) stops working here within that bound; one revoked through this
   * store stops at once. Unknown keys are not remembered (a new key works at once).
   */
  async findApiKey(keyHash: string): Promise<ApiKeyInfo | null> {
    const now = Date.now();
    const hit = this.keyCache.get(keyHash);
    if (hit && now - hit.at < API_KEY_CACHE_MS && now >= hit.at) return hit.info;
    const generation = this.keyGeneration;
    const r = await this.guard(() => this.pool.query<KeyRow>("SELECT id, name, scopes, created_at, revoked_at FROM api_keys WHERE key_hash = $1", [keyHash]));
    const info = r.rows[0] ? keyInfo(r.rows[0]) : null;
    if (info && generation === this.keyGeneration) {
      if (this.keyCache.size >= 1000) this.keyCache.clear();
      this.keyCache.set(keyHash, { info, at: now });
    } else {
      this.keyCache.delete(keyHash);
    }
    return info;
  }

  async listApiKeys(): Promise<ApiKeyInfo[]> {
    return this.guard(async () => (await this.pool.query<KeyRow>("SELECT id, name, scopes, created_at, revoked_at FROM api_keys ORDER BY id")).rows.map(keyInfo));
  }

  async revokeApiKey(idOrName: string, now: number): Promise<ApiKeyInfo | null> {
    this.keyCache.clear();
    this.keyGeneration++;
    try {
      return await this.revokeKeyRow(idOrName, now);
    } finally {
      // a lookup that ran during the UPDATE may have read the row before it: it is not remembered
      this.keyCache.clear();
      this.keyGeneration++;
    }
  }

  private async revokeKeyRow(idOrName: string, now: number): Promise<ApiKeyInfo | null> {
    return this.guard(async () => {
      const cols = "id, name, scopes, created_at, revoked_at";
      if (/^[0-9]+$/.test(idOrName) && Number(idOrName) <= Number.MAX_SAFE_INTEGER) {
        const r = await this.pool.query<KeyRow>(`UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING ${cols}`, [
          now,
          Number(idOrName),
        ]);
        if (r.rows[0]) return keyInfo(r.rows[0]);
      }
      const r = await this.pool.query<KeyRow>(`UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL RETURNING ${cols}`, [now, idOrName]);
      return r.rows[0] ? keyInfo(r.rows[0]) : null;
    });
  }

  async getIdempotency(keyDigest: string, now: number): Promise<IdempotencyRecord | null> {
    const r = await this.guard(() =>
      this.pool.query<{ request_digest: string; status: number; sealed: Buffer; expires_at: number }>(
        "SELECT request_digest, status, sealed, expires_at FROM idempotency WHERE key_digest = $1 AND expires_at > $2 AND status > 0",
        [keyDigest, now],
      ),
    );
    const x = r.rows[0];
    return x ? { requestDigest: x.request_digest, status: x.status, sealed: x.sealed, expiresAt: x.expires_at } : null;
  }

  async purgeIdempotency(now: number): Promise<number> {
    return this.guard(async () => {
      await this.pool.query("DELETE FROM quota_usage WHERE day < $1", [Math.floor(now / 86_400_000) - 1]);
      await this.pool.query("DELETE FROM rate_buckets WHERE at < $1", [now - 3_600_000]);
      // counts quiet for two days are forgotten (DEFAULT_FAILURE_POLICY forgets after one)
      await this.pool.query("DELETE FROM secret_failures WHERE last < $1", [now - 2 * 86_400_000]);
      return (await this.pool.query("DELETE FROM idempotency WHERE expires_at <= $1 AND status > 0", [now])).rowCount ?? 0;
    });
  }

  async getMeta(name: string): Promise<string | null> {
    return this.guard(async () => (await this.pool.query<{ value: string }>("SELECT value FROM meta WHERE name = $1", [name])).rows[0]?.value ?? null);
  }

  async setMeta(name: string, value: string): Promise<void> {
    await this.guard(() =>
      this.pool.query("INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value", [name, value]),
    );
  }

  /** Set a meta value only when none is kept yet; answers the value in force (first writer wins across processes). */
  async setMetaOnce(name: string, value: string): Promise<string> {
    return this.guard(async () => {
      await this.pool.query("INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", [name, value]);
      return (await this.pool.query<{ value: string }>("SELECT value FROM meta WHERE name = $1", [name])).rows[0].value;
    });
  }

  /**
   * One token bucket take, as one statement: a new bucket starts full less
   * what is taken; an existing one is refilled for the time since `at`
   * (capped at `burst`) and gives as many whole tokens as it holds, at most
   * `want`. A refused take writes only the refill, so retrying does not dig
   * the bucket deeper.
   */
  private async takeTokens(
    name: string,
    key: string,
    limit: { burst: number; perSecond: number },
    now: number,
    want: number,
  ): Promise<{ taken: number; waitMs: number }> {
    const refill = "LEAST($3::float8, b.tokens + GREATEST(0, $5::bigint - b.at) * $4::float8 / 1000)";
    const r = await this.guard(() =>
      this.pool.query<{ tokens: number; taken: number }>(
        `INSERT INTO rate_buckets AS b (name, key, tokens, at, taken)
           VALUES ($1, $2, $3::float8 - LEAST($6, floor($3::float8)), $5, LEAST($6, floor($3::float8)))
         ON CONFLICT (name, key) DO UPDATE SET
           tokens = ${refill} - LEAST($6, floor(${refill})),
           taken = LEAST($6, floor(${refill})),
           at = GREATEST(b.at, $5::bigint)
         RETURNING tokens, taken`,
        [name, key, limit.burst, limit.perSecond, now, Math.max(1, Math.floor(want))],
      ),
    );
    const row = r.rows[0];
    return { taken: row.taken, waitMs: row.taken > 0 ? 0 : Math.max(1, Math.ceil(((1 - row.tokens) / limit.perSecond) * 1000)) };
  }

  private async secretFailures(id: string): Promise<{ n: number; last: number } | null> {
    const r = await this.guard(() => this.pool.query<{ n: number; last: number }>("SELECT n, last FROM secret_failures WHERE case_id = $1", [id]));
    return r.rows[0] ?? null;
  }

  private async addSecretFailure(id: string, now: number, forgetAfterMs: number): Promise<number> {
    const r = await this.guard(() =>
      this.pool.query<{ n: number }>(
        `INSERT INTO secret_failures AS f (case_id, n, last) VALUES ($1, 1, $2)
         ON CONFLICT (case_id) DO UPDATE SET n = CASE WHEN $2 - f.last > $3 THEN 1 ELSE f.n + 1 END, last = GREATEST(f.last, $2)
         RETURNING n`,
        [id, now, forgetAfterMs],
      ),
    );
    return r.rows[0].n;
  }

  private async claimSecretAttempt(id: string, now: number, policy: { free: number; maxWaitSeconds: number; forgetAfterMs: number }): Promise<boolean> {
    const r = await this.guard(() =>
      this.pool.query(
        `UPDATE secret_failures SET n = n + 1, last = $2
         WHERE case_id = $1 AND n >= $3 AND $2 - last <= $5
           AND $2 >= last + LEAST($4::float8, power(2, LEAST(n - $3, 40))) * 1000`,
        [id, now, policy.free, policy.maxWaitSeconds, policy.forgetAfterMs],
      ),
    );
    return (r.rowCount ?? 0) > 0;
  }

  private async clearSecretFailures(id: string): Promise<void> {
    await this.guard(() => this.pool.query("DELETE FROM secret_failures WHERE case_id = $1", [id]));
  }

  async probe(now: number): Promise<void> {
    await this.guard(() => this.pool.query("UPDATE health SET probed_at = $1 WHERE id = 1", [now]));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.feedLock.catch(() => {});
    await this.pool.end().catch(() => {});
  }
}
