/**
 * Three real `hashsafe serve` processes (node bin/hashsafe.js, the built
 * dist/) on one throwaway PostgreSQL database, sharing one server key file:
 * one Idempotency-Key sent to all three at once makes one case; a hash made
 * through one process is found, and after its withdrawal no longer found,
 * through the other two (delays measured); a process killed with SIGKILL
 * while creations are in flight loses no case that was answered 201.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BIN, ROOT } from "../helpers.ts";
import { ensureBuilt } from "./e2e-support.ts";
import { type PgCluster, sqlAt, startPg } from "./pg-support.ts";
import { call, randomPdq, tempDir } from "./server-helpers.ts";

const CLIENT = { name: "t", version: "1" };

interface Proc {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

let cluster: PgCluster | undefined;
let dbUrl: string;
let tmp: ReturnType<typeof tempDir>;
let keyFile: string;
let platformKey: string;
const procs: Proc[] = [];

function serve(): Promise<Proc> {
  const child = spawn(
    process.execPath,
    [BIN, "serve", "--db", dbUrl, "--port", "0", "--format", "json", "--feed-batch", "0", "--no-rate-limit", "--no-quotas", "--key-file", keyFile, "--log-level", "warn"],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise<Proc>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in 20 s: ${err}`)), 20_000);
    createInterface({ input: child.stdout! }).once("line", (line) => {
      clearTimeout(timer);
      try {
        const { url } = JSON.parse(line) as { url: string };
        resolve({ child, url, stderr: () => err, exited });
      } catch (e) {
        reject(new Error(`serve printed ${line}: ${String(e)} ${err}`));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}): ${err}`));
    });
  });
}

const sql = <T>(q: string, params: unknown[] = []): Promise<T[]> => sqlAt<T>(dbUrl, q, params);

const createBody = (value = randomPdq()) => ({ hashes: [{ type: "pdq", value }], client: CLIENT });

async function lookupMatches(url: string, value: string): Promise<number> {
  const r = await call(url, "POST", "/v1/lookup", { body: { queries: [{ type: "pdq", value }] }, auth: `Bearer ${platformKey}` });
  expect(r.status).toBe(200);
  return r.json.results[0].matches.length;
}

/** Poll `cond` every 10 ms until it holds; answers the milliseconds it took, or throws after `limitMs`. */
async function pollUntil(cond: () => Promise<boolean>, limitMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await cond()) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  await ensureBuilt();
  cluster = await startPg();
  dbUrl = await cluster.createDatabase();
  tmp = tempDir();
  keyFile = path.join(tmp.dir, "server.key");
  // One process alone first: it applies the migrations and makes the key file the three then share.
  const first = await serve();
  first.child.kill("SIGTERM");
  expect(await first.exited).toBe(0);
  expect(existsSync(keyFile)).toBe(true);
  const made = await promisify(execFile)(
    process.execPath,
    [BIN, "serve", "keys", "create", "--db", dbUrl, "--name", "p", "--scopes", "feed:read,lookup,feedback:write", "--format", "json"],
    { cwd: ROOT },
  );
  const parsed = JSON.parse(made.stdout) as Record<string, unknown>;
  platformKey = String(parsed.key);
  expect(platformKey).toMatch(/\S{16,}/);
  procs.push(...(await Promise.all([serve(), serve(), serve()])));
}, 60_000);

afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exited));
  cluster?.stop();
  tmp?.remove();
});

