/**
 * Route paths and headers of API v1. Patterns use Hono's `:param` syntax; the
 * builders percent-encode their arguments.
 */

/** Prefix of every route. */
export const API_PREFIX = "/v1";

/** Route patterns, as the server registers them and as it logs them. */
export const ROUTES = {
  cases: "/v1/cases",
  case: "/v1/cases/:caseId",
  caseHashes: "/v1/cases/:caseId/hashes",
  caseHash: "/v1/cases/:caseId/hashes/:hashId",
  feed: "/v1/feed",
  lookup: "/v1/lookup",
  feedback: "/v1/feedback",
  healthLive: "/v1/health/live",
  healthReady: "/v1/health/ready",
} as const;

export type RoutePattern = (typeof ROUTES)[keyof typeof ROUTES];

/** Concrete paths for a client. */
export const paths = {
  cases: (): string => ROUTES.cases,
  case: (caseId: string): string => `/v1/cases/${encodeURIComponent(caseId)}`,
  caseHashes: (caseId: string): string => `/v1/cases/${encodeURIComponent(caseId)}/hashes`,
  caseHash: (caseId: string, hashId: string): string =>
    `/v1/cases/${encodeURIComponent(caseId)}/hashes/${encodeURIComponent(hashId)}`,
  feed: (query: { cursor?: string; limit?: number } = {}): string => {
    const q = new URLSearchParams();
    if (query.cursor !== undefined) q.set("cursor", query.cursor);
    if (query.limit !== undefined) q.set("limit", String(query.limit));
    const s = q.toString();
    return s ? `${ROUTES.feed}?${s}` : ROUTES.feed;
  },
  lookup: (): string => ROUTES.lookup,
  feedback: (): string => ROUTES.feedback,
  healthLive: (): string => ROUTES.healthLive,
  healthReady: (): string => ROUTES.healthReady,
} as const;

/** Header carrying the client's idempotency key on every POST and DELETE. */
export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** `Authorization: Case <caseSecret>` for a submitter's calls on one case. */
export const CASE_AUTH_SCHEME = "Case";
/** `Authorization: Bearer <key>` for a platform's calls. */
export const PLATFORM_AUTH_SCHEME = "Bearer";
/** Media type of request and success bodies. */
export const JSON_MEDIA_TYPE = "application/json";
/** Media type of error bodies (RFC 9457). */
export const PROBLEM_MEDIA_TYPE = "application/problem+json";
