#!/usr/bin/env node
// Benchmark of the reference server (issue 12, acceptance point 5), in one run:
//
//   1. case creations per second (POST /v1/cases over HTTP, a fresh
//      Idempotency-Key and 1-3 random PDQ hashes each) against a bare durable
//      INSERT into the same store in the same run, and against creations that
//      also pay the old scrypt secret hashing ("before the secret change");
//   2. single-query lookups per second (POST /v1/lookup, platform key), p50 and
//      p99 latency and server memory, at 100k and 1M active hashes, on SQLite
//      (one process) and on PostgreSQL with one and with three `serve`
//      processes (the load spread round-robin over the three).
//
//   npm run build && npm run bench:server                 # the full set, writes docs/measurements/<date>-server.md
//   npm run bench:server -- --quick                       # 100k only, short runs, writes nothing
//   options: --duration <s> --connections <n> --sizes 100000,1000000 --processes 3 --no-pg --no-sqlite --out <file> --no-write --note <text>
//
// Everything runs through the built package (dist/) and the real CLI
// (`node bin/hashsafe.js serve` as child processes); the database is seeded
// with SQL that follows the stores' schemas (src/server/migrations.ts,
// pg-migrations.ts), published (active, with a feed sequence number), so each
// server loads the hashes into its match index at start (timed to
// /v1/health/ready). PostgreSQL is a throwaway cluster (bench/pg-cluster.mjs)
// with fsync on. Temporary folders, the cluster and the child processes are
// removed on every exit, including errors and Ctrl-C.
import { spawn } from "node:child_process";
import { randomBytes, randomUUID, scrypt as scryptCb } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import Database from "better-sqlite3";
import pg from "pg";
import { pgBinDir, startPgCluster } from "./pg-cluster.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
if (!existsSync(path.join(root, "dist", "server", "index.js"))) {
  console.error("bench/server.mjs: dist/ is missing; run `npm run build` first");
  process.exit(1);
}
const { SqliteStore, PostgresStore, MatchIndex, createApiKey, DEFAULT_SCRYPT } = await import("../dist/server/index.js");

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    duration: { type: "string" },
    connections: { type: "string", default: "12" },
    sizes: { type: "string" },
    processes: { type: "string", default: "3" },
    "no-pg": { type: "boolean", default: false },
    "no-sqlite": { type: "boolean", default: false },
    out: { type: "string" },
    "no-write": { type: "boolean", default: false },
    note: { type: "string" },
  },
});
const QUICK = args.quick;
const DURATION = Number(args.duration ?? (QUICK ? 3 : 8));
const CONNECTIONS = Number(args.connections);
const SIZES = (args.sizes ?? (QUICK ? "100000" : "100000,1000000")).split(",").map(Number).sort((a, b) => a - b);
const PROCESSES = Number(args.processes);
const WITH_PG = !args["no-pg"];
const WITH_SQLITE = !args["no-sqlite"];
if (!(DURATION > 0) || !(CONNECTIONS > 0) || SIZES.some((n) => !(n > 0)) || !(PROCESSES >= 1)) {
  console.error("bench/server.mjs: --duration, --connections, --sizes and --processes must be positive numbers");
  process.exit(2);
}
const today = new Date().toISOString().slice(0, 10);
const OUT = args["no-write"] ? null : (args.out ?? (QUICK ? null : path.join(root, "docs", "measurements", `${today}-server.md`)));
const SCRYPT = DEFAULT_SCRYPT; // the legacy verifier's parameters (src/server/secrets.ts)

// ---- cleanup: every child, folder and cluster, whatever way the run ends ----

const children = new Set();
const dirs = [];
let cluster = null;
function cleanupSync() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  children.clear();
  if (cluster) {
    cluster.stop();
    cluster = null;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
process.on("exit", cleanupSync);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    process.stderr.write(`\nbench/server.mjs: ${sig}, cleaning up\n`);
    cleanupSync();
    process.exit(130);
  });
}

const yieldNow = () => new Promise((r) => setImmediate(r));
const loads = [];
const log = (s) => {
  loads.push(os.loadavg()[0]);
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
};
const tmp = mkdtempSync(path.join(os.tmpdir(), "hashsafe-bench-"));
dirs.push(tmp);

// ---- hashes ----

// random bytes drawn in blocks: one randomBytes call per hash is slow at a million
let pool = Buffer.alloc(0);
let poolAt = 0;
function rand(n) {
  if (poolAt + n > pool.length) {
    pool = randomBytes(1 << 20);
    poolAt = 0;
  }
  poolAt += n;
  return pool.subarray(poolAt - n, poolAt);
}
const randomPdq = () => rand(32).toString("hex");
function flip(hex, bits) {
  const b = Buffer.from(hex, "hex");
  for (let i = 0; i < bits; i++) {
    const bit = Math.floor(Math.random() * 256);
    b[bit >> 3] ^= 1 << (bit & 7);
  }
  return b.toString("hex");
}
const newId = (p) => `${p}_${rand(12).toString("base64url")}`;
const SECRET_STORED = () => `hmac1$${rand(32).toString("base64url")}`;

// ---- processes ----

function procStat(pid) {
  try {
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { rssMiB: rss ? Number(rss[1]) / 1024 : NaN, cpuS: (Number(f[11]) + Number(f[12])) / 100 };
  } catch {
    return { rssMiB: NaN, cpuS: NaN };
  }
}

