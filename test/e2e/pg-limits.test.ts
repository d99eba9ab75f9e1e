/**
 * Three real `hashsafe serve` processes on one throwaway PostgreSQL database,
 * started at the same moment on a fresh database and a fresh server key
 * path, with the abuse limits on: they end with one server key (a case made
 * through one opens through the others; a fourth process with another key
 * file refuses to start), and every limit is one limit for the three, not
 * three: a per-address rate limit of 6 lets 6 requests through in all, the
 * per-case rate limit likewise, wrong case secrets sent round-robin to the
 * three are slowed down after the 10th (and once throttled, one attempt per
 * wait gets through in all), and the daily quotas (address, intake key) count
 * across processes.
 *
 * The processes trust X-Forwarded-For (--trust-proxy) so that each test can
 * speak from addresses of its own.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BIN, ROOT } from "../helpers.ts";
import { ensureBuilt } from "./e2e-support.ts";
import { type PgCluster, sqlAt, startPg } from "./pg-support.ts";
import { killAll, type ServeProc, spawnServe } from "./pg-serve.ts";
import { call, type CallOptions, expectProblem, randomPdq, tempDir } from "./server-helpers.ts";

const CLIENT = { name: "t", version: "1" };
const ADDRESS_BURST = 6;
const CASE_BURST = 4;
const LIMITS = [
  "--trust-proxy",
  "--rate-address",
  `0.001:${ADDRESS_BURST}`,
  "--rate-case",
  `0.001:${CASE_BURST}`,
  "--quota-address",
  "2:1000",
  "--quota-intake",
  "2:1000",
  "--feed-batch",
  "0",
  "--log-level",
  "warn",
];

let cluster: PgCluster | undefined;
let dbUrl: string;
let tmp: ReturnType<typeof tempDir>;
let keyFile: string;
let platformKey: string;
let intakeKey: string;
const procs: ServeProc[] = [];

let addrN = 0;
/** A client address no other request uses. */
const newAddress = () => `198.51.${100 + Math.floor(++addrN / 250)}.${addrN % 250}`;
/** One call from `address` (a fresh one by default). */
const from = (url: string, method: string, p: string, o: CallOptions & { address?: string } = {}) =>
  call(url, method, p, { ...o, headers: { ...o.headers, "x-forwarded-for": o.address ?? newAddress() } });

const createBody = () => ({ hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT });

const sql = <T>(q: string, params: unknown[] = []): Promise<T[]> => sqlAt<T>(dbUrl, q, params);

async function createKey(scopes: string): Promise<string> {
  const made = await promisify(execFile)(
    process.execPath,
    [BIN, "serve", "keys", "create", "--db", dbUrl, "--name", `k-${scopes.replace(/[^a-z]/g, "-")}`, "--scopes", scopes, "--format", "json"],
    { cwd: ROOT },
  );
  return String((JSON.parse(made.stdout) as { key: string }).key);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  await ensureBuilt();
  cluster = await startPg();
  dbUrl = await cluster.createDatabase();
  tmp = tempDir();
  keyFile = path.join(tmp.dir, "server.key");
  // all three at once, on a database without tables and a key path without a file
  procs.push(...(await Promise.all([0, 1, 2].map(() => spawnServe(dbUrl, [...LIMITS, "--key-file", keyFile])))));
  platformKey = await createKey("feed:read,lookup");
  intakeKey = await createKey("intake");
}, 90_000);

afterAll(async () => {
  await killAll(procs);
  cluster?.stop();
  tmp?.remove();
});

