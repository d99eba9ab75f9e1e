/**
 * The StopNCII-compatible fetch endpoint on a real server over a SQLite file,
 * read by a client of our own written from the documented StopNCII format
 * (what python-threatexchange's StopNCII exchange sends and requires): paging
 * with nextPageToken across tied timestamps, restarts from nextSetTimestamp,
 * withdrawals as `Withdrawn`, no case ids, and the documented errors.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { z } from "zod";
import { CreateCaseResponseSchema } from "../../src/protocol/index.ts";
import type { RunningServer } from "../../src/server/index.ts";
import { call, CLIENT, expectProblem, platformKey, randomPdq, type Reply, start, tempDir } from "./server-helpers.ts";

const BASE = "/compat/stopncii/v1";

// The documented response format: the fields python-threatexchange requires, with their types.
const RecordSchema = z.object({
  lastModtimestamp: z.number().int(),
  signalType: z.enum(["ImagePDQ", "VideoMD5", "VideoTMK", "Text", "URL", "Unknown"]),
  hashValue: z.string(),
  hashStatus: z.enum(["Unknown", "Received", "Active", "Withdrawn", "Deleted"]),
  caseNumbers: z.record(z.string(), z.string()),
  CSPFeedbacks: z.array(z.unknown()),
});
const PageSchema = z.object({
  count: z.number().int(),
  nextPageToken: z.string(),
  nextSetTimestamp: z.number().int(),
  hasMoreRecords: z.boolean(),
  hashRecords: z.array(RecordSchema),
});
type Page = z.infer<typeof PageSchema>;

let t: ReturnType<typeof tempDir>;
let s: RunningServer;
let clock = Date.now();
let feedKey: string;
let lookupKey: string;
const caseIds: string[] = [];
const caseSecrets: string[] = [];
const created: { caseIndex: number; entryId: string; value: string }[] = [];
const texts: string[] = []; // every response body the client saw

beforeAll(async () => {
  t = tempDir();
  s = await start(path.join(t.dir, "server.db"), { rateLimit: false, now: () => clock });
  feedKey = await platformKey(s, ["feed:read"]);
  lookupKey = await platformKey(s, ["lookup", "feedback:write"]);
  // 2,500 records from 5 cases of 500, published as one batch: one time for all of them.
  for (let i = 0; i < 5; i++) {
    const hashes = Array.from({ length: 500 }, () => ({ type: "pdq", value: randomPdq() }));
    const r = await call(s.url, "POST", "/v1/cases", { body: { hashes, client: CLIENT } });
    expect(r.status, r.text).toBe(201);
    const c = CreateCaseResponseSchema.parse(r.json);
    caseIds.push(c.caseId);
    caseSecrets.push(c.caseSecret);
    for (const h of c.hashes) if (h.status === "accepted") created.push({ caseIndex: i, entryId: h.id, value: h.value });
  }
  await publish();
});

afterAll(async () => {
  await s?.close();
  t?.remove();
});

/** Publish what is pending now (the server publishes the feed in batches). */
async function publish(): Promise<void> {
  await s.server.feed.publish(true);
}

function headers(key: string | undefined, where: "both" | "functions" | "subscription" = "both"): Record<string, string> {
  if (key === undefined) return {};
  if (where === "functions") return { "x-functions-key": key };
  if (where === "subscription") return { "Ocp-Apim-Subscription-Key": key };
  return { "x-functions-key": key, "Ocp-Apim-Subscription-Key": key };
}

async function raw(query: Record<string, string | number>, h: Record<string, string> = headers(feedKey)): Promise<Reply> {
  const q = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const r = await call(s.url, "GET", `${BASE}/FetchHashes?${q}`, { headers: h });
  texts.push(r.text);
  expect(r.status, r.text).toBeLessThan(500);
  return r;
}

async function fetchPage(startTimestamp: number, pageSize: number, nextPageToken?: string): Promise<Page> {
  const q: Record<string, string | number> = { startTimestamp, pageSize };
  if (nextPageToken) q.nextPageToken = nextPageToken;
  const r = await raw(q);
  expect(r.status, r.text).toBe(200);
  const page = PageSchema.parse(r.json);
  expect(page.count).toBe(page.hashRecords.length);
  return page;
}

