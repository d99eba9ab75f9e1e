/**
 * What the middlewares share: the app's context type, the error every step
 * throws (answered as problem+json), and the JSON answers.
 */
import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";
import type { Lang } from "../../i18n/index.ts";
import { t } from "../../i18n/index.ts";
import { type Problem, PROBLEM_MEDIA_TYPE, type ProblemCode, type ProblemError, problemOf, type RoutePattern } from "../../protocol/index.ts";
import type { IdempotencyIntent, WriteLimits } from "../store.ts";
import { type Detail, say } from "./lang.ts";

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

/**
 * An error answered as problem+json. `detail` is a catalogue key with its
 * parameters (src/i18n/server.ts), said in the language of the request; a
 * plain string is said as is, in English (for callers outside the catalogue).
 * `message` is the English text (for logs and tests).
 */
export class ApiError extends Error {
  readonly code: ProblemCode;
  readonly detail: Detail | string;
  readonly errors: ProblemError[] | undefined;
  readonly headers: Record<string, string>;
  constructor(code: ProblemCode, detail: Detail | string, errors?: ProblemError[], headers: Record<string, string> = {}) {
    super(say("en", detail));
    this.code = code;
    this.detail = detail;
    this.errors = errors;
    this.headers = headers;
  }
}

/**
 * The one place problem bodies are put into words: `title` and `detail` in
 * `lang` (English for a plain-string detail, so one answer is in one
 * language); `type`, `status` and `errors` are the same in every language.
 * Answers the body and the language it is in.
 */
export function problemIn(lang: Lang, code: ProblemCode, detail: Detail | string, errors?: ProblemError[]): { body: Problem; lang: Lang } {
  const said: Lang = typeof detail === "string" ? "en" : lang;
  const body = problemOf(code, say(said, detail), errors);
  if (said !== "en") body.title = t(said, `server.title.${code}` as const);
  return { body, lang: said };
}

/** The problem+json answer of `err`, in `lang`, with Content-Language and Vary: Accept-Language. */
export function problemResponse(err: ApiError, lang: Lang = "en"): Response {
  const { body, lang: said } = problemIn(lang, err.code, err.detail, err.errors);
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: {
      "content-type": PROBLEM_MEDIA_TYPE,
      "cache-control": "no-store",
      "content-language": said,
      vary: "Accept-Language",
      ...err.headers,
    },
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
