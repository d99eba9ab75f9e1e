/**
 * The reference server as a Hono app: every route of API v1 (see
 * ../protocol and docs/protocol.md), independent of how it is served.
 *
 * Each route runs the same steps, in this order: readiness (503), the
 * per-address rate limit (429), the body (413, read before anything is
 * parsed), authentication (401/403, or the generic 404 for cases), the
 * per-case rate limit (429), the Idempotency-Key (400), the content type
 * (415), the idempotency record (replay, 409, 422), JSON and batch size
 * (400/413), the schema (400), then the handler, whose writes and answer
 * commit in one transaction.
 */
import type { HttpBindings } from "@hono/node-server";
import { randomBytes } from "node:crypto";
import { Hono, type Context } from "hono";
import type { z } from "zod";
import {
  AddHashesRequestSchema,
  type CanonicalHash,
  CASE_AUTH_SCHEME,
  CaseIdSchema,
  type CaseStatusResponse,
  checkHash,
  CreateCaseRequestSchema,
  DEFAULT_MAX_DISTANCE,
  FeedbackRequestSchema,
  FeedQuerySchema,
  type HashItemResult,
  type HashInput,
  IDEMPOTENCY_HEADER,
  IDEMPOTENCY_KEY_PATTERN,
  IDEMPOTENCY_TTL_MS,
  LookupRequestSchema,
  MAX_BODY_BYTES,
  MAX_FEEDBACK_ITEMS,
  MAX_HASHES_PER_REQUEST,
  MAX_LOOKUP_QUERIES,
  PLATFORM_AUTH_SCHEME,
  PROBLEM_MEDIA_TYPE,
  type ProblemCode,
  type ProblemError,
  problemOf,
  ROUTES,
  type RoutePattern,
  type Scope,
} from "../protocol/index.ts";
import { keyDigest, requestDigest, seal, unseal } from "./idempotency.ts";
import type { Logger } from "./logger.ts";
import { createLogger } from "./logger.ts";
import { MatchIndex, type PdqIndex } from "./match-index.ts";
import { type BucketLimit, RateLimiter } from "./rate-limit.ts";
import {
  DEFAULT_SCRYPT,
  hashApiKey,
  hashSecret,
  newCaseId,
  newCaseSecret,
  newHashId,
  type ScryptParams,
  verifySecret,
} from "./secrets.ts";
import type { CaseView, IdempotencyIntent, Store, StoredHash, WriteAnswer } from "./store.ts";
import { STOPNCII_FETCH_ROUTE, stopNciiFetchHashes } from "./routes/stopncii.ts";

/** Default rate limits: per client address, and per case (after authentication). */
export const DEFAULT_RATE_LIMITS: { address: BucketLimit; case: BucketLimit } = {
  address: { burst: 120, perSecond: 20 },
  case: { burst: 30, perSecond: 2 },
};

/**
 * Hooks for tests only; never set them in production. They let a test see and
 * disturb what happens on the wire without mocking any component.
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
  /** scrypt cost for new case secrets */
  scrypt?: ScryptParams;
  /** the PDQ index behind lookups (defaults to the matching engine's) */
  pdqIndex?: PdqIndex;
  /** the clock, in ms since the epoch */
  now?: () => number;
  testHooks?: TestHooks;
}

/** A server app, not yet listening. */
export interface HashsafeServer {
  /** the Hono app (`app.fetch` serves requests) */
  readonly app: Hono<AppEnv>;
  readonly index: MatchIndex;
  readonly store: Store;
  /** true once the match index is loaded */
  isReady(): boolean;
  /** Load the match index from the store; /health/ready answers 200 after. */
  load(): Promise<void>;
  readonly logger: Logger;
}

type AppEnv = { Bindings: Partial<HttpBindings>; Variables: { route: RoutePattern | undefined; cut: boolean } };
type Ctx = Context<AppEnv>;

/** An error answered as problem+json. */
export class ApiError extends Error {
  readonly code: ProblemCode;
  readonly errors: ProblemError[] | undefined;
  readonly headers: Record<string, string>;
  constructor(code: ProblemCode, detail: string, errors?: ProblemError[], headers: Record<string, string> = {}) {
    super(detail);
    this.code = code;
    this.errors = errors;
    this.headers = headers;
  }
}