describe("three hashsafe serve processes on one PostgreSQL database", () => {
  test("20 Idempotency-Keys, each sent to all three processes at once: 20 cases, one caseId per key", async () => {
    const before = (await sql<{ n: number }>("SELECT count(*)::int AS n FROM cases"))[0].n;
    const keys = Array.from({ length: 20 }, () => randomUUID());
    const answers = await Promise.all(
      keys.map((key) => {
        const body = createBody();
        return Promise.all(procs.map((p) => call(p.url, "POST", "/v1/cases", { body, idem: key })));
      }),
    );
    for (const three of answers) {
      for (const r of three) expect(r.status, r.text).toBe(201);
      const ids = new Set(three.map((r) => r.json.caseId));
      expect(ids.size).toBe(1);
      expect(new Set(three.map((r) => r.json.caseSecret)).size).toBe(1);
    }
    expect(new Set(answers.map((three) => three[0].json.caseId)).size).toBe(20);
    const after = (await sql<{ n: number }>("SELECT count(*)::int AS n FROM cases"))[0].n;
    expect(after - before).toBe(20);
    // and the feed, through a platform, holds 20 records for them
    const feed = await call(procs[1].url, "GET", "/v1/feed?limit=1000", { auth: `Bearer ${platformKey}` });
    expect(feed.status).toBe(200);
    const values = new Set(answers.map((three) => three[0].json.hashes[0].value));
    expect(feed.json.records.filter((r: { value: string }) => values.has(r.value))).toHaveLength(20);
  }, 30_000);

  test("a hash made through A is found through B and C; withdrawn through A, it stops matching on B and C within 3 s", async () => {
    const [a, b, c] = procs;
    const value = randomPdq();
    const made = await call(a.url, "POST", "/v1/cases", { body: createBody(value) });
    expect(made.status).toBe(201);
    const appear = await Promise.all([b, c].map((p) => pollUntil(async () => (await lookupMatches(p.url, value)) > 0, 5_000)));
    const del = await call(a.url, "DELETE", `/v1/cases/${made.json.caseId}`, {
      auth: `Case ${made.json.caseSecret}`,
      idem: randomUUID(),
    });
    expect(del.status, del.text).toBeLessThan(300);
    expect(await lookupMatches(a.url, value)).toBe(0);
    const vanish = await Promise.all([b, c].map((p) => pollUntil(async () => (await lookupMatches(p.url, value)) === 0, 5_000)));
    console.log(
      `pg-processes: found on B/C after ${appear.map((d) => d.toFixed(0)).join("/")} ms; ` +
        `withdrawal seen on B/C after ${vanish.map((d) => d.toFixed(0)).join("/")} ms`,
    );
    for (const d of vanish) expect(d).toBeLessThan(3_000);
    for (const d of appear) expect(d).toBeLessThan(3_000);
  }, 30_000);

  test("kill -9 of one process while 50 creations are in flight: every 201 is there afterwards", async () => {
    const victim = procs[2];
    const survivors = procs.slice(0, 2);
    // The kill lands once the victim has answered its first 201, so that some of its creations are done and others are in flight.
    let killAt = -1;
    let answered = 0;
    const kill = () => {
      if (killAt < 0) {
        killAt = answered;
        victim.child.kill("SIGKILL");
      }
    };
    const sent = Array.from({ length: 50 }, (_, i) =>
      call(procs[i % 3].url, "POST", "/v1/cases", { body: createBody() }).then(
        (r) => {
          answered++;
          if (i % 3 === 2 && r.status === 201) kill();
          return { ok: r.status === 201, status: r.status, json: r.json };
        },
        (e: unknown) => ({ ok: false, status: 0, json: undefined, error: String(e) }),
      ),
    );
    const fallback = setTimeout(kill, 2_000);
    const results = await Promise.all(sent);
    clearTimeout(fallback);
    const victimCreated = results.filter((r, i) => i % 3 === 2 && r.ok).length;
    console.log(`pg-processes: killed after ${killAt} answers; the victim answered ${victimCreated} of its 16 with 201`);
    expect(victimCreated).toBeGreaterThan(0);
    expect(victimCreated).toBeLessThan(16);
    expect(await victim.exited).toBe(null);
    expect(victim.child.signalCode).toBe("SIGKILL");
    const created = results.filter((r) => r.ok);
    const failed = results.filter((r) => !r.ok);
    console.log(`pg-processes: ${created.length} of 50 answered 201 around the kill; ${failed.length} failed (statuses ${[...new Set(failed.map((f) => f.status))].join(",")})`);
    // the survivors answered all of theirs
    const bySurvivors = results.filter((_, i) => i % 3 !== 2);
    for (const r of bySurvivors) expect(r.status).toBe(201);
    expect(created.length).toBeGreaterThanOrEqual(bySurvivors.length);
    for (const [i, r] of created.entries()) {
      const s = survivors[i % 2];
      const got = await call(s.url, "GET", `/v1/cases/${r.json.caseId}`, { auth: `Case ${r.json.caseSecret}` });
      expect(got.status, got.text).toBe(200);
      expect(got.json.caseId).toBe(r.json.caseId);
      expect(got.json.hashes).toHaveLength(1);
    }
    const ids = created.map((r) => r.json.caseId as string);
    const inDb = await sql<{ n: number }>("SELECT count(*)::int AS n FROM cases WHERE public_id = ANY($1)", [ids]);
    expect(inDb[0].n).toBe(ids.length);
    // the survivors still serve
    for (const s of survivors) expect((await call(s.url, "GET", "/v1/health/ready")).status).toBe(200);
  }, 30_000);
});
