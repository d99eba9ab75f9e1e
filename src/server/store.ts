/**
 * The storage interface of the reference server. The server talks to its
 * database only through `Store`, so that a PostgreSQL store (for several
 * server processes) can follow the SQLite one.
 *
 * Contract for implementations:
 * - Every write method is one transaction: it does all its writes, then calls
 *   `commit.respond(result)` and, when `commit.idempotency` is given and the
 *   answer is a success (2xx), stores the sealed answer with it, all before
 *   committing. Either everything is stored
 *   or nothing.
 * - Every change of a hash's overall status (a new hash, active -> withdrawn,
 *   withdrawn -> active) gives it a new feed sequence number, larger than every
 *   earlier one, and is reported in `changes` so that the match index can
 *   follow. Sequence numbers must become visible in order: a reader must never
 *   see N+1 committed while N is still pending, or a feed cursor would skip N
 *   (SQLite has one writer at a time; a PostgreSQL store must serialise the
 *   counter, e.g. by locking its row until commit).
 * - Times are milliseconds since the epoch; hashes are canonical (see protocol).
 */
import type { CanonicalHash, CaseStatus, ClientInfo, FeedbackCounts, HashType, Scope, Verdict } from "../protocol/index.ts";

/** A change of one hash's overall status, for the match index. */
export interface HashChange {
  /** internal numeric id (the index's id) */
  rowId: number;
  /** public id (`h_...`) */
  id: string;
  type: HashType;
  value: string;
  active: boolean;
}

/** A hash with its internal and public id. */
export interface StoredHash {
  rowId: number;
  id: string;
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

/** Result of a write: what it did and the answer it committed. */
export interface Committed<R> {
  result: R;
  answer: WriteAnswer;
}

/** Result of storing hashes in a case. */
export interface CaseHashesResult {
  caseRowId: number;
  caseId: string;
  /** one per input hash, in input order */
  hashes: StoredHash[];
  changes: HashChange[];
}

/** Result of a withdrawal; `found` false when the hash is not in the case (nothing written). */
export interface WithdrawResult {
  found: boolean;
  changes: HashChange[];
  /** the case after the withdrawal (null when not found) */
  view: CaseView | null;
}

/** The status of a case as the submitter sees it. */
export interface CaseView {
  caseId: string;
  status: CaseStatus;
  createdAt: number;
  hashes: { id: string; type: HashType; value: string; active: boolean; feedback: FeedbackCounts }[];
}

/** A feed record with its sequence number. */
export interface FeedRow {
  seq: number;
  id: string;
  type: HashType;
  value: string;
  active: boolean;
  updatedAt: number;
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

  /** Case secret hash by public case id, or null. */
  getCaseAuth(caseId: string): Promise<{ rowId: number; secretHash: string } | null>;
  /** Create a case holding `hashes` (valid, canonical; duplicates allowed). */
  createCase(
    input: { caseId: string; secretHash: string; client: ClientInfo; hashes: CanonicalHash[]; now: number; newHashId(): string },
    commit: Commit<CaseHashesResult>,
  ): Promise<Committed<CaseHashesResult>>;
  /** Add hashes to a case (re-activating any it had withdrawn). */
  addHashes(
    input: { caseRowId: number; hashes: CanonicalHash[]; now: number; newHashId(): string },
    commit: Commit<CaseHashesResult>,
  ): Promise<Committed<CaseHashesResult>>;
  /** The case's status, or null. */
  getCase(caseRowId: number): Promise<CaseView | null>;
  /** Withdraw one hash (by public id) or, with `hashId` null, every hash of the case. */
  withdraw(
    input: { caseRowId: number; hashId: string | null; now: number },
    commit: Commit<WithdrawResult>,
  ): Promise<Committed<WithdrawResult>>;

  /** Feed records with a sequence number above `afterSeq`, oldest change first; `limit + 1` tells whether more wait. */
  readFeed(afterSeq: number, limit: number): Promise<FeedRow[]>;
  /** Active hashes with rowId above `afterRowId`, by rowId (to load the match index in pages). */
  activeHashes(afterRowId: number, limit: number): Promise<StoredHash[]>;

  /** Record verdicts of one platform key; unknown ids come back in `unknown` (by item index). */
  recordFeedback(
    input: { keyId: number; items: FeedbackWrite[]; now: number },
    commit: Commit<{ unknown: Set<number> }>,
  ): Promise<Committed<{ unknown: Set<number> }>>;

  /** Platform keys. */
  createApiKey(input: { name: string; keyHash: string; scopes: Scope[]; now: number }): Promise<ApiKeyInfo>;
  findApiKey(keyHash: string): Promise<ApiKeyInfo | null>;
  listApiKeys(): Promise<ApiKeyInfo[]>;
  /** Revoke the active key with this id or name; null when there is none. */
  revokeApiKey(idOrName: string, now: number): Promise<ApiKeyInfo | null>;

  /** The live idempotency record for a key digest, or null. */
  getIdempotency(keyDigest: string, now: number): Promise<IdempotencyRecord | null>;
  /** Forget idempotency records that expired before `now`; returns how many. */
  purgeIdempotency(now: number): Promise<number>;

  close(): Promise<void>;
}
