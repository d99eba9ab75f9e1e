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
  {
    version: 3,
    name: "hashsafe_create_case: a new case (idempotency claim, case, hashes, entries, pending feed rows, sealed answer) in one call",
    sql: `
      -- One round trip for PostgresStore.createCase when no quota is counted. Each statement runs
      -- with a fresh snapshot (READ COMMITTED), as the statements of the multi-statement path do:
      -- the claim first (a second request with the key waits for the first's commit), then the case
      -- row, the hash rows (inserted, or locked by DO UPDATE, in (type, value) order), the entries,
      -- the pending rows of hashes no other case holds (read after those locks), the answer.
      -- Answers the case's row id, or (key taken) the earlier request's record.
      -- Errors: 40001 (the record vanished: run again), HS001 (more distinct hashes than p_max_per_case).
      CREATE FUNCTION hashsafe_create_case(
        p_key text, p_request text, p_expires bigint, p_idem_now bigint, p_now bigint,
        p_public_id text, p_secret text, p_client_name text, p_client_version text,
        p_hash_public_ids text[], p_types text[], p_values text[], p_entry_ids text[],
        p_max_per_case integer, p_status integer, p_sealed bytea
      ) RETURNS TABLE (case_id bigint, request_digest text, status integer, sealed bytea, expires_at bigint)
      LANGUAGE plpgsql AS $fn$
      #variable_conflict use_column
      DECLARE
        cid bigint;
        hids bigint[];
      BEGIN
        IF p_key IS NOT NULL THEN
          INSERT INTO idempotency AS i (key_digest, request_digest, status, sealed, expires_at)
          VALUES (p_key, p_request, 0, '\\x'::bytea, p_expires)
          ON CONFLICT (key_digest) DO UPDATE SET request_digest = EXCLUDED.request_digest, status = 0, sealed = EXCLUDED.sealed,
            expires_at = EXCLUDED.expires_at
          WHERE i.expires_at <= p_idem_now;
          IF NOT FOUND THEN
            RETURN QUERY SELECT NULL::bigint, i.request_digest, i.status, i.sealed, i.expires_at FROM idempotency i
              WHERE i.key_digest = p_key AND i.status > 0;
            IF NOT FOUND THEN
              RAISE EXCEPTION 'idempotency record vanished' USING ERRCODE = '40001';
            END IF;
            RETURN;
          END IF;
        END IF;
        IF p_max_per_case IS NOT NULL AND cardinality(p_types) > p_max_per_case THEN
          RAISE EXCEPTION 'hashes_per_case' USING ERRCODE = 'HS001';
        END IF;
        INSERT INTO cases (public_id, secret_hash, client_name, client_version, created_at)
        VALUES (p_public_id, p_secret, p_client_name, p_client_version, p_now) RETURNING id INTO cid;
        WITH h AS (
          INSERT INTO hashes (public_id, type, value, active, updated_at)
          SELECT x.p, x.t, x.v, false, p_now FROM unnest(p_hash_public_ids, p_types, p_values) AS x(p, t, v) ORDER BY x.t, x.v
          ON CONFLICT (type, value) DO UPDATE SET value = EXCLUDED.value
          RETURNING id, type, value
        )
        SELECT array_agg(h.id ORDER BY x.n) INTO hids
        FROM unnest(p_types, p_values) WITH ORDINALITY AS x(t, v, n) JOIN h ON h.type = x.t AND h.value = x.v;
        INSERT INTO case_hashes (case_id, hash_id, position, active, updated_at, entry_id, added_at)
        SELECT cid, x.h, (x.n - 1)::integer, true, p_now, x.e, p_now FROM unnest(hids, p_entry_ids) WITH ORDINALITY AS x(h, e, n);
        INSERT INTO feed_pending (hash_id, case_id, since)
        SELECT x.h, cid, p_now FROM unnest(hids) WITH ORDINALITY AS x(h, n)
        WHERE NOT EXISTS (SELECT 1 FROM case_hashes ch WHERE ch.hash_id = x.h AND ch.active AND ch.case_id <> cid)
        ORDER BY x.n
        ON CONFLICT (hash_id) DO NOTHING;
        IF p_key IS NOT NULL THEN
          IF p_status < 300 THEN
            UPDATE idempotency SET status = p_status, sealed = p_sealed WHERE key_digest = p_key;
          ELSE
            DELETE FROM idempotency WHERE key_digest = p_key;
          END IF;
        END IF;
        RETURN QUERY SELECT cid, NULL::text, NULL::integer, NULL::bytea, NULL::bigint;
      END;
      $fn$;
    `,
  },
];
