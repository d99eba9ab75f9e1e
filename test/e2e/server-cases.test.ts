/**
 * Cases on the real server over a SQLite file: create, add, status, withdraw;
 * a hash shared by two cases; feedback in the status; idempotent replays,
 * 409 while in flight, and a connection cut after the commit.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CaseStatusResponseSchema, CreateCaseResponseSchema, FeedResponseSchema } from "../../src/protocol/index.ts";
import type { RunningServer } from "../../src/server/index.ts";
import type { TestHooks } from "../../src/server/app.ts";
import { call, CLIENT, counts, expectProblem, feedId, platformKey, randomPdq, readDb, start, tempDir } from "./server-helpers.ts";

let t: ReturnType<typeof tempDir>;
let db: string;
let s: RunningServer;
const hooks: TestHooks = {};

beforeAll(async () => {
  t = tempDir();
  db = path.join(t.dir, "server.db");
  s = await start(db, { rateLimit: false, testHooks: hooks });
});

afterAll(async () => {
  await s.close();
  t.remove();
});

async function createCase(values: string[]) {
  const r = await call(s.url, "POST", "/v1/cases", { body: { hashes: values.map((value) => ({ type: "pdq", value })), client: CLIENT } });
  expect(r.status, r.text).toBe(201);
  return CreateCaseResponseSchema.parse(r.json);
}

async function status(c: { caseId: string; caseSecret: string }) {
  const r = await call(s.url, "GET", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}` });
  expect(r.status, r.text).toBe(200);
  return CaseStatusResponseSchema.parse(r.json);
}

async function feedAll(key: string) {
  const records = [];
  let cursor: string | undefined;
  for (;;) {
    const r = await call(s.url, "GET", `/v1/feed?limit=1000${cursor ? `&cursor=${cursor}` : ""}`, { auth: `Bearer ${key}` });
    const page = FeedResponseSchema.parse(r.json);
    records.push(...page.records);
    cursor = page.nextCursor;
    if (!page.hasMore) return records;
  }
}

describe("a case's life", () => {
  test("create, status, add, withdraw one, withdraw all", async () => {
    const [a, b, c] = [randomPdq(), randomPdq(), randomPdq()];
    const created = await createCase([a, b, a]);
    expect(created.caseId).toMatch(/^c_[A-Za-z0-9_-]{22}$/);
    // 7 groups of 4 Crockford base32 characters: 140 random bits
    expect(created.caseSecret).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){6}$/);
    expect(created.hashes.map((h) => h.status)).toEqual(["accepted", "accepted", "accepted"]);
    const [ha, hb, ha2] = created.hashes as { id: string }[];
    expect(ha2.id).toBe(ha.id); // the same value twice is one entry
    expect(hb.id).not.toBe(ha.id);

    let st = await status(created);
    expect(st.status).toBe("active");
    expect(st.hashes.map((h) => [h.value, h.status])).toEqual([
      [a, "active"],
      [b, "active"],
    ]);
    expect(st.hashes[0].feedback).toEqual({ blocked: 0, notBlocked: 0, pendingReview: 0 });
    expect(Date.parse(st.createdAt)).toBeGreaterThan(Date.now() - 60_000);

    const added = await call(s.url, "POST", `/v1/cases/${created.caseId}/hashes`, {
      body: { hashes: [{ type: "pdq", value: c }, { type: "md5", value: "D41D8CD98F00B204E9800998ECF8427E" }] },
      auth: `Case ${created.caseSecret}`,
    });
    expect(added.status).toBe(200);
    expect(added.json.hashes.map((h: { value: string }) => h.value)).toEqual([c, "d41d8cd98f00b204e9800998ecf8427e"]);
    st = await status(created);
    expect(st.hashes).toHaveLength(4);

    const w1 = await call(s.url, "DELETE", `/v1/cases/${created.caseId}/hashes/${hb.id}`, { auth: `Case ${created.caseSecret}` });
    expect(w1.status).toBe(200);
    expect(CaseStatusResponseSchema.parse(w1.json).hashes.find((h) => h.id === hb.id)?.status).toBe("withdrawn");
    expect(w1.json.status).toBe("active");

    const other = await createCase([randomPdq()]);
    const notMine = await call(s.url, "DELETE", `/v1/cases/${created.caseId}/hashes/${other.hashes[0].status === "accepted" ? other.hashes[0].id : ""}`, {
      auth: `Case ${created.caseSecret}`,
    });
    expectProblem(notMine, 404, "not-found");

    const all = await call(s.url, "DELETE", `/v1/cases/${created.caseId}`, { auth: `Case ${created.caseSecret}` });
    expect(all.status).toBe(200);
    expect(all.json.status).toBe("withdrawn");
    expect(all.json.hashes.every((h: { status: string }) => h.status === "withdrawn")).toBe(true);
    // withdrawing again is not an error
    expect((await call(s.url, "DELETE", `/v1/cases/${created.caseId}`, { auth: `Case ${created.caseSecret}` })).status).toBe(200);
  });

  test("case ids are random, and secrets are stored only as keyed MACs (HMAC-SHA-256)", async () => {
    const a = await createCase([randomPdq()]);
    const b = await createCase([randomPdq()]);
    expect(a.caseId).not.toBe(b.caseId);
    const rows = readDb<{ public_id: string; secret_hash: string }>(db, "SELECT public_id, secret_hash FROM cases WHERE public_id IN (?, ?)", a.caseId, b.caseId);
    expect(rows).toHaveLength(2);
    const plain = [a.caseSecret, b.caseSecret, a.caseSecret.replaceAll("-", ""), b.caseSecret.replaceAll("-", "")];
    for (const r of rows) {
      expect(r.secret_hash).toMatch(/^hmac1\$[A-Za-z0-9_-]{43}$/);
      for (const p of plain) expect(r.secret_hash).not.toContain(p);
    }
    // the stored idempotency answers are sealed: the secret is not in the file in the clear
    const sealed = readDb<{ sealed: Buffer }>(db, "SELECT sealed FROM idempotency");
    expect(sealed.length).toBeGreaterThan(0);
    for (const { sealed: blob } of sealed) {
      for (const p of plain) expect(blob.includes(p)).toBe(false);
    }
  });
});

describe("a hash held by two cases", () => {
  test("is one feed record, active while either case keeps it", async () => {
    const key = await platformKey(s, ["feed:read", "lookup"]);
    const shared = randomPdq();
    const one = await createCase([shared, randomPdq()]);
    const two = await createCase([shared]);
    const id = feedId(db, shared);
    // each case has its own entry for the hash, and neither is the feed id
    const entryOne = (one.hashes[0] as { id: string }).id;
    const entryTwo = (two.hashes[0] as { id: string }).id;
    expect(new Set([id, entryOne, entryTwo]).size).toBe(3);

    const lookup = async () => {
      const r = await call(s.url, "POST", "/v1/lookup", { body: { queries: [{ type: "pdq", value: shared }], maxDistance: 0 }, auth: `Bearer ${key}` });
      return r.json.results[0].matches;
    };
    let records = (await feedAll(key)).filter((r) => r.id === id);
    expect(records).toHaveLength(1);
    expect(records[0].status).toBe("active");
    expect(Object.keys(records[0]).sort()).toEqual(["id", "status", "type", "updatedAt", "value"]);

    // case one withdraws: still active (case two holds it)
    await call(s.url, "DELETE", `/v1/cases/${one.caseId}`, { auth: `Case ${one.caseSecret}` });
    const before = await feedAll(key);
    expect(before.filter((r) => r.id === id).map((r) => r.status)).toEqual(["active"]);
    expect(await lookup()).toEqual([{ id, distance: 0 }]);
    expect((await status(one)).hashes[0].status).toBe("withdrawn");
    expect((await status(two)).hashes[0].status).toBe("active");

    // case two withdraws: an explicit withdrawn record, no more matches
    expect((await call(s.url, "DELETE", `/v1/cases/${two.caseId}/hashes/${entryOne}`, { auth: `Case ${two.caseSecret}` })).status).toBe(404);
    await call(s.url, "DELETE", `/v1/cases/${two.caseId}/hashes/${entryTwo}`, { auth: `Case ${two.caseSecret}` });
    records = (await feedAll(key)).filter((r) => r.id === id);
    expect(records.map((r) => r.status)).toEqual(["withdrawn"]);
    expect(await lookup()).toEqual([]);

    // case one adds it again: active again, same feed id, and case one's same entry
    const again = await call(s.url, "POST", `/v1/cases/${one.caseId}/hashes`, {
      body: { hashes: [{ type: "pdq", value: shared }] },
      auth: `Case ${one.caseSecret}`,
    });
    expect(again.json.hashes[0].id).toBe(entryOne);
    expect((await feedAll(key)).filter((r) => r.id === id).map((r) => r.status)).toEqual(["active"]);
    expect(await lookup()).toEqual([{ id, distance: 0 }]);
  });
});

describe("concurrency", () => {
  test("twenty cases sent at once with the same hash: twenty cases, one feed record, no error", async () => {
    const key = await platformKey(s, ["feed:read", "lookup"]);
    const shared = randomPdq();
    const n = counts(db);
    const replies = await Promise.all(
      Array.from({ length: 20 }, () =>
        call(s.url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: shared }, { type: "pdq", value: randomPdq() }], client: CLIENT } }),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(201));
    // twenty entries, one per case, of one feed record
    expect(new Set(replies.map((r) => r.json.hashes[0].id)).size).toBe(20);
    const ids = new Set([feedId(db, shared)]);
    expect(new Set(replies.map((r) => r.json.caseId)).size).toBe(20);
    const after = counts(db);
    expect(after.cases - n.cases).toBe(20);
    expect(after.hashes - n.hashes).toBe(21);
    expect(after.case_hashes - n.case_hashes).toBe(40);
    const l = await call(s.url, "POST", "/v1/lookup", { body: { queries: [{ type: "pdq", value: shared }], maxDistance: 0 }, auth: `Bearer ${key}` });
    expect(l.json.results[0].matches).toEqual([{ id: [...ids][0], distance: 0 }]);
  });
});

describe("feedback", () => {
  test("shows in the case's status; one verdict per platform, the later replaces the earlier", async () => {
    const c = await createCase([randomPdq(), randomPdq()]);
    // platforms name hashes by feed id; the case sees the verdicts on its own entries
    const [h0, h1] = c.hashes.map((h) => feedId(db, h.value));
    const [e0, e1] = c.hashes.map((h) => (h as { id: string }).id);
    const p1 = await platformKey(s, ["feedback:write"]);
    const p2 = await platformKey(s, ["feedback:write"]);
    const send = (key: string, items: unknown[]) => call(s.url, "POST", "/v1/feedback", { body: { items }, auth: `Bearer ${key}` });

    const r = await send(p1, [
      { id: h0, verdict: "pending_review" },
      { id: "h_AAAAAAAAAAAAAAAA", verdict: "blocked" },
    ]);
    expect(r.status).toBe(200);
    expect(r.json.results).toEqual([
      { index: 0, id: h0, status: "recorded" },
      { index: 1, id: "h_AAAAAAAAAAAAAAAA", status: "rejected", reason: "unknown_id" },
    ]);
    await send(p1, [{ id: h0, verdict: "blocked", tags: ["auto:pdq"] }]);
    await send(p2, [
      { id: h0, verdict: "not_blocked" },
      { id: h1, verdict: "pending_review" },
    ]);
    const st = await status(c);
    expect(st.hashes.find((h) => h.id === e0)?.feedback).toEqual({ blocked: 1, notBlocked: 1, pendingReview: 0 });
    expect(st.hashes.find((h) => h.id === e1)?.feedback).toEqual({ blocked: 0, notBlocked: 0, pendingReview: 1 });
  });
});

describe("idempotency", () => {
  test("a replay answers the original status and body, and creates nothing", async () => {
    const key = randomUUID();
    const body = { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT };
    const first = await call(s.url, "POST", "/v1/cases", { body, idem: key });
    expect(first.status).toBe(201);
    const n = counts(db);
    const again = await call(s.url, "POST", "/v1/cases", { body, idem: key });
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(counts(db)).toEqual(n);

    // a withdrawal replayed answers the first answer too
    const c = CreateCaseResponseSchema.parse(first.json);
    const wkey = randomUUID();
    const w1 = await call(s.url, "DELETE", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}`, idem: wkey });
    const w2 = await call(s.url, "DELETE", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}`, idem: wkey });
    expect(w2.status).toBe(w1.status);
    expect(w2.text).toBe(w1.text);
  });

  test("the same key from another case is another request", async () => {
    const a = await createCase([randomPdq()]);
    const b = await createCase([randomPdq()]);
    const key = randomUUID();
    const wa = await call(s.url, "DELETE", `/v1/cases/${a.caseId}`, { auth: `Case ${a.caseSecret}`, idem: key });
    const wb = await call(s.url, "DELETE", `/v1/cases/${b.caseId}`, { auth: `Case ${b.caseSecret}`, idem: key });
    expect(wa.status).toBe(200);
    expect(wb.status).toBe(200);
    expect(wb.json.caseId).toBe(b.caseId);
  });

  test("a replay while the first is still running is a 409 with Retry-After", async () => {
    let release!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const gate = new Promise<void>((r) => (release = r));
    hooks.beforeCommit = async ({ route }) => {
      if (route !== "/v1/cases") return;
      hooks.beforeCommit = undefined;
      entered();
      await gate;
    };
    const key = randomUUID();
    const body = { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT };
    const first = call(s.url, "POST", "/v1/cases", { body, idem: key });
    await inside;
    const second = await call(s.url, "POST", "/v1/cases", { body, idem: key });
    expectProblem(second, 409, "idempotency-in-flight");
    expect(Number(second.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    release();
    const done = await first;
    expect(done.status).toBe(201);
    const third = await call(s.url, "POST", "/v1/cases", { body, idem: key });
    expect(third.text).toBe(done.text);
  });

  test("a connection cut after the commit: the retry gets the same case, not a second one", async () => {
    let cuts = 0;
    hooks.cutConnection = ({ route }) => {
      if (route !== "/v1/cases" || cuts > 0) return false;
      cuts++;
      return true;
    };
    try {
      const key = randomUUID();
      const body = { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT };
      const n = counts(db);
      const lost = await request(`${s.url}/v1/cases`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": key },
        body: JSON.stringify(body),
      }).then(
        () => null,
        (err: Error) => err,
      );
      expect(lost).toBeInstanceOf(Error);
      expect(cuts).toBe(1);
      expect(counts(db).cases).toBe(n.cases + 1); // it was stored
      const retry = await call(s.url, "POST", "/v1/cases", { body, idem: key });
      expect(retry.status).toBe(201);
      expect(retry.headers["idempotent-replayed"]).toBe("true");
      expect(counts(db).cases).toBe(n.cases + 1); // and not stored twice
      const c = CreateCaseResponseSchema.parse(retry.json);
      expect((await status(c)).hashes[0].value).toBe(body.hashes[0].value);
    } finally {
      hooks.cutConnection = undefined;
    }
  });

  test("a key is kept 24 hours: after that the same key is a new request", async () => {
    let clock = Date.now();
    const t2 = tempDir();
    const s2 = await start(path.join(t2.dir, "clock.db"), { rateLimit: false, now: () => clock });
    try {
      const key = randomUUID();
      const a = await call(s2.url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT }, idem: key });
      expect(a.status).toBe(201);
      clock += 23 * 3600_000;
      const b = await call(s2.url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT }, idem: key });
      expectProblem(b, 422, "idempotency-key-reused");
      clock += 2 * 3600_000;
      const c = await call(s2.url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT }, idem: key });
      expect(c.status).toBe(201);
      expect(c.json.caseId).not.toBe(a.json.caseId);
      expect(await s2.store.purgeIdempotency(clock + 24 * 3600_000 + 1)).toBe(1);
    } finally {
      await s2.close();
      t2.remove();
    }
  });
});

describe("feed order", () => {
  test("new hashes of one case reach the feed in a random order, not the order they were sent in", async () => {
    const key = await platformKey(s, ["feed:read"]);
    const start0 = await call(s.url, "GET", "/v1/feed?limit=1000", { auth: `Bearer ${key}` });
    let cursor = start0.json.nextCursor;
    for (;;) {
      const more = await call(s.url, "GET", `/v1/feed?limit=1000&cursor=${cursor}`, { auth: `Bearer ${key}` });
      cursor = more.json.nextCursor;
      if (!more.json.hasMore) break;
    }
    const values = Array.from({ length: 60 }, () => randomPdq());
    const c = await createCase(values);
    // the case's own status keeps the order they were sent in
    expect((await status(c)).hashes.map((h) => h.value)).toEqual(values);
    const page = await call(s.url, "GET", `/v1/feed?limit=1000&cursor=${cursor}`, { auth: `Bearer ${key}` });
    const fed = page.json.records.map((r: { value: string }) => r.value);
    expect([...fed].sort()).toEqual([...values].sort());
    expect(fed).not.toEqual(values);
  });
});

describe("test hooks", () => {
  test("onRequestBody sees every request's raw body as received, accepted or not", async () => {
    const seen: { method: string; path: string; body: string }[] = [];
    hooks.onRequestBody = (info) => seen.push({ method: info.method, path: info.path, body: info.body.toString("utf8") });
    try {
      const good = JSON.stringify({ hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT });
      const c = await call(s.url, "POST", "/v1/cases", { raw: good });
      await call(s.url, "POST", "/v1/cases", { raw: "{not json" });
      await call(s.url, "GET", `/v1/cases/${c.json.caseId}`, { auth: "Case wrong" });
      expect(seen).toEqual([
        { method: "POST", path: "/v1/cases", body: good },
        { method: "POST", path: "/v1/cases", body: "{not json" },
        { method: "GET", path: `/v1/cases/${c.json.caseId}`, body: "" },
      ]);
    } finally {
      hooks.onRequestBody = undefined;
    }
  });
});