function problemResponse(err: ApiError): Response {
  const body = problemOf(err.code, err.message, err.errors);
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { "content-type": PROBLEM_MEDIA_TYPE, "cache-control": "no-store", ...err.headers },
  });
}

function jsonResponse(status: number, body: string, extra: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...extra },
  });
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

/** Feed cursors: opaque to clients, a feed sequence number inside. */
const CURSOR_PREFIX = "hsf1:";
export function encodeCursor(seq: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${seq}`).toString("base64url");
}
function decodeCursor(cursor: string): number | null {
  const m = /^hsf1:(0|[1-9][0-9]{0,14})$/.exec(Buffer.from(cursor, "base64url").toString("latin1"));
  return m ? Number(m[1]) : null;
}

/** Each item of a batch checked: canonical hash, or the reason it is rejected. */
function checkBatch(items: HashInput[]): { index: number; input: HashInput; check: ReturnType<typeof checkHash> }[] {
  return items.map((input, index) => ({ index, input, check: checkHash(input) }));
}

function itemErrors(checked: ReturnType<typeof checkBatch>): ProblemError[] {
  return checked.flatMap((c) => (c.check.ok ? [] : [{ index: c.index, code: c.check.reason, message: c.check.message }]));
}

/** Item answers of a case request, in request order. */
function itemResults(checked: ReturnType<typeof checkBatch>, stored: StoredHash[]): HashItemResult[] {
  let k = 0;
  return checked.map((c): HashItemResult => {
    if (c.check.ok) {
      const s = stored[k++];
      return { index: c.index, id: s.id, type: s.type, value: s.value, status: "accepted" };
    }
    return { index: c.index, type: c.input.type, value: c.input.value, status: "rejected", reason: c.check.reason };
  });
}

/** zod issues as problem errors; `index` when an issue concerns one item of the batch `batchKey`. */
function schemaErrors(error: z.ZodError, batchKey?: string): ProblemError[] {
  return error.issues.slice(0, 50).map((i) => {
    const where = i.path.length ? i.path.map(String).join(".") : "body";
    const e: ProblemError = { code: i.code, message: `${where}: ${i.message}` };
    if (batchKey && i.path[0] === batchKey && typeof i.path[1] === "number") e.index = i.path[1];
    return e;
  });
}

interface RouteSpec<B> {
  route: RoutePattern;
  /** who may call: anyone, the case's secret holder, or a platform key with this scope */
  auth: "none" | "case" | Scope;
  /** the request body schema (POST) */
  schema?: z.ZodType<B>;
  /** the array in the body whose length is limited, and the limit (413 beyond) */
  batch?: { key: string; max: number };
  /** POST and DELETE: Idempotency-Key required, answers replayable */
  write: boolean;
}

interface RouteInput<B> {
  c: Ctx;
  body: B;
  caseRowId: number;
  keyId: number;
  idempotency: IdempotencyIntent | undefined;
}

/** Create the server app over a store. Call `load()` (startServer does) before it answers ready. */
export function createServer(options: ServerOptions): HashsafeServer {
  const { store } = options;
  const logger = options.logger ?? createLogger(options.logLevel ?? "info");
  const now = options.now ?? Date.now;
  const hooks = options.testHooks ?? {};
  const scryptParams = options.scrypt ?? DEFAULT_SCRYPT;
  const index = new MatchIndex(options.pdqIndex);
  const rl: { address?: BucketLimit | false; case?: BucketLimit | false } =
    options.rateLimit === false ? {} : { ...DEFAULT_RATE_LIMITS, ...options.rateLimit };
  const addressLimiter = rl.address ? new RateLimiter(rl.address, now) : null;
  const caseLimiter = rl.case ? new RateLimiter(rl.case, now) : null;
  const inFlight = new Set<string>();
  // A throwaway stored secret: unknown cases are checked against it, so they cost the same scrypt work.
  const dummySecretHash = hashSecret(newCaseSecret(), scryptParams);
  let ready = false;

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
      fields.address = clientAddress(c);
    }
    logger.info("request", fields);
  });

  app.onError((err, c) => {
    if (err instanceof ApiError) return problemResponse(err);
    logger.error("unhandled error", { route: c.get("route") ?? "unmatched", error: err instanceof Error ? err.message : String(err) });
    return problemResponse(new ApiError("internal", "the server failed to handle this request; nothing was stored"));
  });

  app.notFound(() => problemResponse(new ApiError("not_found", "no such route")));

  function clientAddress(c: Ctx): string {
    if (options.trustProxy) {
      const xff = c.req.header("x-forwarded-for");
      if (xff) {
        const parts = xff.split(",").map((s) => s.trim()).filter(Boolean);
        if (parts.length) return parts[parts.length - 1];
      }
    }
    return c.env?.incoming?.socket?.remoteAddress ?? "unknown";
  }

  function limited(seconds: number, what: string): ApiError {
    return new ApiError("rate_limited", `too many requests ${what}; retry after ${seconds} s`, undefined, {
      "retry-after": String(seconds),
    });
  }

  /** Read the raw body, at most MAX_BODY_BYTES; a larger one is a 413 before it is read in full. */
  async function readBody(c: Ctx): Promise<Buffer> {
    const tooLarge = () =>
      new ApiError("body_too_large", `the body is larger than ${MAX_BODY_BYTES} bytes`, undefined, { connection: "close" });
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) throw tooLarge();
    const incoming = c.env?.incoming;
    if (incoming && "on" in incoming && !incoming.readableEnded) {
      return new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          incoming.off("data", onData);
          incoming.off("end", onEnd);
          incoming.off("error", onError);
          incoming.off("close", onClose);
        };
        const onData = (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            done();
            incoming.pause();
            reject(tooLarge());
          } else chunks.push(chunk);
        };
        const onEnd = () => {
          done();
          resolve(Buffer.concat(chunks, size));
        };
        const onError = () => {
          done();
          reject(new ApiError("invalid_body", "the request body ended early (the connection failed)"));
        };
        // the client went away before the body ended
        const onClose = () => onError();
        incoming.on("data", onData);
        incoming.on("end", onEnd);
        incoming.on("error", onError);
        incoming.on("close", onClose);
      });
    }
    // Not on Node's http server (e.g. app.request in a test): read the web stream.
    const stream = c.req.raw.body;
    if (!stream) return Buffer.alloc(0);
    const reader = stream.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_BODY_BYTES) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks, size);
  }

  function bearer(c: Ctx, scheme: string): string | null {
    const h = c.req.header("authorization");
    if (!h) return null;
    const m = /^(\S+) +(\S+)\s*$/.exec(h);
    return m && m[1].toLowerCase() === scheme.toLowerCase() ? m[2] : null;
  }

  /** The shared steps of every route (see the file comment), then `fn`. */
  async function run<B>(c: Ctx, spec: RouteSpec<B>, fn: (input: RouteInput<B>) => Promise<WriteAnswer>): Promise<Response> {
    c.set("route", spec.route);
    const method = c.req.method;
    if (!ready) {
      throw new ApiError("not_ready", "the server is starting (loading its match index)", undefined, { "retry-after": "1" });
    }
    if (addressLimiter) {
      const wait = addressLimiter.take(clientAddress(c));
      if (wait) throw limited(wait, "from this address");
    }
    const raw = method === "GET" || method === "HEAD" ? Buffer.alloc(0) : await readBody(c);
    hooks.onRequestBody?.({ method, path: c.req.path, headers: c.req.header(), body: raw });

    // Authentication.
    let principal = "anonymous";
    let caseRowId = 0;
    let keyId = 0;
    if (spec.auth === "case") {
      const secret = bearer(c, CASE_AUTH_SCHEME);
      if (secret === null) {
        throw new ApiError("unauthorized", "this call needs `Authorization: Case <caseSecret>`", undefined, {
          "www-authenticate": CASE_AUTH_SCHEME,
        });
      }
      const caseId = c.req.param("caseId") ?? "";
      const found = CaseIdSchema.safeParse(caseId).success ? await store.getCaseAuth(caseId) : null;
      const ok = await verifySecret(secret, found?.secretHash ?? null, await dummySecretHash);
      if (!ok || !found) throw new ApiError("not_found", "no such case, or not this secret");
      caseRowId = found.rowId;
      principal = `case:${found.rowId}`;
      if (caseLimiter) {
        const wait = caseLimiter.take(principal);
        if (wait) throw limited(wait, "for this case");
      }
    } else if (spec.auth !== "none") {
      const token = bearer(c, PLATFORM_AUTH_SCHEME);
      const key = token ? await store.findApiKey(hashApiKey(token)) : null;
      if (!key || key.revokedAt !== null) {
        throw new ApiError(
          "unauthorized",
          token ? "unknown or revoked API key" : "this call needs `Authorization: Bearer <key>`",
          undefined,
          { "www-authenticate": PLATFORM_AUTH_SCHEME },
        );
      }
      if (!key.scopes.includes(spec.auth)) throw new ApiError("forbidden", `this call needs the scope ${spec.auth}`);
      keyId = key.id;
      principal = `key:${key.id}`;
    }

    // Idempotency key and content type.
    let idemKey: string | undefined;
    if (spec.write) {
      idemKey = c.req.header(IDEMPOTENCY_HEADER);
      if (!idemKey || !IDEMPOTENCY_KEY_PATTERN.test(idemKey)) {
        throw new ApiError(
          "missing_idempotency_key",
          `every ${method} needs an ${IDEMPOTENCY_HEADER} header of 8..128 characters [A-Za-z0-9._:-] (a UUID)`,
        );
      }
    }
    if (spec.schema) {
      const ct = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
      if (ct !== "application/json") {
        throw new ApiError("unsupported_media_type", `the body must be application/json, not ${ct ? JSON.stringify(ct) : "untyped"}`);
      }
    } else if (raw.length > 0) {
      throw new ApiError("invalid_body", `${method} ${spec.route} takes no body`);
    }

    let idempotency: IdempotencyIntent | undefined;
    let digest: string | undefined;
    if (idemKey !== undefined) {
      const key = idemKey;
      digest = keyDigest(principal, key);
      if (inFlight.has(digest)) {
        throw new ApiError("idempotency_in_flight", "a request with this Idempotency-Key is still running; retry later", undefined, {
          "retry-after": "1",
        });
      }
      inFlight.add(digest);
      const reqDigest = requestDigest(method, c.req.path, raw);
      let record;
      try {
        record = await store.getIdempotency(digest, now());
      } catch (err) {
        inFlight.delete(digest);
        throw err;
      }
      if (record) {
        inFlight.delete(digest);
        if (record.requestDigest !== reqDigest) {
          throw new ApiError("idempotency_key_reused", "this Idempotency-Key was used with a different request");
        }
        return jsonResponse(record.status, unseal(principal, key, record.sealed), { "idempotent-replayed": "true" });
      }
      idempotency = {
        keyDigest: digest,
        requestDigest: reqDigest,
        expiresAt: now() + IDEMPOTENCY_TTL_MS,
        seal: (body) => seal(principal, key, body),
      };
    }

    try {
      let body = undefined as B;
      if (spec.schema) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw.toString("utf8"));
        } catch (err) {
          throw new ApiError("invalid_body", `the body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
        }
        if (spec.batch && parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
          const list = (parsed as Record<string, unknown>)[spec.batch.key];
          if (Array.isArray(list) && list.length > spec.batch.max) {
            throw new ApiError(
              "batch_too_large",
              `${list.length} items in "${spec.batch.key}"; at most ${spec.batch.max} in one request`,
            );
          }
        }
        const result = spec.schema.safeParse(parsed);
        if (!result.success) {
          throw new ApiError("invalid_body", "the body does not match the schema of this call", schemaErrors(result.error, spec.batch?.key));
        }
        body = result.data;
      }
      const answer = await fn({ c, body, caseRowId, keyId, idempotency });
      if (spec.write && hooks.cutConnection?.({ method, route: spec.route, status: answer.status })) {
        c.set("cut", true);
        c.env?.incoming?.socket?.destroy();
      }
      return jsonResponse(answer.status, JSON.stringify(answer.body));
    } finally {
      if (digest) inFlight.delete(digest);
    }
  }

  // ---- health ----

  app.get(ROUTES.healthLive, (c) => {
    c.set("route", ROUTES.healthLive);
    return jsonResponse(200, JSON.stringify({ status: "live" }));
  });

  app.get(ROUTES.healthReady, (c) => {
    c.set("route", ROUTES.healthReady);
    if (!ready) throw new ApiError("not_ready", "the match index is still loading", undefined, { "retry-after": "1" });
    return jsonResponse(200, JSON.stringify({ status: "ready" }));
  });

  // ---- cases ----

  app.post(ROUTES.cases, (c) =>
    run(
      c,
      { route: ROUTES.cases, auth: "none", schema: CreateCaseRequestSchema, batch: { key: "hashes", max: MAX_HASHES_PER_REQUEST }, write: true },
      async ({ body, idempotency }) => {
        const checked = checkBatch(body.hashes);
        const valid = checked.flatMap((x) => (x.check.ok ? [x.check.hash] : []));
        if (valid.length === 0) {
          throw new ApiError("no_valid_hashes", `none of the ${checked.length} hashes is valid; no case was created`, itemErrors(checked));
        }
        const caseId = newCaseId();
        const caseSecret = newCaseSecret();
        const secretHash = await hashSecret(caseSecret, scryptParams);
        await hooks.beforeCommit?.({ method: "POST", route: ROUTES.cases });
        const { result, answer } = await store.createCase(
          { caseId, secretHash, client: body.client, hashes: valid, now: now(), newHashId },
          {
            idempotency,
            respond: (r) => ({
              status: 201,
              body: { caseId, caseSecret, status: "active", hashes: itemResults(checked, r.hashes) },
            }),
          },
        );
        index.apply(result.changes);
        return answer;
      },
    ),
  );

  app.post(ROUTES.caseHashes, (c) =>
    run(
      c,
      { route: ROUTES.caseHashes, auth: "case", schema: AddHashesRequestSchema, batch: { key: "hashes", max: MAX_HASHES_PER_REQUEST }, write: true },
      async ({ body, caseRowId, idempotency }) => {
        const checked = checkBatch(body.hashes);
        const valid: CanonicalHash[] = checked.flatMap((x) => (x.check.ok ? [x.check.hash] : []));
        if (valid.length === 0) {
          throw new ApiError("no_valid_hashes", `none of the ${checked.length} hashes is valid; nothing was added`, itemErrors(checked));
        }
        await hooks.beforeCommit?.({ method: "POST", route: ROUTES.caseHashes });
        const { result, answer } = await store.addHashes(
          { caseRowId, hashes: valid, now: now(), newHashId },
          {
            idempotency,
            respond: (r) => ({
              status: 200,
              body: { caseId: r.caseId, status: "active", hashes: itemResults(checked, r.hashes) },
            }),
          },
        );
        index.apply(result.changes);
        return answer;
      },
    ),
  );

  app.get(ROUTES.case, (c) =>
    run(c, { route: ROUTES.case, auth: "case", write: false }, async ({ caseRowId }) => {
      const view = await store.getCase(caseRowId);
      if (!view) throw new ApiError("not_found", "no such case, or not this secret");
      return { status: 200, body: caseStatusBody(view) };
    }),
  );

  const withdraw = (route: RoutePattern) => (c: Ctx) =>
    run(c, { route, auth: "case", write: true }, async ({ caseRowId, idempotency }) => {
      const hashId = route === ROUTES.caseHash ? (c.req.param("hashId") ?? "") : null;
      await hooks.beforeCommit?.({ method: "DELETE", route });
      const { result, answer } = await store.withdraw(
        { caseRowId, hashId, now: now() },
        {
          idempotency,
          respond: (r) =>
            r.view ? { status: 200, body: caseStatusBody(r.view) } : { status: 404, body: problemOf("not_found", "no such hash in this case") },
        },
      );
      if (!result.found) throw new ApiError("not_found", "no such hash in this case");
      index.apply(result.changes);
      return answer;
    });
  app.delete(ROUTES.case, withdraw(ROUTES.case));
  app.delete(ROUTES.caseHash, withdraw(ROUTES.caseHash));

  // ---- platforms ----

  app.get(ROUTES.feed, (c) =>
    run(c, { route: ROUTES.feed, auth: "feed:read", write: false }, async () => {
      const query: Record<string, string> = {};
      for (const [k, v] of Object.entries(c.req.queries())) {
        if (v.length !== 1) throw new ApiError("invalid_query", `the query parameter ${JSON.stringify(k)} is given ${v.length} times`);
        query[k] = v[0];
      }
      const q = FeedQuerySchema.safeParse(query);
      if (!q.success) throw new ApiError("invalid_query", "the query does not match GET /v1/feed", schemaErrors(q.error));
      let after = 0;
      if (q.data.cursor !== undefined) {
        const seq = decodeCursor(q.data.cursor);
        if (seq === null) throw new ApiError("invalid_query", "the cursor is not one this server gave out");
        after = seq;
      }
      const rows = await store.readFeed(after, q.data.limit + 1);
      const page = rows.slice(0, q.data.limit);
      return {
        status: 200,
        body: {
          records: page.map((r) => ({
            id: r.id,
            type: r.type,
            value: r.value,
            status: r.active ? "active" : "withdrawn",
            updatedAt: iso(r.updatedAt),
          })),
          nextCursor: encodeCursor(page.length ? page[page.length - 1].seq : after),
          hasMore: rows.length > q.data.limit,
        },
      };
    }),
  );

  app.post(ROUTES.lookup, (c) =>
    run(
      c,
      { route: ROUTES.lookup, auth: "lookup", schema: LookupRequestSchema, batch: { key: "queries", max: MAX_LOOKUP_QUERIES }, write: true },
      async ({ body }) => {
        const checked = checkBatch(body.queries);
        const errors = itemErrors(checked);
        if (errors.length) throw new ApiError("invalid_body", `${errors.length} of the queries are not valid hashes`, errors);
        const maxDistance = body.maxDistance ?? DEFAULT_MAX_DISTANCE;
        const results = checked.map((x) => {
          const h = (x.check as { ok: true; hash: CanonicalHash }).hash;
          return { index: x.index, matches: index.search(h.type, h.value, maxDistance) };
        });
        return { status: 200, body: { results } };
      },
    ),
  );

  app.post(ROUTES.feedback, (c) =>
    run(
      c,
      { route: ROUTES.feedback, auth: "feedback:write", schema: FeedbackRequestSchema, batch: { key: "items", max: MAX_FEEDBACK_ITEMS }, write: true },
      async ({ body, keyId, idempotency }) => {
        await hooks.beforeCommit?.({ method: "POST", route: ROUTES.feedback });
        const items = body.items.map((i) => ({ id: i.id, verdict: i.verdict, tags: i.tags ?? [] }));
        const { answer } = await store.recordFeedback(
          { keyId, items, now: now() },
          {
            idempotency,
            respond: ({ unknown }) => ({
              status: 200,
              body: {
                results: items.map((i, index) =>
                  unknown.has(index)
                    ? { index, id: i.id, status: "rejected", reason: "unknown_id" }
                    : { index, id: i.id, status: "recorded" },
                ),
              },
            }),
          },
        );
        return answer;
      },
    ),
  );

  // ---- StopNCII-compatible fetch (routes/stopncii.ts): the same feed, for HMA / python-threatexchange ----

  app.get(
    STOPNCII_FETCH_ROUTE,
    stopNciiFetchHashes({
      store,
      now,
      // tokens are sealed with a key of this process: after a restart a client resumes from its checkpoint
      tokenKey: randomBytes(32),
      begin(c) {
        c.set("route", STOPNCII_FETCH_ROUTE as RoutePattern);
        if (!ready) throw new ApiError("not_ready", "the server is starting (loading its match index)", undefined, { "retry-after": "1" });
        const wait = addressLimiter?.take(clientAddress(c as Ctx));
        if (wait) throw limited(wait, "from this address");
      },
      fail: (code, detail, errors, headers) => new ApiError(code, detail, errors, headers),
    }),
  );

  return {
    app,
    index,
    store,
    logger,
    isReady: () => ready,
    async load() {
      await hooks.holdReady;
      await index.load(store);
      await store.purgeIdempotency(now());
      ready = true;
    },
  };
}
