/**
 * The platform side on the real server over a SQLite file: feed paging with
 * opaque, resumable cursors and explicit withdrawal records; lookup by PDQ
 * distance and MD5 equality, only active hashes.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CreateCaseResponseSchema, FeedResponseSchema, LookupResponseSchema } from "../../src/protocol/index.ts";
import type { RunningServer } from "../../src/server/index.ts";
import { call, CLIENT, feedId, flipBits, platformKey, randomPdq, start, tempDir } from "./server-helpers.ts";

let t: ReturnType<typeof tempDir>;
let s: RunningServer;
let feedKey: string;
let lookupKey: string;
let db: string;

beforeAll(async () => {
  t = tempDir();
  db = path.join(t.dir, "server.db");
  s = await start(db, { rateLimit: false });
  feedKey = await platformKey(s, ["feed:read"]);
  lookupKey = await platformKey(s, ["lookup"]);
});

afterAll(async () => {
  await s.close();
  t.remove();
});

async function createCase(hashes: { type: string; value: string }[]) {
  const r = await call(s.url, "POST", "/v1/cases", { body: { hashes, client: CLIENT } });
  expect(r.status, r.text).toBe(201);
  return CreateCaseResponseSchema.parse(r.json);
}

async function page(cursor: string | undefined, limit: number) {
  const q = new URLSearchParams({ limit: String(limit) });
  if (cursor) q.set("cursor", cursor);
  const r = await call(s.url, "GET", `/v1/feed?${q}`, { auth: `Bearer ${feedKey}` });
  expect(r.status, r.text).toBe(200);
  return FeedResponseSchema.parse(r.json);
}

async function lookup(queries: { type: string; value: string }[], maxDistance?: number) {
  const r = await call(s.url, "POST", "/v1/lookup", {
    body: maxDistance === undefined ? { queries } : { queries, maxDistance },
    auth: `Bearer ${lookupKey}`,
  });
  expect(r.status, r.text).toBe(200);
  return LookupResponseSchema.parse(r.json).results;
}

describe("feed", () => {
  test("pages with cursors, resumes, and carries withdrawals as records", async () => {
    const empty = await page(undefined, 10);
    expect(empty).toMatchObject({ records: [], hasMore: false });

    const cases = [];
    const values: string[] = [];
    for (let i = 0; i < 5; i++) {
      const v = Array.from({ length: 5 }, () => randomPdq());
      values.push(...v);
      cases.push(await createCase(v.map((value) => ({ type: "pdq", value }))));
    }
    const p1 = await page(empty.nextCursor, 10);
    const p2 = await page(p1.nextCursor, 10);
    const p3 = await page(p2.nextCursor, 10);
    expect([p1.records.length, p2.records.length, p3.records.length]).toEqual([10, 10, 5]);
    expect([p1.hasMore, p2.hasMore, p3.hasMore]).toEqual([true, true, false]);
    const seen = [...p1.records, ...p2.records, ...p3.records];
    expect(new Set(seen.map((r) => r.id)).size).toBe(25);
    expect(seen.map((r) => r.value).sort()).toEqual([...values].sort());
    expect(seen.every((r) => r.status === "active" && r.type === "pdq")).toBe(true);
    // no case id anywhere in the feed
    const text = JSON.stringify(seen);
    for (const c of cases) expect(text).not.toContain(c.caseId);
    // cursors are opaque: not a number, not a time
    expect(p1.nextCursor).not.toMatch(/^\d+$/);

    // nothing new: empty, and a cursor for the same place (sealed afresh: it looks different each time)
    const idle = await page(p3.nextCursor, 10);
    expect(idle).toMatchObject({ records: [], hasMore: false });
    expect(idle.nextCursor).not.toBe(p3.nextCursor);
    expect((await page(idle.nextCursor, 10)).records).toEqual([]);

    // withdraw one case: exactly its hashes come as withdrawn records after the saved cursor
    const gone = cases[2];
    await call(s.url, "DELETE", `/v1/cases/${gone.caseId}`, { auth: `Case ${gone.caseSecret}` });
    const after = await page(p3.nextCursor, 100);
    expect(after.records.map((r) => r.status)).toEqual(Array(5).fill("withdrawn"));
    expect(after.records.map((r) => r.id).sort()).toEqual(gone.hashes.map((h) => feedId(db, h.value)).sort());
    // the case's own entry ids are not the feed ids
    for (const h of gone.hashes) expect(after.records.map((r) => r.id)).not.toContain((h as { id: string }).id);
    // a withdrawn record replaces the active one for the same id, and is newer
    for (const r of after.records) {
      const earlier = seen.find((x) => x.id === r.id)!;
      expect(Date.parse(r.updatedAt)).toBeGreaterThanOrEqual(Date.parse(earlier.updatedAt));
    }
    // an old cursor still works (durable): from the start, each id appears once, in its latest state
    const full = await page(undefined, 1000);
    expect(full.records).toHaveLength(25);
    expect(full.records.filter((r) => r.status === "withdrawn")).toHaveLength(5);
    const replay = await page(p1.nextCursor, 1000);
    expect(replay.records).toHaveLength(15);
  });

  test("limit defaults to 100 and may be 1000", async () => {
    const r = await call(s.url, "GET", "/v1/feed", { auth: `Bearer ${feedKey}` });
    expect(r.status).toBe(200);
    const r2 = await call(s.url, "GET", "/v1/feed?limit=1000", { auth: `Bearer ${feedKey}` });
    expect(r2.status).toBe(200);
  });
});

describe("lookup", () => {
  test("PDQ by Hamming distance, nearest first, within maxDistance", async () => {
    const base = randomPdq();
    const near = flipBits(base, 3);
    const c = await createCase([
      { type: "pdq", value: base },
      { type: "pdq", value: near },
    ]);
    const [idBase, idNear] = c.hashes.map((h) => feedId(db, h.value));
    const query = flipBits(base, 8); // 8 from base, 5 from near
    const [r] = await lookup([{ type: "pdq", value: query }], 10);
    expect(r.index).toBe(0);
    expect(r.matches).toEqual([
      { id: idNear, distance: 5 },
      { id: idBase, distance: 8 },
    ]);
    expect((await lookup([{ type: "pdq", value: query }], 6))[0].matches).toEqual([{ id: idNear, distance: 5 }]);
    expect((await lookup([{ type: "pdq", value: query }], 4))[0].matches).toEqual([]);
    // default maxDistance is 31
    expect((await lookup([{ type: "pdq", value: flipBits(base, 31) }]))[0].matches.map((m) => m.id)).toContain(idBase);
    expect((await lookup([{ type: "pdq", value: flipBits(base, 40) }]))[0].matches.map((m) => m.id)).not.toContain(idBase);
    // upper-case input is canonicalised
    expect((await lookup([{ type: "PDQ", value: base.toUpperCase() }], 0))[0].matches).toEqual([{ id: idBase, distance: 0 }]);
  });

  test("MD5 by equality only", async () => {
    const md5 = "0123456789abcdef0123456789abcdef";
    const c = await createCase([{ type: "md5", value: md5 }]);
    const id = feedId(db, c.hashes[0].value);
    const res = await lookup(
      [
        { type: "md5", value: md5.toUpperCase() },
        { type: "md5", value: `${md5.slice(0, 31)}0` },
      ],
      31,
    );
    expect(res).toEqual([
      { index: 0, matches: [{ id, distance: 0 }] },
      { index: 1, matches: [] },
    ]);
  });

  test("withdrawn hashes no longer match", async () => {
    const v = randomPdq();
    const c = await createCase([{ type: "pdq", value: v }]);
    expect((await lookup([{ type: "pdq", value: v }], 0))[0].matches).toHaveLength(1);
    await call(s.url, "DELETE", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}` });
    expect((await lookup([{ type: "pdq", value: v }], 0))[0].matches).toEqual([]);
  });

  test("a hundred queries at once answer in order", async () => {
    const values = Array.from({ length: 100 }, () => randomPdq());
    await createCase(values.slice(0, 50).map((value) => ({ type: "pdq", value })));
    const res = await lookup(
      values.map((value) => ({ type: "pdq", value })),
      0,
    );
    expect(res.map((r) => r.index)).toEqual(values.map((_, i) => i));
    expect(res.map((r) => r.matches.length)).toEqual([...Array(50).fill(1), ...Array(50).fill(0)]);
  });
});
