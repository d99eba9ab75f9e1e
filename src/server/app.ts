/**
 * The reference server as a Hono app: every route of API v1 (see
 * ../protocol and docs/protocol.md), independent of how it is served.
 *
 * Each route is a chain of small middlewares (./middleware), one per concern,
 * in this order: readiness (503), the per-address rate limit (429), the body
 * (413, read before anything is parsed), authentication (401/403, or the
 * generic 404 for cases) and the per-case rate limit (429), the storage guard
 * (503 while the storage fails or the disk is nearly full), the quotas that
 * the write must respect, the Idempotency-Key (400), the content type (415),
 * the idempotency record (replay, 409, 422), JSON, batch size and schema
 * (400/413), then the handler, whose writes and answer commit in one
 * transaction in the store. The business rules (per-case entries, batched
 * feed, a hash withdrawn only when no case holds it, atomic idempotency,
 * quotas) live in the Store contract (store.ts).
 */
import { Hono, type MiddlewareHandler } from "hono";
import {
  AddHashesRequestSchema,
  type CanonicalHash,
  type CaseStatusResponse,
  checkHash,
  CreateCaseRequestSchema,
  DEFAULT_MAX_DISTANCE,
  FeedbackRequestSchema,
  FeedQuerySchema,
  type HashItemResult,
  type HashInput,
  LookupRequestSchema,
  MAX_FEEDBACK_ITEMS,
  MAX_HASHES_PER_REQUEST,
  MAX_LOOKUP_QUERIES,
  type ProblemError,
  ROUTES,
  type RoutePattern,
} from "../protocol/index.ts";
import { openCursor, sealCursor } from "./cursor.ts";
import { type BatchPolicy, FeedPublisher } from "./feed-publisher.ts";
import type { Logger } from "./logger.ts";
import { createLogger } from "./logger.ts";
import { MatchIndex, type PdqIndex } from "./match-index.ts";
import { caseAuth, DEFAULT_FAILURE_POLICY, FailureCounter, type FailurePolicy, optionalIntakeKey, platformAuth } from "./middleware/auth.ts";
import { jsonBody, readBody, requireJson, requireNoBody, schemaErrors } from "./middleware/body.ts";
import { ApiError, type AppEnv, clientAddress, type Ctx, jsonResponse, problemIn, problemResponse } from "./middleware/context.ts";
import { detail, requestLang } from "./middleware/lang.ts";
import { answerOf, idempotency, requireIdempotencyKey } from "./middleware/idempotency.ts";
import { DEFAULT_QUOTAS, quota, type QuotaOptions, secondsToNextDay } from "./middleware/quota.ts";
import { rateLimit } from "./middleware/rate-limit.ts";
import { requireReady } from "./middleware/ready.ts";
import { DEFAULT_STORAGE, StorageHealth, storageGuard, type StorageOptions } from "./middleware/storage.ts";
import { type BucketLimit, bucketsFor, SharedFailureCounter } from "./rate-limit.ts";
import { cors } from "./middleware/cors.ts";
import { registerWebPage, type WebPageOptions } from "./web-page.ts";
import { newCaseId, newCaseSecret, newHashId, macSecret, canonicalSecret } from "./secrets.ts";
import { deriveKeys, type ServerKeys } from "./server-key.ts";
import { hkdfSync, randomBytes } from "node:crypto";
import { type CaseEntry, type CaseView, LimitError, StorageError, type Store } from "./store.ts";
import { STOPNCII_FETCH_ROUTE, stopNciiFetchHashes } from "./routes/stopncii.ts";

export { ApiError } from "./middleware/context.ts";

/** Default rate limits: per client address, and per case (after authentication). */
export const DEFAULT_RATE_LIMITS: { address: BucketLimit; case: BucketLimit } = {
  address: { burst: 120, perSecond: 20 },
  case: { burst: 30, perSecond: 2 },
};

/**
 * Hooks for tests only; never set them in production. They let a test see and
 * disturb what happens on the wire without mocking any component. Not public
 * API: left out of the published declarations.
 * @internal
 */
