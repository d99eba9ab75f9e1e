/**
 * Case secrets on the real server: the new format is accepted however it is
 * typed; an unknown case and a wrong secret give the same answer; wrong
 * secrets are slowed down per case id (known or not); a case made with a
 * legacy secret and a scrypt row still opens, and its row is re-stored as HMAC;
 * the server key lives beside the database, owner-only, and a database whose
 * key file is lost is refused.
 */
import { randomBytes } from "node:crypto";
import { rmSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CreateCaseResponseSchema } from "../../src/protocol/index.ts";
import { hashSecret, keyPathFor, ServerKeyError, SqliteStore } from "../../src/server/index.ts";
import { call, CLIENT, expectProblem, randomPdq, readDb, start, tempDir } from "./server-helpers.ts";

let t: ReturnType<typeof tempDir>;
beforeAll(() => {
  t = tempDir();
});
afterAll(() => t.remove());

const create = async (url: string) =>
  CreateCaseResponseSchema.parse((await call(url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT } })).json);

describe("case secrets", () => {
  test("typed with spaces, without dashes or in lower case: accepted; unknown case and wrong secret: the same 404", async () => {
    const s = await start(path.join(t.dir, "typed.db"), { rateLimit: false });
    try {
      const c = await create(s.url);
      for (const typed of [c.caseSecret, c.caseSecret.toLowerCase(), c.caseSecret.replaceAll("-", ""), c.caseSecret.replaceAll("-", " ")]) {
        const r = await call(s.url, "GET", `/v1/cases/${c.caseId}`, { auth: `Case ${typed}` });
        expect(r.status, typed).toBe(200);
      }
      const wrong = await call(s.url, "GET", `/v1/cases/${c.caseId}`, { auth: `Case ${(await create(s.url)).caseSecret}` });
      const unknown = await call(s.url, "GET", `/v1/cases/c_${randomBytes(16).toString("base64url")}`, { auth: `Case ${c.caseSecret}` });
      const malformed = await call(s.url, "GET", "/v1/cases/nope", { auth: `Case ${c.caseSecret}` });
      expectProblem(wrong, 404, "not-found");
      expect(unknown.text).toBe(wrong.text);
      expect(malformed.text).toBe(wrong.text);
    } finally {
      await s.close();
    }
  });

  test("wrong secrets are slowed down per case id, known or unknown alike (429 + Retry-After); other cases are not", async () => {
    const s = await start(path.join(t.dir, "slow.db"), { rateLimit: false, secretFailures: { free: 5, maxWaitSeconds: 900 } });
    try {
      const c = await create(s.url);
      const other = await create(s.url);
      const ghost = `c_${randomBytes(16).toString("base64url")}`;
      const answers: Record<string, number[]> = { known: [], unknown: [] };
      for (let i = 0; i < 7; i++) {
        answers.known.push((await call(s.url, "GET", `/v1/cases/${c.caseId}`, { auth: "Case 0000-0000-0000-0000-0000-0000-0000" })).status);
        answers.unknown.push((await call(s.url, "GET", `/v1/cases/${ghost}`, { auth: "Case 0000-0000-0000-0000-0000-0000-0000" })).status);
      }
      expect(answers.known).toEqual([404, 404, 404, 404, 404, 429, 429]);
      expect(answers.unknown).toEqual(answers.known);
      const held = await call(s.url, "GET", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}` });
      expectProblem(held, 429, "rate-limited");
      expect(Number(held.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect((await call(s.url, "GET", `/v1/cases/${other.caseId}`, { auth: `Case ${other.caseSecret}` })).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  test("a legacy case (base64url secret, scrypt row) still opens; its row is then re-stored as HMAC", async () => {
    const db = path.join(t.dir, "legacy.db");
    let s = await start(db, { rateLimit: false });
    const legacySecret = randomBytes(32).toString("base64url");
    const caseId = `c_${randomBytes(16).toString("base64url")}`;
    const value = randomPdq();
    try {
      // a case as an earlier server stored it
      await s.store.createCase(
        { caseId, secretHash: await hashSecret(legacySecret, { N: 1024, r: 8, p: 1 }), client: CLIENT, hashes: [{ type: "pdq", value }], now: Date.now(), newHashId: () => `h_${randomBytes(12).toString("base64url")}` },
        { respond: () => ({ status: 201, body: {} }) },
      );
      const row = () => readDb<{ secret_hash: string }>(db, "SELECT secret_hash FROM cases WHERE public_id = ?", caseId)[0].secret_hash;
      expect(row()).toMatch(/^scrypt\$/);
      expectProblem(await call(s.url, "GET", `/v1/cases/${caseId}`, { auth: `Case ${randomBytes(32).toString("base64url")}` }), 404);
      expect(row()).toMatch(/^scrypt\$/);
      const r = await call(s.url, "GET", `/v1/cases/${caseId}`, { auth: `Case ${legacySecret}` });
      expect(r.status, r.text).toBe(200);
      expect(r.json.hashes[0].value).toBe(value);
      expect(row()).toMatch(/^hmac1\$/);
      await s.close();
      s = await start(db, { rateLimit: false });
      expect((await call(s.url, "GET", `/v1/cases/${caseId}`, { auth: `Case ${legacySecret}` })).status).toBe(200);
      expectProblem(await call(s.url, "GET", `/v1/cases/${caseId}`, { auth: `Case ${legacySecret.toLowerCase()}` }), 404);
    } finally {
      await s.close();
    }
  });

  test("the server key: a 0600 file beside the database, kept across restarts; a database whose key is lost is refused", async () => {
    const db = path.join(t.dir, "key.db");
    let s = await start(db, { rateLimit: false });
    const c = await create(s.url);
    await s.close();
    const file = keyPathFor(db);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(file).size).toBe(32);
    // the key is not in the database
    const d = SqliteStore.open(db);
    try {
      const meta = d.readQuery<{ name: string; value: string }>("SELECT name, value FROM meta");
      expect(meta.map((m) => m.name)).toEqual(["server_key_fingerprint"]);
    } finally {
      await d.close();
    }
    s = await start(db, { rateLimit: false });
    expect((await call(s.url, "GET", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}` })).status).toBe(200);
    await s.close();
    rmSync(file);
    await expect(start(db, { rateLimit: false })).rejects.toThrow(ServerKeyError);
    await expect(start(db, { rateLimit: false })).rejects.toThrow(/key file .* was missing.*Restore the key file/);
  });
});
