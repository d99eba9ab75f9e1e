/**
 * PostgresStore.createCase in one call (migration 3, hashsafe_create_case):
 * taken when no quota is counted and the answer does not depend on the case's
 * row id, as the server's does (the store contract suite's answers include the
 * row id, so it covers the multi-statement path). The same rows, feed, entries,
 * idempotency answers and per-case cap as that path.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { CanonicalHash } from "../../src/protocol/index.ts";
import { PostgresStore } from "../../src/server/pg-store.ts";
import { type CaseHashesResult, type Commit, LimitError, type WriteLimits } from "../../src/server/store.ts";
import { newId, pdq } from "../suites/store-contract.ts";
import { type PgCluster, startPg } from "./pg-support.ts";

const CLIENT = { name: "t", version: "1" };
let cluster: PgCluster;
let url: string;
let a: PostgresStore;
let b: PostgresStore;

/** Like the server's: the answer names the case by its public id, never its row id. */
function commit(status: number, key?: string, now = 1_000): Commit<CaseHashesResult> {
  return {
    idempotency: key ? { keyDigest: key, requestDigest: `req-${key}`, expiresAt: now + 86_400_000, now, seal: (s) => Buffer.from(s, "utf8") } : undefined,
    respond: (r) => ({ status, body: { caseId: r.caseId, entries: r.entries } }),
  };
}

async function create(store: PostgresStore, hashes: CanonicalHash[], o: { key?: string; status?: number; limits?: WriteLimits; now?: number } = {}) {
  const caseId = `c_${randomBytes(16).toString("base64url")}`;
  const out = await store.createCase(
    { caseId, secretHash: "hmac1$x", client: CLIENT, hashes, now: o.now ?? 1_000, newHashId: newId, limits: o.limits },
    commit(o.status ?? 201, o.key, o.now ?? 1_000),
  );
  return { caseId, out };
}

const count = async (table: string) => (await a.readQuery<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0].n;
const publishAll = (now: number) => a.publishFeed({ now, minCases: 0, maxDelayMs: 0, granularityMs: 1000 });

beforeAll(async () => {
  cluster = await startPg();
  url = await cluster.createDatabase();
  [a, b] = await Promise.all([PostgresStore.open(url, { poolSize: 6 }), PostgresStore.open(url, { poolSize: 6 })]);
}, 60_000);
afterAll(async () => {
  await a?.close();
  await b?.close();
  cluster?.stop();
});

describe("PostgreSQL: a new case in one call", () => {
  test("one entry per distinct value in input order; new values pending for the feed; a value another case holds is not", async () => {
    const [x, y] = [pdq(), pdq()];
    const casesBefore = await count("cases");
    const { caseId, out } = await create(a, [x, y, x]);
    expect(out.replayed).toBeUndefined();
    if (out.replayed) return;
    expect(out.answer.status).toBe(201);
    expect(out.result.caseId).toBe(caseId);
    expect(out.result.entries.map((e) => e.value)).toEqual([x.value, y.value, x.value]);
    expect(out.result.entries[0].entryId).toBe(out.result.entries[2].entryId);
    expect(out.result.entries[0].entryId).not.toBe(out.result.entries[1].entryId);
    expect(await count("cases")).toBe(casesBefore + 1);
    const auth = await a.getCaseAuth(caseId);
    expect(auth).toEqual({ rowId: out.result.caseRowId, secretHash: "hmac1$x" });
    const view = (await a.getCase(out.result.caseRowId))!;
    expect(view.hashes.map((h) => [h.id, h.value, h.active])).toEqual([
      [out.result.entries[0].entryId, x.value, true],
      [out.result.entries[1].entryId, y.value, true],
    ]);
    expect(await a.pendingFeed()).toMatchObject({ changes: 2, cases: 1 });
    const p = await publishAll(10_000);
    expect(p.changes.map((c) => c.value).sort()).toEqual([x.value, y.value].sort());
    expect(await a.pendingFeed()).toMatchObject({ changes: 0 });

    // a second case (through the other process) holding x and a new z: only z is pending; its own entry for x
    const z = pdq();
    const second = await create(b, [z, x]);
    if (second.out.replayed) throw new Error("replayed");
    expect(second.out.result.entries[1].entryId).not.toBe(out.result.entries[0].entryId);
    expect(await a.pendingFeed()).toMatchObject({ changes: 1, cases: 1 });
    const p2 = await publishAll(20_000);
    expect(p2.changes.map((c) => c.value)).toEqual([z.value]);
  });

  test("idempotency: a second call with the key replays the sealed answer and writes nothing; a non-2xx answer keeps no record", async () => {
    const first = await create(a, [pdq()], { key: "one-1" });
    if (first.out.replayed) throw new Error("replayed");
    const cases = await count("cases");
    const again = await create(b, [pdq()], { key: "one-1" });
    expect(again.out.replayed).toMatchObject({ status: 201, requestDigest: "req-one-1" });
    expect(JSON.parse(again.out.replayed!.sealed.toString("utf8"))).toEqual(first.out.answer.body);
    expect(await a.getCaseAuth(again.caseId)).toBeNull();
    expect(await count("cases")).toBe(cases);
    expect(await a.getIdempotency("one-1", 1_000)).toMatchObject({ status: 201 });

    const odd = await create(a, [pdq()], { key: "one-2", status: 409 });
    expect(odd.out.replayed).toBeUndefined();
    expect(await a.getIdempotency("one-2", 1_000)).toBeNull();
    const reuse = await create(a, [pdq()], { key: "one-2" });
    expect(reuse.out.replayed).toBeUndefined();

    // past its expiry the key makes a new case
    const later = await create(a, [pdq()], { key: "one-1", now: 1_000 + 86_400_000 + 1 });
    expect(later.out.replayed).toBeUndefined();
    expect(await a.getCaseAuth(later.caseId)).not.toBeNull();
  });

  test("one key sent 10 times at once through two processes: one case, every other call replays it", async () => {
    for (let round = 0; round < 3; round++) {
      const key = `together-${round}`;
      const cases = await count("cases");
      const all = await Promise.all(Array.from({ length: 10 }, (_, i) => create(i % 2 ? a : b, [pdq()], { key })));
      const made = all.filter((r) => !r.out.replayed);
      expect(made).toHaveLength(1);
      for (const r of all.filter((r) => r.out.replayed)) {
        expect(JSON.parse(r.out.replayed!.sealed.toString("utf8")).caseId).toBe(made[0].caseId);
      }
      expect(await count("cases")).toBe(cases + 1);
    }
  });

  test("the per-case cap: over it a LimitError and nothing stored (not the case, not the key)", async () => {
    const cases = await count("cases");
    const hashes = await count("hashes");
    const err = await create(a, [pdq(), pdq(), pdq()], { key: "capped", limits: { hashesPerCase: 2 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitError);
    expect(err).toMatchObject({ limit: "hashes_per_case", max: 2, used: 0 });
    expect(await count("cases")).toBe(cases);
    expect(await count("hashes")).toBe(hashes);
    expect(await a.getIdempotency("capped", 1_000)).toBeNull();
    const ok = await create(a, [pdq(), pdq()], { key: "capped", limits: { hashesPerCase: 2 } });
    expect(ok.out.replayed).toBeUndefined();
  });
});