export interface TestHooks {
  /** Called with every request's raw body (empty for GET) as the server received it, before it is parsed. */
  onRequestBody?(info: { method: string; path: string; headers: Record<string, string>; body: Buffer }): void;
  /**
   * Called after a write committed (store and idempotency record), before the
   * answer is sent. Return true to destroy the connection instead of answering:
   * "stored, but the answer never arrived".
   */
  cutConnection?(info: { method: string; route: RoutePattern; status: number }): boolean;
  /** Awaited by writes just before their transaction: keeps a request in flight as long as the test wants. */
  beforeCommit?(info: { method: string; route: RoutePattern }): Promise<void> | void;
  /** The match index is not loaded (and /health/ready answers 503) until this settles. */
  holdReady?: Promise<void>;
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  store: Store;
  /** a logger; by default JSON lines to stderr at `logLevel` */
  logger?: Logger;
  logLevel?: Logger["level"];
  /** per-address and per-case token buckets; `false` turns a limit (or both) off */
  rateLimit?: false | { address?: BucketLimit | false; case?: BucketLimit | false };
  /** take the client address from the last `X-Forwarded-For` entry (behind a reverse proxy you run) */
  trustProxy?: boolean;
  /** the server keys (server-key.ts); a throwaway in-memory key by default */
  serverKeys?: ServerKeys;
  /** daily quotas and the per-case cap (DEFAULT_QUOTAS); `false` turns them off */
  quotas?: false | Partial<QuotaOptions>;
  /** feed batching (DEFAULT_BATCH), or "immediate" to publish after every write */
  feedBatch?: Partial<BatchPolicy> | "immediate";
  /** storage health: disk watermark folder and size, Retry-After, probe interval */
  storage?: Partial<StorageOptions>;
  /** slowing down wrong case secrets */
  secretFailures?: Partial<FailurePolicy>;
  /** the PDQ index behind lookups (defaults to the matching engine's) */
  pdqIndex?: PdqIndex;
  /** the clock, in ms since the epoch */
  now?: () => number;
  /** @internal tests only (see TestHooks) */
  testHooks?: TestHooks;
  /** origins allowed to call the API from a browser (CORS; middleware/cors.ts); none by default */
  corsOrigins?: readonly string[];
  /** serve the intake page at / (web-page.ts); off by default */
  web?: WebPageOptions | false;
}

