/**
 * What the feed and the case answers reveal, on the real server over a SQLite
 * file, attacked the way the hostile review did.
 *
 * Acceptance 1 (unlinkable feed): 50 cases of 1..20 hashes, created and partly
 * withdrawn in bursts, published by the server's batch policy on a simulated
 * clock. A platform polls the feed after every batch, paging with limit=1 to
 * collect every record's cursor. It then groups the records by time, by time
 * and status, by poll, by position and by cursor, and counts how many of the
 * true groups (the records of one case's write) it recovers exactly. Each
 * strategy is compared with chance: the same group sizes filled at random (or,
 * for positions, the batches shuffled at random). No strategy may beat chance.
 *
 * Acceptance 2 (no oracle): a second case submitting a victim's hash learns
 * nothing about the first case or about feedback from before it joined.
 */
import { randomBytes, randomInt } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CreateCaseResponseSchema, FeedResponseSchema } from "../../src/protocol/index.ts";
import type { RunningServer } from "../../src/server/index.ts";
import { call, CLIENT, feedId, platformKey, randomPdq, start, tempDir } from "./server-helpers.ts";

let t: ReturnType<typeof tempDir>;
beforeAll(() => {
  t = tempDir();
});
afterAll(() => t.remove());

interface Seen {
  id: string;
  status: string;
  updatedAt: string;
  /** the nextCursor of the limit=1 page that delivered it */
  cursor: string;
  /** which poll delivered it */
  poll: number;
  /** global position in what the platform saw */
  pos: number;
}

/** Count truth groups that equal one group of `groups` exactly (groups and truths are sets of record keys). */
function recovered(truth: string[][], groups: string[][]): number {
  const asKey = (g: string[]) => [...g].sort().join("|");
  const have = new Set(groups.map(asKey));
  return truth.filter((g) => have.has(asKey(g))).length;
}

/** Fill groups of the same sizes with the records in a random order: chance, for a grouping strategy. */
function randomGrouping(records: string[], sizes: number[]): string[][] {
  const a = [...records];
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  const out: string[][] = [];
  let k = 0;
  for (const n of sizes) {
    out.push(a.slice(k, k + n));
    k += n;
  }
  return out;
}

/** Truth groups that are contiguous somewhere in `order` (the best a position attacker who knows the sizes can hope for). */
function contiguous(truth: string[][], order: string[]): number {
  const at = new Map(order.map((k, i) => [k, i]));
  return truth.filter((g) => {
    const p = g.map((k) => at.get(k)!).sort((x, y) => x - y);
    return p[p.length - 1] - p[0] === p.length - 1;
  }).length;
}

function groupBy<T>(xs: T[], key: (x: T) => string): T[][] {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(x);
  }
  return [...m.values()];
}

function stats(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  return { mean, sd };
}

