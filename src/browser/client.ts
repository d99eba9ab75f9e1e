/**
 * `BrowserClient`: the submitter's calls of API v1 over `fetch`, with the CLI
 * client's semantics (src/client/client.ts):
 *
 * - HTTPS only, except for this machine (127.0.0.0/8, ::1, localhost);
 * - every POST and DELETE carries an `Idempotency-Key` (a UUID, or the one
 *   the caller passes) that every retry of the call reuses;
 * - retries on network errors, timeouts, 429, 502, 503, 504 (and the 409 of
 *   a key still in flight) with exponential backoff and jitter, waiting at
 *   least what `Retry-After` asks; a per-attempt timeout;
 * - answers checked with the protocol schemas; errors are the CLI client's
 *   classes (ApiError, NetworkError, ProtocolError, InsecureServerError).
 *
 * No Node APIs, no cookies (`credentials: "omit"`), no referrer.
 */
import type { z } from "zod";
import {
  CASE_AUTH_SCHEME,
  type CaseStatusResponse,
  CaseStatusResponseSchema,
  type ClientInfo,
  type CreateCaseRequest,
  type CreateCaseResponse,
  CreateCaseResponseSchema,
  type HashInput,
  IDEMPOTENCY_HEADER,
  paths,
  ProblemSchema,
  type WithdrawResponse,
  WithdrawResponseSchema,
} from "../protocol/index.ts";
import { VERSION } from "../version.ts";
import { ApiError, formatSeconds, InsecureServerError, NetworkError, ProtocolError } from "../client/errors.ts";
import { DEFAULT_RETRY, parseRetryAfter, RETRY_STATUSES, type RetryPolicy, retryDelay, sleep } from "../client/retry.ts";
import { isLoopbackHost, parseServerUrl } from "../client/server-url.ts";

export { ApiError, ClientError, InsecureServerError, isTransient, NetworkError, ProtocolError } from "../client/errors.ts";

export interface BrowserClientOptions {
  /** Base address of the server (a trailing `/v1` is fine). */
  server: string | URL;
  /** Longest wait for an answer, per attempt, in ms (default 30 s). */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Sent as `client` in submissions; default `{name: "hashsafe-web", version}`. */
  client?: ClientInfo;
  /** Called before each retry (for progress messages). */
  onRetry?: (event: { method: string; path: string; attempt: number; delayMs: number; reason: string }) => void;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /**
   * The page's language ("es", "en"), sent as Accept-Language so the server's
   * error details (ApiError.detail) are in it; a function is asked at each
   * call (a page whose language can be switched). None: the browser's own header.
   */
  lang?: string | (() => string | undefined);
}

export interface BrowserCallOptions {
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export { isLoopbackHost, parseServerUrl };

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 413: "Payload Too Large",
  415: "Unsupported Media Type", 422: "Unprocessable Content", 429: "Too Many Requests", 500: "Internal Server Error",
  502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
};

/** A new idempotency key (a random UUID). */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

export class BrowserClient {
  readonly server: URL;
  readonly clientInfo: ClientInfo;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly onRetry: BrowserClientOptions["onRetry"];
  private readonly fetchFn: typeof fetch;
  private readonly lang: (() => string | undefined) | undefined;

  constructor(options: BrowserClientOptions) {
    this.server = parseServerUrl(options.server);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    if (!(this.retry.maxAttempts >= 1)) this.retry.maxAttempts = 1;
    this.clientInfo = options.client ?? { name: "hashsafe-web", version: VERSION };
    this.onRetry = options.onRetry;
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    const lang = options.lang;
    this.lang = typeof lang === "string" ? () => lang : lang;
  }

  get serverUrl(): string {
    return this.server.origin + this.server.pathname.replace(/\/+$/, "");
  }

  /** The exact body a submission of these hashes sends (for "what will be sent"). */
  createCaseBody(hashes: HashInput[]): CreateCaseRequest {
    return { hashes: hashes.map((h) => ({ type: h.type, value: h.value })), client: { ...this.clientInfo } };
  }

  /** `POST /v1/cases`. */
  createCase(body: CreateCaseRequest, options?: BrowserCallOptions): Promise<CreateCaseResponse> {
    return this.call("POST", paths.cases(), body, undefined, CreateCaseResponseSchema, options);
  }

  /** `GET /v1/cases/{caseId}`. */
  getCase(caseId: string, caseSecret: string, options?: BrowserCallOptions): Promise<CaseStatusResponse> {
    return this.call("GET", paths.case(caseId), undefined, caseSecret, CaseStatusResponseSchema, options);
  }

  /** `DELETE /v1/cases/{caseId}`: withdraw every hash of the case. */
  withdrawCase(caseId: string, caseSecret: string, options?: BrowserCallOptions): Promise<WithdrawResponse> {
    return this.call("DELETE", paths.case(caseId), undefined, caseSecret, WithdrawResponseSchema, options);
  }

