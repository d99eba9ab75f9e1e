/**
 * The storage interface of the reference server. The server talks to its
 * database only through `Store`; `SqliteStore` (one process) and the
 * PostgreSQL store (several processes) implement it, and one contract test
 * suite runs against both. Every method may return a Promise.
 *
 * The business rules live here, in the contract, not in the HTTP layer:
 *
 * 1. **Atomic writes.** Every write method is one transaction. It first looks
 *    for a live idempotency record under `commit.idempotency.keyDigest`: if
 *    there is one it writes nothing and answers `{ replayed: record }` (the
 *    HTTP layer then checks the request digest and replays, or answers 422).
 *    Otherwise it does all its writes, calls `commit.respond(result)` and,
 *    when the answer is a success (2xx), stores the sealed answer under the
 *    key digest, all before committing. Two requests with one key, in one
 *    process or in several, make one write: the second waits for the first's
 *    commit (SQLite: one writer; PostgreSQL: the primary key of the record,
 *    e.g. INSERT ... ON CONFLICT first) and then replays.
 * 2. **Per-case entries.** A case holds *entries*; each entry has its own
 *    public id (`entryId`, format of a hash id), made for that case only. A
 *    submitter never sees the feed id of a hash, nor anything that depends on
 *    other cases: a second case adding a hash that another case holds gets a
 *    fresh entry id and sees only feedback recorded (`feedback.updatedAt`) at
 *    or after its entry's `addedAt`.
 * 3. **A hash withdrawn only when no case still holds it.** The feed has one
 *    record per distinct hash value (its `feedId`), active while any case
 *    holds an active entry of it.
 * 4. **The feed is published in batches.** Writes never touch the published
 *    feed. Each change of a hash's overall state (new, active -> withdrawn,
 *    withdrawn -> active) is noted as *pending*, with the case that caused it.
 *    `publishFeed` publishes pending changes as one batch. Additions (-> active)
 *    and withdrawals (-> withdrawn) are told apart by their status, so each
 *    kind is judged on its own: it is published when its changes come from at
 *    least `minCases` distinct cases or its oldest waited `maxDelayMs`
 *    (withdrawals: `withdrawMaxDelayMs`, as they are rarer), else it waits
 *    for the next batch. The published changes get feed sequence
 *    numbers in a uniformly random order (crypto
 *    randomness), all with the same `updatedAt` (the batch time, rounded down
 *    to `granularityMs`), and reports them in `changes` for the match index.
 *    A hash that is created and withdrawn again before publication never
 *    reaches the feed. Sequence numbers are larger than every earlier one and
 *    must become visible in order (one publisher at a time: SQLite has one
 *    writer; PostgreSQL must lock the counter row until commit).
 * 5. **Quotas and caps inside the transaction.** A write given `limits`
 *    checks and counts them in the same transaction and throws `LimitError`
 *    (nothing stored) when the write would exceed one.
 * 6. **Storage faults are `StorageError`s.** Disk full, I/O errors,
 *    corruption, a read-only database: the store throws `StorageError` with
 *    its kind, so the server can answer 503 and report not ready.
 * 7. **Shared limits.** A store that several processes use at once
 *    (PostgreSQL) offers `limits` (SharedLimits), so that rate limits and the
 *    failed-secret counter are one count for all of them, like the quotas.
 *
 * Times are milliseconds since the epoch; hashes are canonical (see protocol).
 */
import type { CanonicalHash, CaseStatus, ClientInfo, FeedbackCounts, HashType, Scope, Verdict } from "../protocol/index.ts";

/** A change of one hash's published state, for the match index. */
export interface HashChange {
  /** internal numeric id (the index's id) */
  rowId: number;
  /** public feed id (`h_...`) */
  id: string;
  type: HashType;
  value: string;
  active: boolean;
}

/** A hash with its internal and public feed id. */
export interface StoredHash {
  rowId: number;
  id: string;
  type: HashType;
  value: string;
}

/** One entry of a case, as its submitter knows it. */
export interface CaseEntry {
  /** the entry's public id (random, this case only; not the feed id) */
  entryId: string;
  type: HashType;
  value: string;
}

/** What a write needs to store alongside its answer, for idempotent replays. */
export interface IdempotencyIntent {
  /** digest of principal + key: what the record is found by */
  keyDigest: string;
  /** digest of method, path and body: a replay must match it */
  requestDigest: string;
  expiresAt: number;
  /** the request's time: records with `expiresAt <= now` are dead */
  now: number;
  /** encrypts the answer body (only the client's key opens it again) */
  seal(body: string): Buffer;
}

/** A stored idempotency record. */
export interface IdempotencyRecord {
  requestDigest: string;
  status: number;
  sealed: Buffer;
  expiresAt: number;
}

/** The answer a write produces, computed inside its transaction. */
export interface WriteAnswer {
  status: number;
  body: unknown;
}

/** How a write commits: its answer, and the idempotency record to keep with it. */
export interface Commit<R> {
  idempotency?: IdempotencyIntent;
  respond(result: R): WriteAnswer;
}

