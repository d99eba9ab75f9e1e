/**
 * Versioned schema of the PostgreSQL store: an ordered list of migrations,
 * recorded in `hashsafe_migrations` (one row per migration applied). Each runs
 * in its own transaction under a session advisory lock, so several processes
 * starting at once apply each migration once. Add new migrations at the end;
 * never edit one that has shipped.
 *
 * The same data model as the SQLite store (migrations.ts), in PostgreSQL's
 * types: times are milliseconds since the epoch (bigint); a hash never
 * published has `seq` NULL (the feed reads `seq > cursor`).
 */
import type { Migration } from "./migrations.ts";

export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "cases, hashes, per-case entries, batched feed, keys, feedback, idempotency, quotas, meta",
    sql: `
      CREATE TABLE cases (
        id bigserial PRIMARY KEY,
        public_id text NOT NULL UNIQUE,
        secret_hash text NOT NULL,
        client_name text NOT NULL,
        client_version text NOT NULL,
        created_at bigint NOT NULL
      );
      -- One row per distinct hash value: the feed record. active while any case holds it (once published).
      CREATE TABLE hashes (
        id bigserial PRIMARY KEY,
        public_id text NOT NULL UNIQUE,
        type text NOT NULL CHECK (type IN ('pdq', 'md5')),
        value text NOT NULL,
        active boolean NOT NULL DEFAULT false,
        seq bigint UNIQUE,
        updated_at bigint NOT NULL,
        UNIQUE (type, value)
      );
      CREATE INDEX hashes_active ON hashes (id) WHERE active;
      CREATE TABLE case_hashes (
        case_id bigint NOT NULL REFERENCES cases (id),
        hash_id bigint NOT NULL REFERENCES hashes (id),
        position integer NOT NULL,
        active boolean NOT NULL,
        updated_at bigint NOT NULL,
        entry_id text NOT NULL,
        added_at bigint NOT NULL,
        PRIMARY KEY (case_id, hash_id),
        UNIQUE (case_id, entry_id)
      );
      CREATE INDEX case_hashes_held ON case_hashes (hash_id) WHERE active;
      CREATE TABLE api_keys (
        id bigserial PRIMARY KEY,
        name text NOT NULL,
        key_hash text NOT NULL UNIQUE,
        scopes text NOT NULL,
        created_at bigint NOT NULL,
        revoked_at bigint
      );
      CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;
      CREATE TABLE feedback (
        key_id bigint NOT NULL REFERENCES api_keys (id),
        hash_id bigint NOT NULL REFERENCES hashes (id),
        verdict text NOT NULL CHECK (verdict IN ('blocked', 'not_blocked', 'pending_review')),
        tags text NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (key_id, hash_id)
      );
      CREATE INDEX feedback_by_hash ON feedback (hash_id);
      -- status 0: a placeholder held by a write still running (it owns the key until it commits)
      CREATE TABLE idempotency (
        key_digest text PRIMARY KEY,
        request_digest text NOT NULL,
        status integer NOT NULL,
        sealed bytea NOT NULL,
        expires_at bigint NOT NULL
      );
      CREATE INDEX idempotency_by_expiry ON idempotency (expires_at);
      -- feed_seq: the last feed sequence number; its row is locked by the one publisher at a time
      CREATE TABLE counters (
        name text PRIMARY KEY,
        value bigint NOT NULL
      );
      INSERT INTO counters (name, value) VALUES ('feed_seq', 0);
      CREATE TABLE feed_pending (
        hash_id bigint PRIMARY KEY REFERENCES hashes (id),
        case_id bigint NOT NULL,
        since bigint NOT NULL
      );
      CREATE TABLE quota_usage (
        subject text NOT NULL,
        day integer NOT NULL,
        cases integer NOT NULL DEFAULT 0,
        hashes integer NOT NULL DEFAULT 0,
        PRIMARY KEY (subject, day)
      );
      CREATE TABLE meta (
        name text PRIMARY KEY,
        value text NOT NULL
      );
      CREATE TABLE health (
        id integer PRIMARY KEY CHECK (id = 1),
        probed_at bigint NOT NULL
      );
      INSERT INTO health (id, probed_at) VALUES (1, 0);
      -- token buckets shared by every process (pg-rate-limit.ts): tokens may go below 0 (a debt)
      CREATE TABLE rate_buckets (
        name text NOT NULL,
        key text NOT NULL,
        tokens double precision NOT NULL,
        at bigint NOT NULL,
        PRIMARY KEY (name, key)
      );
      CREATE INDEX rate_buckets_by_time ON rate_buckets (at);
    `,
  },
  {
    version: 2,
    name: "shared rate limits and failed-secret counts: unlogged, HOT-updatable counters",
    sql: `
      -- Counters every process updates on many requests: UNLOGGED (no WAL, no fsync at commit;
      -- emptied after a database crash and not copied to replicas, which only resets the limits),
      -- and no index on a column each update changes, so updates stay HOT.
      DROP INDEX rate_buckets_by_time;
      ALTER TABLE rate_buckets SET UNLOGGED;
      -- how many tokens the last take got (what the one statement of a take answers)
      ALTER TABLE rate_buckets ADD COLUMN taken integer NOT NULL DEFAULT 0;
      -- failed case-secret attempts per case id (known or not)
      CREATE UNLOGGED TABLE secret_failures (
        case_id text PRIMARY KEY,
        n integer NOT NULL,
        last bigint NOT NULL
      );
    `,
  },
];
