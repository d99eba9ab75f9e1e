/**
 * Issue 10, point 1: the server's problem+json in the language of
 * Accept-Language. Against real servers on loopback (SQLite files): for a
 * representative set of errors, `es-DO` (and `es-419`, and `fr;q=1,
 * es;q=0.5`) answers the Spanish catalogue text; `en`, no header, `fr`, `*`
 * and `es;q=0` answer English; `type`, `status` and `errors` are the same in
 * both; Content-Language names the language and Vary names Accept-Language.
 * The Node and the browser client send their `lang` and the person reads the
 * server's detail in it.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BrowserClient } from "../../src/browser/client.ts";
import { ApiError, HashShareClient } from "../../src/client/index.ts";
import { type MessageKey, type Params, t } from "../../src/i18n/index.ts";
import { MAX_BODY_BYTES, MAX_FEED_LIMIT } from "../../src/protocol/index.ts";
import type { RunningServer } from "../../src/server/index.ts";
import { call, type CallOptions, CLIENT, expectProblem, platformKey, randomPdq, type Reply, start, tempDir } from "./server-helpers.ts";

let dir: ReturnType<typeof tempDir>;
/** a frozen clock; quotas: one case per day, three hashes per case; no rate limits, wrong secrets not slowed down */
let a: RunningServer;
/** a frozen clock: a case limit of one call, and one free wrong secret (the waits never run out) */
let b: RunningServer;
/** a frozen clock: one call per address */
let c: RunningServer;
let caseId: string;
let caseSecret: string;
let bCaseId: string;
let bCaseSecret: string;
let lookupKey: string;

const FROZEN = Date.UTC(2026, 11, 3, 12, 0, 0);

beforeAll(async () => {
  dir = tempDir();
  a = await start(path.join(dir.dir, "a.db"), {
    rateLimit: false,
    quotas: { address: { casesPerDay: 1, hashesPerDay: 1000 }, intake: false, hashesPerCase: 3 },
    secretFailures: { free: 1_000_000 }, // wrong secrets are asked often here; never slowed down
    now: () => FROZEN, // the same Retry-After in every language
  });
  const r = await call(a.url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT } });
  expect(r.status, r.text).toBe(201);
  caseId = r.json.caseId;
  caseSecret = r.json.caseSecret;
  lookupKey = await platformKey(a, ["lookup"]);

  b = await start(path.join(dir.dir, "b.db"), {
    rateLimit: { address: false, case: { burst: 1, perSecond: 1 } },
    secretFailures: { free: 1 },
    now: () => FROZEN,
  });
  const rb = await call(b.url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT } });
  expect(rb.status, rb.text).toBe(201);
  bCaseId = rb.json.caseId;
  bCaseSecret = rb.json.caseSecret;
  // the case's one call, then every call of the case is a 429
  expect((await call(b.url, "GET", `/v1/cases/${bCaseId}`, { auth: `Case ${bCaseSecret}` })).status).toBe(200);
  // one wrong secret on another id: from then on that id waits (the clock never moves)
  expect((await call(b.url, "GET", `/v1/cases/c_${"A".repeat(22)}`, { auth: "Case wrong" })).status).toBe(404);

  c = await start(path.join(dir.dir, "c.db"), { rateLimit: { address: { burst: 1, perSecond: 1 }, case: false }, now: () => FROZEN });
  expect((await call(c.url, "GET", "/v1/health/live")).status).toBe(200); // not rate limited
  expect((await call(c.url, "GET", "/v1/feed")).status).toBe(401); // takes the address's one token
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), c?.close()]);
  dir?.remove();
});

/** What the detail must be: the catalogue text of `key` (with `params`), or, when a part comes from elsewhere, patterns. */
type Said = { key: MessageKey; params?: Params } | { es: RegExp; en: RegExp };

interface Case {
  name: string;
  server: () => RunningServer;
  method: string;
  path: () => string;
  options?: () => CallOptions;
  status: number;
  code: string;
  said: Said;
}

const addBody = (n: number) => ({ hashes: Array.from({ length: n }, () => ({ type: "pdq", value: randomPdq() })) });

