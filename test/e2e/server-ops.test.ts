/**
 * Running the server: restart over the same SQLite file loses nothing; health
 * (ready only once the index is loaded); rate limits; logs without secrets;
 * schema migrations and WAL; TLS; the `serve` command and `serve keys`.
 */
import { execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CreateCaseResponseSchema } from "../../src/protocol/index.ts";
import { createLogger, MIGRATIONS, SchemaTooNewError, SqliteStore } from "../../src/server/index.ts";
import { BIN, ROOT } from "../helpers.ts";
import { call, CLIENT, expectProblem, feedId, flipBits, platformKey, randomPdq, start, tempDir } from "./server-helpers.ts";

let t: ReturnType<typeof tempDir>;
beforeAll(() => {
  t = tempDir();
});
afterAll(() => t.remove());

const dbPath = (name: string) => path.join(t.dir, `${name}.db`);

describe("restart", () => {
  test("a server restarted over the same file loses nothing", async () => {
    const db = dbPath("restart");
    const a = await start(db, { rateLimit: false });
    const key = await platformKey(a, ["feed:read", "lookup", "feedback:write"]);
    const v = randomPdq();
    const idem = randomUUID();
    const body = { hashes: [{ type: "pdq", value: v }, { type: "md5", value: "00112233445566778899aabbccddeeff" }], client: CLIENT };
    const created = await call(a.url, "POST", "/v1/cases", { body, idem });
    const c = CreateCaseResponseSchema.parse(created.json);
    const id = feedId(db, v);
    await call(a.url, "POST", "/v1/feedback", { body: { items: [{ id, verdict: "blocked" }] }, auth: `Bearer ${key}` });
    const statusA = await call(a.url, "GET", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}` });
    const feedA = await call(a.url, "GET", "/v1/feed", { auth: `Bearer ${key}` });
    await a.close();

    const b = await start(db, { rateLimit: false });
    try {
      expect(b.url).not.toBe("");
      const statusB = await call(b.url, "GET", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}` });
      expect(statusB.text).toBe(statusA.text);
      expect(statusB.json.hashes[0].feedback.blocked).toBe(1);
      const feedB = await call(b.url, "GET", "/v1/feed", { auth: `Bearer ${key}` });
      expect(feedB.json.records).toEqual(feedA.json.records);
      // a cursor of the first run still resumes after the restart (the server key is kept beside the file)
      const resumed = await call(b.url, "GET", `/v1/feed?cursor=${feedA.json.nextCursor}`, { auth: `Bearer ${key}` });
      expect(resumed.status, resumed.text).toBe(200);
      expect(resumed.json.records).toEqual([]);
      // the match index was rebuilt from the store
      const l = await call(b.url, "POST", "/v1/lookup", {
        body: { queries: [{ type: "pdq", value: flipBits(v, 4) }, { type: "md5", value: "00112233445566778899aabbccddeeff" }] },
        auth: `Bearer ${key}`,
      });
      expect(l.json.results.map((r: { matches: { distance: number }[] }) => r.matches.map((m) => m.distance))).toEqual([[4], [0]]);
      // the idempotency record survived too
      const replay = await call(b.url, "POST", "/v1/cases", { body, idem });
      expect(replay.text).toBe(created.text);
    } finally {
      await b.close();
    }
  });

  test("the file is in WAL mode with every migration applied; a newer schema is refused", async () => {
    const db = dbPath("schema");
    const s = SqliteStore.open(db);
    expect(s.journalMode()).toBe("wal");
    expect(s.schemaVersion()).toBe(MIGRATIONS[MIGRATIONS.length - 1].version);
    await s.close();
    // a later migration is applied to an existing file, once
    const more = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: "test", sql: "CREATE TABLE later (x INTEGER);" }];
    const s2 = SqliteStore.open(db, { migrations: more });
    expect(s2.schemaVersion()).toBe(MIGRATIONS.length + 1);
    await s2.close();
    const s3 = SqliteStore.open(db, { migrations: more });
    await s3.close();
    // this hashsafe knows fewer migrations than the file has: refused, file untouched
    expect(() => SqliteStore.open(db)).toThrow(SchemaTooNewError);
    const d = new Database(db, { readonly: true });
    expect(d.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length + 1);
    d.close();
  });

  test("a database in a folder that does not exist yet: the folders are made, owner-only", async () => {
    const db = path.join(t.dir, "new", "deeper", "server.db");
    const s = SqliteStore.open(db);
    expect(s.schemaVersion()).toBe(MIGRATIONS[MIGRATIONS.length - 1].version);
    await s.close();
    expect(statSync(db).isFile()).toBe(true);
    expect(statSync(path.dirname(db)).mode & 0o777).toBe(0o700);
  });
});