/**
 * Result of a write: either what it did and the answer it committed, or
 * (nothing written) the idempotency record an earlier request with the same
 * key digest left.
 */
export type Committed<R> = { replayed?: undefined; result: R; answer: WriteAnswer } | { replayed: IdempotencyRecord };

/**
 * Limits a write checks inside its transaction (absent: no limit).
 * `subject` is an opaque key (the server passes a keyed digest of the client
 * address, or `key:<id>` for an intake key); `day` the UTC day number
 * (`Math.floor(now / 86400000)`).
 */
export interface WriteLimits {
  subject?: string;
  day?: number;
  /** most cases the subject may create per day */
  casesPerDay?: number;
  /** most entries the subject may add per day (new entries only) */
  hashesPerDay?: number;
  /** most entries one case may hold (active or withdrawn) */
  hashesPerCase?: number;
}

/** Thrown by a write whose limits it would exceed; nothing was written. */
export class LimitError extends Error {
  readonly limit: "cases_per_day" | "hashes_per_day" | "hashes_per_case";
  readonly max: number;
  /** how many the subject or case already used */
  readonly used: number;
  constructor(limit: LimitError["limit"], max: number, used: number) {
    super(`${limit} limit ${max} reached (${used} used)`);
    this.name = "LimitError";
    this.limit = limit;
    this.max = max;
    this.used = used;
  }
}

/**
 * Counters that several server processes on one database must share (store
 * rule 7): token buckets of the rate limits and failed case-secret attempts.
 * A store that offers them (PostgreSQL) keeps them in the database, one
 * atomic statement per check; without them (SQLite: one process per file)
 * the server counts in process memory, which costs no write.
 */
export interface SharedLimits {
  /**
   * Take up to `want` (>= 1) tokens from the bucket (`name`, `key`), which
   * holds up to `burst` tokens and gains `perSecond` a second (a new bucket
   * starts full): as many as it holds whole, at most `want`. Answers how many
   * were taken and, when none, the milliseconds until one is there.
   */
  takeTokens(
    name: string,
    key: string,
    limit: { burst: number; perSecond: number },
    now: number,
    want: number,
  ): Promise<{ taken: number; waitMs: number }>;
  /** Failed case-secret attempts counted for `id`: how many, and when the last was; null when none. */
  secretFailures(id: string): Promise<{ n: number; last: number } | null>;
  /** Count one failed attempt (a count quiet for more than `forgetAfterMs` starts again at 1); answers the count. */
  addSecretFailure(id: string, now: number, forgetAfterMs: number): Promise<number>;
  /**
   * Claim the next attempt of a throttled `id` (at least `free` failures):
   * counts it as a failure at once and answers true when its wait
   * (`min(maxWaitSeconds, 2^(n - free))` s after the last) is over, false
   * (nothing written) when it is not, or another process claimed it first.
   */
  claimSecretAttempt(id: string, now: number, policy: { free: number; maxWaitSeconds: number; forgetAfterMs: number }): Promise<boolean>;
  /** Forget the failures of `id` (a right secret). */
  clearSecretFailures(id: string): Promise<void>;
}

/** Kinds of storage fault. */
export type StorageFaultKind = "full" | "io" | "corrupt" | "readonly" | "unavailable";

/** A fault of the storage itself (not of the request): the server answers 503. */
export class StorageError extends Error {
  readonly kind: StorageFaultKind;
  /** the driver's code, e.g. SQLITE_FULL */
  readonly code: string | undefined;
  constructor(kind: StorageFaultKind, message: string, code?: string) {
    super(message);
    this.name = "StorageError";
    this.kind = kind;
    this.code = code;
  }
}

/** Result of storing hashes in a case. */
export interface CaseHashesResult {
  caseRowId: number;
  caseId: string;
  /** one per input hash, in input order (a value sent twice: the same entry) */
  entries: CaseEntry[];
}

/** Result of a withdrawal; `found` false when the entry is not in the case (nothing written). */
export interface WithdrawResult {
  found: boolean;
  /** the case after the withdrawal (null when not found) */
  view: CaseView | null;
}

/** The status of a case as its submitter sees it: its own entries only. */
export interface CaseView {
  caseId: string;
  status: CaseStatus;
  createdAt: number;
  /** in the order the case added them; feedback counts only verdicts recorded at or after the entry was added */
  hashes: { id: string; type: HashType; value: string; active: boolean; feedback: FeedbackCounts }[];
}

/** A feed record with its sequence number. */
export interface FeedRow {
  seq: number;
  id: string;
  type: HashType;
  value: string;
  active: boolean;
  /** the batch time (rounded) */
  updatedAt: number;
}

/** How `publishFeed` decides and stamps a batch. */
export interface PublishPolicy {
  now: number;
  /** publish only when the pending changes come from at least this many distinct cases ... */
  minCases: number;
  /** ... or the oldest pending change has waited this long (additions; withdrawals too unless `withdrawMaxDelayMs` is given) */
  maxDelayMs: number;
  /** how long the oldest pending withdrawal may wait for other cases' withdrawals (default: `maxDelayMs`) */
  withdrawMaxDelayMs?: number;
  /** `updatedAt` of the batch: `now` rounded down to a multiple of this */
  granularityMs: number;
}