const CASES: Case[] = [
  {
    name: "bad JSON",
    server: () => a,
    method: "POST",
    path: () => "/v1/cases",
    options: () => ({ raw: '{"hashes": [' }),
    status: 400,
    code: "invalid-body",
    said: { es: /^el cuerpo no es JSON válido: \S/, en: /^the body is not valid JSON: \S/ },
  },
  {
    name: "schema violation",
    server: () => a,
    method: "POST",
    path: () => "/v1/cases",
    options: () => ({ body: { hashes: "not a list", client: CLIENT } }),
    status: 400,
    code: "invalid-body",
    said: { key: "server.body.schema" },
  },
  {
    name: "not application/json",
    server: () => a,
    method: "POST",
    path: () => "/v1/cases",
    options: () => ({ raw: "hashes=1", contentType: "text/plain" }),
    status: 415,
    code: "unsupported-media-type",
    said: { key: "server.body.mediaType", params: { type: '"text/plain"' } },
  },
  {
    name: "no Idempotency-Key",
    server: () => a,
    method: "POST",
    path: () => "/v1/cases",
    options: () => ({ body: { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT }, idem: null }),
    status: 400,
    code: "missing-idempotency-key",
    said: { key: "server.idem.missing", params: { method: "POST", header: "Idempotency-Key" } },
  },
  {
    name: "body too large",
    server: () => a,
    method: "POST",
    path: () => "/v1/cases",
    options: () => ({ raw: Buffer.alloc(MAX_BODY_BYTES + 1, 0x20) }),
    status: 413,
    code: "body-too-large",
    said: { key: "server.body.tooLarge", params: { max: MAX_BODY_BYTES } },
  },
  {
    name: "no case secret",
    server: () => a,
    method: "GET",
    path: () => `/v1/cases/${caseId}`,
    status: 401,
    code: "unauthorized",
    said: { key: "server.auth.caseNeeded" },
  },
  {
    name: "wrong case secret",
    server: () => a,
    method: "GET",
    path: () => `/v1/cases/${caseId}`,
    options: () => ({ auth: "Case not-the-secret" }),
    status: 404,
    code: "not-found",
    said: { key: "server.auth.caseNotFound" },
  },
  {
    name: "unknown case",
    server: () => a,
    method: "GET",
    path: () => `/v1/cases/c_${"B".repeat(22)}`,
    options: () => ({ auth: `Case ${caseSecret}` }),
    status: 404,
    code: "not-found",
    said: { key: "server.auth.caseNotFound" },
  },
  {
    name: "no such hash in the case",
    server: () => a,
    method: "DELETE",
    path: () => `/v1/cases/${caseId}/hashes/h_${"C".repeat(22)}`,
    options: () => ({ auth: `Case ${caseSecret}` }),
    status: 404,
    code: "not-found",
    said: { key: "server.case.noSuchHash" },
  },
  {
    name: "no such route",
    server: () => a,
    method: "GET",
    path: () => "/v1/nothing-here",
    status: 404,
    code: "not-found",
    said: { key: "server.route.notFound" },
  },
  {
    name: "no platform key",
    server: () => a,
    method: "GET",
    path: () => "/v1/feed",
    status: 401,
    code: "unauthorized",
    said: { key: "server.auth.keyNeeded" },
  },
  {
    name: "a key without the scope",
    server: () => a,
    method: "GET",
    path: () => "/v1/feed",
    options: () => ({ auth: `Bearer ${lookupKey}` }),
    status: 403,
    code: "forbidden",
    said: { key: "server.auth.scope", params: { scope: "feed:read" } },
  },
  {
    name: "invalid lookup queries (errors[] per item)",
    server: () => a,
    method: "POST",
    path: () => "/v1/lookup",
    options: () => ({ auth: `Bearer ${lookupKey}`, body: { queries: [{ type: "pdq", value: "zz" }, { type: "md5", value: "12" }] } }),
    status: 400,
    code: "invalid-body",
    said: { key: "server.lookup.invalid", params: { count: 2 } },
  },
  {
    name: "daily quota of cases",
    server: () => a,
    method: "POST",
    path: () => "/v1/cases",
    options: () => ({ body: { hashes: [{ type: "pdq", value: randomPdq() }], client: CLIENT } }),
    status: 429,
    code: "quota-exceeded",
    said: { es: /^se agotó la cuota diaria de 1 casos nuevos desde esta dirección \(van 1\);.* en \d+ s$/, en: /^the daily quota of 1 new cases from this address is used up \(1 so far\);.* after \d+ s$/ },
  },
  {
    name: "the case is full",
    server: () => a,
    method: "POST",
    path: () => `/v1/cases/${caseId}/hashes`,
    options: () => ({ auth: `Case ${caseSecret}`, body: addBody(5) }),
    status: 422,
    code: "case-full",
    said: { key: "server.case.full", params: { max: 3, used: 1 } },
  },
  {
    name: "StopNCII route without a key",
    server: () => a,
    method: "GET",
    path: () => "/compat/stopncii/v1/FetchHashes",
    status: 401,
    code: "unauthorized",
    said: { key: "server.stopncii.keyNeeded" },
  },
  {
    name: "StopNCII route, bad pageSize (errors[] stays English)",
    server: () => a,
    method: "GET",
    path: () => "/compat/stopncii/v1/FetchHashes?pageSize=0",
    options: () => ({ headers: { "x-functions-key": feedKey } }),
    status: 400,
    code: "invalid-query",
    said: { key: "server.stopncii.pageSize", params: { max: MAX_FEED_LIMIT, value: '"0"' } },
  },
  {
    name: "per-case rate limit",
    server: () => b,
    method: "GET",
    path: () => `/v1/cases/${bCaseId}`,
    options: () => ({ auth: `Case ${bCaseSecret}` }),
    status: 429,
    code: "rate-limited",
    said: { key: "server.rate.case", params: { seconds: 1 } },
  },
  {
    name: "wrong secrets, slowed down",
    server: () => b,
    method: "GET",
    path: () => `/v1/cases/c_${"A".repeat(22)}`,
    options: () => ({ auth: "Case wrong" }),
    status: 429,
    code: "rate-limited",
    said: { key: "server.rate.wrongSecret", params: { seconds: 1 } },
  },
  {
    name: "per-address rate limit",
    server: () => c,
    method: "GET",
    path: () => "/v1/feed",
    status: 429,
    code: "rate-limited",
    said: { key: "server.rate.address", params: { seconds: 1 } },
  },
];

