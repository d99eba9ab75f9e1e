/**
 * The Store contract (src/server/store.ts), as one test suite that runs
 * against every store: test/e2e/store-sqlite.test.ts and
 * test/e2e/store-postgres.test.ts call `storeContract` with a factory that
 * opens a fresh, empty store. Cases, per-case entries, idempotency (also two
 * writes with one key at once), a hash shared by two cases withdrawn only
 * when neither holds it, feed batches (random order, coarse time, cursors,
 * the batching policy), the no-oracle rules, quotas and caps, keys, meta.
 */
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { CanonicalHash } from "../../src/protocol/index.ts";
import { LimitError, type Commit, type Committed, type IdempotencyIntent, type Store, type WriteLimits } from "../../src/server/store.ts";

export interface StoreFactory {
  /** a fresh, empty store */
  open(): Promise<Store>;
  /** called after each test with the store it opened */
  dispose?(store: Store): Promise<void>;
}

const CLIENT = { name: "contract", version: "1" };
let idCounter = 0;
export const newId = (): string => `h_${randomBytes(12).toString("base64url")}${(idCounter++).toString(36)}`.slice(0, 18);
export const pdq = (): CanonicalHash => ({ type: "pdq", value: randomBytes(32).toString("hex") }) as CanonicalHash;

/** A commit answering `status`, with an idempotency record under `key` when given. */
export function commitOf<R>(status = 200, key?: string, now = 1_000): Commit<R> {
  const idempotency: IdempotencyIntent | undefined = key
    ? { keyDigest: key, requestDigest: `req-${key}`, expiresAt: now + 86_400_000, now, seal: (b) => Buffer.from(b, "utf8") }
    : undefined;
  return { idempotency, respond: (r) => ({ status, body: { ok: status < 300, r: JSON.parse(JSON.stringify(r, (_k, v) => (v instanceof Set ? [...v] : v))) } }) };
}

export async function createCase(store: Store, hashes: CanonicalHash[], o: { now?: number; key?: string; limits?: WriteLimits } = {}) {
  const caseId = `c_${randomBytes(16).toString("base64url")}`;
  const out = await store.createCase(
    { caseId, secretHash: "hmac1$x", client: CLIENT, hashes, now: o.now ?? 1_000, newHashId: newId, limits: o.limits },
    commitOf(201, o.key, o.now ?? 1_000),
  );
  if (out.replayed) return { caseId, replayed: out.replayed, rowId: 0, entries: [] };
  return { caseId, replayed: undefined, rowId: out.result.caseRowId, entries: out.result.entries };
}

/** The result of a write that was not a replay. */
function fresh<R>(c: Committed<R>): R {
  if (c.replayed) throw new Error("unexpected replay");
  return c.result;
}

const publishAll = (store: Store, now = 10_000) => store.publishFeed({ now, minCases: 0, maxDelayMs: 0, granularityMs: 60_000 });