/** Run the 50-case simulation against a server with `feedBatch` and return what the platform saw plus the truth. */
async function simulate(feedBatch: "immediate" | { intervalMs: number; minCases: number; maxDelayMs: number; granularityMs: number }) {
  let clock = Date.UTC(2026, 0, 5, 9, 0, 0);
  const s: RunningServer = await start(path.join(t.dir, `link-${randomBytes(4).toString("hex")}.db`), {
    rateLimit: false,
    now: () => clock,
    // the test drives the batches itself, on its simulated clock (the real timer never fires in this run)
    feedBatch: feedBatch === "immediate" ? "immediate" : { ...feedBatch, intervalMs: 3_600_000 },
  });
  try {
    const key = await platformKey(s, ["feed:read"]);
    const seen: Seen[] = [];
    let cursor: string | undefined;
    let poll = 0;
    const pollFeed = async () => {
      poll++;
      for (;;) {
        const r = await call(s.url, "GET", `/v1/feed?limit=1${cursor ? `&cursor=${cursor}` : ""}`, { auth: `Bearer ${key}` });
        const page = FeedResponseSchema.parse(r.json);
        if (page.records.length === 0) break;
        const rec = page.records[0];
        seen.push({ id: rec.id, status: rec.status, updatedAt: rec.updatedAt, cursor: page.nextCursor, poll, pos: seen.length });
        cursor = page.nextCursor;
      }
    };
    // the server's timer, on the simulated clock: a batch attempt every interval
    let nextTick = clock + (feedBatch === "immediate" ? 60_000 : feedBatch.intervalMs);
    const advance = async (ms: number) => {
      const until = clock + ms;
      while (feedBatch !== "immediate" && nextTick <= until) {
        clock = nextTick;
        const r = await s.server.feed.publish();
        if (r.published) await pollFeed();
        nextTick += feedBatch.intervalMs;
      }
      clock = until;
      if (feedBatch === "immediate") await pollFeed();
    };

    // truth: the feed-record keys (id:status) that each write of each case caused
    const truth: string[][] = [];
    const cases: { caseId: string; caseSecret: string; entries: { entry: string; value: string; active: boolean }[] }[] = [];
    let made = 0;
    while (made < 50) {
      const burst = Math.min(50 - made, 1 + randomInt(6));
      for (let b = 0; b < burst; b++) {
        const values = Array.from({ length: 1 + randomInt(20) }, () => randomPdq());
        const r = await call(s.url, "POST", "/v1/cases", { body: { hashes: values.map((value) => ({ type: "pdq", value })), client: CLIENT } });
        expect(r.status, r.text).toBe(201);
        const c = CreateCaseResponseSchema.parse(r.json);
        cases.push({
          caseId: c.caseId,
          caseSecret: c.caseSecret,
          entries: c.hashes.map((h, i) => ({ entry: (h as { id: string }).id, value: values[i], active: true })),
        });
        truth.push(values.map((v) => `${feedId(dbOf(s), v)}:active`));
        made++;
        await advance(randomInt(3000));
      }
      // now and then a burst of withdrawals: whole cases, or some of a case's hashes
      if (randomInt(3) === 0) {
        for (let w = 0; w < 1 + randomInt(3); w++) {
          const c = cases[randomInt(cases.length)];
          const active = c.entries.filter((e) => e.active);
          if (active.length === 0) continue;
          if (randomInt(2) === 0) {
            const r = await call(s.url, "DELETE", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}` });
            expect(r.status, r.text).toBe(200);
            truth.push(active.map((e) => `${feedId(dbOf(s), e.value)}:withdrawn`));
            for (const e of active) e.active = false;
          } else {
            const some = active.slice(0, 1 + randomInt(active.length));
            const ids: string[] = [];
            for (const e of some) {
              const r = await call(s.url, "DELETE", `/v1/cases/${c.caseId}/hashes/${e.entry}`, { auth: `Case ${c.caseSecret}` });
              expect(r.status, r.text).toBe(200);
              e.active = false;
              ids.push(`${feedId(dbOf(s), e.value)}:withdrawn`);
            }
            truth.push(ids);
          }
          await advance(randomInt(3000));
        }
      }
      await advance(30_000 + randomInt(90_000));
    }
    // let the policy publish everything that is left (maxDelay passes)
    await advance(20 * 60_000);
    return { seen, truth };
  } finally {
    await s.close();
  }
}

const dbOf = (s: RunningServer) => (s.store as unknown as { path: string }).path;

/** Every strategy's score next to chance. */
function attack(seen: Seen[], truthAll: string[][]) {
  const keyOf = (r: Seen) => `${r.id}:${r.status}`;
  const keys = seen.map(keyOf);
  const have = new Set(keys);
  // groups of one record carry no link; a record replaced before the platform saw it cannot be attacked
  const truth = truthAll.filter((g) => g.length >= 2 && g.every((k) => have.has(k)));
  const out: Record<string, { score: number; chance: number; sd: number }> = {};
  const partition = (name: string, groups: Seen[][]) => {
    const g = groups.map((x) => x.map(keyOf));
    const sizes = g.map((x) => x.length);
    const trials = Array.from({ length: 200 }, () => recovered(truth, randomGrouping(keys, sizes)));
    const { mean, sd } = stats(trials);
    out[name] = { score: recovered(truth, g), chance: mean, sd };
  };
  partition("time", groupBy(seen, (r) => r.updatedAt));
  partition("time+status", groupBy(seen, (r) => `${r.updatedAt}|${r.status}`));
  partition("poll+status", groupBy(seen, (r) => `${r.poll}|${r.status}`));
  // cursors: group by any readable prefix, then order by cursor as if it held a position
  partition("cursor prefix", groupBy(seen, (r) => r.cursor.slice(0, 4)));
  // positions: a truth group contiguous in the feed order, versus the same batches (polls) shuffled at random
  const order = keys;
  const byCursor = [...seen].sort((a, b) => (a.cursor < b.cursor ? -1 : 1)).map(keyOf);
  const polls = groupBy(seen, (r) => String(r.poll)).map((g) => g.map(keyOf));
  const shuffledWithin = () =>
    polls.flatMap((g) => {
      const a = [...g];
      for (let i = a.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [a[i], a[j]] = [a[j], a[i]];
      }
      return a;
    });
  const trials = Array.from({ length: 200 }, () => contiguous(truth, shuffledWithin()));
  const { mean, sd } = stats(trials);
  out.position = { score: contiguous(truth, order), chance: mean, sd };
  const fullShuffle = Array.from({ length: 200 }, () => contiguous(truth, randomGrouping(keys, [keys.length])[0]));
  const fs = stats(fullShuffle);
  out["cursor order"] = { score: contiguous(truth, byCursor), chance: fs.mean, sd: fs.sd };
  return { truth: truth.length, records: seen.length, out };
}

const beatsChance = (r: { score: number; chance: number; sd: number }) => r.score > r.chance + 3 * r.sd + 1;

describe("the linking attack (acceptance 1)", { timeout: 240_000 }, () => {
  test("50 cases created and partly withdrawn in bursts: grouping by time, status, poll, position or cursor recovers no more cases than chance", async () => {
    const { seen, truth } = await simulate({ intervalMs: 60_000, minCases: 3, maxDelayMs: 15 * 60_000, granularityMs: 60_000 });
    const a = attack(seen, truth);
    console.log(JSON.stringify(a));
    expect(a.truth).toBeGreaterThan(30);
    for (const [name, r] of Object.entries(a.out)) expect(beatsChance(r), `${name}: ${JSON.stringify(r)}`).toBe(false);
    // every record's time is a whole minute; cursors are all different and none is readable
    expect(seen.every((r) => /:00\.000Z$/.test(r.updatedAt))).toBe(true);
    expect(new Set(seen.map((r) => r.cursor)).size).toBe(seen.length);
    for (const r of seen) expect(Buffer.from(r.cursor, "base64url").toString("latin1")).not.toMatch(/^hsf/);
    // a batch mixes at least three cases, per kind of record
    const batches = groupBy(seen, (r) => `${r.poll}|${r.status}`);
    const owner = new Map<string, number>();
    truth.forEach((g, i) => g.forEach((k) => owner.set(k, i)));
    expect(batches.filter((b) => new Set(b.map((r) => owner.get(`${r.id}:${r.status}`))).size < 2).length).toBeLessThanOrEqual(1);
  });

  test("the attack does find links when the feed is published write by write (it can fail)", async () => {
    const { seen, truth } = await simulate("immediate");
    const a = attack(seen, truth);
    expect(beatsChance(a.out["poll+status"]) || beatsChance(a.out.position)).toBe(true);
  });
});

describe("no oracle for whoever holds the pictures (acceptance 2)", () => {
  test("a second case with the victim's hash sees its own entry and only feedback from after it joined", async () => {
    let clock = Date.UTC(2026, 0, 6, 12, 0, 0);
    const db = path.join(t.dir, "oracle.db");
    const s = await start(db, { rateLimit: false, now: () => clock });
    try {
      const platform = await platformKey(s, ["feed:read", "feedback:write"]);
      const victimHash = randomPdq();
      const victim = CreateCaseResponseSchema.parse(
        (await call(s.url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: victimHash }], client: CLIENT } })).json,
      );
      clock += 60_000;
      const fid = feedId(db, victimHash);
      const fb = await call(s.url, "POST", "/v1/feedback", { body: { items: [{ id: fid, verdict: "blocked" }] }, auth: `Bearer ${platform}` });
      expect(fb.json.results[0].status).toBe("recorded");
      clock += 60_000;

      // the abuser: one case with the victim's hash, one with a hash nobody has
      const create = async (value: string) => {
        const r = await call(s.url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value }], client: CLIENT } });
        return { r, c: CreateCaseResponseSchema.parse(r.json) };
      };
      const known = await create(victimHash);
      const fresh = await create(randomPdq());
      const strip = (x: unknown) =>
        JSON.stringify(x)
          .replace(/"(caseId|caseSecret|id|value|createdAt)":"[^"]*"/g, '"$1":"*"');
      // the answers have the same shape and status; the ids are new, not the feed id or the victim's entry
      expect(known.r.status).toBe(fresh.r.status);
      expect(strip(known.r.json)).toBe(strip(fresh.r.json));
      const knownEntry = (known.c.hashes[0] as { id: string }).id;
      expect(knownEntry).not.toBe(fid);
      expect(knownEntry).not.toBe((victim.hashes[0] as { id: string }).id);
      expect(JSON.stringify(known.r.json)).not.toContain(fid);

      const status = async (c: { caseId: string; caseSecret: string }) =>
        (await call(s.url, "GET", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}` })).json;
      const sk = await status(known.c);
      const sf = await status(fresh.c);
      expect(strip(sk)).toBe(strip(sf));
      // the feedback from before it joined is not shown to it; the victim still sees it
      expect(sk.hashes[0].feedback).toEqual({ blocked: 0, notBlocked: 0, pendingReview: 0 });
      expect((await status(victim)).hashes[0].feedback).toEqual({ blocked: 1, notBlocked: 0, pendingReview: 0 });

      // withdrawing: the same answers whether or not another case still holds the hash
      const wk = await call(s.url, "DELETE", `/v1/cases/${known.c.caseId}`, { auth: `Case ${known.c.caseSecret}` });
      const wf = await call(s.url, "DELETE", `/v1/cases/${fresh.c.caseId}`, { auth: `Case ${fresh.c.caseSecret}` });
      expect(strip(wk.json)).toBe(strip(wf.json));
      // adding it again
      const ak = await call(s.url, "POST", `/v1/cases/${known.c.caseId}/hashes`, {
        body: { hashes: [{ type: "pdq", value: victimHash }] },
        auth: `Case ${known.c.caseSecret}`,
      });
      expect(ak.json.hashes[0].id).toBe(knownEntry);

      // feedback given after it joined does show: the trade-off the protocol documents
      clock += 60_000;
      await call(s.url, "POST", "/v1/feedback", { body: { items: [{ id: fid, verdict: "not_blocked" }] }, auth: `Bearer ${platform}` });
      expect((await status(known.c)).hashes[0].feedback).toEqual({ blocked: 0, notBlocked: 1, pendingReview: 0 });
      // the feed still has one record for the hash, which the victim's case holds
      const feed = FeedResponseSchema.parse((await call(s.url, "GET", "/v1/feed?limit=1000", { auth: `Bearer ${platform}` })).json);
      expect(feed.records.filter((r) => r.id === fid).map((r) => r.status)).toEqual(["active"]);
    } finally {
      await s.close();
    }
  });
});