  /** `DELETE /v1/cases/{caseId}/hashes/{hashId}`: withdraw one hash. */
  withdrawHash(caseId: string, caseSecret: string, hashId: string, options?: BrowserCallOptions): Promise<WithdrawResponse> {
    return this.call("DELETE", paths.caseHash(caseId, hashId), undefined, caseSecret, WithdrawResponseSchema, options);
  }

  private async call<T>(
    method: "GET" | "POST" | "DELETE",
    path: string,
    body: unknown,
    secret: string | undefined,
    schema: z.ZodType<T>,
    options: BrowserCallOptions = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json, application/problem+json" };
    if (secret) headers.authorization = `${CASE_AUTH_SCHEME} ${secret}`;
    const lang = this.lang?.();
    if (lang && /^[A-Za-z0-9*,;=. -]{1,128}$/.test(lang)) headers["accept-language"] = lang; // CORS-safelisted as is (no preflight); anything else is not sent
    let payload: string | undefined;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      headers["content-type"] = "application/json";
    }
    if (method !== "GET") headers[IDEMPOTENCY_HEADER] = options.idempotencyKey ?? newIdempotencyKey();
    const url = this.serverUrl + path;
    const origin = this.server.origin;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      let text: string;
      const ctl = new AbortController();
      const onAbort = () => ctl.abort(options.signal?.reason);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const timer = setTimeout(() => ctl.abort(new DOMException("timeout", "TimeoutError")), this.timeoutMs);
      try {
        res = await this.fetchFn(url, {
          method,
          headers,
          body: payload,
          signal: ctl.signal,
          credentials: "omit",
          cache: "no-store",
          referrerPolicy: "no-referrer",
          redirect: "error",
          mode: "cors",
        });
        text = await res.text();
      } catch (err) {
        if (options.signal?.aborted) throw err;
        const timedOut = ctl.signal.aborted;
        const reason = timedOut
          ? `the server at ${origin} did not answer within ${formatSeconds(this.timeoutMs / 1000)}`
          : `could not reach ${origin}: the server or the network is not responding`;
        if (attempt < this.retry.maxAttempts) {
          await this.pause(method, path, attempt, retryDelay(this.retry, attempt), timedOut ? "timeout" : "network error", options.signal);
          continue;
        }
        const tries = attempt > 1 ? ` (tried ${attempt} times)` : "";
        throw new NetworkError(reason + tries, { code: timedOut ? "TIMEOUT" : "NETWORK", attempts: attempt, cause: err });
      } finally {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
      }
      if (res.status >= 200 && res.status < 300) return this.parse(schema, method, path, res.status, text);
      const retryAfterHeader = res.headers.get("retry-after") ?? undefined;
      const error = this.problem(res.status, text, retryAfterHeader);
      const retryAfterMs = parseRetryAfter(retryAfterHeader);
      const inFlight = res.status === 409 && error.type === "urn:hashsafe:problem:idempotency-in-flight";
      const retryable = RETRY_STATUSES.has(res.status) || inFlight;
      const tooLong = retryAfterMs !== undefined && retryAfterMs > this.retry.maxRetryAfterMs;
      if (retryable && !tooLong && attempt < this.retry.maxAttempts) {
        await this.pause(method, path, attempt, retryDelay(this.retry, attempt, retryAfterMs), `HTTP ${res.status}`, options.signal);
        continue;
      }
      throw error;
    }
  }

  private async pause(method: string, path: string, attempt: number, delayMs: number, reason: string, signal?: AbortSignal) {
    this.onRetry?.({ method, path, attempt, delayMs, reason });
    await sleep(delayMs, signal);
  }

  private parse<T>(schema: z.ZodType<T>, method: string, path: string, status: number, text: string): T {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new ProtocolError(`the server at ${this.server.origin} answered ${method} ${path} with something that is not JSON (HTTP ${status})`, status, { cause: err });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ProtocolError(`the server at ${this.server.origin} answered ${method} ${path} in a form that does not follow API v1`, status, { cause: parsed.error });
    }
    return parsed.data;
  }

  private problem(status: number, text: string, retryAfterHeader: string | undefined): ApiError {
    const ms = parseRetryAfter(retryAfterHeader);
    const retryAfter = ms === undefined ? undefined : ms / 1000;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const p = ProblemSchema.safeParse(json);
    if (p.success) {
      return new ApiError({ status, title: p.data.title, detail: p.data.detail, type: p.data.type, errors: p.data.errors ?? [], retryAfter });
    }
    return new ApiError({ status, title: STATUS_TEXT[status] ?? `HTTP ${status}`, retryAfter });
  }
}