/** Start `hashsafe serve` on a free port; answers when /v1/health/ready says 200 (the match index is loaded). */
async function startServe(db, extra = []) {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [path.join(root, "bin", "hashsafe.js"), "serve", "--port", "0", "--db", db, "--no-rate-limit", "--no-quotas", "--no-web", "--log-level", "warn", "--format", "json", ...extra],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.add(child);
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  child.exited = exited;
  const fail = (what) => new Error(`hashsafe serve ${what}; its stderr:\n${stderr}`);
  const line = await Promise.race([
    new Promise((resolve) => createInterface({ input: child.stdout }).once("line", resolve)),
    exited.then((e) => Promise.reject(fail(`exited (${e.code ?? e.signal}) before listening`))),
  ]);
  const url = JSON.parse(line).url;
  for (;;) {
    if (child.exitCode !== null) throw fail(`exited (${child.exitCode}) while loading`);
    const ok = await fetch(`${url}/v1/health/ready`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (performance.now() - started > 600_000) throw fail("was not ready after 600 s");
    await new Promise((r) => setTimeout(r, 50));
  }
  const readyMs = performance.now() - started;
  return { child, url, pid: child.pid, readyMs, idle: procStat(child.pid) };
}

async function stopServe(s) {
  if (s.child.exitCode === null && s.child.signalCode === null) {
    s.child.kill("SIGTERM");
    const t = setTimeout(() => s.child.kill("SIGKILL"), 15_000);
    await s.child.exited;
    clearTimeout(t);
  }
  children.delete(s.child);
}

// ---- load ----

function cannon(title, opts) {
  return new Promise((resolve, reject) => {
    log(`${title} (${DURATION} s, ${opts.connections ?? CONNECTIONS} connections)`);
    const instance = autocannon({ connections: CONNECTIONS, duration: DURATION, ...opts }, (err, res) => (err ? reject(err) : resolve(res)));
    autocannon.track(instance, { renderProgressBar: false, renderResultsTable: false, renderLatencyTable: false });
  });
}

/** Bytes a process has had written to storage so far (/proc/<pid>/io write_bytes). */
function procIo(pid) {
  try {
    return Number(/write_bytes:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, "utf8"))[1]);
  } catch {
    return NaN;
  }
}

/** PostgreSQL statement counts (pg_stat_statements, when the cluster has it) of the bench database. */
let pgMonitor = null;
async function pgStatsReset() {
  if (pgMonitor) await pgMonitor.query("SELECT bench_monitor.pg_stat_statements_reset()");
}
async function pgStatsRead() {
  if (!pgMonitor) return null;
  const rows = (
    await pgMonitor.query(
      `SELECT calls::bigint AS calls, query FROM bench_monitor.pg_stat_statements
       WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT ILIKE '%pg_stat_statements%'
       ORDER BY calls DESC`,
    )
  ).rows.map((r) => ({ calls: Number(r.calls), query: r.query.replace(/\s+/g, " ") }));
  return { calls: rows.reduce((a, r) => a + r.calls, 0), rows };
}

/** Run `fn` (a load run) and measure the servers' (and PostgreSQL's) CPU, memory and statements. */
async function measured(servers, fn) {
  const before = servers.map((s) => procStat(s.pid).cpuS);
  const ioBefore = servers.map((s) => procIo(s.pid));
  const pgBefore = cluster ? cluster.cpuS() : NaN;
  await pgStatsReset();
  const benchBefore = process.cpuUsage();
  const t0 = performance.now();
  const res = await fn();
  const wall = (performance.now() - t0) / 1000;
  const after = servers.map((s) => procStat(s.pid));
  const bench = process.cpuUsage(benchBefore);
  const pgCpu = cluster ? (cluster.cpuS() - pgBefore) / wall : NaN;
  const io = servers.map((s, i) => procIo(s.pid) - ioBefore[i]).reduce((a, b) => a + b, 0);
  const stats = await pgStatsRead();
  return {
    res,
    wall,
    rss: after.map((a) => a.rssMiB),
    serverCpu: after.reduce((sum, a, i) => sum + (a.cpuS - before[i]), 0) / wall,
    benchCpu: (bench.user + bench.system) / 1e6 / wall,
    pgCpu,
    stats,
    writeBytes: io,
  };
}

