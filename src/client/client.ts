/**
 * `HashShareClient`: the hash-sharing API v1 over undici, for the CLI and for
 * NGO or platform tools.
 *
 * - HTTPS only, except for this machine (127.0.0.0/8, ::1, localhost).
 * - Every POST and DELETE carries an `Idempotency-Key` (a UUID, or the one the
 *   caller passes); every retry of that call reuses it, so a retried
 *   submission never creates a second case.
 * - Retries on connection errors, timeouts, 429, 502, 503 and 504 (and on the
 *   409 a server answers while the first try of the same key is still
 *   running), with exponential backoff and jitter, waiting at least what
 *   `Retry-After` asks; at most `retry.maxAttempts` attempts in all.
 * - Answers are validated with the protocol schemas; errors become
 *   {@link ApiError} (problem+json), {@link NetworkError} or
 *   {@link ProtocolError}, each with a message a person can act on.
 */
import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import { Agent, type Dispatcher, request } from "undici";
import type { z } from "zod";
import {
  type AddHashesResponse,
  AddHashesResponseSchema,
  CASE_AUTH_SCHEME,
  type CaseStatusResponse,
  CaseStatusResponseSchema,
  type ClientInfo,
  type CreateCaseRequest,
  type CreateCaseResponse,
  CreateCaseResponseSchema,
  type FeedbackRequest,
  type FeedbackResponse,
  FeedbackResponseSchema,
  type FeedResponse,
  FeedResponseSchema,
  type HashInput,
  IDEMPOTENCY_HEADER,
  type LiveResponse,
  LiveResponseSchema,
  type LookupRequest,
  type LookupResponse,
  LookupResponseSchema,
  paths,
  PLATFORM_AUTH_SCHEME,
  ProblemSchema,
  type ReadyResponse,
  ReadyResponseSchema,
  type WithdrawResponse,
  WithdrawResponseSchema,
} from "../protocol/index.ts";
import { VERSION } from "../version.ts";
import { ApiError, ClientError, formatSeconds, InsecureServerError, NetworkError, ProtocolError } from "./errors.ts";
import { DEFAULT_RETRY, parseRetryAfter, RETRY_STATUSES, type RetryPolicy, retryDelay, sleep } from "./retry.ts";
import { isLoopbackHost, parseServerUrl } from "./server-url.ts";

export interface HashShareClientOptions {
  /** Base address of the server, e.g. `https://hashes.example.org` (a trailing `/v1` is fine). */
  server: string | URL;
  /** Platform API key (`hsk_...`), for feed, lookup and feedback. */
  apiKey?: string;
  /** Longest wait for an answer, per attempt, in ms (default 30 s). */
  timeoutMs?: number;
  /** Longest wait to connect, per attempt, in ms (default 10 s). */
  connectTimeoutMs?: number;
  /** Retry policy; see {@link DEFAULT_RETRY}. */
  retry?: Partial<RetryPolicy>;
  /** Sent as `client` in submissions; default `{name: "hashsafe", version: VERSION}`. */
  client?: ClientInfo;
  /** An undici dispatcher to use instead of the client's own connection pool. */
  dispatcher?: Dispatcher;
  /** Called before each retry (for progress messages). */
  onRetry?: (event: RetryEvent) => void;
  /**
   * The person's language ("es", "en", "es-DO"), sent as Accept-Language: the
   * server writes the `detail` of its errors (ApiError.detail) in it. None: no header.
   */
  lang?: string;
}

export interface RetryEvent {
  method: string;
  path: string;
  /** The attempt that failed (1 for the first). */
  attempt: number;
  /** The wait before the next attempt, in ms. */
  delayMs: number;
  /** Why, in words: "connection refused", "HTTP 503", ... */
  reason: string;
}

/** Options of one call. */
export interface CallOptions {
  /** Idempotency key for a POST or DELETE (default: a new UUID per call, reused on its retries). */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export { isLoopbackHost, parseServerUrl };

interface CallSpec<T> {
  method: "GET" | "POST" | "DELETE";
  path: string;
  body?: unknown;
  auth?: string;
  schema?: z.ZodType<T>;
  options?: CallOptions;
}

function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === "object"; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code !== "UND_ERR") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

const TLS_CODES = /^(CERT_|ERR_TLS_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_SSL_)/;

function describeNetworkError(code: string | undefined, origin: string, timeoutMs: number): string {
  switch (code) {
    case "ECONNREFUSED":
      return `nothing is answering at ${origin} (connection refused): is the server running, and is the address right?`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `the server name in ${origin} could not be found: check the address and this machine's network connection`;
    case "UND_ERR_CONNECT_TIMEOUT":
    case "ETIMEDOUT":
      return `could not connect to ${origin} in time: the server or the network is not responding`;
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return `the server at ${origin} did not answer within ${formatSeconds(timeoutMs / 1000)}`;
    case "UND_ERR_SOCKET":
    case "ECONNRESET":
    case "EPIPE":
      return `the connection to ${origin} was cut before the answer arrived`;
    case "ENETUNREACH":
    case "EHOSTUNREACH":
      return `${origin} cannot be reached from this machine: check the network connection`;
    default:
      if (code && TLS_CODES.test(code)) {
        return `the HTTPS certificate of ${origin} could not be verified (${code}): the connection may be intercepted; nothing was sent`;
      }
      return `could not talk to ${origin}${code ? ` (${code})` : ""}`;
  }
}

