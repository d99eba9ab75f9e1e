/**
 * `hashsafe serve`: run the reference server of API v1 on an embedded SQLite
 * database, until SIGINT or SIGTERM. `hashsafe serve keys create|list|revoke`
 * manages the platforms' API keys in the same database.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { Option } from "commander";
import type { Scope } from "../../protocol/index.ts";
import {
  type ApiKeyInfo,
  type BucketLimit,
  createApiKey,
  type DailyQuota,
  DEFAULT_BATCH,
  DEFAULT_QUOTAS,
  DEFAULT_STORAGE,
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_RATE_LIMITS,
  defaultDbPath,
  LOG_LEVELS,
  type LogLevel,
  parseScopes,
  SqliteStore,
  startServer,
  type Store,
} from "../../server/index.ts";
import { describeUrl, isPostgresUrl, PostgresStore } from "../../server/pg-store.ts";
import { invalidOption, UsageError } from "../output.ts";
import { tr } from "../lang.ts";
import { parseCorsOrigins } from "../../server/middleware/cors.ts";

interface ServeOptions {
  host: string;
  port: number;
  db?: string;
  tlsCert?: string;
  tlsKey?: string;
  logLevel: LogLevel;
  trustProxy?: boolean;
  rateAddress?: BucketLimit;
  rateCase?: BucketLimit;
  rateLimit: boolean;
  init?: boolean;
  keyFile?: string;
  feedBatch?: number;
  feedMinCases?: number;
  feedMaxDelay?: number;
  feedWithdrawMaxDelay?: number;
  indexThread?: boolean;
  sqliteSync?: "thread" | "inline";
  quotaAddress?: DailyQuota;
  quotaIntake?: DailyQuota;
  maxHashesPerCase?: number;
  quotas: boolean;
  minFreeDisk?: number;
  corsOrigin?: string[];
  web: boolean;
  webConfig?: string;
  format?: "text" | "json";
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw invalidOption("--port", tr("cli.usage.expect.range", { min: 0, max: 65535 }), v);
  return n;
}

/** `20` or `20:120`: requests per second, and optionally the burst (default 6x the rate). */
function parseRate(name: string) {
  return (v: string): BucketLimit => {
    const m = /^(\d+(?:\.\d+)?)(?::(\d+))?$/.exec(v);
    const perSecond = m ? Number(m[1]) : NaN;
    const burst = m?.[2] ? Number(m[2]) : Math.max(1, Math.ceil(perSecond * 6));
    if (!m || !(perSecond > 0) || !(burst >= 1)) {
      throw invalidOption(name, tr("cli.usage.expect.rate"), v);
    }
    return { perSecond, burst };
  };
}

/** A whole number >= min. */
function parseCount(name: string, min = 0) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw invalidOption(name, tr("cli.usage.expect.atLeast", { min }), v);
    return n;
  };
}

/** `CASES:HASHES` per day. */
function parseQuota(name: string) {
  return (v: string): DailyQuota => {
    const m = /^(\d+):(\d+)$/.exec(v);
    if (!m) throw invalidOption(name, tr("cli.usage.expect.quota"), v);
    return { casesPerDay: Number(m[1]), hashesPerDay: Number(m[2]) };
  };
}

/** The store `--db` names: a SQLite file, or a `postgres://` URL. */
async function openStore(db: string | undefined): Promise<Store> {
  return isPostgresUrl(db) ? PostgresStore.open(db) : SqliteStore.open(db ?? defaultDbPath());
}

function formatOf(cmd: Command): "text" | "json" {
  const f = cmd.optsWithGlobals().format ?? "text";
  if (f !== "text" && f !== "json") throw new UsageError(tr("cli.usage.unknownChoice", { value: f, choices: "text, json" }));
  return f;
}

function keyJson(k: ApiKeyInfo): Record<string, unknown> {
  return {
    id: k.id,
    name: k.name,
    scopes: k.scopes,
    createdAt: new Date(k.createdAt).toISOString(),
    revokedAt: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
  };
}

