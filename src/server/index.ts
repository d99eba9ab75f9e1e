/**
 * The reference server of hash-sharing API v1: a Hono app over a `Store`
 * (SQLite by default), with the matching index for lookups.
 */
export { ApiError, createServer, DEFAULT_RATE_LIMITS, type HashsafeServer, type ServerOptions, type TestHooks } from "./app.ts";
export { DEFAULT_HOST, DEFAULT_PORT, type RunningServer, startServer, type StartOptions } from "./server.ts";
export { SqliteStore, SchemaTooNewError, migrate, type SqliteStoreOptions } from "./sqlite-store.ts";
export { MIGRATIONS, type Migration } from "./migrations.ts";
export type * from "./store.ts";
export { createApiKey, parseScopes, KEY_NAME_PATTERN } from "./keys.ts";
export { dataDir, defaultDbPath } from "./data-dir.ts";
export { createLogger, LOG_LEVELS, type Logger, type LogLevel } from "./logger.ts";
export { MatchIndex, type PdqIndex } from "./match-index.ts";
export type { BucketLimit } from "./rate-limit.ts";
export { DEFAULT_SCRYPT, type ScryptParams } from "./secrets.ts";
