/**
 * SqliteStore durability with `walSync: "thread"` (the default): SQLite
 * commits without syncing and the store fdatasyncs the WAL on libuv's thread
 * pool before it answers. What must hold: no write is answered, and no read
 * shows it, before an fdatasync of this database's WAL that began after its
 * commit has finished; one sync runs at a time and covers every commit made
 * while it waits; a failed sync is a StorageError "io" (the write is
 * committed, and a retry with its idempotency key gets its answer); "inline"
 * is SQLite's own FULL.
 *
 * The real fdatasync runs every time; the test only holds its callback back
 * (or, once, reports EIO instead of calling it) by wrapping `fs.fdatasync`,
 * the function the store calls.
 */
import fs, { mkdtempSync, readlinkSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { SqliteStore } from "../../src/server/sqlite-store.ts";
import { StorageError } from "../../src/server/store.ts";
import { commitOf, createCase, pdq } from "../suites/store-contract.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "hashsafe-walsync-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const realFdatasync = fs.fdatasync;
afterEach(() => {
  fs.fdatasync = realFdatasync;
});

type Held = { fd: number; done: () => void };
/** Wrap fs.fdatasync: each call syncs for real, then waits in `held` until released (or fails with `fail`). */
function holdSyncs(o: { fail?: () => NodeJS.ErrnoException | null } = {}) {
  const held: Held[] = [];
  let calls = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  fs.fdatasync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    calls++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    realFdatasync(fd, (err) => {
      held.push({
        fd,
        done: () => {
          inFlight--;
          cb(err ?? o.fail?.() ?? null);
        },
      });
    });
  }) as typeof fs.fdatasync;
  return {
    held,
    calls: () => calls,
    maxInFlight: () => maxInFlight,
    /** release every sync held now */
    release: () => {
      for (const h of held.splice(0)) h.done();
    },
  };
}

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));
const state = <T>(p: Promise<T>) => {
  const s = { settled: false };
  p.then(
    () => (s.settled = true),
    () => (s.settled = true),
  );
  return s;
};

describe("SQLite: a write is answered once its commit is on disk", () => {
  test("creations and the reads that could see them wait for an fdatasync of this database's WAL that began after the commit", async () => {
    const file = path.join(dir, "a.db");
    const store = SqliteStore.open(file);
    expect(store.readQuery<{ synchronous: number }>("PRAGMA synchronous")[0].synchronous).toBe(1); // NORMAL: SQLite itself does not sync the commit
    const syncs = holdSyncs();
    const first = createCase(store, [pdq(), pdq()]);
    const s1 = state(first);
    await tick();
    expect(syncs.held.length).toBe(1);
    expect(readlinkSync(`/proc/self/fd/${syncs.held[0].fd}`)).toBe(`${path.resolve(file)}-wal`);
    expect(s1.settled).toBe(false);
    // while that sync is held: more creations commit, and a read of the feed waits as well
    const more = Array.from({ length: 5 }, () => createCase(store, [pdq()]));
    const sMore = more.map(state);
    await tick();
    const feed = store.readFeed(0, 100);
    const sFeed = state(feed);
    await tick();
    expect(sMore.some((s) => s.settled)).toBe(false);
    expect(sFeed.settled).toBe(false);
    expect(syncs.calls()).toBe(1); // one sync at a time
    syncs.release(); // the first sync began before the five commits: it answers the first creation only
    await first;
    await tick();
    expect(sMore.some((s) => s.settled)).toBe(false);
    expect(syncs.held.length).toBe(1); // one sync for all five
    syncs.release();
    await Promise.all([...more, feed]);
    expect(syncs.calls()).toBe(2);
    expect(syncs.maxInFlight()).toBe(1);
    await store.close();
  });

  test("a failed fdatasync: the write is refused as StorageError io, it is committed, and a retry with its key gets the answer", async () => {
    const file = path.join(dir, "b.db");
    const store = SqliteStore.open(file);
    let failNext = true;
    const syncs = holdSyncs({
      fail: () => {
        if (!failNext) return null;
        failNext = false;
        return Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });
      },
    });
    const caseId = "c_AAAAAAAAAAAAAAAAAAAAAA";
    const input = { caseId, secretHash: "hmac1$x", client: { name: "t", version: "1" }, hashes: [pdq()], now: 1_000, newHashId: () => `h_${Math.random().toString(36).slice(2, 14)}` };
    const out = store.createCase(input, commitOf(201, "key-1"));
    await tick();
    syncs.release();
    const err = await out.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).kind).toBe("io");
    const retry = store.createCase({ ...input, caseId: "c_BBBBBBBBBBBBBBBBBBBBBB" }, commitOf(201, "key-1"));
    await tick();
    syncs.release();
    const again = await retry;
    expect(again.replayed?.status).toBe(201);
    expect(JSON.parse(again.replayed!.sealed.toString("utf8")).r.caseId).toBe(caseId);
    expect(await store.getCaseAuth(caseId)).not.toBeNull();
    await store.close();
  });

  test('walSync "inline": SQLite syncs inside the commit (synchronous = FULL) and the store calls no fdatasync', async () => {
    const store = SqliteStore.open(path.join(dir, "c.db"), { walSync: "inline" });
    expect(store.readQuery<{ synchronous: number }>("PRAGMA synchronous")[0].synchronous).toBe(2);
    const syncs = holdSyncs();
    await createCase(store, [pdq()]);
    expect(syncs.calls()).toBe(0);
    await store.close();
  });

  test("close waits for the sync its last writes need; the file then holds them", async () => {
    const file = path.join(dir, "d.db");
    let store = SqliteStore.open(file);
    const syncs = holdSyncs();
    const made = Array.from({ length: 4 }, () => createCase(store, [pdq()]));
    await tick();
    const closing = store.close();
    const sClose = state(closing);
    await tick();
    expect(sClose.settled).toBe(false);
    syncs.release();
    await tick();
    syncs.release();
    await closing;
    const ids = await Promise.all(made);
    store = SqliteStore.open(file);
    for (const c of ids) expect(await store.getCaseAuth(c.caseId)).not.toBeNull();
    await store.close();
  });
});