/** What python-threatexchange's fetch_hashes_iter does: same startTimestamp, follow tokens while hasMoreRecords. */
async function fetchAll(startTimestamp: number, pageSize: number, maxPages = Infinity): Promise<{ pages: Page[]; checkpoint: number }> {
  const pages: Page[] = [];
  let token: string | undefined;
  let checkpoint = startTimestamp;
  for (;;) {
    const p = await fetchPage(startTimestamp, pageSize, token);
    pages.push(p);
    checkpoint = p.nextSetTimestamp; // the client stores this after every page
    if (!p.hasMoreRecords || pages.length >= maxPages) break;
    token = p.nextPageToken;
  }
  return { pages, checkpoint };
}

describe("paging", () => {
  test("2,500 records with tied timestamps: every record exactly once, in order, across pages", async () => {
    const { pages } = await fetchAll(10, 97); // 10: python-threatexchange's DEFAULT_START_TIME
    const records = pages.flatMap((p) => p.hashRecords);
    expect(records).toHaveLength(2500);
    const values = records.map((r) => r.hashValue);
    expect(new Set(values).size).toBe(2500);
    expect(new Set(values)).toEqual(new Set(created.map((c) => c.value)));
    expect(records.every((r) => r.signalType === "ImagePDQ" && r.hashStatus === "Active")).toBe(true);
    // many equal timestamps, and ties cut by page boundaries
    const times = new Set(records.map((r) => r.lastModtimestamp));
    expect(times.size).toBeLessThanOrEqual(10);
    let tiedCuts = 0;
    for (let i = 1; i < pages.length; i++) {
      const a = pages[i - 1].hashRecords.at(-1)!;
      const b = pages[i].hashRecords[0];
      if (b && a.lastModtimestamp === b.lastModtimestamp) tiedCuts++;
    }
    expect(tiedCuts).toBeGreaterThan(10);
    // times never go down along the feed; nextSetTimestamp is the last record's time
    for (let i = 1; i < records.length; i++) expect(records[i].lastModtimestamp).toBeGreaterThanOrEqual(records[i - 1].lastModtimestamp);
    for (const p of pages) if (p.hashRecords.length) expect(p.nextSetTimestamp).toBe(p.hashRecords.at(-1)!.lastModtimestamp);
    expect(pages.at(-1)!.hasMoreRecords).toBe(false);
    expect(pages.slice(0, -1).every((p) => p.hasMoreRecords && p.count === 97)).toBe(true);
  });

  test("an interrupted fetch restarted from its checkpoint (nextSetTimestamp, no token) misses nothing", async () => {
    const seen = new Set<string>();
    const first = await fetchAll(10, 333, 3); // stops after 3 pages, as if the process died
    first.pages.flatMap((p) => p.hashRecords).forEach((r) => seen.add(r.hashValue));
    expect(seen.size).toBe(999);
    const rest = await fetchAll(first.checkpoint, 333);
    rest.pages.flatMap((p) => p.hashRecords).forEach((r) => seen.add(r.hashValue));
    expect(seen.size).toBe(2500);
    // the restart began at the checkpoint's second (inclusive), not later
    expect(rest.pages[0].hashRecords[0].lastModtimestamp).toBe(first.checkpoint);
  });

  test("startTimestamp after every record: an empty page whose checkpoint stays put", async () => {
    const later = Math.floor(clock / 1000) + 3600;
    const p = await fetchPage(later, 100);
    expect(p).toMatchObject({ count: 0, hashRecords: [], hasMoreRecords: false, nextSetTimestamp: later });
    // the token of an empty last page resumes there once records arrive
    const again = await fetchPage(later, 100, p.nextPageToken);
    expect(again.count).toBe(0);
  });

  test("a page token survives a restart of the server (same database and server key)", async () => {
    const first = await fetchPage(10, 1000);
    await s.close();
    s = await start(path.join(t.dir, "server.db"), { rateLimit: false, now: () => clock });
    const next = await fetchPage(10, 1000, first.nextPageToken);
    expect(next.hashRecords[0].hashValue).not.toBe(first.hashRecords.at(-1)!.hashValue);
    const all = [...first.hashRecords, ...next.hashRecords, ...(await fetchAll(10, 1000)).pages.flatMap((p) => p.hashRecords)];
    expect(new Set(all.map((r) => r.hashValue)).size).toBe(2500);
    expect(first.count + next.count).toBe(2000);
  });

  test("the key may come in either header", async () => {
    for (const where of ["functions", "subscription", "both"] as const) {
      const r = await raw({ startTimestamp: 10, pageSize: 5 }, headers(feedKey, where));
      expect(r.status, `${where}: ${r.text}`).toBe(200);
      expect(PageSchema.parse(r.json).count).toBe(5);
    }
    // a client that sends a different value in the other header (python-threatexchange swaps them)
    const mixed = await raw({ startTimestamp: 10, pageSize: 5 }, { "x-functions-key": "anything", "Ocp-Apim-Subscription-Key": feedKey });
    expect(mixed.status).toBe(200);
  });
});

