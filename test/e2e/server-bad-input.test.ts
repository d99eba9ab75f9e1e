/**
 * Issue 4, acceptance 4: bad input to the server. Each request answers the
 * documented 4xx problem+json, nothing partial is stored (row counts of the
 * real SQLite file do not move), and the server keeps serving.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import { Readable } from "node:stream";
import fc from "fast-check";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { MAX_BODY_BYTES } from "../../src/protocol/index.ts";
import type { RunningServer } from "../../src/server/index.ts";
import { call, CLIENT, counts, expectProblem, platformKey, randomPdq, type Reply, start, tempDir } from "./server-helpers.ts";

let t: ReturnType<typeof tempDir>;
let db: string;
let s: RunningServer;
let caseId: string;
let caseSecret: string;
let before: Record<string, number>;

beforeAll(async () => {
  t = tempDir();
  db = path.join(t.dir, "server.db");
  s = await start(db, { rateLimit: false });
  const r = await call(s.url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT } });
  expect(r.status).toBe(201);
  caseId = r.json.caseId;
  caseSecret = r.json.caseSecret;
});

afterAll(async () => {
  await s.close();
  t.remove();
});

beforeEach(() => {
  before = counts(db);
});

afterEach(async () => {
  // Nothing partial stored, and the server still answers.
  expect(counts(db)).toEqual(before);
  const ready = await call(s.url, "GET", "/v1/health/ready");
  expect(ready.status).toBe(200);
});

const good = () => ({ hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT });

describe("malformed bodies", () => {
  test.each([
    ["truncated JSON", '{"hashes": [{"type": "pdq", '],
    ["not JSON at all", "hashes=abc"],
    ["an empty body", ""],
    ["a JSON array", "[]"],
    ["JSON null", "null"],
    ["a JSON string", '"hello"'],
    ["hashes not a list", '{"hashes": {"type": "pdq"}, "client": {"name": "a", "version": "1"}}'],
    ["an empty hash list", '{"hashes": [], "client": {"name": "a", "version": "1"}}'],
    ["no client", `{"hashes": [{"type": "pdq", "value": "${randomPdq()}"}]}`],
    ["a hash value that is a number", '{"hashes": [{"type": "pdq", "value": 12}], "client": {"name": "a", "version": "1"}}'],
  ])("%s is a 400", async (_what, raw) => {
    const r = await call(s.url, "POST", "/v1/cases", { raw });
    expectProblem(r, 400, "invalid-body");
  });

  test("invalid UTF-8 is a 400, not a 500", async () => {
    const r = await call(s.url, "POST", "/v1/cases", { raw: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) });
    expectProblem(r, 400, "invalid-body");
  });
});

describe("content type", () => {
  test.each([["text/plain"], ["application/x-www-form-urlencoded"], ["multipart/form-data; boundary=x"]])(
    "%s is a 415",
    async (ct) => {
      const r = await call(s.url, "POST", "/v1/cases", { raw: JSON.stringify(good()), contentType: ct });
      expectProblem(r, 415, "unsupported-media-type");
    },
  );

  test("no content type is a 415", async () => {
    const r = await call(s.url, "POST", "/v1/cases", { raw: JSON.stringify(good()), contentType: null });
    expectProblem(r, 415, "unsupported-media-type");
  });

  test("application/json with a charset is accepted (and the answer is JSON)", async () => {
    const r = await call(s.url, "POST", "/v1/lookup", {
      raw: JSON.stringify({ queries: [{ type: "pdq", value: randomPdq() }] }),
      contentType: "application/json; charset=utf-8",
      auth: `Bearer ${await platformKey(s, ["lookup"])}`,
    });
    before = counts(db);
    expect(r.status).toBe(200);
    expect(r.json.results).toHaveLength(1);
  });
});

describe("unknown fields", () => {
  test.each([
    ["a file name beside the hashes", { ...good(), fileName: "IMG_0001.jpg" }],
    ["EXIF in the client", { hashes: good().hashes, client: { ...CLIENT, exif: { Make: "Canon" } } }],
    ["quality on a hash", { hashes: [{ type: "pdq", value: randomPdq(), quality: 100 }], client: CLIENT }],
    ["a preview on a hash", { hashes: [{ type: "pdq", value: randomPdq(), blurhash: "LKO2?U%2Tw=w]~RBVZRi};RPxuwH" }], client: CLIENT }],
    ["__proto__", JSON.parse(`{"hashes": [{"type": "pdq", "value": "${randomPdq()}"}], "client": {"name": "a", "version": "1"}, "__proto__": {"x": 1}}`)],
  ])("%s is a 400 naming the field", async (_what, body) => {
    const r = await call(s.url, "POST", "/v1/cases", { body });
    expectProblem(r, 400, "invalid-body");
    expect(r.json.errors.some((e: { code: string }) => e.code === "unrecognized_keys")).toBe(true);
  });

  test("unknown fields in lookup and feedback are 400s", async () => {
    const key = await platformKey(s, ["lookup", "feedback:write"]);
    before = counts(db);
    const l = await call(s.url, "POST", "/v1/lookup", {
      body: { queries: [{ type: "pdq", value: randomPdq() }], caseId },
      auth: `Bearer ${key}`,
    });
    expectProblem(l, 400, "invalid-body");
    const f = await call(s.url, "POST", "/v1/feedback", {
      body: { items: [{ id: "h_AAAAAAAAAAAAAAAA", verdict: "blocked", note: "x" }] },
      auth: `Bearer ${key}`,
    });
    expectProblem(f, 400, "invalid-body");
  });

  test("unknown feed query parameters are a 400", async () => {
    const key = await platformKey(s, ["feed:read"]);
    before = counts(db);
    for (const q of ["?since=2020-01-01", "?limit=0", "?limit=1001", "?limit=ten", "?cursor=bogus", "?limit=5&limit=6"]) {
      expectProblem(await call(s.url, "GET", `/v1/feed${q}`, { auth: `Bearer ${key}` }), 400, "invalid-query");
    }
  });
});

describe("bad hashes", () => {
  const bad = [
    { type: "pdq", value: "abc", reason: "wrong_length" },
    { type: "pdq", value: "g".repeat(64), reason: "not_hex" },
    { type: "pdq", value: "0".repeat(64), reason: "all_zero" },
    { type: "pdq", value: `${"0".repeat(62)}ff`, reason: "too_few_bits" },
    { type: "pdq", value: `${"f".repeat(62)}00`, reason: "too_many_bits" },
    { type: "md5", value: "z".repeat(32), reason: "not_hex" },
    { type: "sha1", value: "a".repeat(40), reason: "unsupported_type" },
  ];

  test("a request with only bad hashes is a 422 listing each one; no case is created", async () => {
    const r = await call(s.url, "POST", "/v1/cases", {
      body: { hashes: bad.map(({ type, value }) => ({ type, value })), client: CLIENT },
    });
    expectProblem(r, 422, "no-valid-hashes");
    expect(r.json.errors).toEqual(bad.map((b, index) => ({ index, code: b.reason, message: expect.any(String) })));
  });

  test("a mixed batch stores only the valid hashes and reports each rejected item by index", async () => {
    const valid = randomPdq();
    const r = await call(s.url, "POST", "/v1/cases", {
      body: { hashes: [...bad.map(({ type, value }) => ({ type, value })), { type: "PDQ", value: valid.toUpperCase() }], client: CLIENT },
    });
    expect(r.status).toBe(201);
    expect(r.json.hashes.slice(0, bad.length)).toEqual(
      bad.map((b, index) => ({ index, type: b.type, value: b.value, status: "rejected", reason: b.reason })),
    );
    expect(r.json.hashes[bad.length]).toMatchObject({ index: bad.length, type: "pdq", value: valid, status: "accepted" });
    // one case and one hash more, nothing else
    expect(counts(db)).toEqual({ ...before, cases: before.cases + 1, hashes: before.hashes + 1, case_hashes: before.case_hashes + 1, idempotency: before.idempotency + 1 });
    before = counts(db);
  });

  test("bad hashes added to a case are a 422 and change nothing", async () => {
    const r = await call(s.url, "POST", `/v1/cases/${caseId}/hashes`, {
      body: { hashes: bad.map(({ type, value }) => ({ type, value })) },
      auth: `Case ${caseSecret}`,
    });
    expectProblem(r, 422, "no-valid-hashes");
  });

  test("bad lookup queries are a 400 listing each one", async () => {
    const key = await platformKey(s, ["lookup"]);
    before = counts(db);
    const r = await call(s.url, "POST", "/v1/lookup", {
      body: { queries: [{ type: "pdq", value: randomPdq() }, { type: "pdq", value: "0".repeat(64) }] },
      auth: `Bearer ${key}`,
    });
    expectProblem(r, 400, "invalid-body");
    expect(r.json.errors).toEqual([{ index: 1, code: "all_zero", message: expect.any(String) }]);
    for (const maxDistance of [-1, 32, 1.5, "3"]) {
      const m = await call(s.url, "POST", "/v1/lookup", {
        body: { queries: [{ type: "pdq", value: randomPdq() }], maxDistance },
        auth: `Bearer ${key}`,
      });
      expectProblem(m, 400, "invalid-body");
    }
  });
});

describe("sizes", () => {
  test("10,000 hashes in one request is a 413", async () => {
    const hashes = Array.from({ length: 10_000 }, () => ({ type: "pdq", value: randomPdq() }));
    const r = await call(s.url, "POST", "/v1/cases", { body: { hashes, client: CLIENT } });
    expectProblem(r, 413);
  });

  test("501 hashes (a small body) is a 413 for the batch", async () => {
    const hashes = Array.from({ length: 501 }, () => ({ type: "pdq", value: randomPdq() }));
    const r = await call(s.url, "POST", "/v1/cases", { body: { hashes, client: CLIENT } });
    expectProblem(r, 413, "batch-too-large");
    const add = await call(s.url, "POST", `/v1/cases/${caseId}/hashes`, { body: { hashes }, auth: `Case ${caseSecret}` });
    expectProblem(add, 413, "batch-too-large");
  });

  test("101 lookup queries is a 413", async () => {
    const key = await platformKey(s, ["lookup"]);
    before = counts(db);
    const queries = Array.from({ length: 101 }, () => ({ type: "pdq", value: randomPdq() }));
    expectProblem(await call(s.url, "POST", "/v1/lookup", { body: { queries }, auth: `Bearer ${key}` }), 413, "batch-too-large");
  });

  test("a 10 MB body is a 413", async () => {
    const raw = Buffer.alloc(10 * 1024 * 1024, 0x20);
    const r = await call(s.url, "POST", "/v1/cases", { raw });
    expectProblem(r, 413, "body-too-large");
  });

  test("a 10 MB body sent in chunks, without Content-Length, is a 413", async () => {
    async function* chunks() {
      yield Buffer.from('{"hashes": [');
      for (let i = 0; i < 160; i++) yield Buffer.alloc(64 * 1024, 0x20);
    }
    const res = await request(`${s.url}/v1/cases`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": randomUUID() },
      body: Readable.from(chunks()),
    }).then(
      async (r): Promise<Reply> => {
        const text = await r.body.text();
        return { status: r.statusCode, headers: r.headers, text, json: JSON.parse(text) };
      },
      (err: Error) => err,
    );
    // The server answers 413 as soon as it has read MAX_BODY_BYTES; undici may see the
    // connection close before it finishes sending. Either way nothing is stored.
    if (res instanceof Error) expect(res.message).toMatch(/socket|closed|reset|EPIPE|other side/i);
    else expectProblem(res, 413, "body-too-large");
  });

  test("a body just under the limit is read in full (and then judged on its content)", async () => {
    const pad = " ".repeat(MAX_BODY_BYTES - 200);
    const r = await call(s.url, "POST", "/v1/cases", { raw: `${pad}{"hashes": []}` });
    expectProblem(r, 400, "invalid-body");
  });
});

describe("authentication", () => {
  test("feed without a key is a 401 with WWW-Authenticate", async () => {
    const r = await call(s.url, "GET", "/v1/feed");
    expectProblem(r, 401, "unauthorized");
    expect(r.headers["www-authenticate"]).toBe("Bearer");
  });

  test.each([["Bearer hsk_wrong"], [`Bearer hsk_${"A".repeat(43)}`], ["Basic dXNlcjpwYXNz"], ["Bearer"]])(
    "feed with %s is a 401",
    async (auth) => {
      expectProblem(await call(s.url, "GET", "/v1/feed", { auth }), 401, "unauthorized");
    },
  );

  test("a key without the scope is a 403; a revoked key is a 401", async () => {
    const key = await platformKey(s, ["feed:read"], "scoped");
    before = counts(db);
    const r = await call(s.url, "POST", "/v1/lookup", { body: { queries: [{ type: "pdq", value: randomPdq() }] }, auth: `Bearer ${key}` });
    expectProblem(r, 403, "forbidden");
    expectProblem(await call(s.url, "POST", "/v1/feedback", { body: { items: [] }, auth: `Bearer ${key}` }), 403, "forbidden");
    expect((await call(s.url, "GET", "/v1/feed", { auth: `Bearer ${key}` })).status).toBe(200);
    await s.store.revokeApiKey("scoped", Date.now());
    expectProblem(await call(s.url, "GET", "/v1/feed", { auth: `Bearer ${key}` }), 401, "unauthorized");
  });

  test("a wrong case secret and an unknown case answer the same 404", async () => {
    const wrong = await call(s.url, "GET", `/v1/cases/${caseId}`, { auth: `Case ${"A".repeat(43)}` });
    const unknown = await call(s.url, "GET", `/v1/cases/c_${"A".repeat(22)}`, { auth: `Case ${caseSecret}` });
    const malformed = await call(s.url, "GET", "/v1/cases/..%2Fetc", { auth: `Case ${caseSecret}` });
    for (const r of [wrong, unknown, malformed]) expectProblem(r, 404, "not-found");
    expect(unknown.text).toBe(wrong.text);
    expect(malformed.text).toBe(wrong.text);
    // writes with a wrong secret are 404s too, and change nothing
    expectProblem(await call(s.url, "DELETE", `/v1/cases/${caseId}`, { auth: `Case ${"B".repeat(43)}` }), 404, "not-found");
    expectProblem(
      await call(s.url, "POST", `/v1/cases/${caseId}/hashes`, { body: { hashes: [{ type: "pdq", value: randomPdq() }] }, auth: "Case nope" }),
      404,
      "not-found",
    );
    // the right secret still works
    expect((await call(s.url, "GET", `/v1/cases/${caseId}`, { auth: `Case ${caseSecret}` })).status).toBe(200);
  });

  test("a case call without a secret is a 401", async () => {
    const r = await call(s.url, "GET", `/v1/cases/${caseId}`);
    expectProblem(r, 401, "unauthorized");
    expect(r.headers["www-authenticate"]).toBe("Case");
  });
});

describe("idempotency keys", () => {
  test("a key reused with another body is a 422, and the first answer stays", async () => {
    const key = randomUUID();
    const body = good();
    const first = await call(s.url, "POST", "/v1/cases", { body, idem: key });
    expect(first.status).toBe(201);
    before = counts(db);
    const second = await call(s.url, "POST", "/v1/cases", { body: good(), idem: key });
    expectProblem(second, 422, "idempotency-key-reused");
    // another body, again
    const elsewhere = await call(s.url, "POST", "/v1/cases", { body: { ...body, client: { name: "other", version: "1" } }, idem: key });
    expectProblem(elsewhere, 422, "idempotency-key-reused");
    const replay = await call(s.url, "POST", "/v1/cases", { body, idem: key });
    expect(replay.status).toBe(201);
    expect(replay.text).toBe(first.text);
  });

  test.each([["missing", null], ["too short", "abc"], ["with spaces", "not a valid key at all"]])(
    "a %s Idempotency-Key is a 400",
    async (_what, idem) => {
      const r = await call(s.url, "POST", "/v1/cases", { body: good(), idem });
      expectProblem(r, 400, "missing-idempotency-key");
      expectProblem(await call(s.url, "DELETE", `/v1/cases/${caseId}`, { auth: `Case ${caseSecret}`, idem }), 400);
    },
  );

  test("a DELETE with a body is a 400", async () => {
    const r = await call(s.url, "DELETE", `/v1/cases/${caseId}`, { auth: `Case ${caseSecret}`, body: { all: true } });
    expectProblem(r, 400, "invalid-body");
  });
});

describe("routes", () => {
  test("an unknown route or method is a 404 problem", async () => {
    expectProblem(await call(s.url, "GET", "/v1/nope"), 404, "not-found");
    expectProblem(await call(s.url, "PUT", "/v1/cases", { body: good() }), 404, "not-found");
    expectProblem(await call(s.url, "GET", "/"), 404, "not-found");
  });
});

test("after all of it, a good request still works", async () => {
  const r = await call(s.url, "POST", "/v1/cases", { body: good() });
  expect(r.status).toBe(201);
  before = counts(db);
});

test("random JSON and random bytes to every POST route never get a 500, and nothing is half-stored", async () => {
  const key = await platformKey(s, ["lookup", "feedback:write"]);
  before = counts(db);
  const routes = ["/v1/cases", `/v1/cases/${caseId}/hashes`, "/v1/lookup", "/v1/feedback"];
  const auth = (route: string) => (route.startsWith("/v1/cases/") ? `Case ${caseSecret}` : route === "/v1/cases" ? undefined : `Bearer ${key}`);
  const body = fc.oneof(
    fc.json().map((j) => Buffer.from(j)),
    fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    fc.record({ hashes: fc.array(fc.record({ type: fc.constantFrom("pdq", "md5", "x"), value: fc.string() }), { maxLength: 3 }) }).map((o) =>
      Buffer.from(JSON.stringify(o)),
    ),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...routes), body, async (route, raw) => {
      const r = await call(s.url, "POST", route, { raw, auth: auth(route) });
      expect([400, 413, 422]).toContain(r.status);
      expectProblem(r, r.status);
    }),
    { numRuns: 150 },
  );
});