describe("health", () => {
  test("live at once; ready (and every API call) 503 with Retry-After until the index is loaded", async () => {
    let release!: () => void;
    const s = await start(dbPath("health"), { waitUntilReady: false, testHooks: { holdReady: new Promise<void>((r) => (release = r)) } });
    try {
      expect((await call(s.url, "GET", "/v1/health/live")).json).toEqual({ status: "live" });
      const notReady = await call(s.url, "GET", "/v1/health/ready");
      expectProblem(notReady, 503, "not-ready");
      expect(notReady.headers["retry-after"]).toBe("1");
      expectProblem(await call(s.url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT } }), 503, "not-ready");
      release();
      await s.ready;
      expect((await call(s.url, "GET", "/v1/health/ready")).json).toEqual({ status: "ready" });
      expect((await call(s.url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT } })).status).toBe(201);
    } finally {
      await s.close();
    }
  });
});

describe("rate limits", () => {
  test("per address: 429 with Retry-After once the bucket is empty", async () => {
    const s = await start(dbPath("rate-address"), { rateLimit: { address: { burst: 3, perSecond: 0.5 }, case: false } });
    try {
      const key = await platformKey(s, ["feed:read"]);
      for (let i = 0; i < 3; i++) expect((await call(s.url, "GET", "/v1/feed", { auth: `Bearer ${key}` })).status).toBe(200);
      const r = await call(s.url, "GET", "/v1/feed", { auth: `Bearer ${key}` });
      expectProblem(r, 429, "rate-limited");
      expect(r.headers["retry-after"]).toBe("2");
      // health stays open for load balancers
      expect((await call(s.url, "GET", "/v1/health/ready")).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  test("behind a proxy (--trust-proxy), the address is the last X-Forwarded-For entry", async () => {
    const s = await start(dbPath("rate-proxy"), { trustProxy: true, rateLimit: { address: { burst: 1, perSecond: 0.1 }, case: false } });
    try {
      const key = await platformKey(s, ["feed:read"]);
      const as = (xff: string) => call(s.url, "GET", "/v1/feed", { auth: `Bearer ${key}`, headers: { "x-forwarded-for": xff } });
      expect((await as("203.0.113.9, 198.51.100.1")).status).toBe(200);
      expectProblem(await as("203.0.113.77, 198.51.100.1"), 429, "rate-limited"); // same last hop: same client
      expect((await as("198.51.100.2")).status).toBe(200); // another client
    } finally {
      await s.close();
    }
  });

  test("per case: one busy case does not hold up another", async () => {
    const s = await start(dbPath("rate-case"), { rateLimit: { address: false, case: { burst: 2, perSecond: 0.2 } } });
    try {
      const mk = async () =>
        CreateCaseResponseSchema.parse(
          (await call(s.url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT } })).json,
        );
      const a = await mk();
      const b = await mk();
      const get = (c: typeof a) => call(s.url, "GET", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}` });
      expect((await get(a)).status).toBe(200);
      expect((await get(a)).status).toBe(200);
      const r = await get(a);
      expectProblem(r, 429, "rate-limited");
      expect(r.headers["retry-after"]).toBe("5");
      expect((await get(b)).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe("logs", () => {
  test("one JSON line per request: method, route pattern, status, ms; no hashes, secrets, keys, ids or addresses", async () => {
    const lines: string[] = [];
    const s = await start(dbPath("logs"), { rateLimit: false, logger: createLogger("info", (l) => lines.push(l)) });
    try {
      const key = await platformKey(s, ["feed:read", "lookup"]);
      const v = randomPdq();
      const c = CreateCaseResponseSchema.parse(
        (await call(s.url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: v }], client: CLIENT } })).json,
      );
      await call(s.url, "GET", `/v1/cases/${c.caseId}`, { auth: `Case ${c.caseSecret}` });
      await call(s.url, "GET", `/v1/cases/${c.caseId}`, { auth: "Case wrong" });
      await call(s.url, "POST", "/v1/lookup", { body: { queries: [{ type: "pdq", value: v }] }, auth: `Bearer ${key}` });
      await call(s.url, "GET", "/v1/feed", { auth: `Bearer ${key}` });
      const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "request");
      expect(requests.map((l) => [l.method, l.route, l.status])).toEqual([
        ["POST", "/v1/cases", 201],
        ["GET", "/v1/cases/:caseId", 200],
        ["GET", "/v1/cases/:caseId", 404],
        ["POST", "/v1/lookup", 200],
        ["GET", "/v1/feed", 200],
      ]);
      for (const l of requests) {
        expect(Object.keys(l).sort()).toEqual(["level", "method", "ms", "msg", "route", "status", "time"]);
        expect(typeof l.ms).toBe("number");
      }
      const all = lines.join("");
      for (const secret of [v, c.caseId, c.caseSecret, key, (c.hashes[0] as { id: string }).id, "127.0.0.1"]) {
        expect(all).not.toContain(secret);
      }
    } finally {
      await s.close();
    }
  });
});

const CERT = `-----BEGIN CERTIFICATE-----
MIIBjzCCATagAwIBAgIUHsgB36ATXW3DrQXjkm/9ksyeKRYwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyMzE4MjkyMFoYDzIxMjYxMDMw
MTgyOTIwWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQrn8QeDmRX2utOeqGdRQ97COyE6Mhrg7KAlTZ/BhvLltxXpYV/SWDt
y7tLHkijkGmpZsKvrU1RWxkSp3vgIPr2o2QwYjAdBgNVHQ4EFgQUGHbYRI0DuFQO
HAURdA9bE1fyicYwHwYDVR0jBBgwFoAUGHbYRI0DuFQOHAURdA9bE1fyicYwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0cAMEQC
IHzW2TqoZINkSAXF/e0Lxf5nXz2NjMGIA8vREhArB9g8AiBAoPPj/LZcKYXLi2OW
KQyULhk1Q9g1Pvig2zXclXeW+A==
-----END CERTIFICATE-----
`;
// A throwaway self-signed key for 127.0.0.1, for this test only.
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgv6I/jHJdOoFHu+eD
cI50Az+y3tcAgtJRjVMiVFnHjCOhRANCAAQrn8QeDmRX2utOeqGdRQ97COyE6Mhr
g7KAlTZ/BhvLltxXpYV/SWDty7tLHkijkGmpZsKvrU1RWxkSp3vgIPr2
-----END PRIVATE KEY-----
`;

describe("TLS", () => {
  test("serves HTTPS with a certificate and key", async () => {
    const s = await start(dbPath("tls"), { tls: { cert: CERT, key: KEY } });
    const agent = new Agent({ connect: { ca: CERT } });
    try {
      expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const r = await request(`${s.url}/v1/health/ready`, { dispatcher: agent });
      expect(r.statusCode).toBe(200);
      expect(await r.body.json()).toEqual({ status: "ready" });
    } finally {
      await agent.close();
      await s.close();
    }
  });
});

describe("the serve command", () => {
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, HASHSAFE_HOME: t.dir } }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  test("keys create / list / revoke on the server's file; refused, saying why, while a server holds it", async () => {
    const db = dbPath("keys");
    let s = await start(db, { rateLimit: false });
    // the server holds its file exclusively (one process per SQLite file)
    const busy = await run(["serve", "keys", "list", "--db", db]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/in use by another process.*hashsafe serve/);
    await s.close();
    try {
      const created = await run(["serve", "keys", "create", "--name", "acme", "--scopes", "feed:read,lookup", "--db", db, "--format", "json"]);
      expect(created.code, created.stderr).toBe(0);
      const k = JSON.parse(created.stdout);
      expect(k).toMatchObject({ id: expect.any(Number), name: "acme", scopes: ["feed:read", "lookup"], revokedAt: null });
      expect(k.key).toMatch(/^hsk_[A-Za-z0-9_-]{43}$/);
      s = await start(db, { rateLimit: false });
      expect((await call(s.url, "GET", "/v1/feed", { auth: `Bearer ${k.key}` })).status).toBe(200);
      await s.close();

      const text = await run(["serve", "keys", "create", "--name", "other", "--scopes", "feedback:write", "--db", db]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/shown only this once/);
      expect(text.stdout).toMatch(/hsk_[A-Za-z0-9_-]{43}/);

      const dup = await run(["serve", "keys", "create", "--name", "acme", "--scopes", "lookup", "--db", db]);
      expect(dup.code).toBe(2);
      expect(dup.stderr).toMatch(/exists/);
      const badScope = await run(["serve", "keys", "create", "--name", "x", "--scopes", "admin", "--db", db]);
      expect(badScope.code).toBe(2);
      expect(badScope.stderr).toMatch(/unknown scope/);

      const list = await run(["serve", "keys", "list", "--db", db, "--format", "json"]);
      expect(list.code).toBe(0);
      const keys = JSON.parse(list.stdout);
      expect(keys.map((x: { name: string }) => x.name)).toEqual(["acme", "other"]);
      expect(list.stdout).not.toContain(k.key);
      const listText = await run(["serve", "keys", "list", "--db", db]);
      expect(listText.stdout).toMatch(/acme\s+feed:read,lookup/);

      const revoked = await run(["serve", "keys", "revoke", "acme", "--db", db]);
      expect(revoked.code).toBe(0);
      const again = await run(["serve", "keys", "revoke", String(k.id), "--db", db]);
      expect(again.code).toBe(2);
      s = await start(db, { rateLimit: false });
      expectProblem(await call(s.url, "GET", "/v1/feed", { auth: `Bearer ${k.key}` }), 401, "unauthorized");
    } finally {
      await s.close();
    }
  });

  test("hashsafe serve --tls-cert/--tls-key serves HTTPS", async () => {
    const cert = path.join(t.dir, "cert.pem");
    const keyFile = path.join(t.dir, "key.pem");
    writeFileSync(cert, CERT);
    writeFileSync(keyFile, KEY);
    const child = spawn(
      process.execPath,
      [BIN, "serve", "--port", "0", "--db", dbPath("serve-tls"), "--tls-cert", cert, "--tls-key", keyFile, "--format", "json"],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const agent = new Agent({ connect: { ca: CERT } });
    try {
      const first = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once("line", resolve);
        child.once("exit", () => reject(new Error("serve exited")));
      });
      const { url } = JSON.parse(first);
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const r = await request(`${url}/v1/health/ready`, { dispatcher: agent });
      expect(r.statusCode).toBe(200);
      await r.body.dump();
    } finally {
      await agent.close();
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
    const half = await run(["serve", "--tls-cert", cert, "--db", dbPath("serve-tls")]);
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/--tls-cert and --tls-key go together/);
  });

  test("hashsafe serve prints its URL, serves, and stops cleanly on SIGTERM", async () => {
    const db = dbPath("serve-cli");
    const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--db", db, "--format", "json"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once("line", resolve);
      child.once("exit", () => reject(new Error(`serve exited: ${stderr}`)));
    });
    const { url } = JSON.parse(first);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await call(url, "GET", "/v1/health/ready")).status).toBe(200);
    const r = await call(url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT } });
    expect(r.status).toBe(201);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const logs = stderr.trim().split("\n").map((l) => JSON.parse(l));
    expect(logs.some((l) => l.msg === "request" && l.route === "/v1/cases" && l.status === 201)).toBe(true);
    expect(stderr).not.toContain(r.json.caseSecret);
    expect(stderr).not.toContain(r.json.caseId);
    // the case is in the file
    const d = new Database(db, { readonly: true });
    expect((d.prepare("SELECT count(*) AS n FROM cases").get() as { n: number }).n).toBe(1);
    d.close();
  });
});