function retryableNetwork(code: string | undefined): boolean {
  return !(code && TLS_CODES.test(code));
}

/** The client of API v1. Call {@link close} when done to free its connections. */
export class HashShareClient {
  /** The normalised server address. */
  readonly server: URL;
  readonly clientInfo: ClientInfo;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly dispatcher: Dispatcher;
  private readonly ownDispatcher: Agent | undefined;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;
  private readonly lang: string | undefined;

  constructor(options: HashShareClientOptions) {
    this.server = parseServerUrl(options.server);
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    if (!(this.retry.maxAttempts >= 1)) this.retry.maxAttempts = 1;
    this.clientInfo = options.client ?? { name: "hashsafe", version: VERSION };
    this.onRetry = options.onRetry;
    this.lang = options.lang && /^[A-Za-z0-9*,;=. -]{1,200}$/.test(options.lang) ? options.lang : undefined; // a header value; anything else is not sent
    if (options.dispatcher) {
      this.dispatcher = options.dispatcher;
    } else {
      this.ownDispatcher = new Agent({
        connect: { timeout: options.connectTimeoutMs ?? 10_000 },
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        keepAliveTimeout: 4_000,
      });
      this.dispatcher = this.ownDispatcher;
    }
  }

  /** The server address as a string, without a trailing slash: `https://host[:port][/base]`. */
  get serverUrl(): string {
    return this.server.origin + this.server.pathname.replace(/\/+$/, "");
  }

  /** Close the client's own connections. */
  async close(): Promise<void> {
    await this.ownDispatcher?.close();
  }

  // --- submitters -----------------------------------------------------------

  /**
   * `POST /v1/cases`. Pass hashes (the client info is added) or a full body;
   * pass `idempotencyKey` to redeliver a saved submission under its original key.
   */
  async createCase(body: CreateCaseRequest | { hashes: HashInput[] }, options?: CallOptions): Promise<CreateCaseResponse> {
    const full: CreateCaseRequest = { hashes: body.hashes, client: "client" in body && body.client ? body.client : this.clientInfo };
    return this.call({ method: "POST", path: paths.cases(), body: full, schema: CreateCaseResponseSchema, options });
  }

  /** `POST /v1/cases/{caseId}/hashes`. */
  async addHashes(caseId: string, caseSecret: string, hashes: HashInput[], options?: CallOptions): Promise<AddHashesResponse> {
    return this.call({
      method: "POST",
      path: paths.caseHashes(caseId),
      body: { hashes },
      auth: `${CASE_AUTH_SCHEME} ${caseSecret}`,
      schema: AddHashesResponseSchema,
      options,
    });
  }

  /** `GET /v1/cases/{caseId}`. */
  async getCase(caseId: string, caseSecret: string, options?: CallOptions): Promise<CaseStatusResponse> {
    return this.call({
      method: "GET",
      path: paths.case(caseId),
      auth: `${CASE_AUTH_SCHEME} ${caseSecret}`,
      schema: CaseStatusResponseSchema,
      options,
    });
  }

  /** `DELETE /v1/cases/{caseId}`: withdraw every hash of the case. */
  async withdrawCase(caseId: string, caseSecret: string, options?: CallOptions): Promise<WithdrawResponse> {
    return this.call({
      method: "DELETE",
      path: paths.case(caseId),
      auth: `${CASE_AUTH_SCHEME} ${caseSecret}`,
      schema: WithdrawResponseSchema,
      options,
    });
  }

  /** `DELETE /v1/cases/{caseId}/hashes/{hashId}`: withdraw one hash. */
  async withdrawHash(caseId: string, caseSecret: string, hashId: string, options?: CallOptions): Promise<WithdrawResponse> {
    return this.call({
      method: "DELETE",
      path: paths.caseHash(caseId, hashId),
      auth: `${CASE_AUTH_SCHEME} ${caseSecret}`,
      schema: WithdrawResponseSchema,
      options,
    });
  }

  // --- platforms ------------------------------------------------------------

  /** `GET /v1/feed`: one page of records after `cursor` (from the start when absent). */
  async feed(query: { cursor?: string; limit?: number } = {}, options?: CallOptions): Promise<FeedResponse> {
    return this.call({ method: "GET", path: paths.feed(query), auth: this.bearer(), schema: FeedResponseSchema, options });
  }

  /** `POST /v1/lookup`. */
  async lookup(body: LookupRequest, options?: CallOptions): Promise<LookupResponse> {
    return this.call({ method: "POST", path: paths.lookup(), body, auth: this.bearer(), schema: LookupResponseSchema, options });
  }

  /** `POST /v1/feedback`. */
  async feedback(body: FeedbackRequest, options?: CallOptions): Promise<FeedbackResponse> {
    return this.call({ method: "POST", path: paths.feedback(), body, auth: this.bearer(), schema: FeedbackResponseSchema, options });
  }