async function serve(o: ServeOptions): Promise<void> {
  if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) throw new UsageError(tr("cli.serve.tlsPair"));
  let tls: { cert: Buffer; key: Buffer } | undefined;
  if (o.tlsCert && o.tlsKey) {
    try {
      tls = { cert: readFileSync(o.tlsCert), key: readFileSync(o.tlsKey) };
    } catch (err) {
      throw new UsageError(tr("cli.serve.tlsRead", { error: err instanceof Error ? err.message : String(err) }));
    }
  }
  const db = o.db ?? defaultDbPath();
  // Listen for the stop signals before anything starts: a signal sent the moment the URL is
  // printed (or while the database opens) must still close the server and exit 0, not kill it.
  let signalled: NodeJS.Signals | undefined;
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  const stop = (signal: NodeJS.Signals) => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    signalled = signal;
    onSignal?.(signal);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      host: o.host,
      port: o.port,
      db,
      tls,
      logLevel: o.logLevel,
      trustProxy: o.trustProxy,
      indexThread: o.indexThread === true,
      corsOrigins: corsOriginsOf(o.corsOrigin),
      web: o.web ? { configFile: o.webConfig } : false,
      rateLimit: o.rateLimit
        ? { address: o.rateAddress ?? DEFAULT_RATE_LIMITS.address, case: o.rateCase ?? DEFAULT_RATE_LIMITS.case }
        : false,
      sqlite: { init: o.init === true, walSync: o.sqliteSync ?? "thread" },
      ...(o.keyFile ? { keyFile: o.keyFile } : {}),
      feedBatch:
        o.feedBatch === 0
          ? "immediate"
          : {
              intervalMs: (o.feedBatch ?? DEFAULT_BATCH.intervalMs / 1000) * 1000,
              minCases: o.feedMinCases ?? DEFAULT_BATCH.minCases,
              maxDelayMs: (o.feedMaxDelay ?? DEFAULT_BATCH.maxDelayMs / 1000) * 1000,
              withdrawMaxDelayMs: (o.feedWithdrawMaxDelay ?? DEFAULT_BATCH.withdrawMaxDelayMs / 1000) * 1000,
            },
      quotas: o.quotas
        ? {
            address: o.quotaAddress ?? DEFAULT_QUOTAS.address,
            intake: o.quotaIntake ?? DEFAULT_QUOTAS.intake,
            hashesPerCase: o.maxHashesPerCase ?? DEFAULT_QUOTAS.hashesPerCase,
          }
        : false,
      storage: { minFreeBytes: (o.minFreeDisk ?? DEFAULT_STORAGE.minFreeBytes / 2 ** 20) * 2 ** 20 },
    });
  } catch (err) {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    throw err;
  }
  const dbShown = isPostgresUrl(db) ? describeUrl(db) : db; // never a password in the output
  if (o.format === "json") {
    process.stdout.write(`${JSON.stringify({ url: server.url, db: dbShown })}\n`);
  } else {
    process.stdout.write(tr("cli.serve.listening", { url: server.url, db: dbShown }) + "\n");
    if (!tls && !isLoopback(o.host)) {
      process.stderr.write(
        tr("cli.serve.plainHttp"),
      );
    }
  }
  await new Promise<void>((resolve) => {
    onSignal = (signal) => {
      server.server.logger.info("stopping", { signal });
      server.close().then(resolve, resolve);
    };
    if (signalled) onSignal(signalled);
  });
}