let feedKey: string;
beforeAll(async () => {
  feedKey = await platformKey(a, ["feed:read"]);
});

async function ask(k: Case, acceptLanguage: string | undefined): Promise<Reply> {
  const o = k.options?.() ?? {};
  const headers = { ...o.headers, ...(acceptLanguage === undefined ? {} : { "accept-language": acceptLanguage }) };
  const r = await call(k.server().url, k.method, k.path(), { ...o, headers });
  expectProblem(r, k.status, k.code);
  return r;
}

function expectSaid(said: Said, lang: "es" | "en", got: string): void {
  if ("key" in said) expect(got).toBe(t(lang, said.key, said.params));
  else expect(got).toMatch(said[lang]);
}

function expectHeaders(r: Reply, lang: "es" | "en"): void {
  expect(r.headers["content-language"]).toBe(lang);
  expect(String(r.headers.vary).toLowerCase().split(/\s*,\s*/)).toContain("accept-language");
}

describe("problem details in the language of Accept-Language", () => {
  test.each(CASES.map((k) => [k.name, k] as const))("%s", async (_name, k) => {
    const es = await ask(k, "es-DO");
    const en = await ask(k, "en");
    const none = await ask(k, undefined);
    const fr = await ask(k, "fr-FR");

    expectSaid(k.said, "es", es.json.detail);
    expectHeaders(es, "es");
    for (const r of [en, none, fr]) {
      expectSaid(k.said, "en", r.json.detail);
      expectHeaders(r, "en");
    }
    // the English title is the protocol's; the Spanish one the catalogue's
    expect(en.json.title).toBe(t("en", `server.title.${k.code.replaceAll("-", "_")}` as MessageKey));
    expect(es.json.title).toBe(t("es", `server.title.${k.code.replaceAll("-", "_")}` as MessageKey));
    expect(es.json.detail).not.toBe(en.json.detail);
    // the machine fields do not change with the language
    for (const r of [en, none, fr]) {
      expect(r.json.type).toBe(es.json.type);
      expect(r.json.status).toBe(es.json.status);
      expect(r.json.errors).toEqual(es.json.errors);
      expect(Object.keys(r.json)).toEqual(Object.keys(es.json));
      expect(r.headers["retry-after"]).toBe(es.headers["retry-after"]);
    }
  });

  test.each([
    ["es", "es"],
    ["es-419", "es"],
    ["es-MX,es;q=0.9,en;q=0.8", "es"],
    ["fr;q=1, es;q=0.5", "es"],
    ["en;q=0.5, es;q=0.9", "es"],
    ["en-GB,en;q=0.9,es;q=0.8", "en"],
    ["ES-do", "es"],
    ["es;q=0, en;q=0.1", "en"],
    ["es;q=0", "en"],
    ["*", "en"],
    ["fr, de", "en"],
    ["", "en"],
    ["es;q=abc", "en"],
  ])("Accept-Language %j answers %s", async (header, lang) => {
    const r = await call(a.url, "GET", `/v1/cases/${caseId}`, { auth: "Case wrong-again", headers: { "accept-language": header } });
    expectProblem(r, 404, "not-found");
    expect(r.json.detail).toBe(t(lang as "es" | "en", "server.auth.caseNotFound"));
    expect(r.headers["content-language"]).toBe(lang);
  });

  test("a refused write stores no answer under its Idempotency-Key: the retry is answered in its own language", async () => {
    const idem = randomUUID();
    const hashPath = `/v1/cases/${caseId}/hashes/h_${"D".repeat(22)}`;
    const first = await call(a.url, "DELETE", hashPath, { auth: `Case ${caseSecret}`, idem, headers: { "accept-language": "es" } });
    expectProblem(first, 404, "not-found");
    expect(first.json.detail).toBe(t("es", "server.case.noSuchHash"));
    const again = await call(a.url, "DELETE", hashPath, { auth: `Case ${caseSecret}`, idem, headers: { "accept-language": "en" } });
    expectProblem(again, 404, "not-found");
    expect(again.headers["idempotent-replayed"]).toBeUndefined();
    expect(again.json.detail).toBe(t("en", "server.case.noSuchHash"));
    expect(again.headers["content-language"]).toBe("en");
  });
});

