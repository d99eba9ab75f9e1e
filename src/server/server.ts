/**
 * Serving the app: `startServer` opens the store, listens (HTTP, or HTTPS with
 * a certificate), loads the match index and answers `{url, close()}`. Tests
 * and the `serve` command start it in-process.
 */
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { serve } from "@hono/node-server";
import { createServer, type HashsafeServer, type ServerOptions } from "./app.ts";
import { ThreadPdqIndex } from "./pdq-thread.ts";
import { dataDir, defaultDbPath } from "./data-dir.ts";
import { keyPathFor, serverKeysFor } from "./server-key.ts";
import { type FeedFollower, isPostgresUrl, PostgresStore, type PostgresStoreOptions } from "./pg-store.ts";
import { SqliteStore, type SqliteStoreOptions } from "./sqlite-store.ts";
import { StorageError, type Store } from "./store.ts";

/** Options of {@link startServer}: where to listen and which database, plus everything of {@link ServerOptions}. */
export interface StartOptions extends Omit<ServerOptions, "store"> {
  /** address to listen on; 127.0.0.1 by default (loopback only) */
  host?: string;
  /** port; 8787 by default, 0 for any free port */
  port?: number;
  /**
   * SQLite file (`:memory:` for a throwaway one), or a `postgres://` URL for
   * the PostgreSQL store (several processes on one database); the user's data
   * directory by default
   */
  db?: string;
  /** a store to use instead of opening `db` (it is not closed by `close()`) */
  store?: Store;
  /**
   * the server key file (server-key.ts): `<db>.key` beside a SQLite file by
   * default; for another store, `<data dir>/server.key`; null: a throwaway key
   */
  keyFile?: string | null;
  /** how to open `db` (e.g. `init` to accept a 0-byte or foreign file) */
  sqlite?: SqliteStoreOptions;
  /** how to open a `postgres://` `db`, and how often the match index polls the others' feed batches (ms, default 1000) */
  postgres?: PostgresStoreOptions & { followPollMs?: number };
  /** serve HTTPS with this certificate and key (PEM) */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** resolve only once the match index is loaded (default true) */
  waitUntilReady?: boolean;
  /**
   * search PDQ hashes in a worker thread (pdq-thread.ts; the built package
   * only): HTTP and the index on two cores. Ignored when `pdqIndex` is given.
   */
  indexThread?: boolean;
}

/** A running server. */
export interface RunningServer {
  /** base URL, e.g. `http://127.0.0.1:8787` (API paths start with /v1) */
  url: string;
  host: string;
  port: number;
  store: Store;
  server: HashsafeServer;
  /** settles when the match index is loaded */
  ready: Promise<void>;
  /** Stop listening, finish what is running, close the store (if opened here). */
  close(): Promise<void>;
}

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 8787;

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const host = options.host ?? DEFAULT_HOST;
  const ownsStore = !options.store;
  const pgUrl = options.store ? null : isPostgresUrl(options.db) ? options.db : null;
  const dbPath = options.store || pgUrl ? null : (options.db ?? defaultDbPath());
  const store =
    options.store ?? (pgUrl ? await PostgresStore.open(pgUrl, { init: options.sqlite?.init, ...options.postgres }) : SqliteStore.open(dbPath!, options.sqlite));
  let app: HashsafeServer;
  try {
    const fileDb = dbPath !== null && dbPath !== ":memory:" && dbPath !== "";
    const sqlitePath = dbPath ?? (store instanceof SqliteStore ? store.path : null);
    const keyFile =
      options.keyFile !== undefined
        ? options.keyFile
        : sqlitePath === ":memory:" || sqlitePath === ""
          ? null
          : sqlitePath !== null
            ? keyPathFor(sqlitePath)
            : join(dataDir(), "server.key");
    const serverKeys = options.serverKeys ?? (await serverKeysFor(store, keyFile));
    app = createServer({
      ...options,
      pdqIndex: options.pdqIndex ?? (options.indexThread ? new ThreadPdqIndex() : undefined),
      store,
      serverKeys,
      storage: { dir: fileDb ? dirname(resolve(dbPath)) : null, ...options.storage },
    });
  } catch (err) {
    if (ownsStore) await store.close();
    throw err;
  }
  const node = options.tls
    ? serve({
        fetch: app.app.fetch,
        port: options.port ?? DEFAULT_PORT,
        hostname: host,
        createServer: createHttpsServer,
        serverOptions: { cert: options.tls.cert, key: options.tls.key },
      })
    : serve({ fetch: app.app.fetch, port: options.port ?? DEFAULT_PORT, hostname: host });
  try {
    await new Promise<void>((resolve, reject) => {
      if (node.listening) return resolve();
      node.once("listening", resolve);
      node.once("error", reject);
    });
  } catch (err) {
    app.stop();
    if (ownsStore) await store.close();
    throw err;
  }
  // Slow or stalled clients cannot hold connections open for long.
  if ("requestTimeout" in node) {
    node.requestTimeout = 30_000;
    node.headersTimeout = 20_000;
    // Keep idle connections open well past the clients' own keep-alive (undici: 4 s, from the
    // server's Keep-Alive hint less 1 s), so the server never closes a socket at the moment a
    // client reuses it (a read ECONNRESET on an ordinary request under load). Below headersTimeout.
    node.keepAliveTimeout = 15_000;
  }
  const port = (node.address() as AddressInfo).port;
  const url = `${options.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`;

  // several processes on one PostgreSQL: the match index also follows the batches the others publish
  let follower: FeedFollower | null = null;
  const ready = (async () => {
    const pgStore = store instanceof PostgresStore ? store : null;
    const fromSeq = pgStore ? await pgStore.lastFeedSeq() : 0;
    await app.load();
    if (pgStore) {
      follower = await pgStore.follow(fromSeq, (changes) => app.index.apply(changes), {
        pollMs: options.postgres?.followPollMs,
        onError: (err) => (err instanceof StorageError ? app.storage.report(err) : app.logger.error("following the feed failed", { error: String(err) })),
      });
    }
  })();
  ready.catch((err) => app.logger.error("loading the match index failed", { error: String(err) }));
  const purge = setInterval(() => {
    store.purgeIdempotency(Date.now()).catch(() => {});
  }, 60 * 60 * 1000);
  purge.unref();

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(purge);
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => ("closeAllConnections" in node ? node.closeAllConnections() : undefined), 5000);
        force.unref();
        node.close(() => {
          clearTimeout(force);
          resolve();
        });
        if ("closeIdleConnections" in node) node.closeIdleConnections();
      });
      await ready.catch(() => {});
      await follower?.stop();
      app.stop();
      if (ownsStore) await store.close();
    })());

  if (options.waitUntilReady !== false) {
    try {
      await ready;
    } catch (err) {
      await close();
      throw err;
    }
  }
  return { url, host, port, store, server: app, ready, close };
}