describe("three serve processes on one PostgreSQL: one key, one set of limits", () => {
  test("started at once on a fresh key-file path, they use one key: a case made through one opens through the others", async () => {
    expect(readFileSync(keyFile)).toHaveLength(32);
    // no temporary key file left behind
    expect(readdirSync(tmp.dir).sort()).toEqual(["server.key"]);
    const fp = await sql<{ value: string }>("SELECT value FROM meta WHERE name = 'server_key_fingerprint'");
    expect(fp).toHaveLength(1);
    for (const [i, p] of procs.entries()) {
      const made = await from(p.url, "POST", "/v1/cases", { body: createBody() });
      expect(made.status, made.text).toBe(201);
      for (const q of procs.filter((_, j) => j !== i)) {
        const got = await from(q.url, "GET", `/v1/cases/${made.json.caseId}`, { auth: `Case ${made.json.caseSecret}` });
        expect(got.status, got.text).toBe(200);
        expect(got.json.caseId).toBe(made.json.caseId);
      }
    }
  }, 30_000);

  test("a fourth process with another key file refuses to start, saying every process needs the same key file", async () => {
    const other = path.join(tmp.dir, "other.key");
    const err = await spawnServe(dbUrl, [...LIMITS, "--key-file", other]).then(
      (p) => {
        procs.push(p);
        throw new Error("a process with another key started");
      },
      (e: { code?: number | null; stderr?: string }) => e,
    );
    expect(err.code).not.toBe(0);
    expect(err.stderr).toMatch(/not the key this PostgreSQL database is used with/);
    expect(err.stderr).toMatch(/same server key file \(--key-file\)/);
    // the key it made for itself is removed again; the shared one is untouched
    expect(readdirSync(tmp.dir).sort()).toEqual(["server.key"]);
  }, 30_000);

  test(`per address: a limit of ${ADDRESS_BURST} lets ${ADDRESS_BURST} requests through across the three processes, not ${3 * ADDRESS_BURST}; the rest 429 with Retry-After`, async () => {
    const address = newAddress();
    const answers = await Promise.all(
      Array.from({ length: 3 * ADDRESS_BURST }, (_, i) =>
        from(procs[i % 3].url, "GET", "/v1/feed?limit=1", { auth: `Bearer ${platformKey}`, address }),
      ),
    );
    const ok = answers.filter((r) => r.status === 200);
    const limited = answers.filter((r) => r.status === 429);
    console.log(`pg-limits: per address ${ADDRESS_BURST}: ${ok.length} of ${answers.length} through, ${limited.length} limited`);
    expect(ok).toHaveLength(ADDRESS_BURST);
    expect(limited).toHaveLength(2 * ADDRESS_BURST);
    for (const r of limited) {
      expectProblem(r, 429, "rate-limited");
      expect(Number(r.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    }
    // and still limited on every process afterwards; another address is not
    for (const p of procs) expect((await from(p.url, "GET", "/v1/feed?limit=1", { auth: `Bearer ${platformKey}`, address })).status).toBe(429);
    expect((await from(procs[0].url, "GET", "/v1/feed?limit=1", { auth: `Bearer ${platformKey}` })).status).toBe(200);
  }, 30_000);

  test(`per case: a limit of ${CASE_BURST} holds across the three processes (requests from many addresses)`, async () => {
    const made = await from(procs[0].url, "POST", "/v1/cases", { body: createBody() });
    expect(made.status).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => from(procs[i % 3].url, "GET", `/v1/cases/${made.json.caseId}`, { auth: `Case ${made.json.caseSecret}` })),
    );
    const ok = answers.filter((r) => r.status === 200);
    console.log(`pg-limits: per case ${CASE_BURST}: ${ok.length} of 12 through`);
    expect(ok).toHaveLength(CASE_BURST);
    for (const r of answers.filter((x) => x.status !== 200)) {
      expectProblem(r, 429, "rate-limited");
      expect(Number(r.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    }
  }, 30_000);

  test("wrong secrets sent round-robin to the three processes (each from its own address): slowed down after the 10th in all; once throttled, one attempt per wait gets through", async () => {
    const made = await from(procs[0].url, "POST", "/v1/cases", { body: createBody() });
    expect(made.status).toBe(201);
    const caseId = made.json.caseId as string;
    const wrong = `Case ${"7".repeat(28)}`;
    const attempt = (i: number, auth = wrong) => from(procs[i % 3].url, "GET", `/v1/cases/${caseId}`, { auth });
    // 10 free failures, about 3 on each process
    for (let i = 0; i < 10; i++) expectProblem(await attempt(i), 404, "not-found");
    // the 11th, on whichever process, must wait (2^0 = 1 s after the 10th)
    for (let i = 0; i < 3; i++) {
      const r = await attempt(i);
      expectProblem(r, 429, "rate-limited");
      expect(r.headers["retry-after"]).toBe("1");
    }
    // the case's owner is held too (the count is per case, whoever knocks) ...
    expectProblem(await attempt(0, `Case ${made.json.caseSecret}`), 429, "rate-limited");
    // ... after the wait, three attempts at once, one per process: one gets through, two wait (now 2 s)
    await sleep(1_100);
    const three = await Promise.all([0, 1, 2].map((i) => attempt(i)));
    const statuses = three.map((r) => r.status).sort();
    console.log(`pg-limits: three wrong attempts at once after the wait: ${statuses.join(",")}`);
    expect(statuses).toEqual([404, 429, 429]);
    for (const r of three.filter((x) => x.status === 429)) expect(Number(r.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    // the right secret after the next wait opens the case and clears the count on every process
    await sleep(2_100);
    expect((await attempt(1, `Case ${made.json.caseSecret}`)).status).toBe(200);
    const counted = await sql<{ n: number }>("SELECT count(*)::int AS n FROM secret_failures WHERE case_id = $1", [caseId]);
    expect(counted[0].n).toBe(0);
    expectProblem(await attempt(2), 404, "not-found");
  }, 30_000);

  test("daily quotas count across the processes: per address (2 cases) and per intake key (2 cases)", async () => {
    const address = newAddress();
    const byAddress = [];
    for (const p of procs) byAddress.push(await from(p.url, "POST", "/v1/cases", { body: createBody(), address }));
    expect(byAddress.map((r) => r.status)).toEqual([201, 201, 429]);
    expectProblem(byAddress[2], 429, "quota-exceeded");
    expect(Number(byAddress[2].headers["retry-after"])).toBeGreaterThanOrEqual(1);
    const byKey = [];
    for (const p of procs) byKey.push(await from(p.url, "POST", "/v1/cases", { body: createBody(), auth: `Bearer ${intakeKey}` }));
    expect(byKey.map((r) => r.status)).toEqual([201, 201, 429]);
    expectProblem(byKey[2], 429, "quota-exceeded");
  }, 30_000);

  test("the processes are still up and ready", async () => {
    for (const p of procs.slice(0, 3)) {
      expect(p.alive()).toBe(true);
      expect((await call(p.url, "GET", "/v1/health/ready")).status).toBe(200);
      expect(p.stderr()).not.toMatch(/"level":"error"/);
    }
  });
});
