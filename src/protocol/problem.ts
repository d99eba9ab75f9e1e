/**
 * Errors of API v1: `application/problem+json` (RFC 9457).
 */
import { z } from "zod";

/** One error inside a problem: `index` is the item of the batch it concerns, when it concerns one. */
export const ProblemErrorSchema = z.strictObject({
  index: z.number().int().nonnegative().optional(),
  code: z.string(),
  message: z.string(),
});
export type ProblemError = z.infer<typeof ProblemErrorSchema>;

/** Status codes the API answers with a problem. */
export const PROBLEM_STATUSES = [400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503] as const;
export type ProblemStatus = (typeof PROBLEM_STATUSES)[number];

/**
 * The body of every error answer. `type` is a stable URN per kind of error
 * (`urn:hashsafe:problem:<code>`), `title` a short summary of that kind,
 * `detail` what went wrong in this request.
 */
export const ProblemSchema = z.strictObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int().min(400).max(599),
  detail: z.string(),
  errors: z.array(ProblemErrorSchema).optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;

/** Kinds of problem, with their status and title. */
export const PROBLEMS = {
  invalid_body: { status: 400, title: "Invalid request body" },
  invalid_query: { status: 400, title: "Invalid query parameters" },
  missing_idempotency_key: { status: 400, title: "Idempotency-Key header missing or malformed" },
  unauthorized: { status: 401, title: "Missing or invalid API key" },
  forbidden: { status: 403, title: "The API key lacks the scope for this call" },
  not_found: { status: 404, title: "Not found" },
  idempotency_in_flight: { status: 409, title: "A request with this Idempotency-Key is still being processed" },
  body_too_large: { status: 413, title: "Request body too large" },
  batch_too_large: { status: 413, title: "Too many items in one request" },
  unsupported_media_type: { status: 415, title: "Request body must be application/json" },
  idempotency_key_reused: { status: 422, title: "Idempotency-Key reused with a different request" },
  no_valid_hashes: { status: 422, title: "No valid hash in the request" },
  case_full: { status: 422, title: "The case holds as many hashes as it may" },
  rate_limited: { status: 429, title: "Too many requests" },
  quota_exceeded: { status: 429, title: "Daily quota used up" },
  internal: { status: 500, title: "Internal server error" },
  not_ready: { status: 503, title: "Service not ready" },
  storage_unavailable: { status: 503, title: "Storage failing" },
  storage_full: { status: 503, title: "Storage nearly full" },
} as const satisfies Record<string, { status: ProblemStatus; title: string }>;
export type ProblemCode = keyof typeof PROBLEMS;

/** The `type` URN of a problem code. */
export function problemType(code: ProblemCode): string {
  return `urn:hashsafe:problem:${code.replaceAll("_", "-")}`;
}

/**
 * Build a problem body from its parts: `problem(404, "Not found", "no such case")`.
 * `type` defaults to `about:blank` (RFC 9457: the title says it all).
 */
export function problem(status: number, title: string, detail: string, errors?: ProblemError[], type = "about:blank"): Problem {
  return errors && errors.length > 0 ? { type, title, status, detail, errors } : { type, title, status, detail };
}

/** Build the problem of a known kind: `problemOf("not_found", "no such case")`. */
export function problemOf(code: ProblemCode, detail: string, errors?: ProblemError[]): Problem {
  const p = PROBLEMS[code];
  return problem(p.status, p.title, detail, errors, problemType(code));
}

/** Signature of {@link problem}. */
export type ProblemHelper = typeof problem;
