/**
 * Abuse limits on the real server: per-address daily quotas of cases and
 * hashes (429 + Retry-After until the next UTC day, nothing stored), the cap
 * of hashes per case (422), intake keys with quotas of their own, and the
 * disk watermark (503 + Retry-After for new data; withdrawals still work).
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CreateCaseResponseSchema } from "../../src/protocol/index.ts";
import { call, CLIENT, counts, expectProblem, platformKey, randomPdq, readDb, start, tempDir } from "./server-helpers.ts";

let t: ReturnType<typeof tempDir>;
beforeAll(() => {
  t = tempDir();
});
afterAll(() => t.remove());

const body = (n: number) => ({ hashes: Array.from({ length: n }, () => ({ type: "pdq", value: randomPdq() })), client: CLIENT });

describe("quotas", () => {
  test("per address and day: cases and hashes; the next UTC day starts afresh; nothing is stored past a quota", async () => {
    let clock = Date.UTC(2026, 2, 1, 23, 0, 0);
    const db = path.join(t.dir, "quota.db");
    const s = await start(db, {
      rateLimit: false,
      now: () => clock,
      quotas: { address: { casesPerDay: 3, hashesPerDay: 10 }, intake: false, hashesPerCase: false },
    });
    try {
      const a = await call(s.url, "POST", "/v1/cases", { body: body(4) });
      expect(a.status).toBe(201);
      expect((await call(s.url, "POST", "/v1/cases", { body: body(4) })).status).toBe(201);
      const before = counts(db);
      // 8 hashes used: 3 more would pass 10
      const over = await call(s.url, "POST", "/v1/cases", { body: body(3) });
      expectProblem(over, 429, "quota-exceeded");
      expect(Number(over.headers["retry-after"])).toBe(3600);
      expect(over.json.detail).toMatch(/daily quota of 10 new hashes/);
      expect(counts(db)).toEqual(before);
      // adding to a case counts too
      const c = CreateCaseResponseSchema.parse(a.json);
      expectProblem(await call(s.url, "POST", `/v1/cases/${c.caseId}/hashes`, { body: { hashes: body(3).hashes }, auth: `Case ${c.caseSecret}` }), 429, "quota-exceeded");
      expect((await call(s.url, "POST", `/v1/cases/${c.caseId}/hashes`, { body: { hashes: body(2).hashes }, auth: `Case ${c.caseSecret}` })).status).toBe(200);
      // a hash already in the case costs nothing
      const again = { hashes: [{ type: "pdq", value: c.hashes[0].value }] };
      expect((await call(s.url, "POST", `/v1/cases/${c.caseId}/hashes`, { body: again, auth: `Case ${c.caseSecret}` })).status).toBe(200);
      // cases: 2 made, 1 more allowed (of 0 hashes left... so the hash quota speaks first)
      expectProblem(await call(s.url, "POST", "/v1/cases", { body: body(1) }), 429, "quota-exceeded");
      // the next day
      clock = Date.UTC(2026, 2, 2, 0, 0, 1);
      expect((await call(s.url, "POST", "/v1/cases", { body: body(1) })).status).toBe(201);
      expect((await call(s.url, "POST", "/v1/cases", { body: body(1) })).status).toBe(201);
      expect((await call(s.url, "POST", "/v1/cases", { body: body(1) })).status).toBe(201);
      const fourth = await call(s.url, "POST", "/v1/cases", { body: body(1) });
      expectProblem(fourth, 429, "quota-exceeded");
      expect(fourth.json.detail).toMatch(/daily quota of 3 new cases/);
      // the address is kept only as a keyed digest
      const subjects = readDb<{ subject: string }>(db, "SELECT subject FROM quota_usage").map((r) => r.subject);
      expect(subjects.length).toBeGreaterThan(0);
      for (const x of subjects) expect(x).not.toContain("127.0.0.1");
    } finally {
      await s.close();
    }
  });

  test("a case holds at most hashesPerCase hashes (422, nothing added)", async () => {
    const s = await start(path.join(t.dir, "cap.db"), { rateLimit: false, quotas: { address: false, intake: false, hashesPerCase: 5 } });
    try {
      expectProblem(await call(s.url, "POST", "/v1/cases", { body: body(6) }), 422, "case-full");
      const c = CreateCaseResponseSchema.parse((await call(s.url, "POST", "/v1/cases", { body: body(4) })).json);
      const more = await call(s.url, "POST", `/v1/cases/${c.caseId}/hashes`, { body: { hashes: body(2).hashes }, auth: `Case ${c.caseSecret}` });
      expectProblem(more, 422, "case-full");
      expect((await call(s.url, "GET", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}` })).json.hashes).toHaveLength(4);
      expect((await call(s.url, "POST", `/v1/cases/${c.caseId}/hashes`, { body: { hashes: body(1).hashes }, auth: `Case ${c.caseSecret}` })).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  test("intake keys: counted under their own quotas, not their address's; a platform key or a bad key is refused", async () => {
    const s = await start(path.join(t.dir, "intake.db"), {
      rateLimit: false,
      quotas: { address: { casesPerDay: 1, hashesPerDay: 100 }, intake: { casesPerDay: 5, hashesPerDay: 100 }, hashesPerCase: false },
    });
    try {
      const ngo = await platformKey(s, ["intake"]);
      const feed = await platformKey(s, ["feed:read"]);
      expect((await call(s.url, "POST", "/v1/cases", { body: body(1) })).status).toBe(201);
      expectProblem(await call(s.url, "POST", "/v1/cases", { body: body(1) }), 429, "quota-exceeded");
      for (let i = 0; i < 5; i++) expect((await call(s.url, "POST", "/v1/cases", { body: body(1), auth: `Bearer ${ngo}` })).status).toBe(201);
      const over = await call(s.url, "POST", "/v1/cases", { body: body(1), auth: `Bearer ${ngo}` });
      expectProblem(over, 429, "quota-exceeded");
      expect(over.json.detail).toMatch(/intake key/);
      expectProblem(await call(s.url, "POST", "/v1/cases", { body: body(1), auth: `Bearer ${feed}` }), 403, "forbidden");
      expectProblem(await call(s.url, "POST", "/v1/cases", { body: body(1), auth: "Bearer hsk_nope" }), 401, "unauthorized");
    } finally {
      await s.close();
    }
  });
});

describe("disk watermark", () => {
  test("below it: 503 + Retry-After for new cases, hashes and feedback; reads and withdrawals still work", async () => {
    const db = path.join(t.dir, "water.db");
    const s = await start(db, { rateLimit: false, storage: { minFreeBytes: 1 } });
    try {
      const c = CreateCaseResponseSchema.parse((await call(s.url, "POST", "/v1/cases", { body: body(2) })).json);
      const fb = await platformKey(s, ["feedback:write"]);
      // the disk "fills": raise the watermark past any real free space
      (s.server.storage as unknown as { options: { minFreeBytes: number } }).options.minFreeBytes = Number.MAX_SAFE_INTEGER;
      await new Promise((r) => setTimeout(r, 1100)); // free space is checked at most once a second
      const before = counts(db);
      const full = await call(s.url, "POST", "/v1/cases", { body: body(1) });
      expectProblem(full, 503, "storage-full");
      expect(full.headers["retry-after"]).toBe("30");
      expectProblem(await call(s.url, "POST", `/v1/cases/${c.caseId}/hashes`, { body: { hashes: body(1).hashes }, auth: `Case ${c.caseSecret}` }), 503, "storage-full");
      expectProblem(await call(s.url, "POST", "/v1/feedback", { body: { items: [{ id: "h_AAAAAAAAAAAAAAAA", verdict: "blocked" }] }, auth: `Bearer ${fb}` }), 503, "storage-full");
      expect(counts(db)).toEqual(before);
      expect((await call(s.url, "GET", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}` })).status).toBe(200);
      expect((await call(s.url, "DELETE", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}` })).status).toBe(200);
      expect((await call(s.url, "GET", "/v1/health/ready")).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});
