/**
 * Limits of API v1. Shared by the client (to refuse early) and the server (to enforce).
 */

/** Most hashes in one `POST /v1/cases` or `POST /v1/cases/{caseId}/hashes` (more is a 413). */
export const MAX_HASHES_PER_REQUEST = 500;
/** Fewest hashes in one case request (an empty list is a 400). */
export const MIN_HASHES_PER_REQUEST = 1;
/** Most queries in one `POST /v1/lookup` (more is a 413). */
export const MAX_LOOKUP_QUERIES = 100;
/** Most items in one `POST /v1/feedback` (more is a 413). */
export const MAX_FEEDBACK_ITEMS = 500;
/** Most tags on one feedback item, and the longest tag. */
export const MAX_FEEDBACK_TAGS = 16;
export const MAX_TAG_LENGTH = 64;
/** Largest `limit` of `GET /v1/feed`; the default when none is given. */
export const MAX_FEED_LIMIT = 1000;
export const DEFAULT_FEED_LIMIT = 100;
/** Largest request body, in bytes (more is a 413). */
export const MAX_BODY_BYTES = 256 * 1024;
/** `maxDistance` of a lookup: 0..31 bits of Hamming distance; 31 when not given (PDQ's usual match threshold). */
export const MIN_MAX_DISTANCE = 0;
export const MAX_MAX_DISTANCE = 31;
export const DEFAULT_MAX_DISTANCE = 31;
/** PDQ values must have between 16 and 240 bits set (of 256). */
export const PDQ_MIN_BITS = 16;
export const PDQ_MAX_BITS = 240;
/** How long the server keeps an idempotency key and its answer, in milliseconds (24 h). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Allowed `Idempotency-Key` values: 8..128 characters of [A-Za-z0-9._:-] (a UUID fits). */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{8,128}$/;
/** Client name and version in a submission: lengths. */
export const MAX_CLIENT_NAME_LENGTH = 64;
export const MAX_CLIENT_VERSION_LENGTH = 32;