function corsOriginsOf(values: string[] | undefined): string[] {
  try {
    return parseCorsOrigins(values ?? []);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

export function registerServe(program: Command): void {
  const cmd = program
    .command("serve")
    .description(tr("cli.serve.help.description"))
    .option("--host <address>", tr("cli.serve.help.host"), DEFAULT_HOST)
    .option("--port <port>", tr("cli.serve.help.port"), parsePort, DEFAULT_PORT)
    .option(
      "--db <path|url>",
      tr("cli.serve.help.db"),
    )
    .option("--tls-cert <file>", tr("cli.serve.help.tlsCert"))
    .option("--tls-key <file>", tr("cli.serve.help.tlsKey"))
    .addOption(new Option("--log-level <level>", tr("cli.serve.help.logLevel")).choices(LOG_LEVELS).default("info"))
    .option("--trust-proxy", tr("cli.serve.help.trustProxy"))
    .option("--rate-address <rate[:burst]>", tr("cli.serve.help.rateAddress"), parseRate("--rate-address"))
    .option("--rate-case <rate[:burst]>", tr("cli.serve.help.rateCase"), parseRate("--rate-case"))
    .option("--no-rate-limit", tr("cli.serve.help.noRateLimit"))
    .option("--init", tr("cli.serve.help.init"))
    .option("--key-file <file>", tr("cli.serve.help.keyFile"))
    .option("--feed-batch <seconds>", tr("cli.serve.help.feedBatch"), parseCount("--feed-batch"))
    .option("--feed-min-cases <n>", tr("cli.serve.help.feedMinCases"), parseCount("--feed-min-cases", 1))
    .option("--feed-max-delay <seconds>", tr("cli.serve.help.feedMaxDelay"), parseCount("--feed-max-delay"))
    .option("--feed-withdraw-max-delay <seconds>", tr("cli.serve.help.feedWithdrawMaxDelay"), parseCount("--feed-withdraw-max-delay"))
    .option("--index-thread", tr("cli.serve.help.indexThread"))
    .addOption(new Option("--sqlite-sync <mode>", tr("cli.serve.help.sqliteSync")).choices(["thread", "inline"]).default("thread"))
    .option("--quota-address <cases:hashes>", tr("cli.serve.help.quotaAddress", { default: DEFAULT_QUOTAS.address ? `${DEFAULT_QUOTAS.address.casesPerDay}:${DEFAULT_QUOTAS.address.hashesPerDay}` : tr("cli.serve.none") }), parseQuota("--quota-address"))
    .option("--quota-intake <cases:hashes>", tr("cli.serve.help.quotaIntake", { default: DEFAULT_QUOTAS.intake ? `${DEFAULT_QUOTAS.intake.casesPerDay}:${DEFAULT_QUOTAS.intake.hashesPerDay}` : tr("cli.serve.none") }), parseQuota("--quota-intake"))
    .option("--max-hashes-per-case <n>", tr("cli.serve.help.maxHashes", { default: DEFAULT_QUOTAS.hashesPerCase === false ? tr("cli.serve.none") : DEFAULT_QUOTAS.hashesPerCase }), parseCount("--max-hashes-per-case", 1))
    .option("--no-quotas", tr("cli.serve.help.noQuotas"))
    .option("--min-free-disk <MiB>", tr("cli.serve.help.minFreeDisk", { default: DEFAULT_STORAGE.minFreeBytes / 2 ** 20 }), parseCount("--min-free-disk"))
    .option("--cors-origin <origin...>", tr("cli.serve.help.corsOrigin"))
    .option("--web-config <file>", tr("cli.serve.help.webConfig"))
    .option("--no-web", tr("cli.serve.help.noWeb"))
    .addOption(new Option("--format <format>", tr("cli.serve.help.format")).choices(["text", "json"]))
    .action(async (o: ServeOptions) => serve(o));

  const keys = cmd.command("keys").description(tr("cli.serve.help.keys"));

  keys
    .command("create")
    .description(tr("cli.serve.help.keysCreate"))
    .requiredOption("--name <name>", tr("cli.serve.help.keyName"))
    .requiredOption("--scopes <list>", tr("cli.serve.help.keyScopes"))
    .option("--db <path|url>", tr("cli.serve.help.keysDb"))
    .addOption(new Option("--format <format>", tr("cli.serve.help.outputFormat")).choices(["text", "json"]))
    .action(async (_o: unknown, c: Command) => {
      const o = c.optsWithGlobals() as { name: string; scopes: string; db?: string };
      let scopes: Scope[];
      try {
        scopes = parseScopes(o.scopes);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const store = await openStore(o.db);
      try {
        const { key, info } = await createApiKey(store, o.name, scopes).catch((err: Error) => {
          throw new UsageError(err.message);
        });
        if (formatOf(c) === "json") {
          process.stdout.write(`${JSON.stringify({ ...keyJson(info), key })}\n`);
        } else {
          process.stdout.write(
            tr("cli.serve.keyCreated", { id: String(info.id), name: info.name, scopes: info.scopes.join(", "), key, prefix: key.slice(0, 8) }) + "\n",
          );
        }
      } finally {
        await store.close();
      }
    });

  keys
    .command("list")
    .description(tr("cli.serve.help.keysList"))
    .option("--db <path|url>", tr("cli.serve.help.keysDb"))
    .addOption(new Option("--format <format>", tr("cli.serve.help.outputFormat")).choices(["text", "json"]))
    .action(async (_o: unknown, c: Command) => {
      const store = await openStore(c.optsWithGlobals().db);
      try {
        const list = await store.listApiKeys();
        if (formatOf(c) === "json") {
          process.stdout.write(`${JSON.stringify(list.map(keyJson))}\n`);
          return;
        }
        if (list.length === 0) {
          process.stdout.write(tr("cli.serve.noKeys"));
          return;
        }
        const rows = [["ID", "NAME", "SCOPES", "CREATED", "STATUS"]];
        for (const k of list) {
          rows.push([
            String(k.id),
            k.name,
            k.scopes.join(","),
            new Date(k.createdAt).toISOString(),
            k.revokedAt === null ? tr("cli.serve.keyActive") : tr("cli.serve.keyRevokedAt", { date: new Date(k.revokedAt).toISOString() }),
          ]);
        }
        const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
        for (const r of rows) process.stdout.write(`${r.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd()}\n`);
      } finally {
        await store.close();
      }
    });

  keys
    .command("revoke")
    .description(tr("cli.serve.help.keysRevoke"))
    .argument("<key>", tr("cli.serve.help.keyArg"))
    .option("--db <path|url>", tr("cli.serve.help.keysDb"))
    .addOption(new Option("--format <format>", tr("cli.serve.help.outputFormat")).choices(["text", "json"]))
    .action(async (idOrName: string, _o: unknown, c: Command) => {
      const store = await openStore(c.optsWithGlobals().db);
      try {
        const k = await store.revokeApiKey(idOrName, Date.now());
        if (!k) throw new UsageError(tr("cli.serve.noSuchKey", { key: idOrName }));
        if (formatOf(c) === "json") process.stdout.write(`${JSON.stringify(keyJson(k))}\n`);
        else process.stdout.write(tr("cli.serve.keyRevoked", { id: String(k.id), name: k.name }) + "\n");
      } finally {
        await store.close();
      }
    });
}