/** 500 prebuilt single-query lookups: a seeded hash with 8 bits flipped, so each one matches (maxDistance 31). */
function lookupRequests(sample, key) {
  return Array.from({ length: 500 }, () => ({
    method: "POST",
    path: "/v1/lookup",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}`, "idempotency-key": randomUUID() },
    body: JSON.stringify({ queries: [{ type: "pdq", value: flip(sample[Math.floor(Math.random() * sample.length)], 8) }], maxDistance: 31 }),
  }));
}

const caseBody = () =>
  JSON.stringify({
    hashes: Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => ({ type: "pdq", value: randomPdq() })),
    client: { name: "bench", version: "0" },
  });

const createRequests = () => [
  {
    method: "POST",
    path: "/v1/cases",
    setupRequest: (req) => ({
      ...req,
      headers: { "content-type": "application/json", "idempotency-key": randomUUID() },
      body: caseBody(),
    }),
  },
];

function lookupRow(store, size, procs, m, ready) {
  return {
    store,
    size,
    procs,
    rps: m.res.requests.average,
    p50: m.res.latency.p50,
    p99: m.res.latency.p99,
    ok: m.res["2xx"],
    bad: m.res.non2xx + m.res.errors + m.res.timeouts,
    rss: m.rss,
    serverCpu: m.serverCpu,
    benchCpu: m.benchCpu,
    pgCpu: m.pgCpu,
    stmts: m.stats ? m.stats.calls / (m.res["2xx"] + m.res.non2xx) : NaN,
    ready,
  };
}

const scrypt = (salt) =>
  new Promise((resolve, reject) =>
    scryptCb(randomBytes(21).toString("base64url"), salt, 32, { ...SCRYPT, maxmem: 256 * SCRYPT.N * SCRYPT.r + 2 ** 20 }, (e, k) => (e ? reject(e) : resolve(k))),
  );

/**
 * Creations by `CONNECTIONS` concurrent loops of fetch (keep-alive), each
 * paying one scrypt of the old parameters first when `withScrypt` (on libuv's
 * thread pool, as the old server did, but in this process). Without `url`:
 * scrypt alone.
 */
async function creationLoop(url, withScrypt, seconds) {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let bad = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        if (withScrypt) await scrypt(randomBytes(16));
        if (url) {
          const r = await fetch(`${url}/v1/cases`, {
            method: "POST",
            headers: { "content-type": "application/json", "idempotency-key": randomUUID() },
            body: caseBody(),
          });
          await r.arrayBuffer();
          if (r.status === 201) done++;
          else bad++;
        } else done++;
      }
    }),
  );
  return { rate: done / ((performance.now() - t0) / 1000), done, bad };
}

// ---- SQLite ----

/** Add `count` published, active hashes (cases of 500) to the SQLite file; answers up to 1000 of their values. */
async function seedSqlite(file, count) {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("cache_size = -524288"); // 512 MiB while seeding: the random-valued unique indexes stay in memory
  const now = Date.now();
  const stamp = Math.floor(now / 60_000) * 60_000;
  const insCase = db.prepare("INSERT INTO cases (public_id, secret_hash, client_name, client_version, created_at) VALUES (?, ?, 'bench', '0', ?)");
  const insHash = db.prepare("INSERT INTO hashes (public_id, type, value, active, seq, updated_at) VALUES (?, 'pdq', ?, 1, ?, ?)");
  const insLink = db.prepare(
    "INSERT INTO case_hashes (case_id, hash_id, position, active, updated_at, entry_id, added_at) VALUES (?, ?, ?, 1, ?, ?, ?)",
  );
  const nextSeq = db.prepare("UPDATE counters SET value = value + ? WHERE name = 'feed_seq' RETURNING value");
  const sample = [];
  const every = Math.max(1, Math.floor(count / 1000));
  const batch = db.transaction((n) => {
    let seq = nextSeq.get(n).value - n;
    for (let done = 0; done < n; done += 500) {
      const caseRow = Number(insCase.run(newId("c"), SECRET_STORED(), now).lastInsertRowid);
      for (let i = 0; i < Math.min(500, n - done); i++) {
        const value = randomPdq();
        if ((done + i) % every === 0) sample.push(value);
        const hashRow = Number(insHash.run(newId("h"), value, ++seq, stamp).lastInsertRowid);
        insLink.run(caseRow, hashRow, i, now, newId("h"), now);
      }
    }
  });
  for (let done = 0; done < count; done += 50_000) {
    batch(Math.min(50_000, count - done));
    await yieldNow(); // let Ctrl-C in between batches
  }
  const active = db.prepare("SELECT count(*) AS n FROM hashes WHERE active = 1").get().n;
  // write the seeding's WAL back now, so no later run (the bare inserts, the server) pays for its checkpoint
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return { sample, active };
}

/** One durable INSERT per transaction into a table of its own in the same file, with the store's pragmas. */
async function bareSqlite(file, seconds) {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL"); // what `hashsafe serve` opens the store with (sqlite-store.ts default)
  db.exec(
    "CREATE TABLE bench_bare (id INTEGER PRIMARY KEY, public_id TEXT NOT NULL UNIQUE, secret_hash TEXT NOT NULL, client_name TEXT NOT NULL, client_version TEXT NOT NULL, created_at INTEGER NOT NULL, hashes TEXT NOT NULL)",
  );
  const ins = db.prepare("INSERT INTO bench_bare (public_id, secret_hash, client_name, client_version, created_at, hashes) VALUES (?, ?, 'bench', '0', ?, ?)");
  const end = performance.now() + seconds * 1000;
  const io0 = procIo(process.pid);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() < end) {
    ins.run(newId("c"), SECRET_STORED(), Date.now(), JSON.stringify(Array.from({ length: 1 + (n % 3) }, randomPdq)));
    if (++n % 64 === 0) await yieldNow(); // let Ctrl-C in
  }
  const rate = n / ((performance.now() - t0) / 1000);
  bareBytes.push((procIo(process.pid) - io0) / n);
  db.exec("DROP TABLE bench_bare");
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return rate;
}

// ---- PostgreSQL ----

/** Add `count` published, active hashes (cases of 500) with server-side SQL; answers up to 1000 of their values. */
async function seedPg(url, count) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const now = Date.now();
    const stamp = Math.floor(now / 60_000) * 60_000;
    const base = Number((await c.query("SELECT coalesce(max(id), 0) AS m FROM hashes")).rows[0].m);
    const caseBase = Number((await c.query("SELECT coalesce(max(id), 0) AS m FROM cases")).rows[0].m);
    const seqBase = Number((await c.query("SELECT value FROM counters WHERE name = 'feed_seq'")).rows[0].value);
    const step = 100_000;
    for (let done = 0; done < count; done += step) {
      const n = Math.min(step, count - done);
      const lo = base + done + 1;
      const hi = base + done + n;
      const cLo = caseBase + Math.floor(done / 500) + 1;
      const cHi = caseBase + Math.floor((done + n - 1) / 500) + 1;
      await c.query("BEGIN");
      await c.query(
        `INSERT INTO cases (id, public_id, secret_hash, client_name, client_version, created_at)
         SELECT g, 'c_bench' || g, 'hmac1$' || md5(random()::text), 'bench', '0', $3 FROM generate_series($1::bigint, $2::bigint) g`,
        [cLo, cHi, now],
      );
      // 64 hex digits = 256 random bits per value
      await c.query(
        `INSERT INTO hashes (id, public_id, type, value, active, seq, updated_at)
         SELECT g, 'h_bench' || g, 'pdq', md5(random()::text) || md5(random()::text), true, $3::bigint + g - $4::bigint, $5
         FROM generate_series($1::bigint, $2::bigint) g`,
        [lo, hi, seqBase, base, stamp],
      );
      await c.query(
        `INSERT INTO case_hashes (case_id, hash_id, position, active, updated_at, entry_id, added_at)
         SELECT $3::bigint + (g - $4::bigint - 1) / 500 + 1, g, ((g - $4::bigint - 1) % 500)::int, true, $5, 'e_bench' || g, $5
         FROM generate_series($1::bigint, $2::bigint) g`,
        [lo, hi, caseBase, base, now],
      );
      await c.query("COMMIT");
    }
    await c.query("UPDATE counters SET value = $1 WHERE name = 'feed_seq'", [seqBase + count]);
    await c.query("SELECT setval(pg_get_serial_sequence('hashes', 'id'), (SELECT max(id) FROM hashes))");
    await c.query("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))");
    await c.query("ANALYZE");
    const every = Math.max(1, Math.floor(count / 1000));
    const sample = (await c.query("SELECT value FROM hashes WHERE id > $1 AND (id - $1) % $2 = 0 LIMIT 1000", [base, every])).rows.map((r) => r.value);
    const active = Number((await c.query("SELECT count(*) AS n FROM hashes WHERE active")).rows[0].n);
    return { sample, active };
  } finally {
    await c.end();
  }
}

/** Plain INSERTs (one per transaction, synchronous_commit on) from CONNECTIONS concurrent clients, in a table of its own. */
async function barePg(url, seconds) {
  const pool = new pg.Pool({ connectionString: url, max: CONNECTIONS });
  try {
    await pool.query(
      "CREATE TABLE bench_bare (id bigserial PRIMARY KEY, public_id text NOT NULL UNIQUE, secret_hash text NOT NULL, client_name text NOT NULL, client_version text NOT NULL, created_at bigint NOT NULL, hashes text NOT NULL)",
    );
    const end = performance.now() + seconds * 1000;
    const pg0 = cluster.cpuS();
    const me0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (performance.now() < end) {
          await pool.query(
            "INSERT INTO bench_bare (public_id, secret_hash, client_name, client_version, created_at, hashes) VALUES ($1, $2, 'bench', '0', $3, $4)",
            [newId("c"), SECRET_STORED(), Date.now(), JSON.stringify(Array.from({ length: 1 + (n % 3) }, randomPdq))],
          );
          n++;
        }
      }),
    );
    const wall = (performance.now() - t0) / 1000;
    const rate = n / wall;
    const me = process.cpuUsage(me0);
    barePgCpu.push({ pgMs: ((cluster.cpuS() - pg0) * 1000) / n, clientMs: (me.user + me.system) / 1000 / n, cores: (cluster.cpuS() - pg0 + (me.user + me.system) / 1e6) / wall });
    await pool.query("DROP TABLE bench_bare");
    return rate;
  } finally {
    await pool.end();
  }
}

/**
 * The server's match index alone, in this process: `size` random PDQ hashes,
 * then single searches at distance 31 of a held hash with 8 bits flipped (as
 * the HTTP lookups do). What a lookup costs before HTTP, JSON and auth.
 */
async function indexAlone(size) {
  const index = new MatchIndex();
  const held = [];
  const tb = performance.now();
  const page = [];
  for (let i = 1; i <= size; i++) {
    const value = randomPdq();
    if (i % Math.max(1, Math.floor(size / 1000)) === 0) held.push(value);
    page.push({ rowId: i, id: `h_${i}`, type: "pdq", value, active: true });
    if (page.length === 10_000 || i === size) index.apply(page.splice(0));
  }
  await index.search("pdq", held[0], 31); // builds the search structures, as load() does
  const buildMs = performance.now() - tb;
  const queries = Array.from({ length: 2000 }, () => flip(held[Math.floor(Math.random() * held.length)], 8));
  const times = [];
  let matches = 0;
  const cpu0 = process.cpuUsage();
  const ts = performance.now();
  for (const q of queries) {
    const t = performance.now();
    matches += (await index.search("pdq", q, 31)).length;
    times.push(performance.now() - t);
  }
  const totalMs = performance.now() - ts;
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  return { size, buildMs, perSearchMs: totalMs / queries.length, cpuPerSearchMs: (cpu.user + cpu.system) / 1000 / queries.length, p50: times[times.length >> 1], p99: times[Math.floor(times.length * 0.99)], matches: matches / queries.length };
}

// ---- the run ----

const t0 = performance.now();
const load0 = os.loadavg();
const lookups = [];
const creations = [];
const seeds = [];
const alone = [];
const bareBytes = [];
/** CPU of each PostgreSQL bare-insert run: PostgreSQL's and the inserting client's (this process), ms per insert */
const barePgCpu = [];
let floor = null;
let scryptAlone = null;
let pgVersion = null;

async function lookupPhase(storeName, servers, size, sample, key, ready) {
  const urls = servers.map((s) => s.url);
  const reqs = lookupRequests(sample, key);
  // connections: a multiple of the number of servers, so autocannon spreads them evenly
  const connections = Math.ceil(CONNECTIONS / servers.length) * servers.length;
  const m = await measured(servers, () =>
    cannon(`${storeName} ${size}: lookups, ${servers.length} process(es)`, { url: urls.length === 1 ? urls[0] : urls, connections, requests: reqs }),
  );
  lookups.push(lookupRow(storeName, size, servers.length, m, ready));
}

function creationRow(storeName, size, m, bare) {
  return {
    store: storeName,
    size,
    rps: m.res.requests.average,
    p50: m.res.latency.p50,
    p99: m.res.latency.p99,
    ok: m.res["2xx"],
    bad: m.res.non2xx + m.res.errors + m.res.timeouts,
    bare,
    serverCpu: m.serverCpu,
    pgCpu: m.pgCpu,
    stats: m.stats,
    stmts: m.stats ? m.stats.calls / (m.res["2xx"] + m.res.non2xx) : NaN,
    bytesPer: m.writeBytes / (m.res["2xx"] + m.res.non2xx),
  };
}

async function creationPhase(storeName, server, bare, size) {
  const m = await measured([server], () => cannon(`${storeName} ${size}: case creations`, { url: server.url, requests: createRequests() }));
  const row = creationRow(storeName, size, m, bare);
  log(`${storeName}: creations with the old scrypt per case, then the same loop without it`);
  row.scryptLoop = await creationLoop(server.url, true, DURATION);
  row.plainLoop = await creationLoop(server.url, false, DURATION);
  creations.push(row);
}

try {
  log(`bench/server.mjs: sizes ${SIZES.join(", ")}, ${DURATION} s per run, ${CONNECTIONS} connections${WITH_PG ? "" : ", no PostgreSQL"}`);

  // scrypt alone, as many at once as the load has connections: the ceiling the old secrets put on creations
  log("scrypt alone (old parameters)");
  scryptAlone = (await creationLoop(null, true, Math.max(2, DURATION / 2))).rate;

  for (const size of SIZES) {
    log(`match index alone, ${size} hashes`);
    alone.push(await indexAlone(size));
  }

  // ---- SQLite, one process ----
  if (WITH_SQLITE) {
    const file = path.join(tmp, "server.db");
    const s0 = SqliteStore.open(file);
    const { key } = await createApiKey(s0, "bench", ["lookup", "feed:read"]);
    await s0.close();
    let have = 0;
    let sample = [];
    for (const size of SIZES) {
      log(`SQLite: seeding to ${size} hashes`);
      const ts = performance.now();
      const seeded = await seedSqlite(file, size - have);
      seeds.push({ store: "SQLite", size, ms: performance.now() - ts, active: seeded.active });
      sample = sample.concat(seeded.sample);
      have = size;
      const first = size === SIZES[0];
      const bare = [];
      if (first) {
        log("SQLite: bare durable inserts (before the server)");
        bare.push(await bareSqlite(file, DURATION));
      }
      const s = await startServe(file);
      await lookupPhase("SQLite", [s], seeded.active, sample, key, [s.readyMs]);
      if (first) {
        // the floor of the HTTP stack (and of the load generator), on the warm server: a GET that touches neither store nor index
        const m = await measured([s], () => cannon("SQLite: GET /v1/health/live (HTTP floor)", { url: `${s.url}/v1/health/live` }));
        floor = lookupRow("SQLite", seeded.active, 1, m, [s.readyMs]);
      }
      if (first) await creationPhase("SQLite", s, bare, seeded.active);
      await stopServe(s);
      if (first) {
        // the same creations with SQLite's own fsync in each commit (`--sqlite-sync inline`, how the server synced before 2026-12-04)
        const si = await startServe(file, ["--sqlite-sync", "inline"]);
        try {
          const m = await measured([si], () => cannon(`SQLite ${seeded.active}: case creations, --sqlite-sync inline`, { url: si.url, requests: createRequests() }));
          creations.push({ ...creationRow("SQLite, --sqlite-sync inline", seeded.active, m, bare), compare: true });
        } finally {
          await stopServe(si);
        }
        // again after the server: this VM's fsync speed drifts, so the bare rate is the mean of both sides
        log("SQLite: bare durable inserts (after the server)");
        bare.push(await bareSqlite(file, DURATION));
      }
      // the same lookups with the index in a worker thread (`serve --index-thread`), same file, same run
      const st = await startServe(file, ["--index-thread"]);
      try {
        await lookupPhase("SQLite, index thread", [st], seeded.active, sample, key, [st.readyMs]);
      } finally {
        await stopServe(st);
      }
    }
  }

  // ---- PostgreSQL, one and several processes ----
  if (WITH_PG) {
    log("PostgreSQL: starting a throwaway cluster");
    // pg_stat_statements (in Debian's postgresql package) counts the statements each request costs
    const statements = existsSync(path.join(pgBinDir(), "..", "lib", "pg_stat_statements.so"));
    cluster = await startPgCluster({ settings: statements ? { shared_preload_libraries: "pg_stat_statements" } : {} });
    pgVersion = cluster.version;
    {
      const c = new pg.Client({ connectionString: cluster.url });
      await c.connect();
      await c.query("CREATE DATABASE hashsafe_bench");
      await c.end();
    }
    const url = cluster.url.replace(/\/postgres$/, "/hashsafe_bench");
    if (statements) {
      pgMonitor = new pg.Client({ connectionString: url });
      await pgMonitor.connect();
      // in a schema of its own: its views must not look like another application's tables in hashsafe's schema
      await pgMonitor.query("CREATE SCHEMA bench_monitor; CREATE EXTENSION pg_stat_statements SCHEMA bench_monitor");
    }
    const keyFile = path.join(tmp, "pg-server.key");
    const s0 = await PostgresStore.open(url);
    const { key } = await createApiKey(s0, "bench", ["lookup", "feed:read"]);
    await s0.close();
    let have = 0;
    let sample = [];
    for (const size of SIZES) {
      log(`PostgreSQL: seeding to ${size} hashes`);
      const ts = performance.now();
      const seeded = await seedPg(url, size - have);
      seeds.push({ store: "PostgreSQL", size, ms: performance.now() - ts, active: seeded.active });
      sample = sample.concat(seeded.sample);
      have = size;
      const servers = [await startServe(url, ["--key-file", keyFile])];
      try {
        await lookupPhase("PostgreSQL", servers, seeded.active, sample, key, [servers[0].readyMs]);
        if (size === SIZES[0]) {
          // bare inserts right before and right after the creations (the server idle), the mean of both
          const bare = [];
          log("PostgreSQL: bare durable inserts (before the creations)");
          bare.push(await barePg(url, DURATION));
          await creationPhase("PostgreSQL", servers[0], bare, seeded.active);
          log("PostgreSQL: bare durable inserts (after the creations)");
          bare.push(await barePg(url, DURATION));
        }
        if (PROCESSES > 1) {
          // one after another: the first made the key file; each loads the whole index itself
          for (let i = 1; i < PROCESSES; i++) servers.push(await startServe(url, ["--key-file", keyFile]));
          await lookupPhase("PostgreSQL", servers, seeded.active, sample, key, servers.map((s) => s.readyMs));
        }
      } finally {
        for (const s of servers) await stopServe(s);
        servers.length = 0;
      }
      // the same with the index in a worker thread (`serve --index-thread`): one process, then PROCESSES
      try {
        servers.push(await startServe(url, ["--key-file", keyFile, "--index-thread"]));
        await lookupPhase("PostgreSQL, index thread", servers, seeded.active, sample, key, [servers[0].readyMs]);
        if (PROCESSES > 1) {
          for (let i = 1; i < PROCESSES; i++) servers.push(await startServe(url, ["--key-file", keyFile, "--index-thread"]));
          await lookupPhase("PostgreSQL, index thread", servers, seeded.active, sample, key, servers.map((s) => s.readyMs));
        }
      } finally {
        for (const s of servers) await stopServe(s);
      }
    }
  }

  // ---- the report ----
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const f = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString("en", { maximumFractionDigits: d, minimumFractionDigits: d }) : "n/a");
  const load1 = os.loadavg();
  const totalS = (performance.now() - t0) / 1000;
  const cores = os.cpus().length;
  const quote = (a) => (/^[\w.,:=/+-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  const cmd = ["node bench/server.mjs", ...process.argv.slice(2).map(quote)].join(" ");
  const out = [];
  out.push(`# Server benchmark, ${today}${QUICK ? " (quick)" : ""}`);
  out.push("");
  out.push(`Command: \`npm run build && ${cmd}\` (\`npm run bench:server\`). Total run time ${f(totalS)} s.`);
  out.push("");
  out.push(
    `Machine: ${cores} cores (${os.cpus()[0]?.model ?? "?"}), ${f(os.totalmem() / 2 ** 30, 1)} GiB, Node ${process.version}, ` +
      `better-sqlite3 (SQLite ${new Database(":memory:").prepare("SELECT sqlite_version() AS v").get().v})` +
      (pgVersion ? `, ${pgVersion} (throwaway cluster, fsync on, synchronous_commit on, shared_buffers ${cluster?.conf?.shared_buffers ?? "128MB"})` : "") +
      ".",
  );
  out.push(
    `Load average (1/5/15 min) at the start ${load0.map((x) => x.toFixed(2)).join(" / ")}, at the end ${load1.map((x) => x.toFixed(2)).join(" / ")}. ` +
      `1-minute load average sampled at each step: ${f(Math.min(...loads), 2)} to ${f(Math.max(...loads), 2)}. ` +
      `The load generator (autocannon, in this process), the server(s) and PostgreSQL share the ${cores} cores; the run itself keeps ` +
      `about 1 to 3 of the load average busy (more with 3 servers), so figures well above that mean other work on the machine took CPU from the run.`,
  );
  if (args.note) out.push("", `Note: ${args.note}`);
  out.push("");
  out.push(
    `Each load run lasts ${DURATION} s with ${CONNECTIONS} connections (rounded up to a multiple of the number of servers). ` +
      "Servers: `hashsafe serve --no-rate-limit --no-quotas` (SQLite: WAL, each write on disk before it is answered, the defaults); rows marked \"index thread\" add `--index-thread` (PDQ searches in a worker thread of the same process).",
  );
  out.push("");
  out.push("## Case creations (POST /v1/cases, 1-3 new PDQ hashes each, a fresh Idempotency-Key each)");
  out.push("");
  out.push(
    "| store | active hashes | creations/s | p50 ms | p99 ms | 2xx | errors / non-2xx | server CPU (cores) | server CPU ms / creation | PostgreSQL CPU (cores) | SQL statements / creation | bare durable inserts/s, mean (before, after) | creations / bare |",
  );
  out.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of creations) {
    out.push(
      `| ${r.store} | ${f(r.size)} | ${f(r.rps)} | ${f(r.p50)} | ${f(r.p99)} | ${r.ok} | ${r.bad} | ${f(r.serverCpu, 2)} | ${f((r.serverCpu * 1000) / r.rps, 2)} | ` +
        `${f(r.pgCpu, 2)} | ${f(r.stmts, 1)} | ${f(mean(r.bare))} (${r.bare.map((x) => f(x)).join(", ")}) | **${f(r.rps / mean(r.bare), 2)}x** |`,
    );
  }
  const sqliteCreate = creations.find((r) => r.store === "SQLite");
  if (sqliteCreate && bareBytes.length) {
    out.push("");
    out.push(
      `SQLite bytes written to storage (/proc/<pid>/io write_bytes): ${f(sqliteCreate.bytesPer / 1024, 1)} KiB per creation by the server, ` +
        `${f(bareBytes.reduce((a, b) => a + b, 0) / bareBytes.length / 1024, 1)} KiB per bare insert (WAL frames of every page a commit touches, and checkpoints).`,
    );
  }
  const pgRow = creations.find((r) => r.store === "PostgreSQL");
  if (pgRow && barePgCpu.length) {
    const avg = (k) => barePgCpu.reduce((a, b) => a + b[k], 0) / barePgCpu.length;
    out.push("");
    out.push(
      `CPU per write, PostgreSQL: a bare insert took ${f(avg("pgMs"), 3)} ms of PostgreSQL CPU and ${f(avg("clientMs"), 3)} ms of the inserting client's ` +
        `(${f(avg("cores"), 2)} of the 2 cores busy: the bare rate is mostly a CPU limit, not a disk one); a creation took ` +
        `${f((pgRow.pgCpu * 1000) / pgRow.rps, 3)} ms of PostgreSQL CPU and ${f((pgRow.serverCpu * 1000) / pgRow.rps, 3)} ms of the server's ` +
        `(${f(pgRow.pgCpu + pgRow.serverCpu, 2)} cores, with the load generator beside them). ` +
        `At 0.5x the bare rate (${f(mean(pgRow.bare) / 2)}/s) the server alone would need ${f((mean(pgRow.bare) / 2) * pgRow.serverCpu / pgRow.rps, 2)} cores ` +
        `and PostgreSQL ${f((mean(pgRow.bare) / 2) * pgRow.pgCpu / pgRow.rps, 2)}.`,
    );
  }
  const pgCreate = creations.find((r) => r.stats);
  if (pgCreate) {
    out.push("");
    out.push("PostgreSQL statements per creation (pg_stat_statements over the creation run, per 2xx + non-2xx answer):");
    out.push("");
    for (const r of pgCreate.stats.rows.slice(0, 12)) {
      out.push(`- ${f(r.calls / (pgCreate.ok + pgCreate.bad), 2)} x \`${r.query.length > 110 ? `${r.query.slice(0, 110)}...` : r.query}\``);
    }
  }
  out.push("");
  out.push(
    "Bare durable insert: one INSERT of a comparable row (case id, secret hash, client, time, 1-3 hash values) per transaction, " +
      "in a table of its own in the same database, in the same run, measured once before and once after the creations (this VM's " +
      "fsync speed drifts); the ratio uses their mean. SQLite: the same file, while no server has it open (the server holds it " +
      "locked), `journal_mode = WAL`, `synchronous = FULL` (SQLite's fsync in each commit), one writer in a loop (SQLite has one writer). " +
      "The server answers each creation once it is on disk too, but commits the creations of one event-loop turn together and syncs the WAL " +
      "off the event loop (`--sqlite-sync thread`, the default; the row marked inline is SQLite's own fsync in each commit, for comparison). PostgreSQL: the same database, the server idle, plain INSERTs " +
      `through pg from ${CONNECTIONS} concurrent clients (as many as the HTTP load has connections). Target: creations >= 0.5x the bare rate.`,
  );
  out.push("");
  out.push("### Before the secret change (scrypt)");
  out.push("");
  out.push(
    `The old server stored each new case's secret as scrypt (N=${SCRYPT.N}, r=${SCRYPT.r}, p=${SCRYPT.p}, the legacy verifier's ` +
      "parameters in src/server/secrets.ts) and checked it with scrypt on every case call. The current server has no switch back, " +
      `so the old cost is put back in the client: ${CONNECTIONS} concurrent loops each compute one scrypt with those parameters ` +
      "(on libuv's thread pool, as the old server did, on the same cores) and then create a case over HTTP (fetch, keep-alive). " +
      "The same loop without scrypt is the comparison of the same client.",
  );
  out.push("");
  out.push("| store | scrypt + create, creations/s | same loop without scrypt, creations/s | after / before |");
  out.push("|---|---:|---:|---:|");
  for (const r of creations.filter((x) => !x.compare)) {
    out.push(`| ${r.store} | ${f(r.scryptLoop.rate, 1)} | ${f(r.plainLoop.rate)} | ${f(r.plainLoop.rate / r.scryptLoop.rate, 1)}x |`);
  }
  out.push("");
  out.push(`scrypt alone (no HTTP, ${CONNECTIONS} at once): ${f(scryptAlone, 1)} per second, the ceiling it put on creations.`);
  out.push("");
  out.push("## Single-query lookups (POST /v1/lookup, platform key, one PDQ query at distance 31 that matches)");
  out.push("");
  out.push(
    "| store | active hashes | processes | lookups/s | p50 ms | p99 ms | 2xx | errors / non-2xx | server RSS MiB | server CPU (cores) | server CPU ms / lookup | PostgreSQL CPU (cores) | SQL statements / lookup | bench CPU (cores) | start to ready s |",
  );
  out.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of lookups) {
    out.push(
      `| ${r.store} | ${f(r.size)} | ${r.procs} | ${f(r.rps)} | ${f(r.p50)} | ${f(r.p99)} | ${r.ok} | ${r.bad} | ${r.rss.map((x) => f(x)).join(" + ")} | ` +
        `${f(r.serverCpu, 2)} | ${f((r.serverCpu * 1000) / r.rps, 2)} | ${f(r.pgCpu, 2)} | ${f(r.stmts, 2)} | ${f(r.benchCpu, 2)} | ${r.ready.map((x) => f(x / 1000, 1)).join(", ")} |`,
    );
  }
  out.push("");
  out.push(
    "RSS is read from /proc after each run; CPU is user + system time over the run's wall time (1.00 = one core busy), for the " +
      "server(s) (summed), for the PostgreSQL cluster (postmaster and backends) and for this process (autocannon). " +
      "Server CPU ms per lookup = server CPU / lookups per second: what one lookup costs the server, less dependent on how loaded " +
      "the machine is than the rate; 1000 / that figure is the rate one server process could reach with a core to itself. Start to ready: from spawning `hashsafe serve` to /v1/health/ready answering 200, " +
      "i.e. opening the store and loading every active hash into the match index (with several processes: each, one after another).",
  );
  out.push("");
  if (PROCESSES > 1 && WITH_PG) {
    out.push(
      `With ${PROCESSES} processes on ${cores} cores, the servers, PostgreSQL and the load generator compete for the same ${cores} cores: ` +
        `the ${PROCESSES}-process figure shows that the processes share one database correctly under load and how the rate moves when a ` +
        `second core can serve requests, not how it scales on a machine with a core per process.`,
    );
    out.push("");
  }
  if (floor) {
    out.push(
      `The HTTP floor, GET /v1/health/live on the same SQLite server (no store, no index, no auth): ${f(floor.rps)} requests/s, ` +
        `p50 ${f(floor.p50)} ms, p99 ${f(floor.p99)} ms, server CPU ${f((floor.serverCpu * 1000) / floor.rps, 2)} ms per request, ` +
        `load generator CPU ${f(floor.benchCpu, 2)} cores.`,
    );
    out.push("");
  }
  out.push("The match index alone (src/server/match-index.ts from dist/, in the bench process, no HTTP), same kind of query:");
  out.push("");
  out.push("| active hashes | build ms | CPU ms per search | wall ms per search (mean) | p50 ms | p99 ms | matches per query |");
  out.push("|---:|---:|---:|---:|---:|---:|---:|");
  for (const a of alone) {
    out.push(`| ${f(a.size)} | ${f(a.buildMs)} | ${f(a.cpuPerSearchMs, 3)} | ${f(a.perSearchMs, 3)} | ${f(a.p50, 3)} | ${f(a.p99, 3)} | ${f(a.matches, 2)} |`);
  }
  out.push("");
  out.push("## Against the targets");
  out.push("");
  const yes = (ok) => (ok ? "met" : "**not met**");
  for (const r of creations.filter((x) => !x.compare)) {
    const ratio = r.rps / mean(r.bare);
    out.push(`- ${r.store}: case creations at ${f(ratio, 2)}x the bare durable insert rate (target >= 0.5x): ${yes(ratio >= 0.5)}.`);
  }
  const biggest = SIZES[SIZES.length - 1];
  for (const r of lookups.filter((x) => x.procs === 1 && x.size >= biggest)) {
    out.push(
      `- ${r.store}, one process, ${f(r.size)} active hashes: ${f(r.rps)} lookups/s, p99 ${f(r.p99)} ms (target >= 5,000/s with p99 < 20 ms): ` +
        `${yes(r.rps >= 5000 && r.p99 < 20)}; the server spent ${f((r.serverCpu * 1000) / r.rps, 2)} ms of CPU per lookup, ` +
        `i.e. at most about ${f(r.rps / r.serverCpu)} lookups/s on a core of its own on this machine.`,
    );
  }
  if (biggest < 1_000_000) out.push(`- (this run stopped at ${f(biggest)} active hashes; the 1M target needs the full run)`);
  for (const [store, size] of [...new Set(lookups.filter((x) => x.store.startsWith("PostgreSQL")).map((x) => `${x.store}\0${x.size}`))].map((k) => k.split("\0"))) {
    const one = lookups.find((x) => x.store === store && x.size === Number(size) && x.procs === 1);
    const many = lookups.find((x) => x.store === store && x.size === Number(size) && x.procs > 1);
    if (one && many) {
      out.push(
        `- ${store} at ${f(Number(size))}: ${f(one.rps)} lookups/s with one process, ${f(many.rps)} with ${many.procs} ` +
          `(${f(many.rps / one.rps, 2)}x; growing: ${many.rps > one.rps ? "yes" : "**no**"}), on ${cores} cores shared with the load generator and PostgreSQL.`,
      );
    }
  }
  out.push("");
  out.push("Seeding (SQL following the store's schema, published and active):");
  out.push("");
  for (const s of seeds) out.push(`- ${s.store}: to ${f(s.size)} hashes in ${f(s.ms / 1000, 1)} s (${f(s.active)} active after)`);
  const report = out.join("\n") + "\n";
  process.stdout.write(report);
  if (OUT) {
    mkdirSync(path.dirname(OUT), { recursive: true });
    writeFileSync(OUT, report);
    log(`written to ${path.relative(root, OUT)}`);
  }
} catch (err) {
  console.error(err?.stack ?? String(err));
  process.exitCode = 1;
} finally {
  await pgMonitor?.end().catch(() => {});
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill("SIGTERM");
      await Promise.race([c.exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
  }
  cleanupSync();
}