describe("withdrawals", () => {
  test("a withdrawn hash appears as a Withdrawn record after the checkpoint, and nowhere as a case", async () => {
    const before = await fetchAll(10, 1000);
    clock += 120_000; // a later time for the change
    const victim = created[1234];
    const r = await call(s.url, "DELETE", `/v1/cases/${caseIds[victim.caseIndex]}/hashes/${victim.entryId}`, {
      auth: `Case ${caseSecrets[victim.caseIndex]}`,
    });
    expect(r.status, r.text).toBe(200);
    await publish();
    const after = await fetchAll(before.checkpoint, 1000);
    const records = after.pages.flatMap((p) => p.hashRecords);
    const mine = records.filter((x) => x.hashValue === victim.value);
    expect(mine).toHaveLength(1);
    expect(mine[0].hashStatus).toBe("Withdrawn");
    expect(mine[0].lastModtimestamp).toBeGreaterThan(before.checkpoint);
    // as a snapshot stream: applying every record in order leaves exactly that one withdrawn
    const state = new Map<string, string>();
    for (const x of [...before.pages, ...after.pages].flatMap((p) => p.hashRecords)) state.set(x.hashValue, x.hashStatus);
    expect(state.size).toBe(2500);
    expect([...state.values()].filter((v) => v === "Withdrawn")).toHaveLength(1);
    expect(state.get(victim.value)).toBe("Withdrawn");
  });
});

describe("privacy", () => {
  test("no response carries a case id or case number", async () => {
    const { pages } = await fetchAll(10, 1000);
    for (const p of pages) for (const r of p.hashRecords) expect(r.caseNumbers).toEqual({});
    for (const p of pages) for (const r of p.hashRecords) expect(r.CSPFeedbacks).toEqual([]);
    expect(texts.length).toBeGreaterThan(20);
    for (const text of texts) {
      // the sealed token is random base64url and may contain anything; look at everything else
      const body = text.replace(/"nextPageToken":"[A-Za-z0-9_-]*"/, "");
      expect(/"c_[A-Za-z0-9_-]{22}"/.test(body)).toBe(false);
      expect(caseIds.some((id) => text.includes(id))).toBe(false);
      expect(created.some((e) => text.includes(e.entryId))).toBe(false);
    }
  });

  test("the page token does not show the feed position", async () => {
    const a = await fetchPage(10, 1);
    const b = await fetchPage(10, 1);
    expect(a.nextPageToken).not.toBe(b.nextPageToken); // sealed with a fresh nonce each time
    expect(Buffer.from(a.nextPageToken, "base64url").toString("latin1")).not.toMatch(/snc1|:[0-9]+:/);
  });
});