  // --- both -----------------------------------------------------------------

  /** `GET /v1/health/live` or `/v1/health/ready`. */
  async health(which: "live" | "ready" = "ready", options?: CallOptions): Promise<LiveResponse | ReadyResponse> {
    return which === "live"
      ? this.call({ method: "GET", path: paths.healthLive(), schema: LiveResponseSchema, options })
      : this.call({ method: "GET", path: paths.healthReady(), schema: ReadyResponseSchema, options });
  }

  private bearer(): string {
    if (!this.apiKey) throw new ClientError("this call needs a platform API key (the apiKey option; --key or HASHSAFE_KEY on the command line)");
    return `${PLATFORM_AUTH_SCHEME} ${this.apiKey}`;
  }

  private url(path: string): string {
    return `${this.serverUrl}${path}`;
  }

  private async call<T>(spec: CallSpec<T>): Promise<T> {
    const headers: Record<string, string> = {
      accept: "application/json, application/problem+json",
      "user-agent": `${this.clientInfo.name}/${this.clientInfo.version}`,
    };
    if (spec.auth) headers.authorization = spec.auth;
    if (this.lang) headers["accept-language"] = this.lang;
    let payload: string | undefined;
    if (spec.body !== undefined) {
      payload = JSON.stringify(spec.body);
      headers["content-type"] = "application/json";
    }
    if (spec.method !== "GET") headers[IDEMPOTENCY_HEADER.toLowerCase()] = spec.options?.idempotencyKey ?? randomUUID();

    const url = this.url(spec.path);
    const signal = spec.options?.signal;
    for (let attempt = 1; ; attempt++) {
      let status: number;
      let text: string;
      let resHeaders: Record<string, string | string[] | undefined>;
      try {
        const res = await request(url, {
          method: spec.method,
          headers,
          body: payload,
          dispatcher: this.dispatcher,
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
          signal,
        });
        status = res.statusCode;
        resHeaders = res.headers;
        text = await res.body.text();
      } catch (err) {
        if (signal?.aborted) throw err;
        const code = networkCode(err);
        const reason = describeNetworkError(code, this.server.origin, this.timeoutMs);
        if (attempt < this.retry.maxAttempts && retryableNetwork(code)) {
          await this.pause(spec, attempt, retryDelay(this.retry, attempt), code ?? "connection error", signal);
          continue;
        }
        const tries = attempt > 1 ? ` (tried ${attempt} times)` : "";
        throw new NetworkError(reason + tries, { code, attempts: attempt, cause: err });
      }

      if (status >= 200 && status < 300) return this.parseSuccess(spec, status, text);

      const error = this.parseProblem(status, text, resHeaders);
      const retryAfterMs = parseRetryAfter(resHeaders["retry-after"]);
      const inFlight = status === 409 && error.type === "urn:hashsafe:problem:idempotency-in-flight";
      const retryable = RETRY_STATUSES.has(status) || inFlight;
      const tooLong = retryAfterMs !== undefined && retryAfterMs > this.retry.maxRetryAfterMs;
      if (retryable && !tooLong && attempt < this.retry.maxAttempts) {
        await this.pause(spec, attempt, retryDelay(this.retry, attempt, retryAfterMs), `HTTP ${status}`, signal);
        continue;
      }
      throw error;
    }
  }

  private async pause(spec: CallSpec<unknown>, attempt: number, delayMs: number, reason: string, signal?: AbortSignal) {
    this.onRetry?.({ method: spec.method, path: spec.path, attempt, delayMs, reason });
    await sleep(delayMs, signal);
  }

  private parseSuccess<T>(spec: CallSpec<T>, status: number, text: string): T {
    if (!spec.schema) return undefined as T;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new ProtocolError(
        `the server at ${this.server.origin} answered ${spec.method} ${spec.path} with something that is not JSON (HTTP ${status}): is this a hashsafe server?`,
        status,
        { cause: err },
      );
    }
    const parsed = spec.schema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first ? ` (${first.path.join(".") || "body"}: ${first.message})` : "";
      throw new ProtocolError(
        `the server at ${this.server.origin} answered ${spec.method} ${spec.path} in a form that does not follow API v1${where}`,
        status,
        { cause: parsed.error },
      );
    }
    return parsed.data;
  }

  private parseProblem(status: number, text: string, headers: Record<string, string | string[] | undefined>): ApiError {
    const retryAfterMs = parseRetryAfter(headers["retry-after"]);
    const retryAfter = retryAfterMs === undefined ? undefined : retryAfterMs / 1000;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const p = ProblemSchema.safeParse(json);
    if (p.success) {
      return new ApiError({
        status,
        title: p.data.title,
        detail: p.data.detail,
        type: p.data.type,
        errors: p.data.errors ?? [],
        retryAfter,
      });
    }
    // Not a problem body: a proxy or load balancer answered, most likely.
    return new ApiError({ status, title: STATUS_CODES[status] ?? `HTTP ${status}`, retryAfter });
  }
}