describe("the clients send the person's language", () => {
  test("HashShareClient with lang es: ApiError.detail is Spanish; without lang, English", async () => {
    const es = new HashShareClient({ server: a.url, lang: "es", retry: { maxAttempts: 1 } });
    const plain = new HashShareClient({ server: a.url, retry: { maxAttempts: 1 } });
    try {
      const eErr = await es.getCase(caseId, "wrong-secret").catch((e: unknown) => e);
      const nErr = await plain.getCase(caseId, "wrong-secret").catch((e: unknown) => e);
      expect(eErr).toBeInstanceOf(ApiError);
      expect(nErr).toBeInstanceOf(ApiError);
      expect((eErr as ApiError).detail).toBe(t("es", "server.auth.caseNotFound"));
      expect((eErr as ApiError).title).toBe(t("es", "server.title.not_found"));
      expect((nErr as ApiError).detail).toBe(t("en", "server.auth.caseNotFound"));
      expect((eErr as ApiError).type).toBe((nErr as ApiError).type);
    } finally {
      await es.close();
      await plain.close();
    }
  });

  test("BrowserClient with lang es: ApiError.detail is Spanish; with lang en, English", async () => {
    const es = new BrowserClient({ server: a.url, lang: "es", retry: { maxAttempts: 1 } });
    const en = new BrowserClient({ server: a.url, lang: "en", retry: { maxAttempts: 1 } });
    const eErr = await es.getCase(caseId, "wrong-secret").catch((e: unknown) => e);
    const nErr = await en.getCase(caseId, "wrong-secret").catch((e: unknown) => e);
    expect((eErr as ApiError).detail).toBe(t("es", "server.auth.caseNotFound"));
    expect((nErr as ApiError).detail).toBe(t("en", "server.auth.caseNotFound"));
  });

  test("BrowserClient with lang as a function: asked at each call (the page's language switch)", async () => {
    let pageLang = "en";
    const client = new BrowserClient({ server: a.url, lang: () => pageLang, retry: { maxAttempts: 1 } });
    const before = await client.getCase(caseId, "wrong-secret").catch((e: unknown) => e);
    pageLang = "es";
    const after = await client.getCase(caseId, "wrong-secret").catch((e: unknown) => e);
    expect((before as ApiError).detail).toBe(t("en", "server.auth.caseNotFound"));
    expect((after as ApiError).detail).toBe(t("es", "server.auth.caseNotFound"));
  });
});