/** What `publishFeed` did. */
export interface PublishResult {
  /** false: the policy said wait (nothing written) */
  published: boolean;
  /** published state changes, in feed order, for the match index */
  changes: HashChange[];
  /** how many distinct cases the batch mixes */
  cases: number;
}

/** What waits for publication. */
export interface PendingInfo {
  /** pending hash changes */
  changes: number;
  /** distinct cases they come from */
  cases: number;
  /** when the oldest was noted, or null */
  oldest: number | null;
}

/** A platform API key as stored (never the key itself). */
export interface ApiKeyInfo {
  id: number;
  name: string;
  scopes: Scope[];
  createdAt: number;
  revokedAt: number | null;
}

/** One feedback item with the hash resolved. */
export interface FeedbackWrite {
  id: string;
  verdict: Verdict;
  tags: string[];
}

export interface Store {
  /** what kind of store this is, e.g. "sqlite" */
  readonly kind: string;

  // ---- cases ----

  /** Stored secret of a case by public case id, or null. */
  getCaseAuth(caseId: string): Promise<{ rowId: number; secretHash: string } | null>;
  /** Replace a case's stored secret (re-storing a legacy scrypt hash as HMAC after a successful check). */
  setCaseSecretHash(caseRowId: number, secretHash: string): Promise<void>;
  /** Create a case holding `hashes` (valid, canonical; duplicates allowed). `newHashId` makes both feed ids and entry ids. */
  createCase(
    input: {
      caseId: string;
      secretHash: string;
      client: ClientInfo;
      hashes: CanonicalHash[];
      now: number;
      newHashId(): string;
      limits?: WriteLimits;
    },
    commit: Commit<CaseHashesResult>,
  ): Promise<Committed<CaseHashesResult>>;
  /** Add hashes to a case (re-activating any entry it had withdrawn; a held value keeps its entry). */
  addHashes(
    input: { caseRowId: number; hashes: CanonicalHash[]; now: number; newHashId(): string; limits?: WriteLimits },
    commit: Commit<CaseHashesResult>,
  ): Promise<Committed<CaseHashesResult>>;
  /** The case's status, or null. */
  getCase(caseRowId: number): Promise<CaseView | null>;
  /** Withdraw one entry (by entry id) or, with `entryId` null, every entry of the case. */
  withdraw(
    input: { caseRowId: number; entryId: string | null; now: number },
    commit: Commit<WithdrawResult>,
  ): Promise<Committed<WithdrawResult>>;

  // ---- the feed ----

  /** Publish what is pending as one batch, if the policy allows (see rule 4). */
  publishFeed(policy: PublishPolicy): Promise<PublishResult>;
  /** What waits for publication. */
  pendingFeed(): Promise<PendingInfo>;
  /** Published feed records with a sequence number above `afterSeq`, in feed order; `limit + 1` tells whether more wait. */
  readFeed(afterSeq: number, limit: number): Promise<FeedRow[]>;
  /** Published active hashes with rowId above `afterRowId`, by rowId (to load the match index in pages). */
  activeHashes(afterRowId: number, limit: number): Promise<StoredHash[]>;

  // ---- platforms ----

  /** Record verdicts of one platform key (by feed id); unknown or unpublished ids come back in `unknown` (by item index). */
  recordFeedback(
    input: { keyId: number; items: FeedbackWrite[]; now: number },
    commit: Commit<{ unknown: Set<number> }>,
  ): Promise<Committed<{ unknown: Set<number> }>>;

  /** Platform and intake keys. */
  createApiKey(input: { name: string; keyHash: string; scopes: Scope[]; now: number }): Promise<ApiKeyInfo>;
  findApiKey(keyHash: string): Promise<ApiKeyInfo | null>;
  listApiKeys(): Promise<ApiKeyInfo[]>;
  /** Revoke the active key with this id or name; null when there is none. */
  revokeApiKey(idOrName: string, now: number): Promise<ApiKeyInfo | null>;

  // ---- idempotency, housekeeping, health ----

  /** The live idempotency record for a key digest, or null (a fast path; the write methods check again atomically). */
  getIdempotency(keyDigest: string, now: number): Promise<IdempotencyRecord | null>;
  /** Forget idempotency records that expired before `now`, and quota counts of days before yesterday; returns how many records. */
  purgeIdempotency(now: number): Promise<number>;
  /** A small value kept with the data (e.g. the server key's fingerprint), or null. */
  getMeta(name: string): Promise<string | null>;
  setMeta(name: string, value: string): Promise<void>;
  /** Keep `value` under `name` unless a value is kept already; answers the value in force (the first writer wins, also across processes). */
  setMetaOnce(name: string, value: string): Promise<string>;
  /** Rate-limit buckets and failed-secret counts shared by every process on this store (rule 7); absent: the server counts in memory. */
  readonly limits?: SharedLimits;
  /** One tiny durable write: resolves when the storage accepts writes again, throws StorageError while it does not. */
  probe(now: number): Promise<void>;

  close(): Promise<void>;
}
