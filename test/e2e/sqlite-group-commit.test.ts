/**
 * SqliteStore group commit: writes that arrive together share one transaction
 * and one commit, each in its own savepoint. What must hold: a write is
 * answered only when it is committed (it is in the file after a reopen), a
 * write that fails leaves nothing and does not take the others down, one
 * Idempotency-Key in one group still makes one case, and when the disk fills
 * in the middle of a group every answered write is there and every refused
 * one is not.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import type { CanonicalHash } from "../../src/protocol/index.ts";
import { SqliteStore } from "../../src/server/sqlite-store.ts";
import { LimitError, StorageError, type WriteLimits } from "../../src/server/store.ts";
import { commitOf, newId, pdq } from "../suites/store-contract.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "hashsafe-group-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CLIENT = { name: "t", version: "1" };

function create(store: SqliteStore, hashes: CanonicalHash[], o: { key?: string; limits?: WriteLimits } = {}) {
  const caseId = `c_${randomBytes(16).toString("base64url")}`;
  return {
    caseId,
    out: store.createCase({ caseId, secretHash: "hmac1$x", client: CLIENT, hashes, now: 1_000, newHashId: newId, limits: o.limits }, commitOf(201, o.key)),
  };
}

const cases = (s: SqliteStore) => s.readQuery<{ n: number }>("SELECT count(*) AS n FROM cases")[0].n;

describe("SQLite: writes sent together share one commit", () => {
  test("30 creations at once: the ones over the per-case cap fail alone, one key makes one case, every answered case is in the file after a reopen", async () => {
    const file = path.join(dir, "a.db");
    let store = SqliteStore.open(file);
    const calls = Array.from({ length: 30 }, (_, i) =>
      i % 7 === 3
        ? { ...create(store, [pdq(), pdq(), pdq()], { limits: { hashesPerCase: 2 } }), capped: true, keyed: false }
        : i % 5 === 0
          ? { ...create(store, [pdq()], { key: "shared" }), capped: false, keyed: true }
          : { ...create(store, [pdq(), pdq()]), capped: false, keyed: false },
    );
    const settled = await Promise.allSettled(calls.map((c) => c.out));
    let made = 0;
    const sharedIds = new Set<string>();
    for (const [i, r] of settled.entries()) {
      const c = calls[i];
      if (c.capped) {
        expect(r.status).toBe("rejected");
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(LimitError);
        expect(await store.getCaseAuth(c.caseId)).toBeNull();
        continue;
      }
      expect(r.status).toBe("fulfilled");
      const v = (r as PromiseFulfilledResult<Awaited<typeof c.out>>).value;
      if (c.keyed) {
        const owner = v.replayed ? (JSON.parse(v.replayed.sealed.toString("utf8")) as { r: { caseId: string } }).r.caseId : c.caseId;
        sharedIds.add(owner);
        if (!v.replayed) made++;
      } else {
        expect(v.replayed).toBeUndefined();
        made++;
      }
    }
    expect(sharedIds.size).toBe(1);
    expect(cases(store)).toBe(made);
    await store.close();
    store = SqliteStore.open(file);
    expect(cases(store)).toBe(made);
    for (const [i, r] of settled.entries()) {
      const c = calls[i];
      if (r.status === "fulfilled" && !(r.value.replayed)) expect(await store.getCaseAuth(c.caseId)).not.toBeNull();
    }
    await store.close();
  });

  test("the disk fills in the middle of a group: every answered case is in the file after a reopen, every refused one is not", async () => {
    const file = path.join(dir, "b.db");
    let store = SqliteStore.open(file);
    for (let i = 0; i < 20; i++) await create(store, [pdq()]).out;
    store.setMaxPageCount(store.pageCount() + 3);
    const calls = Array.from({ length: 60 }, () => create(store, [pdq(), pdq(), pdq()]));
    const settled = await Promise.allSettled(calls.map((c) => c.out));
    const ok = settled.filter((r) => r.status === "fulfilled").length;
    const refused = settled.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.reason).toBeInstanceOf(StorageError);
    expect((refused[0].reason as StorageError).kind).toBe("full");
    await store.close();
    store = SqliteStore.open(file);
    for (const [i, r] of settled.entries()) {
      expect(await store.getCaseAuth(calls[i].caseId), `creation ${i} ${r.status}`).toEqual(r.status === "fulfilled" ? expect.anything() : null);
    }
    expect(cases(store)).toBe(20 + ok);
    // and the store takes writes again once there is room
    store.setMaxPageCount(1_000_000);
    expect((await create(store, [pdq()]).out).replayed).toBeUndefined();
    await store.close();
  });
});
