/**
 * Errors of the hash-sharing client. Each has a message a person can act on;
 * programs branch on the class (and on `status` / `code`).
 */
import { TEMPORARY_STATUSES } from "./retry.ts";

export interface ProblemItem {
  /** The item of the batch it concerns (0-based), when it concerns one. */
  index?: number;
  code: string;
  message: string;
}

/** Base class: every error the client throws on purpose. */
export class ClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ClientError";
  }
}

/** The server address is not acceptable (not HTTPS and not this machine, or not a URL). */
export class InsecureServerError extends ClientError {
  readonly url: string;
  constructor(url: string, message: string) {
    super(message);
    this.name = "InsecureServerError";
    this.url = url;
  }
}

/**
 * The server answered with an error (an RFC 9457 problem+json body, or an
 * HTTP error from something in between, such as a proxy).
 */
export class ApiError extends ClientError {
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly type: string | undefined;
  readonly errors: ProblemItem[];
  /** Seconds from `Retry-After`, when the server sent one. */
  readonly retryAfter: number | undefined;
  constructor(init: {
    status: number;
    title: string;
    detail?: string;
    type?: string;
    errors?: ProblemItem[];
    retryAfter?: number;
  }) {
    super(describeProblem(init));
    this.name = "ApiError";
    this.status = init.status;
    this.title = init.title;
    this.detail = init.detail;
    this.type = init.type;
    this.errors = init.errors ?? [];
    this.retryAfter = init.retryAfter;
  }
}

function describeProblem(p: { status: number; title: string; detail?: string; errors?: ProblemItem[]; retryAfter?: number }): string {
  let msg = `the server refused the request: ${p.title}`;
  if (p.detail && p.detail !== p.title) msg += ` (${p.detail})`;
  msg += ` [HTTP ${p.status}]`;
  const errs = p.errors ?? [];
  if (errs.length > 0) {
    const shown = errs.slice(0, 5).map((e) => (e.index === undefined ? e.message : `item ${e.index + 1}: ${e.message}`));
    if (errs.length > 5) shown.push(`and ${errs.length - 5} more`);
    msg += `; ${shown.join("; ")}`;
  }
  if (p.status === 429 && p.retryAfter !== undefined) msg += `; try again in ${formatSeconds(p.retryAfter)}`;
  return msg;
}

export function formatSeconds(s: number): string {
  if (s < 90) return `${Math.ceil(s)} s`;
  if (s < 5400) return `${Math.ceil(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

/** The server could not be reached (refused, reset, timed out, name not found), after every retry. */
export class NetworkError extends ClientError {
  /** The low-level code (ECONNREFUSED, UND_ERR_SOCKET, ...), when known. */
  readonly code: string | undefined;
  readonly attempts: number;
  constructor(message: string, init: { code?: string; attempts: number; cause?: unknown }) {
    super(message, { cause: init.cause });
    this.name = "NetworkError";
    this.code = init.code;
    this.attempts = init.attempts;
  }
}

/** The server answered something that does not follow the protocol. */
export class ProtocolError extends ClientError {
  readonly status: number;
  constructor(message: string, status: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProtocolError";
    this.status = status;
  }
}

/**
 * True when the failure is temporary: the same request, with the same
 * idempotency key, may succeed later (so an outbox should keep it).
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof NetworkError) return true;
  if (err instanceof ApiError) return TEMPORARY_STATUSES.has(err.status);
  return false;
}