async function feed(store: Store) {
  const rows = await store.readFeed(0, 100_000);
  return new Map(rows.map((r) => [r.value, r]));
}

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await factory.open();
    });
    afterEach(async () => {
      if (factory.dispose) await factory.dispose(store);
      else await store.close();
    });

    test("a drawn id that is taken is drawn again: hash ids stay unique across the store, entry ids within a case", async () => {
      const a = await createCase(store, [pdq()]);
      await publishAll(store);
      const taken = (await store.readFeed(0, 10))[0].id;
      // every new id draws `taken` first, twice, then fresh ones
      let draws = 0;
      const sticky = () => (draws++ < 2 ? taken : newId());
      const [y, z] = [pdq(), pdq()];
      const caseId = `c_${randomBytes(16).toString("base64url")}`;
      const out = await store.createCase({ caseId, secretHash: "hmac1$x", client: CLIENT, hashes: [y, z], now: 1_000, newHashId: sticky }, commitOf(201));
      const entries = fresh(out).entries.map((e) => e.entryId);
      expect(new Set(entries).size).toBe(2);
      await publishAll(store, 20_000);
      const ids = (await store.readFeed(0, 10)).map((r) => r.id);
      expect(ids.length).toBe(3);
      expect(new Set(ids).size).toBe(3);
      expect((await store.getCase(a.rowId))!.hashes.length).toBe(1);
      // a new case of hashes the store already has: only entry ids are drawn, and they collide with each other
      draws = 0;
      const again = await store.createCase(
        { caseId: `c_${randomBytes(16).toString("base64url")}`, secretHash: "hmac1$x", client: CLIENT, hashes: [y, z], now: 1_000, newHashId: () => (draws++ < 3 ? "h_same" : newId()) },
        commitOf(201),
      );
      expect(new Set(fresh(again).entries.map((e) => e.entryId)).size).toBe(2);
      // and the same when hashes are added to a case that already has entries
      draws = 0;
      const more = await store.addHashes({ caseRowId: fresh(out).caseRowId, hashes: [pdq()], now: 2_000, newHashId: () => (draws++ < 2 ? entries[draws - 1] : newId()) }, commitOf(200));
      expect(entries).not.toContain(fresh(more).entries[0].entryId);
    });

    test("a case: one entry per distinct value in input order, its own entry ids, status and auth", async () => {
      const [a, b] = [pdq(), pdq()];
      const c = await createCase(store, [a, b, a]);
      expect(c.entries.map((e) => e.value)).toEqual([a.value, b.value, a.value]);
      expect(c.entries[0].entryId).toBe(c.entries[2].entryId);
      expect(c.entries[0].entryId).not.toBe(c.entries[1].entryId);
      const auth = await store.getCaseAuth(c.caseId);
      expect(auth).toEqual({ rowId: c.rowId, secretHash: "hmac1$x" });
      expect(await store.getCaseAuth("c_nope")).toBeNull();
      await store.setCaseSecretHash(c.rowId, "hmac1$y");
      expect((await store.getCaseAuth(c.caseId))!.secretHash).toBe("hmac1$y");
      const view = (await store.getCase(c.rowId))!;
      expect(view.status).toBe("active");
      expect(view.createdAt).toBe(1_000);
      expect(view.hashes.map((h) => [h.id, h.value, h.active])).toEqual([
        [c.entries[0].entryId, a.value, true],
        [c.entries[1].entryId, b.value, true],
      ]);
      // entry ids are not the feed ids
      await publishAll(store);
      const f = await feed(store);
      expect(f.get(a.value)!.id).not.toBe(c.entries[0].entryId);
      expect(await store.getCase(999_999)).toBeNull();
    });

    test("addHashes keeps a held value's entry and re-activates a withdrawn one", async () => {
      const [a, b, x] = [pdq(), pdq(), pdq()];
      const c = await createCase(store, [a, b]);
      const w = await store.withdraw({ caseRowId: c.rowId, entryId: c.entries[1].entryId, now: 2_000 }, commitOf(200));
      expect(w.replayed).toBeUndefined();
      const out = await store.addHashes({ caseRowId: c.rowId, hashes: [b, a, x], now: 3_000, newHashId: newId }, commitOf(200));
      if (out.replayed) throw new Error("replayed");
      expect(out.result.entries[0].entryId).toBe(c.entries[1].entryId);
      expect(out.result.entries[1].entryId).toBe(c.entries[0].entryId);
      const view = (await store.getCase(c.rowId))!;
      expect(view.hashes.map((h) => [h.value, h.active])).toEqual([
        [a.value, true],
        [b.value, true],
        [x.value, true],
      ]);
    });

    test("idempotency: a key makes one write; the second call replays the record; a non-2xx answer keeps none; an expired one is replaced", async () => {
      const a = pdq();
      const first = await createCase(store, [a], { key: "k1" });
      expect(first.replayed).toBeUndefined();
      const again = await createCase(store, [pdq()], { key: "k1" });
      expect(again.replayed).toBeDefined();
      expect(again.replayed!.status).toBe(201);
      expect(again.replayed!.requestDigest).toBe("req-k1");
      expect(JSON.parse(again.replayed!.sealed.toString("utf8")).r.caseId).toBe(first.caseId);
      expect(await store.getCaseAuth(again.caseId)).toBeNull();
      expect(await store.getIdempotency("k1", 1_000)).toMatchObject({ status: 201, requestDigest: "req-k1" });
      expect(await store.getIdempotency("k1", 1_000 + 86_400_000)).toBeNull();

      // a 404 answer (withdrawing an entry the case does not have) keeps no record: the key can be used again
      const miss = await store.withdraw({ caseRowId: first.rowId, entryId: "h_none", now: 1_000 }, commitOf(404, "k2"));
      expect(miss.replayed).toBeUndefined();
      if (!miss.replayed) expect(miss.result.found).toBe(false);
      expect(await store.getIdempotency("k2", 1_000)).toBeNull();
      const hit = await store.withdraw({ caseRowId: first.rowId, entryId: null, now: 1_000 }, commitOf(200, "k2"));
      expect(hit.replayed).toBeUndefined();

      // past its expiry the record is dead: the key makes a new write, and purge forgets old records
      const later = 1_000 + 86_400_000 + 1;
      const fresh = await createCase(store, [pdq()], { key: "k1", now: later });
      expect(fresh.replayed).toBeUndefined();
      expect(await store.getCaseAuth(fresh.caseId)).not.toBeNull();
      expect(await store.purgeIdempotency(later + 2 * 86_400_000)).toBeGreaterThanOrEqual(2);
      expect(await store.getIdempotency("k1", later)).toBeNull();
    });

    test("idempotency: writes with one key sent at once make one case; writes with their own keys all land", async () => {
      const same = await Promise.all(Array.from({ length: 8 }, () => createCase(store, [pdq()], { key: "together" })));
      expect(same.filter((r) => !r.replayed)).toHaveLength(1);
      const owner = same.find((r) => !r.replayed)!;
      for (const r of same.filter((x) => x.replayed)) expect(JSON.parse(r.replayed!.sealed.toString("utf8")).r.caseId).toBe(owner.caseId);
      const own = await Promise.all(Array.from({ length: 8 }, (_, i) => createCase(store, [pdq()], { key: `own-${i}` })));
      expect(own.every((r) => !r.replayed)).toBe(true);
      expect(new Set(own.map((r) => r.caseId)).size).toBe(8);
    });

    test("a hash shared by two cases leaves the feed only when neither holds it", async () => {
      const x = pdq();
      const c1 = await createCase(store, [x]);
      const c2 = await createCase(store, [x]);
      expect(c2.entries[0].entryId).not.toBe(c1.entries[0].entryId);
      await publishAll(store);
      const id = (await feed(store)).get(x.value)!.id;
      expect((await feed(store)).get(x.value)!.active).toBe(true);
      await store.withdraw({ caseRowId: c1.rowId, entryId: c1.entries[0].entryId, now: 2_000 }, commitOf(200));
      expect((await store.pendingFeed()).changes).toBe(0);
      await publishAll(store, 20_000);
      expect((await feed(store)).get(x.value)!.active).toBe(true);
      expect((await store.getCase(c1.rowId))!.status).toBe("withdrawn");
      await store.withdraw({ caseRowId: c2.rowId, entryId: null, now: 3_000 }, commitOf(200));
      expect((await store.pendingFeed()).changes).toBe(1);
      const p = await publishAll(store, 30_000);
      expect(p.changes).toEqual([expect.objectContaining({ id, value: x.value, active: false })]);
      expect((await feed(store)).get(x.value)).toMatchObject({ id, active: false });
      // back again: the same feed id, active
      await store.addHashes({ caseRowId: c1.rowId, hashes: [x], now: 4_000, newHashId: newId }, commitOf(200));
      await publishAll(store, 40_000);
      expect((await feed(store)).get(x.value)).toMatchObject({ id, active: true });
    });

    test("two cases withdrawing one shared hash at once: it leaves the feed (repeated)", async () => {
      for (let round = 0; round < 6; round++) {
        const x = pdq();
        const cs = await Promise.all([createCase(store, [x, pdq()]), createCase(store, [pdq(), x])]);
        await publishAll(store);
        await Promise.all(cs.map((c) => store.withdraw({ caseRowId: c.rowId, entryId: null, now: 5_000 }, commitOf(200))));
        await publishAll(store, 50_000);
        expect((await feed(store)).get(x.value)!.active).toBe(false);
      }
    });

    test("the feed: batches in random order with one coarse time, increasing sequence numbers, pages by cursor", async () => {
      const values: string[] = [];
      for (let i = 0; i < 40; i++) {
        const h = pdq();
        values.push(h.value);
        await createCase(store, [h], { now: 1_000 + i });
      }
      const p = await store.publishFeed({ now: 125_000, minCases: 1, maxDelayMs: 0, granularityMs: 60_000 });
      expect(p.published).toBe(true);
      expect(p.cases).toBe(40);
      const rows = await store.readFeed(0, 1000);
      expect(rows).toHaveLength(40);
      expect(p.changes.map((c) => c.value)).toEqual(rows.map((r) => r.value));
      expect(rows.every((r) => r.updatedAt === 120_000 && r.active)).toBe(true);
      for (let i = 1; i < rows.length; i++) expect(rows[i].seq).toBeGreaterThan(rows[i - 1].seq);
      // random order: not the order of creation (1 chance in 40! of a false failure)
      expect(rows.map((r) => r.value)).not.toEqual(values);
      expect(new Set(rows.map((r) => r.value))).toEqual(new Set(values));
      // pages: limit + 1 tells whether more wait; a cursor continues exactly after the last seq
      const page1 = await store.readFeed(0, 11);
      expect(page1).toHaveLength(11);
      const page2 = await store.readFeed(page1[9].seq, 10);
      expect(page2.map((r) => r.value)).toEqual(rows.slice(10, 20).map((r) => r.value));
      expect(await store.readFeed(rows[39].seq, 10)).toEqual([]);
      // a later batch: sequence numbers above every earlier one, for a record that changes too
      const c = await createCase(store, [pdq()]);
      await store.withdraw({ caseRowId: c.rowId, entryId: null, now: 2_000 }, commitOf(200));
      const q = await createCase(store, [pdq()]);
      await publishAll(store, 200_000);
      const all = await store.readFeed(0, 1000);
      // created and withdrawn before publication: never in the feed; the new one after every earlier record
      expect(all).toHaveLength(41);
      expect(all[40].value).toBe((await store.getCase(q.rowId))!.hashes[0].value);
      expect(all[40].seq).toBeGreaterThan(rows[39].seq);
      expect(all[40].updatedAt).toBe(180_000);
      // the match index's view: active hashes by row id, in pages
      const active = await store.activeHashes(0, 15);
      expect(active).toHaveLength(15);
      const rest = await store.activeHashes(active[14].rowId, 1000);
      expect(active.length + rest.length).toBe(41);
      for (let i = 1; i < active.length; i++) expect(active[i].rowId).toBeGreaterThan(active[i - 1].rowId);
    });

    test("batching policy: waits for minCases distinct cases or maxDelay; additions and withdrawals are judged apart", async () => {
      const c1 = await createCase(store, [pdq(), pdq(), pdq()], { now: 1_000 });
      const policy = { minCases: 3, maxDelayMs: 60_000, granularityMs: 60_000 };
      let r = await store.publishFeed({ now: 2_000, ...policy });
      expect(r.published).toBe(false);
      expect(await store.readFeed(0, 10)).toEqual([]);
      expect(await store.pendingFeed()).toEqual({ changes: 3, cases: 1, oldest: 1_000 });
      await createCase(store, [pdq()], { now: 3_000 });
      r = await store.publishFeed({ now: 4_000, ...policy });
      expect(r.published).toBe(false);
      await createCase(store, [pdq()], { now: 5_000 });
      r = await store.publishFeed({ now: 6_000, ...policy });
      expect(r.published).toBe(true);
      expect(r.cases).toBe(3);
      expect(r.changes).toHaveLength(5);
      expect(await store.pendingFeed()).toEqual({ changes: 0, cases: 0, oldest: null });
      // one case withdraws: waits; past maxDelay it goes out alone
      await store.withdraw({ caseRowId: c1.rowId, entryId: null, now: 10_000 }, commitOf(200));
      await createCase(store, [pdq()], { now: 10_000 });
      await createCase(store, [pdq()], { now: 10_000 });
      r = await store.publishFeed({ now: 11_000, ...policy });
      expect(r.published).toBe(false); // 3 cases pending, but the withdrawals come from one and the additions from two
      r = await store.publishFeed({ now: 70_000, ...policy });
      expect(r.published).toBe(true);
      expect(r.changes.filter((c) => !c.active)).toHaveLength(3);
      expect(r.changes.filter((c) => c.active)).toHaveLength(2);
    });

    test("batching policy: withdrawals wait withdrawMaxDelayMs for other cases' withdrawals, additions only maxDelayMs", async () => {
      const a = await createCase(store, [pdq(), pdq()], { now: 1_000 });
      const b = await createCase(store, [pdq()], { now: 1_000 });
      await createCase(store, [pdq()], { now: 1_000 });
      await publishAll(store, 2_000);
      const policy = { minCases: 3, maxDelayMs: 60_000, withdrawMaxDelayMs: 600_000, granularityMs: 60_000 };
      // one case withdraws, one other case adds a hash: both wait
      await store.withdraw({ caseRowId: a.rowId, entryId: null, now: 10_000 }, commitOf(200));
      await createCase(store, [pdq()], { now: 10_000 });
      let r = await store.publishFeed({ now: 20_000, ...policy });
      expect(r.published).toBe(false);
      // past maxDelayMs: the addition goes out, the withdrawals keep waiting
      r = await store.publishFeed({ now: 70_000, ...policy });
      expect(r.published).toBe(true);
      expect(r.changes.map((c) => c.active)).toEqual([true]);
      expect(await store.pendingFeed()).toEqual({ changes: 2, cases: 1, oldest: 10_000 });
      r = await store.publishFeed({ now: 609_000, ...policy });
      expect(r.published).toBe(false);
      // a second case's withdrawal joins; past withdrawMaxDelayMs they go out together (fewer than minCases)
      await store.withdraw({ caseRowId: b.rowId, entryId: null, now: 609_500 }, commitOf(200));
      r = await store.publishFeed({ now: 610_000, ...policy });
      expect(r.published).toBe(true);
      expect(r.changes.map((c) => c.active)).toEqual([false, false, false]);
      expect(r.cases).toBe(2);
    });

    test("no oracle: a second case holding a hash gets its own entry and sees only feedback given after it joined", async () => {
      const x = pdq();
      const c1 = await createCase(store, [x], { now: 1_000 });
      // feedback on an id not yet published: unknown
      const early = await store.recordFeedback({ keyId: 0, items: [{ id: c1.entries[0].entryId, verdict: "blocked", tags: [] }], now: 1_100 }, commitOf(200));
      if (early.replayed) throw new Error("replayed");
      expect([...early.result.unknown]).toEqual([0]);
      await publishAll(store);
      const feedId = (await feed(store)).get(x.value)!.id;
      const k1 = await store.createApiKey({ name: "p1", keyHash: "kh1", scopes: ["feedback:write"], now: 1_000 });
      const k2 = await store.createApiKey({ name: "p2", keyHash: "kh2", scopes: ["feedback:write"], now: 1_000 });
      const fb = await store.recordFeedback(
        { keyId: k1.id, items: [{ id: feedId, verdict: "blocked", tags: ["a"] }, { id: "h_unknown", verdict: "blocked", tags: [] }], now: 2_000 },
        commitOf(200),
      );
      if (fb.replayed) throw new Error("replayed");
      expect([...fb.result.unknown]).toEqual([1]);
      expect((await store.getCase(c1.rowId))!.hashes[0].feedback).toEqual({ blocked: 1, notBlocked: 0, pendingReview: 0 });
      const c2 = await createCase(store, [x], { now: 3_000 });
      expect(c2.entries[0].entryId).not.toBe(feedId);
      expect(c2.entries[0].entryId).not.toBe(c1.entries[0].entryId);
      expect((await store.getCase(c2.rowId))!.hashes[0].feedback).toEqual({ blocked: 0, notBlocked: 0, pendingReview: 0 });
      // the second case's writes left nothing pending (the hash is held): nothing about it shows in the feed either
      expect((await store.pendingFeed()).changes).toBe(0);
      await store.recordFeedback({ keyId: k2.id, items: [{ id: feedId, verdict: "not_blocked", tags: [] }], now: 4_000 }, commitOf(200));
      expect((await store.getCase(c2.rowId))!.hashes[0].feedback).toEqual({ blocked: 0, notBlocked: 1, pendingReview: 0 });
      expect((await store.getCase(c1.rowId))!.hashes[0].feedback).toEqual({ blocked: 1, notBlocked: 1, pendingReview: 0 });
      // a platform's new verdict replaces its old one (and its time)
      await store.recordFeedback({ keyId: k1.id, items: [{ id: feedId, verdict: "pending_review", tags: [] }], now: 5_000 }, commitOf(200));
      expect((await store.getCase(c2.rowId))!.hashes[0].feedback).toEqual({ blocked: 0, notBlocked: 1, pendingReview: 1 });
    });

    test("quotas and the per-case cap are checked in the write: over a limit nothing is stored", async () => {
      const limits: WriteLimits = { subject: "addr-1", day: 20_000, casesPerDay: 2, hashesPerDay: 5, hashesPerCase: 4 };
      const c = await createCase(store, [pdq(), pdq()], { limits });
      await createCase(store, [pdq()], { limits });
      const third = createCase(store, [pdq()], { limits });
      await expect(third).rejects.toBeInstanceOf(LimitError);
      await expect(third).rejects.toMatchObject({ limit: "cases_per_day", max: 2, used: 2 });
      // the hashes-per-day quota: 3 used, 2 left
      const tooMany = store.addHashes(
        { caseRowId: c.rowId, hashes: [pdq(), pdq(), pdq()], now: 2_000, newHashId: newId, limits: { ...limits, hashesPerCase: undefined } },
        commitOf(200),
      );
      await expect(tooMany).rejects.toMatchObject({ limit: "hashes_per_day", max: 5, used: 3 });
      expect((await store.getCase(c.rowId))!.hashes).toHaveLength(2);
      // the cap of a case: 2 held, 2 more fit, a third does not (counted before the daily quota of another subject)
      const cap = store.addHashes(
        { caseRowId: c.rowId, hashes: [pdq(), pdq(), pdq()], now: 2_000, newHashId: newId, limits: { ...limits, subject: "addr-2" } },
        commitOf(200),
      );
      await expect(cap).rejects.toMatchObject({ limit: "hashes_per_case", max: 4, used: 2 });
      const ok = await store.addHashes({ caseRowId: c.rowId, hashes: [pdq(), pdq()], now: 2_000, newHashId: newId, limits }, commitOf(200));
      expect(ok.replayed).toBeUndefined();
      expect((await store.getCase(c.rowId))!.hashes).toHaveLength(4);
      // nothing of the refused writes reached the feed
      expect((await store.pendingFeed()).changes).toBe(5);
      // another day, another count; another subject, its own
      expect((await createCase(store, [pdq()], { limits: { ...limits, day: 20_001 } })).replayed).toBeUndefined();
      expect((await createCase(store, [pdq()], { limits: { ...limits, subject: "addr-3" } })).replayed).toBeUndefined();
    });

    test("quotas hold for writes sent at once", async () => {
      const limits: WriteLimits = { subject: "burst", day: 20_000, casesPerDay: 5 };
      const outs = await Promise.allSettled(Array.from({ length: 12 }, () => createCase(store, [pdq()], { limits })));
      expect(outs.filter((o) => o.status === "fulfilled")).toHaveLength(5);
      for (const o of outs) if (o.status === "rejected") expect(o.reason).toBeInstanceOf(LimitError);
    });

    test("API keys, meta and the probe", async () => {
      const k = await store.createApiKey({ name: "acme", keyHash: "h-acme", scopes: ["feed:read", "lookup"], now: 7 });
      expect(k).toMatchObject({ name: "acme", scopes: ["feed:read", "lookup"], createdAt: 7, revokedAt: null });
      expect(await store.findApiKey("h-acme")).toEqual(k);
      expect(await store.findApiKey("nope")).toBeNull();
      await expect(store.createApiKey({ name: "acme", keyHash: "h-2", scopes: [], now: 8 })).rejects.toThrow();
      const other = await store.createApiKey({ name: "other", keyHash: "h-other", scopes: [], now: 9 });
      expect((await store.listApiKeys()).map((x) => x.name)).toEqual(["acme", "other"]);
      expect(await store.revokeApiKey(String(k.id), 10)).toMatchObject({ id: k.id, revokedAt: 10 });
      expect(await store.revokeApiKey(String(k.id), 11)).toBeNull();
      expect(await store.revokeApiKey("other", 12)).toMatchObject({ id: other.id, revokedAt: 12 });
      // a revoked key's name can be used again
      expect((await store.createApiKey({ name: "acme", keyHash: "h-3", scopes: [], now: 13 })).id).not.toBe(k.id);
      expect(await store.getMeta("x")).toBeNull();
      await store.setMeta("x", "1");
      await store.setMeta("x", "2");
      expect(await store.getMeta("x")).toBe("2");
      // setMetaOnce: the first value stays (what the server key's fingerprint relies on)
      expect(await store.setMetaOnce("once", "a")).toBe("a");
      expect(await store.setMetaOnce("once", "b")).toBe("a");
      expect(await store.getMeta("once")).toBe("a");
      await store.probe(99);
    });

    test("shared limits (rule 7), when the store offers them: token buckets and failed-secret counts", async () => {
      const l = store.limits;
      if (!l) {
        // a one-process store: the server counts in memory; nothing to check here
        expect(store.kind).toBe("sqlite");
        return;
      }
      const lim = { burst: 3, perSecond: 0.5 };
      const t = 1_000_000;
      const take = (name: string, key: string, at: number, want = 1) => l.takeTokens(name, key, lim, at, want);
      // a new bucket starts full: 3 takes, then a refusal that says when (2 s per token), which takes nothing
      for (let i = 0; i < 3; i++) expect(await take("a", "k", t)).toEqual({ taken: 1, waitMs: 0 });
      expect(await take("a", "k", t)).toEqual({ taken: 0, waitMs: 2000 });
      expect(await take("a", "k", t + 1000)).toEqual({ taken: 0, waitMs: 1000 });
      expect(await take("a", "k", t + 2000)).toEqual({ taken: 1, waitMs: 0 });
      // buckets are per name and key
      expect((await take("a", "other", t)).taken).toBe(1);
      expect((await take("b", "k", t)).taken).toBe(1);
      // a lease: as many whole tokens as the bucket holds, at most the number asked for
      expect((await take("d", "k", t, 2)).taken).toBe(2);
      expect((await take("d", "k", t, 2)).taken).toBe(1);
      expect((await take("d", "k", t, 2)).taken).toBe(0);
      // 20 takes at once from one bucket of 5: exactly 5 tokens go out
      const many = await Promise.all(Array.from({ length: 20 }, () => l.takeTokens("c", "k", { burst: 5, perSecond: 0.001 }, t, 1)));
      expect(many.reduce((n, x) => n + x.taken, 0)).toBe(5);
      // failed secrets
      const policy = { free: 2, maxWaitSeconds: 60, forgetAfterMs: 3_600_000 };
      expect(await l.secretFailures("c_x")).toBeNull();
      expect(await l.addSecretFailure("c_x", t, policy.forgetAfterMs)).toBe(1);
      expect(await l.addSecretFailure("c_x", t + 10, policy.forgetAfterMs)).toBe(2);
      expect(await l.secretFailures("c_x")).toEqual({ n: 2, last: t + 10 });
      // throttled: 2^(2-2) = 1 s after the last; claims before that fail, one claim after it wins (of 10 at once)
      expect(await l.claimSecretAttempt("c_x", t + 500, policy)).toBe(false);
      const claims = await Promise.all(Array.from({ length: 10 }, () => l.claimSecretAttempt("c_x", t + 1010, policy)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await l.secretFailures("c_x")).toEqual({ n: 3, last: t + 1010 });
      // the next wait is 2 s
      expect(await l.claimSecretAttempt("c_x", t + 2500, policy)).toBe(false);
      expect(await l.claimSecretAttempt("c_x", t + 3010, policy)).toBe(true);
      // a count quiet for longer than forgetAfterMs starts again
      expect(await l.addSecretFailure("c_x", t + 3010 + 3_600_001, policy.forgetAfterMs)).toBe(1);
      await l.clearSecretFailures("c_x");
      expect(await l.secretFailures("c_x")).toBeNull();
    });
  });
}
