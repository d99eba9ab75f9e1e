/**
 * Versioned schema of the SQLite store: an ordered list of migrations. The
 * database's `PRAGMA user_version` is the number of migrations applied; each
 * runs in its own transaction. Add new migrations at the end; never edit one
 * that has shipped.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "cases, hashes, feed, keys, feedback, idempotency",
    sql: `
      CREATE TABLE cases (
        id INTEGER PRIMARY KEY,
        public_id TEXT NOT NULL UNIQUE,
        secret_hash TEXT NOT NULL,
        client_name TEXT NOT NULL,
        client_version TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      -- One row per distinct hash value: the feed record. active = 1 while any case keeps it active.
      CREATE TABLE hashes (
        id INTEGER PRIMARY KEY,
        public_id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL CHECK (type IN ('pdq', 'md5')),
        value TEXT NOT NULL,
        active INTEGER NOT NULL CHECK (active IN (0, 1)),
        seq INTEGER NOT NULL UNIQUE,
        updated_at INTEGER NOT NULL,
        UNIQUE (type, value)
      );
      CREATE TABLE case_hashes (
        case_id INTEGER NOT NULL REFERENCES cases (id),
        hash_id INTEGER NOT NULL REFERENCES hashes (id),
        position INTEGER NOT NULL,
        active INTEGER NOT NULL CHECK (active IN (0, 1)),
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (case_id, hash_id)
      ) WITHOUT ROWID;
      CREATE INDEX case_hashes_by_hash ON case_hashes (hash_id, active);
      CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        scopes TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      );
      CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;
      CREATE TABLE feedback (
        key_id INTEGER NOT NULL REFERENCES api_keys (id),
        hash_id INTEGER NOT NULL REFERENCES hashes (id),
        verdict TEXT NOT NULL CHECK (verdict IN ('blocked', 'not_blocked', 'pending_review')),
        tags TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (key_id, hash_id)
      ) WITHOUT ROWID;
      CREATE INDEX feedback_by_hash ON feedback (hash_id);
      CREATE TABLE idempotency (
        key_digest TEXT PRIMARY KEY,
        request_digest TEXT NOT NULL,
        status INTEGER NOT NULL,
        sealed BLOB NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX idempotency_by_expiry ON idempotency (expires_at);
      CREATE TABLE counters (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      );
      INSERT INTO counters (name, value) VALUES ('feed_seq', 0);
    `,
  },
  {
    version: 2,
    name: "per-case entries, batched feed, quotas, meta",
    // Hashes never published have active = 0 and a placeholder seq = -(a row id): the
    // feed reads seq > cursor >= 0 only. case_hashes rows made before this migration keep
    // the feed id as their entry id (old receipts name them so); new entries get their own.
    sql: `
      ALTER TABLE case_hashes ADD COLUMN entry_id TEXT;
      ALTER TABLE case_hashes ADD COLUMN added_at INTEGER NOT NULL DEFAULT 0;
      UPDATE case_hashes SET
        entry_id = (SELECT public_id FROM hashes h WHERE h.id = case_hashes.hash_id),
        added_at = (SELECT created_at FROM cases c WHERE c.id = case_hashes.case_id);
      CREATE UNIQUE INDEX case_hashes_entry ON case_hashes (case_id, entry_id);
      -- Changes of a hash's overall state not yet published, with the case that caused them.
      CREATE TABLE feed_pending (
        hash_id INTEGER PRIMARY KEY REFERENCES hashes (id),
        case_id INTEGER NOT NULL,
        since INTEGER NOT NULL
      );
      -- Daily use per subject (a keyed digest of a client address, or an intake key).
      CREATE TABLE quota_usage (
        subject TEXT NOT NULL,
        day INTEGER NOT NULL,
        cases INTEGER NOT NULL DEFAULT 0,
        hashes INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (subject, day)
      ) WITHOUT ROWID;
      CREATE TABLE meta (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
      CREATE TABLE health (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        probed_at INTEGER NOT NULL
      );
      INSERT INTO health (id, probed_at) VALUES (1, 0);
    `,
  },
];

/** `PRAGMA application_id` of a hashsafe database ("HSAF"): another program's SQLite file is told apart by it. */
export const APPLICATION_ID = 0x48534146;
