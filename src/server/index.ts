/**
 * The reference server of hash-sharing API v1: a Hono app over a `Store`
 * (SQLite by default, PostgreSQL for several processes), with the matching index for lookups.
 */
export { ApiError, createServer, DEFAULT_RATE_LIMITS, type HashsafeServer, type ServerOptions } from "./app.ts";
export { DEFAULT_HOST, DEFAULT_PORT, type RunningServer, startServer, type StartOptions } from "./server.ts";
export {
  SqliteStore,
  SchemaTooNewError,
  ForeignDatabaseError,
  CorruptDatabaseError,
  DatabaseLockedError,
  migrate,
  type SqliteStoreOptions,
} from "./sqlite-store.ts";
export { APPLICATION_ID, MIGRATIONS, type Migration } from "./migrations.ts";
export {
  PostgresStore,
  ForeignPostgresError,
  FEED_CHANNEL,
  isPostgresUrl,
  type FeedFollower,
  type PostgresStoreOptions,
} from "./pg-store.ts";
export { PG_MIGRATIONS } from "./pg-migrations.ts";
export type * from "./store.ts";
export { LimitError, StorageError } from "./store.ts";
export { deriveKeys, keyPathFor, loadOrCreateKeyFile, serverKeysFor, ServerKeyError, type ServerKeys } from "./server-key.ts";
export { DEFAULT_BATCH, FeedPublisher, type BatchPolicy } from "./feed-publisher.ts";
export { DEFAULT_QUOTAS, type DailyQuota, type QuotaOptions } from "./middleware/quota.ts";
export { DEFAULT_STORAGE, StorageHealth, type StorageOptions } from "./middleware/storage.ts";
export { DEFAULT_FAILURE_POLICY, type FailurePolicy } from "./middleware/auth.ts";
export { createApiKey, parseScopes, KEY_NAME_PATTERN } from "./keys.ts";
export { dataDir, defaultDbPath } from "./data-dir.ts";
export { createLogger, LOG_LEVELS, type Logger, type LogLevel } from "./logger.ts";
export { MatchIndex, type PdqIndex } from "./match-index.ts";
export { ThreadPdqIndex } from "./pdq-thread.ts";
export type { BucketLimit } from "./rate-limit.ts";
export { canonicalSecret, DEFAULT_SCRYPT, hashSecret, newCaseSecret, type ScryptParams } from "./secrets.ts";
