/**
 * The database goes away under load: one real `hashsafe serve` on a
 * throwaway PostgreSQL cluster, with the shared rate limits on (so every
 * request asks the database first), creations and reads in flight; the
 * cluster is stopped as if it crashed (`pg_ctl stop -m immediate`). While it
 * is down every answer is 503 with Retry-After (never 500, never a dropped
 * connection), /v1/health/ready answers 503, the process stays up and its log
 * names the cause. Started again, ready turns 200 by itself and every case
 * that was answered 201 is there and opens with its secret.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ensureBuilt } from "./e2e-support.ts";
import { type PgCluster, startPg } from "./pg-support.ts";
import { killAll, type ServeProc, spawnServe } from "./pg-serve.ts";
import { call, type Reply, randomPdq, tempDir } from "./server-helpers.ts";

const CLIENT = { name: "t", version: "1" };

let cluster: PgCluster | undefined;
let tmp: ReturnType<typeof tempDir>;
let proc: ServeProc | undefined;

beforeAll(async () => {
  await ensureBuilt();
  cluster = await startPg();
  const db = await cluster.createDatabase();
  tmp = tempDir();
  proc = await spawnServe(db, [
    "--key-file",
    `${tmp.dir}/server.key`,
    "--rate-address",
    "2000:10000",
    "--rate-case",
    "2000:10000",
    "--no-quotas",
    "--feed-batch",
    "0",
    "--log-level",
    "warn",
  ]);
}, 60_000);

afterAll(async () => {
  if (proc && !proc.alive()) console.log(`pg-outage: serve exited (${proc.child.exitCode ?? proc.child.signalCode}); its log:\n${proc.stderr().slice(-4000)}`);
  if (proc) await killAll([proc]);
  cluster?.stop();
  tmp?.remove();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  phase: "up" | "down" | "back";
  kind: "create" | "read";
  status: number;
  retryAfter?: string;
  error?: string;
  created?: { caseId: string; caseSecret: string };
}

describe("PostgreSQL goes away under load", () => {
  test("503 + Retry-After while it is down (never 500, the process stays up, ready 503, the cause logged); back: ready 200, every 201 there", async () => {
    const p = proc!;
    let phase: Outcome["phase"] = "up";
    let running = true;
    const outcomes: Outcome[] = [];
    const known: { caseId: string; caseSecret: string }[] = [];
    const record = (kind: Outcome["kind"], at: Outcome["phase"], r: Reply | Error) => {
      if (r instanceof Error) {
        outcomes.push({ phase: at, kind, status: 0, error: String(r) });
        return;
      }
      const o: Outcome = { phase: at, kind, status: r.status, retryAfter: r.headers["retry-after"] as string | undefined };
      if (kind === "create" && r.status === 201) {
        o.created = { caseId: r.json.caseId, caseSecret: r.json.caseSecret };
        known.push(o.created);
      }
      outcomes.push(o);
    };
    const creator = async () => {
      while (running) {
        const at = phase;
        const body = { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT };
        record("create", at, await call(p.url, "POST", "/v1/cases", { body }).catch((e: Error) => e));
      }
    };
    const reader = async () => {
      while (running) {
        const at = phase;
        const c = known[Math.floor(Math.random() * known.length)];
        if (!c) {
          await sleep(5);
          continue;
        }
        record("read", at, await call(p.url, "GET", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}` }).catch((e: Error) => e));
      }
    };
    const workers = [...Array.from({ length: 6 }, creator), ...Array.from({ length: 2 }, reader)];

    await sleep(800);
    expect(known.length).toBeGreaterThan(0);
    const inFlightAtStop = outcomes.length;
    cluster!.stopServer(true); // as if it crashed, with requests in flight
    phase = "down";
    await sleep(2_500);
    const ready = await call(p.url, "GET", "/v1/health/ready");
    const live = await call(p.url, "GET", "/v1/health/live");
    expect(p.alive()).toBe(true);
    cluster!.startServer();
    phase = "back";
    // ready turns 200 by itself (the storage probe), while the load goes on
    const t0 = performance.now();
    let readyAgain = -1;
    while (performance.now() - t0 < 30_000) {
      if ((await call(p.url, "GET", "/v1/health/ready")).status === 200) {
        readyAgain = performance.now() - t0;
        break;
      }
      await sleep(100);
    }
    await sleep(300);
    running = false;
    await Promise.all(workers);

    const down = outcomes.filter((o) => o.phase === "down");
    const by = (os: Outcome[]) => {
      const m = new Map<string, number>();
      for (const o of os) m.set(`${o.kind}:${o.status}`, (m.get(`${o.kind}:${o.status}`) ?? 0) + 1);
      return [...m].map(([k, n]) => `${k}x${n}`).join(" ");
    };
    console.log(
      `pg-outage: before the stop ${by(outcomes.filter((o) => o.phase === "up"))} (${inFlightAtStop} answered); ` +
        `while down ${by(down)}; after the restart ${by(outcomes.filter((o) => o.phase === "back"))}; ready 200 again after ${readyAgain.toFixed(0)} ms`,
    );
    // never a 500, never a dropped connection: 2xx or 503 with Retry-After, in every phase
    for (const o of outcomes) {
      expect(o.error, JSON.stringify(o)).toBeUndefined();
      expect([200, 201, 503], JSON.stringify(o)).toContain(o.status);
      if (o.status === 503) expect(Number(o.retryAfter), JSON.stringify(o)).toBeGreaterThanOrEqual(1);
    }
    // while it was down: answers came (503s), and no write succeeded after the first few in flight
    expect(down.filter((o) => o.status === 503).length).toBeGreaterThan(10);
    expect(ready.status).toBe(503);
    expect(ready.headers["retry-after"]).toBeDefined();
    expect(ready.json.detail).toMatch(/unavailable/);
    expect(live.status).toBe(200);
    expect(p.alive()).toBe(true);
    // the log names the cause (an immediate stop may reach a pooled client as a reset, a refused connect, or a termination notice)
    const log = p.stderr();
    expect(log).toMatch(/storage fault/);
    expect(log).toMatch(/"kind":"unavailable"/);
    expect(log).toMatch(/PostgreSQL: (connect ECONNREFUSED|read ECONNRESET|Connection terminated|terminating connection|the database system is)/);
    expect(log).not.toMatch(/unhandled error/);
    expect(log).toMatch(/storage fault cleared/);
    // back: ready, new writes work, and every case answered 201 is there
    expect(readyAgain).toBeGreaterThanOrEqual(0);
    expect(outcomes.filter((o) => o.phase === "back" && o.status === 201).length).toBeGreaterThan(0);
    for (const c of known) {
      const got = await call(p.url, "GET", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}` });
      expect(got.status, `${c.caseId}: ${got.text}`).toBe(200);
      expect(got.json.hashes).toHaveLength(1);
    }
    console.log(`pg-outage: all ${known.length} cases answered 201 open afterwards`);
  }, 90_000);
});