/** A server app, not yet listening. */
export interface HashsafeServer {
  /** the Hono app (`app.fetch` serves requests) */
  readonly app: Hono<AppEnv>;
  readonly index: MatchIndex;
  readonly store: Store;
  readonly feed: FeedPublisher;
  readonly storage: StorageHealth;
  /** true once the match index is loaded */
  isReady(): boolean;
  /** Load the match index from the store and start publishing; /health/ready answers 200 after. */
  load(): Promise<void>;
  /** Stop the timers (the store stays open). */
  stop(): void;
  readonly logger: Logger;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function caseStatusBody(v: CaseView): CaseStatusResponse {
  return {
    caseId: v.caseId,
    status: v.status,
    createdAt: iso(v.createdAt),
    hashes: v.hashes.map((h) => ({
      id: h.id,
      type: h.type,
      value: h.value,
      status: h.active ? "active" : "withdrawn",
      feedback: h.feedback,
    })),
  };
}

/** Each item of a batch checked: canonical hash, or the reason it is rejected. */
function checkBatch(items: HashInput[]): { index: number; input: HashInput; check: ReturnType<typeof checkHash> }[] {
  return items.map((input, index) => ({ index, input, check: checkHash(input) }));
}

function itemErrors(checked: ReturnType<typeof checkBatch>): ProblemError[] {
  return checked.flatMap((c) => (c.check.ok ? [] : [{ index: c.index, code: c.check.reason, message: c.check.message }]));
}

/** Item answers of a case request, in request order: the case's own entry ids. */
function itemResults(checked: ReturnType<typeof checkBatch>, stored: CaseEntry[]): HashItemResult[] {
  let k = 0;
  return checked.map((c): HashItemResult => {
    if (c.check.ok) {
      const s = stored[k++];
      return { index: c.index, id: s.entryId, type: s.type, value: s.value, status: "accepted" };
    }
    return { index: c.index, type: c.input.type, value: c.input.value, status: "rejected", reason: c.check.reason };
  });
}

/** Create the server app over a store. Call `load()` (startServer does) before it answers ready. */
export function createServer(options: ServerOptions): HashsafeServer {
  const { store } = options;
  const logger = options.logger ?? createLogger(options.logLevel ?? "info");
  const now = options.now ?? Date.now;
  const hooks = options.testHooks ?? {};
  const keys = options.serverKeys ?? deriveKeys(randomBytes(32));
  const index = new MatchIndex(options.pdqIndex);
  const rl: { address?: BucketLimit | false; case?: BucketLimit | false } =
    options.rateLimit === false ? {} : { ...DEFAULT_RATE_LIMITS, ...options.rateLimit };
  // in memory, or in the store when several processes share it (store.limits: PostgreSQL)
  const addressLimiter = rl.address ? bucketsFor(store, "address", rl.address, now) : null;
  const caseLimiter = rl.case ? bucketsFor(store, "case", rl.case, now) : null;
  const quotas: QuotaOptions | false = options.quotas === false ? false : { ...DEFAULT_QUOTAS, ...options.quotas };
  const failurePolicy = { ...DEFAULT_FAILURE_POLICY, ...options.secretFailures };
  const failures = store.limits ? new SharedFailureCounter(store.limits, failurePolicy, now) : new FailureCounter(failurePolicy, now);
  const storage = new StorageHealth(store, { dir: null, ...DEFAULT_STORAGE, ...options.storage }, logger, now);
  const feed = new FeedPublisher(store, index, options.feedBatch ?? {}, now, logger, (err) => {
    if (err instanceof StorageError) storage.report(err);
    else logger.error("publishing the feed failed", { error: String(err) });
  });
  const inFlight = new Set<string>();
  let ready = false;
  const address = (c: Ctx) => clientAddress(c, options.trustProxy);

  const app = new Hono<AppEnv>();

  app.use("*", async (c, next) => {
    const start = performance.now();
    c.set("cut", false);
    await next();
    const fields: Record<string, unknown> = {
      method: c.req.method,
      route: c.get("route") ?? "unmatched",
      status: c.res.status,
      ms: Math.round((performance.now() - start) * 10) / 10,
    };
    if (c.get("cut")) fields.cut = true;
    if (logger.enabled("debug")) {
      fields.path = c.req.path;
      fields.address = address(c);
    }
    logger.info("request", fields);
  });

  app.onError((err, c) => {
    const lang = requestLang(c);
    if (err instanceof ApiError) return problemResponse(err, lang);
    if (err instanceof LimitError) {
      if (err.limit === "hashes_per_case") {
        return problemResponse(new ApiError("case_full", detail("server.case.full", { max: err.max, used: err.used })), lang);
      }
      const byKey = Boolean(c.get("keyId"));
      const key =
        err.limit === "cases_per_day"
          ? byKey ? "server.quota.casesIntake" : "server.quota.casesAddress"
          : byKey ? "server.quota.hashesIntake" : "server.quota.hashesAddress";
      const wait = secondsToNextDay(now());
      return problemResponse(
        new ApiError("quota_exceeded", detail(key, { max: err.max, used: err.used, seconds: wait }), undefined, { "retry-after": String(wait) }),
        lang,
      );
    }
    if (err instanceof StorageError) {
      storage.report(err);
      return problemResponse(
        new ApiError("storage_unavailable", detail("server.storage.failingRetry", { kind: err.kind }), undefined, storage.retryHeaders()),
        lang,
      );
    }
    logger.error("unhandled error", { route: c.get("route") ?? "unmatched", error: err instanceof Error ? err.message : String(err) });
    return problemResponse(new ApiError("internal", detail("server.internal")), lang);
  });

  app.notFound((c) => problemResponse(new ApiError("not_found", detail("server.route.notFound")), requestLang(c)));

  app.use("*", cors(options.corsOrigins ?? []));
  if (options.web) registerWebPage(app, options.web);

  // ---- the middlewares, composed per route below ----

  const route = (r: RoutePattern) =>
    async (c: Ctx, next: () => Promise<void>) => {
      c.set("route", r);
      c.set("principal", "anonymous");
      c.set("caseRowId", 0);
      c.set("keyId", 0);
      c.set("idempotency", undefined);
      c.set("limits", undefined);
      await next();
    };
  const isReady = requireReady(() => ready);
  // The per-address limit of middleware/rate-limit.ts, its 429 said in the request's language.
  const addressLimit = rateLimit(addressLimiter, address, "from this address");
  const perAddress: MiddlewareHandler<AppEnv> = async (c, next) => {
    let passed = false;
    try {
      await addressLimit(c, async () => {
        passed = true;
      });
    } catch (err) {
      if (!passed && err instanceof ApiError && err.code === "rate_limited") {
        throw new ApiError("rate_limited", detail("server.rate.address", { seconds: err.headers["retry-after"] ?? "" }), undefined, err.headers);
      }
      throw err;
    }
    if (passed) await next();
  };
  const body = readBody((c, raw) => hooks.onRequestBody?.({ method: c.req.method, path: c.req.path, headers: c.req.header(), body: raw }));
  const asCase = caseAuth({ store, secretKey: keys.secrets, failures, caseLimiter });
  const asPlatform = (scope: Parameters<typeof platformAuth>[1]) => platformAuth(store, scope);
  const limits = quota({ options: quotas, subjectKey: keys.subjects, address, now });
  const idem = idempotency(store, now, inFlight);
  const adds = storageGuard(storage, true);
  const removes = storageGuard(storage, false);

  /** Send a write's answer (or replay), cutting the connection when the test hook says so. */
  function send(c: Ctx, out: ReturnType<typeof answerOf>): Response {
    if ("response" in out) return out.response;
    if (hooks.cutConnection?.({ method: c.req.method, route: c.get("route")!, status: out.answer.status })) {
      c.set("cut", true);
      c.env?.incoming?.socket?.destroy();
    }
    return jsonResponse(out.answer.status, JSON.stringify(out.answer.body));
  }

  // ---- health ----

  app.get(ROUTES.healthLive, (c) => {
    c.set("route", ROUTES.healthLive);
    return jsonResponse(200, JSON.stringify({ status: "live" }));
  });

  app.get(ROUTES.healthReady, (c) => {
    c.set("route", ROUTES.healthReady);
    if (!ready) throw new ApiError("not_ready", detail("server.ready.index"), undefined, { "retry-after": "1" });
    const f = storage.current();
    if (f) throw new ApiError("not_ready", detail("server.ready.storage", { kind: f.kind, since: iso(f.since) }), undefined, storage.retryHeaders());
    return jsonResponse(200, JSON.stringify({ status: "ready" }));
  });

  // ---- cases ----

  app.post(
    ROUTES.cases,
    route(ROUTES.cases),
    isReady,
    perAddress,
    body,
    optionalIntakeKey(store),
    adds,
    limits,
    requireIdempotencyKey,
    requireJson,
    idem,
    jsonBody(CreateCaseRequestSchema, { key: "hashes", max: MAX_HASHES_PER_REQUEST }),
    async (c) => {
      const b = c.get("body") as { hashes: HashInput[]; client: { name: string; version: string } };
      const checked = checkBatch(b.hashes);
      const valid = checked.flatMap((x) => (x.check.ok ? [x.check.hash] : []));
      if (valid.length === 0) {
        throw new ApiError("no_valid_hashes", detail("server.case.noValidCreate", { count: checked.length }), itemErrors(checked));
      }
      const caseId = newCaseId();
      const caseSecret = newCaseSecret();
      const secretHash = macSecret(keys.secrets, caseId, canonicalSecret(caseSecret)!);
      await hooks.beforeCommit?.({ method: "POST", route: ROUTES.cases });
      const out = await store.createCase(
        { caseId, secretHash, client: b.client, hashes: valid, now: now(), newHashId, limits: c.get("limits") },
        {
          idempotency: c.get("idempotency"),
          respond: (r) => ({ status: 201, body: { caseId, caseSecret, status: "active", hashes: itemResults(checked, r.entries) } }),
        },
      );
      if (!out.replayed) await feed.afterWrite();
      return send(c, answerOf(c, out));
    },
  );

  app.post(
    ROUTES.caseHashes,
    route(ROUTES.caseHashes),
    isReady,
    perAddress,
    body,
    asCase,
    adds,
    limits,
    requireIdempotencyKey,
    requireJson,
    idem,
    jsonBody(AddHashesRequestSchema, { key: "hashes", max: MAX_HASHES_PER_REQUEST }),
    async (c) => {
      const b = c.get("body") as { hashes: HashInput[] };
      const checked = checkBatch(b.hashes);
      const valid: CanonicalHash[] = checked.flatMap((x) => (x.check.ok ? [x.check.hash] : []));
      if (valid.length === 0) {
        throw new ApiError("no_valid_hashes", detail("server.case.noValidAdd", { count: checked.length }), itemErrors(checked));
      }
      await hooks.beforeCommit?.({ method: "POST", route: ROUTES.caseHashes });
      const out = await store.addHashes(
        { caseRowId: c.get("caseRowId"), hashes: valid, now: now(), newHashId, limits: c.get("limits") },
        {
          idempotency: c.get("idempotency"),
          respond: (r) => ({ status: 200, body: { caseId: r.caseId, status: "active", hashes: itemResults(checked, r.entries) } }),
        },
      );
      if (!out.replayed) await feed.afterWrite();
      return send(c, answerOf(c, out));
    },
  );

  app.get(ROUTES.case, route(ROUTES.case), isReady, perAddress, body, asCase, requireNoBody, async (c) => {
    const view = await store.getCase(c.get("caseRowId"));
    if (!view) throw new ApiError("not_found", detail("server.auth.caseNotFound"));
    return jsonResponse(200, JSON.stringify(caseStatusBody(view)));
  });

  const withdraw = (r: RoutePattern) => [
    route(r),
    isReady,
    perAddress,
    body,
    asCase,
    removes,
    requireIdempotencyKey,
    requireNoBody,
    idem,
    async (c: Ctx) => {
      const entryId = r === ROUTES.caseHash ? (c.req.param("hashId") ?? "") : null;
      await hooks.beforeCommit?.({ method: "DELETE", route: r });
      const out = await store.withdraw(
        { caseRowId: c.get("caseRowId"), entryId, now: now() },
        {
          idempotency: c.get("idempotency"),
          respond: (w) =>
            w.view ? { status: 200, body: caseStatusBody(w.view) } : { status: 404, body: problemIn(requestLang(c), "not_found", detail("server.case.noSuchHash")).body },
        },
      );
      if (!out.replayed && !out.result.found) throw new ApiError("not_found", detail("server.case.noSuchHash"));
      if (!out.replayed) await feed.afterWrite();
      return send(c, answerOf(c, out));
    },
  ] as const;
  app.delete(ROUTES.case, ...withdraw(ROUTES.case));
  app.delete(ROUTES.caseHash, ...withdraw(ROUTES.caseHash));

  // ---- platforms ----

  app.get(ROUTES.feed, route(ROUTES.feed), isReady, perAddress, body, asPlatform("feed:read"), requireNoBody, async (c) => {
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.req.queries())) {
      if (v.length !== 1) throw new ApiError("invalid_query", detail("server.query.repeated", { name: JSON.stringify(k), count: v.length }));
      query[k] = v[0];
    }
    const q = FeedQuerySchema.safeParse(query);
    if (!q.success) throw new ApiError("invalid_query", detail("server.feed.query"), schemaErrors(q.error));
    let after = 0;
    if (q.data.cursor !== undefined) {
      const seq = openCursor(keys.cursors, q.data.cursor);
      if (seq === null) throw new ApiError("invalid_query", detail("server.feed.cursor"));
      after = seq;
    }
    const rows = await store.readFeed(after, q.data.limit + 1);
    const page = rows.slice(0, q.data.limit);
    return jsonResponse(
      200,
      JSON.stringify({
        records: page.map((r) => ({ id: r.id, type: r.type, value: r.value, status: r.active ? "active" : "withdrawn", updatedAt: iso(r.updatedAt) })),
        nextCursor: sealCursor(keys.cursors, page.length ? page[page.length - 1].seq : after),
        hasMore: rows.length > q.data.limit,
      }),
    );
  });

  app.post(
    ROUTES.lookup,
    route(ROUTES.lookup),
    isReady,
    perAddress,
    body,
    asPlatform("lookup"),
    requireIdempotencyKey,
    requireJson,
    jsonBody(LookupRequestSchema, { key: "queries", max: MAX_LOOKUP_QUERIES }),
    async (c) => {
      const b = c.get("body") as { queries: HashInput[]; maxDistance?: number };
      const checked = checkBatch(b.queries);
      const errors = itemErrors(checked);
      if (errors.length) throw new ApiError("invalid_body", detail("server.lookup.invalid", { count: errors.length }), errors);
      const maxDistance = b.maxDistance ?? DEFAULT_MAX_DISTANCE;
      const results = await Promise.all(
        checked.map(async (x) => {
          const h = (x.check as { ok: true; hash: CanonicalHash }).hash;
          return { index: x.index, matches: await index.search(h.type, h.value, maxDistance) };
        }),
      );
      return jsonResponse(200, JSON.stringify({ results }));
    },
  );

  app.post(
    ROUTES.feedback,
    route(ROUTES.feedback),
    isReady,
    perAddress,
    body,
    asPlatform("feedback:write"),
    adds,
    requireIdempotencyKey,
    requireJson,
    idem,
    jsonBody(FeedbackRequestSchema, { key: "items", max: MAX_FEEDBACK_ITEMS }),
    async (c) => {
      const b = c.get("body") as { items: { id: string; verdict: "blocked" | "not_blocked" | "pending_review"; tags?: string[] }[] };
      await hooks.beforeCommit?.({ method: "POST", route: ROUTES.feedback });
      const items = b.items.map((i) => ({ id: i.id, verdict: i.verdict, tags: i.tags ?? [] }));
      const out = await store.recordFeedback(
        { keyId: c.get("keyId"), items, now: now() },
        {
          idempotency: c.get("idempotency"),
          respond: ({ unknown }) => ({
            status: 200,
            body: {
              results: items.map((i, n) =>
                unknown.has(n) ? { index: n, id: i.id, status: "rejected", reason: "unknown_id" } : { index: n, id: i.id, status: "recorded" },
              ),
            },
          }),
        },
      );
      return send(c, answerOf(c, out));
    },
  );

  // ---- StopNCII-compatible fetch (routes/stopncii.ts): the same feed, for HMA / python-threatexchange ----

  app.get(
    STOPNCII_FETCH_ROUTE,
    // readiness and the per-address limit before the handler (a shared limit is a store call)
    async (c, next) => {
      c.set("route", STOPNCII_FETCH_ROUTE as RoutePattern);
      if (!ready) throw new ApiError("not_ready", detail("server.ready.starting"), undefined, { "retry-after": "1" });
      const wait = await addressLimiter?.take(clientAddress(c, options.trustProxy));
      if (wait) throw new ApiError("rate_limited", detail("server.rate.address", { seconds: wait }), undefined, { "retry-after": String(wait) });
      await next();
    },
    stopNciiFetchHashes({
      store,
      now,
      // page tokens: their own key, derived from the cursor key (so they survive restarts as cursors do)
      tokenKey: Buffer.from(hkdfSync("sha256", keys.cursors, "hashsafe-stopncii", "page-tokens/v1", 32)),
      begin(c) {
        c.set("route", STOPNCII_FETCH_ROUTE as RoutePattern);
      },
      fail: (code, detail, errors, headers) => new ApiError(code, detail, errors, headers),
    }),
  );

  return {
    app,
    index,
    store,
    feed,
    storage,
    logger,
    isReady: () => ready,
    async load() {
      await hooks.holdReady;
      await index.load(store);
      await store.purgeIdempotency(now());
      feed.start();
      ready = true;
    },
    stop() {
      feed.stop();
      storage.close();
      void index.close().catch(() => {});
    },
  };
}
