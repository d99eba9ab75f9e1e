/**
 * The Store contract (test/suites/store-contract.ts) on the PostgreSQL store,
 * on a throwaway cluster (pg-support.ts), each test on a fresh database; then
 * what only several processes show, with two stores (two pools, as two
 * processes have) on one database: one key one case, concurrent withdrawals
 * and publications, the follower of the feed (its delay measured),
 * migrations, a foreign database, and the database going away.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { PostgresStore, ForeignPostgresError, pgFaultKind } from "../../src/server/pg-store.ts";
import { PG_MIGRATIONS } from "../../src/server/pg-migrations.ts";
import { SchemaTooNewError } from "../../src/server/sqlite-store.ts";
import { type HashChange, StorageError, type Store } from "../../src/server/store.ts";
import { commitOf, createCase, pdq, storeContract } from "../suites/store-contract.ts";
import { SharedRateLimiter } from "../../src/server/rate-limit.ts";
import { serverKeysFor } from "../../src/server/server-key.ts";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type PgCluster, startPg } from "./pg-support.ts";
import pg from "pg";

let cluster: PgCluster;
beforeAll(async () => {
  cluster = await startPg();
});
afterAll(() => cluster?.stop());

storeContract("postgres", {
  open: async () => PostgresStore.open(await cluster.createDatabase(), { poolSize: 6 }),
});

const publishAll = (s: Store, now = 10_000) => s.publishFeed({ now, minCases: 0, maxDelayMs: 0, granularityMs: 1000 });

describe("PostgreSQL: several processes on one database", () => {
  let url: string;
  let a: PostgresStore;
  let b: PostgresStore;
  beforeAll(async () => {
    url = await cluster.createDatabase();
    [a, b] = await Promise.all([PostgresStore.open(url, { poolSize: 8 }), PostgresStore.open(url, { poolSize: 8 })]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  test("migrations: applied once when two processes start together; a reopen changes nothing", async () => {
    const last = PG_MIGRATIONS[PG_MIGRATIONS.length - 1].version;
    expect(await a.schemaVersion()).toBe(last);
    const rows = await a.readQuery<{ version: number }>("SELECT version FROM hashsafe_migrations ORDER BY version");
    expect(rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((m) => m.version));
    const again = await PostgresStore.open(url);
    expect(await again.schemaVersion()).toBe(last);
    await again.close();
  });

  test("a shared rate limit with leases (100/s, burst 100: leases of 10): 300 requests at once through three limiters on two processes let at most 100 through, and most of them", async () => {
    const t = 5_000_000; // a fixed clock: no refill
    const limit = { burst: 100, perSecond: 100 };
    const limiters = [a, b, a].map((s) => new SharedRateLimiter(s.limits, "lease-test", limit, () => t));
    const waits = await Promise.all(Array.from({ length: 300 }, (_, i) => limiters[i % 3].take("k")));
    const through = waits.filter((w) => w === 0).length;
    console.log(`shared rate limit with leases: ${through} of 300 through (limit 100)`);
    expect(through).toBeLessThanOrEqual(100);
    expect(through).toBeGreaterThanOrEqual(70);
    for (const w of waits.filter((x) => x > 0)) expect(w).toBeGreaterThanOrEqual(1);
    const rows = await a.readQuery<{ tokens: number }>("SELECT tokens FROM rate_buckets WHERE name = 'lease-test'");
    expect(rows[0].tokens).toBeLessThan(1);
  });

  test("two processes with different server key files starting at once on a fresh database: one starts, the other refuses (5 rounds)", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "hashsafe-keys-"));
    try {
      for (let round = 0; round < 5; round++) {
        const u = await cluster.createDatabase();
        const [x, y] = await Promise.all([PostgresStore.open(u, { poolSize: 2 }), PostgresStore.open(u, { poolSize: 2 })]);
        try {
          const outs = await Promise.allSettled([serverKeysFor(x, path.join(dir, `x${round}.key`)), serverKeysFor(y, path.join(dir, `y${round}.key`))]);
          expect(outs.filter((o) => o.status === "fulfilled")).toHaveLength(1);
          const refused = outs.find((o) => o.status === "rejected") as PromiseRejectedResult;
          expect(String(refused.reason)).toMatch(/same server key file/);
        } finally {
          await x.close();
          await y.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("one Idempotency-Key sent to two processes at once makes one case, 20 of 20 times", async () => {
    for (let i = 0; i < 20; i++) {
      const key = `both-${i}`;
      const [x, y] = await Promise.all([createCase(a, [pdq()], { key }), createCase(b, [pdq()], { key })]);
      expect([x, y].filter((r) => !r.replayed)).toHaveLength(1);
      const owner = x.replayed ? y : x;
      const replay = x.replayed ?? y.replayed!;
      expect(JSON.parse(replay.sealed.toString("utf8")).r.caseId).toBe(owner.caseId);
    }
    const n = await a.readQuery<{ n: number }>("SELECT count(*)::int AS n FROM cases WHERE id IN (SELECT id FROM cases)");
    expect(n[0].n).toBeGreaterThanOrEqual(20);
    const dup = await a.readQuery<{ n: number }>("SELECT count(*)::int AS n FROM idempotency WHERE key_digest LIKE 'both-%'");
    expect(dup[0].n).toBe(20);
  });

  test("a hash held by two cases, withdrawn by both through two processes at once, leaves the feed (30 rounds)", async () => {
    const xs = [];
    for (let round = 0; round < 30; round++) {
      const x = pdq();
      const [c1, c2] = await Promise.all([createCase(a, [x, pdq()]), createCase(b, [pdq(), x])]);
      xs.push({ x, c1, c2 });
    }
    await publishAll(a);
    await Promise.all(
      xs.flatMap(({ c1, c2 }) => [
        a.withdraw({ caseRowId: c1.rowId, entryId: null, now: 5_000 }, commitOf(200)),
        b.withdraw({ caseRowId: c2.rowId, entryId: null, now: 5_000 }, commitOf(200)),
      ]),
    );
    await publishAll(b, 20_000);
    const feed = new Map((await a.readFeed(0, 100_000)).map((r) => [r.value, r]));
    for (const { x } of xs) expect(feed.get(x.value)!.active).toBe(false);
  });

  test("publications from two processes at once: every sequence number once, increasing in feed order, nothing lost", async () => {
    const before = (await a.readFeed(0, 100_000)).length;
    const values = new Set<string>();
    const writes: Promise<unknown>[] = [];
    const pubs: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      const h = pdq();
      values.add(h.value);
      writes.push(createCase(i % 2 ? a : b, [h]));
      if (i % 4 === 0) pubs.push(publishAll(i % 8 ? a : b, 30_000 + i), publishAll(i % 8 ? b : a, 30_000 + i));
    }
    await Promise.all([...writes, ...pubs]);
    await publishAll(a, 40_000);
    const rows = await a.readFeed(0, 100_000);
    expect(rows).toHaveLength(before + 40);
    for (let i = 1; i < rows.length; i++) expect(rows[i].seq).toBeGreaterThan(rows[i - 1].seq);
    expect(rows.filter((r) => values.has(r.value))).toHaveLength(40);
    expect(await a.lastFeedSeq()).toBe(rows[rows.length - 1].seq);
  });

  test("the follower: another process's batches reach this process's index within the measured delay", async () => {
    const seen = new Map<string, { active: boolean; at: number }>();
    const follower = await b.follow(await b.lastFeedSeq(), (changes: HashChange[]) => {
      for (const c of changes) seen.set(c.value, { active: c.active, at: performance.now() });
    });
    try {
      const delays: number[] = [];
      for (let i = 0; i < 10; i++) {
        const h = pdq();
        const c = await createCase(a, [h]);
        let t0 = performance.now();
        await publishAll(a, 50_000 + i);
        while (!seen.get(h.value)?.active) {
          if (performance.now() - t0 > 5_000) throw new Error("not followed within 5 s");
          await new Promise((r) => setTimeout(r, 1));
        }
        delays.push(seen.get(h.value)!.at - t0);
        await a.withdraw({ caseRowId: c.rowId, entryId: null, now: 60_000 }, commitOf(200));
        t0 = performance.now();
        await publishAll(a, 60_000 + i);
        while (seen.get(h.value)!.active) {
          if (performance.now() - t0 > 5_000) throw new Error("withdrawal not followed within 5 s");
          await new Promise((r) => setTimeout(r, 1));
        }
        delays.push(seen.get(h.value)!.at - t0);
      }
      delays.sort((x, y) => x - y);
      const p50 = delays[Math.floor(delays.length / 2)];
      const max = delays[delays.length - 1];
      console.log(`follower delay (publish call to the other process's index, NOTIFY): p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
      // NOTIFY wakes the follower; the 1 s poll is only the fallback
      expect(max).toBeLessThan(1_000);
      expect(follower.lastSeq).toBe(await a.lastFeedSeq());
    } finally {
      await follower.stop();
    }
  });

  test("the follower without notifications: the poll alone keeps it within pollMs", async () => {
    const got: HashChange[] = [];
    const follower = await b.follow(await b.lastFeedSeq(), (changes) => got.push(...changes), { pollMs: 150 });
    try {
      const h = pdq();
      await createCase(a, [h]);
      // publish through a plain connection that sends no NOTIFY: the follower must find it by polling
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query("BEGIN");
        const seq = Number((await c.query("UPDATE counters SET value = value + 1 WHERE name = 'feed_seq' RETURNING value")).rows[0].value);
        await c.query("UPDATE hashes SET active = true, seq = $1, updated_at = 0 WHERE value = $2", [seq, h.value]);
        await c.query("DELETE FROM feed_pending");
        await c.query("COMMIT");
      } finally {
        await c.end();
      }
      const t0 = performance.now();
      while (!got.some((x) => x.value === h.value)) {
        if (performance.now() - t0 > 2_000) throw new Error("the poll did not find it");
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(performance.now() - t0).toBeLessThan(1_000);
    } finally {
      await follower.stop();
    }
  });

  test("daily quotas are shared: writes through two processes at once stop at the limit", async () => {
    const limits = { subject: "shared-addr", day: 30_000, casesPerDay: 7 };
    const outs = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => createCase(i % 2 ? a : b, [pdq()], { limits })));
    expect(outs.filter((o) => o.status === "fulfilled")).toHaveLength(7);
  });
});

describe("PostgreSQL: opening and faults", () => {
  test("a database holding another application's tables is refused unless init; a newer schema is refused", async () => {
    const url = await cluster.createDatabase();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query("CREATE TABLE invoices (id int)");
    await c.end();
    await expect(PostgresStore.open(url)).rejects.toBeInstanceOf(ForeignPostgresError);
    await expect(PostgresStore.open(url)).rejects.toThrow(/invoices.*--init/);
    const s = await PostgresStore.open(url, { init: true });
    await s.close();
    const newer = await PostgresStore.open(url, { migrations: [] }).catch((e) => e);
    expect(newer).toBeInstanceOf(SchemaTooNewError);
  });

  test("unreachable: StorageError unavailable at open, saying where", async () => {
    const err = await PostgresStore.open("postgres://postgres@127.0.0.1:1/nope", { connectTimeoutMs: 500 }).catch((e) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err.kind).toBe("unavailable");
    expect(err.message).toMatch(/127\.0\.0\.1:1\/nope/);
    expect(pgFaultKind({ code: "53100", message: "disk full" })).toBe("full");
    expect(pgFaultKind({ code: "XX001", message: "bad page" })).toBe("corrupt");
    expect(pgFaultKind({ code: "25006", message: "read-only" })).toBe("readonly");
    expect(pgFaultKind({ code: "23505", message: "dup" })).toBeNull();
  });
});