describe("errors", () => {
  test("garbage, altered and expired tokens, and a token of another startTimestamp: 400 with a reason", async () => {
    const good = (await fetchPage(10, 10)).nextPageToken;
    const flip = good.slice(0, 20) + (good[20] === "A" ? "B" : "A") + good.slice(21);
    const cases: [string | number, string, number][] = [
      ["garbage", "invalid_token", 10],
      ["not base64 !!", "invalid_token", 10],
      ["x".repeat(5000), "invalid_token", 10],
      [flip, "invalid_token", 10],
      [good, "token_mismatch", 11],
    ];
    for (const [token, reason, startTimestamp] of cases) {
      const r = await raw({ startTimestamp, pageSize: 10, nextPageToken: token });
      expectProblem(r, 400, "invalid-query");
      expect(r.json.errors[0].code, String(token).slice(0, 30)).toBe(reason);
    }
    clock += 61 * 60 * 1000; // tokens last one hour
    const r = await raw({ startTimestamp: 10, pageSize: 10, nextPageToken: good });
    expectProblem(r, 400, "invalid-query");
    expect(r.json.errors[0].code).toBe("expired_token");
    expect(r.json.detail).toMatch(/nextSetTimestamp/);
    // a fresh token works again
    const fresh = await fetchPage(10, 10);
    expect((await fetchPage(10, 10, fresh.nextPageToken)).count).toBe(10);
  });

  test("no key, a wrong key, a revoked key: 401; a key without feed:read: 403", async () => {
    expectProblem(await raw({ startTimestamp: 10 }, {}), 401, "unauthorized");
    expectProblem(await raw({ startTimestamp: 10 }, headers("hs_wrong_key_0000000000000000")), 401, "unauthorized");
    expectProblem(await raw({ startTimestamp: 10 }, { authorization: `Bearer ${feedKey}` }), 401, "unauthorized");
    expectProblem(await raw({ startTimestamp: 10 }, headers(lookupKey)), 403, "forbidden");
    const doomed = await platformKey(s, ["feed:read"], "doomed");
    expect((await raw({ startTimestamp: 10, pageSize: 1 }, headers(doomed))).status).toBe(200);
    await s.store.revokeApiKey("doomed", clock);
    expectProblem(await raw({ startTimestamp: 10, pageSize: 1 }, headers(doomed)), 401, "unauthorized");
  });

  test("bad startTimestamp and pageSize: 400 with a reason; odd queries never a 5xx", async () => {
    const bad: [Record<string, string | number>, string][] = [
      [{ startTimestamp: -1 }, "invalid_start_timestamp"],
      [{ startTimestamp: "soon" }, "invalid_start_timestamp"],
      [{ startTimestamp: "1e9" }, "invalid_start_timestamp"],
      [{ startTimestamp: "99999999999999" }, "invalid_start_timestamp"],
      [{ pageSize: 0 }, "invalid_page_size"],
      [{ pageSize: 1001 }, "invalid_page_size"],
      [{ pageSize: "ten" }, "invalid_page_size"],
    ];
    for (const [q, reason] of bad) {
      const r = await raw(q);
      expectProblem(r, 400, "invalid-query");
      expect(r.json.errors[0].code).toBe(reason);
    }
    const twice = await call(s.url, "GET", `${BASE}/FetchHashes?pageSize=1&pageSize=2`, { headers: headers(feedKey) });
    expectProblem(twice, 400, "invalid-query");
    // defaults: no parameters at all is the whole feed from the start, 800 a page
    const all = PageSchema.parse((await raw({})).json);
    expect(all.count).toBe(800);
    // unknown parameters are ignored
    expect((await raw({ startTimestamp: 10, pageSize: 1, colour: "blue" })).status).toBe(200);
    const odd = ["%00", "%ff", "startTimestamp=", "nextPageToken=", "pageSize=%20", "startTimestamp=0x10", "nextPageToken=%F0%9F%92%A9"];
    for (const q of odd) {
      const r = await call(s.url, "GET", `${BASE}/FetchHashes?${q}`, { headers: headers(feedKey) });
      expect(r.status, `${q}: ${r.text}`).toBeLessThan(500);
    }
  });
});
