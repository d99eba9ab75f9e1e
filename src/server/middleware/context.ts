/**
 * What the middlewares share: the app's context type, the error every step
 * throws (answered as problem+json), and the JSON answers.
 */
import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";
import { PROBLEM_MEDIA_TYPE, type ProblemCode, type ProblemError, problemOf, type RoutePattern } from "../../protocol/index.ts";
import type { IdempotencyIntent, WriteLimits } from "../store.ts";

/** Per-request values, set by the middlewares in the order they run. */
export interface AppVariables {
  /** the route pattern (for logs) */
  route: RoutePattern | undefined;
  /** the connection was cut on purpose (test hook) */
  cut: boolean;
  /** the raw request body (empty for GET) */
  raw: Buffer;
  /** who calls: `anonymous`, `case:<row>`, `key:<id>` (idempotency records are per principal) */
  principal: string;
  /** the authenticated case */
  caseRowId: number;
  /** the platform or intake key */
  keyId: number;
  /** the idempotency record to write with the answer (writes only) */
  idempotency: IdempotencyIntent | undefined;
  /** the parsed, schema-checked body */
  body: unknown;
  /** quotas and caps the write must respect */
  limits: WriteLimits | undefined;
}

export type AppEnv = { Bindings: Partial<HttpBindings>; Variables: AppVariables };
export type Ctx = Context<AppEnv>;

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

export function problemResponse(err: ApiError): Response {
  const body = problemOf(err.code, err.message, err.errors);
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { "content-type": PROBLEM_MEDIA_TYPE, "cache-control": "no-store", ...err.headers },
  });
}

export function jsonResponse(status: number, body: string, extra: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...extra },
  });
}

/** The client address: the socket's, or the last X-Forwarded-For entry behind a trusted proxy. */
export function clientAddress(c: Ctx, trustProxy: boolean | undefined): string {
  if (trustProxy) {
    const xff = c.req.header("x-forwarded-for");
    if (xff) {
      const parts = xff.split(",").map((s) => s.trim()).filter(Boolean);
      if (parts.length) return parts[parts.length - 1];
    }
  }
  return c.env?.incoming?.socket?.remoteAddress ?? "unknown";
}

/** `Authorization: <scheme> <token>`: the token (the rest of the line, trimmed), or null. */
export function authToken(c: Ctx, scheme: string): string | null {
  const h = c.req.header("authorization");
  if (!h) return null;
  const m = /^(\S+) +(\S.*?)\s*$/.exec(h);
  return m && m[1].toLowerCase() === scheme.toLowerCase() ? m[2] : null;
}
