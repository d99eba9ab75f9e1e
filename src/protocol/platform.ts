/**
 * Platform calls: the feed, lookup and feedback. Every call carries
 * `Authorization: Bearer <key>`; the key's scopes decide what it may do.
 */
import { z } from "zod";
import { HashInputSchema } from "./hashes.ts";
import { HashIdSchema, TimestampSchema } from "./ids.ts";
import {
  DEFAULT_FEED_LIMIT,
  MAX_FEED_LIMIT,
  MAX_FEEDBACK_ITEMS,
  MAX_FEEDBACK_TAGS,
  MAX_LOOKUP_QUERIES,
  MAX_MAX_DISTANCE,
  MAX_TAG_LENGTH,
  MIN_MAX_DISTANCE,
} from "./limits.ts";

/** Scopes a key can carry: a platform's, or `intake` for an NGO's intake tool (case creation under its own quotas). */
export const SCOPES = ["feed:read", "lookup", "feedback:write", "intake"] as const;
export const ScopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof ScopeSchema>;

/**
 * Query of `GET /v1/feed`. `cursor` is the `nextCursor` of an earlier page
 * (opaque; absent to start from the beginning); `limit` is 1..1000, 100 by
 * default. Unknown parameters are a 400.
 */
export const FeedQuerySchema = z.strictObject({
  cursor: z.string().min(1).max(256).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_FEED_LIMIT).default(DEFAULT_FEED_LIMIT),
});
export type FeedQuery = z.input<typeof FeedQuerySchema>;

/**
 * One feed record: a full snapshot of one hash that replaces any earlier
 * record with the same id. A withdrawal is an explicit `withdrawn` record. A
 * hash held by several cases is one record, active while any case keeps it
 * active. Records never say which case, or which other hashes, they came with.
 */
export const FeedRecordSchema = z.strictObject({
  id: HashIdSchema,
  type: z.enum(["pdq", "md5"]),
  value: z.string().regex(/^[0-9a-f]{32}([0-9a-f]{32})?$/),
  status: z.enum(["active", "withdrawn"]),
  updatedAt: TimestampSchema,
});
export type FeedRecord = z.infer<typeof FeedRecordSchema>;

/**
 * 200 answer of `GET /v1/feed`. Records come in the order of their last
 * change. `nextCursor` is always present: keep it and pass it next time to get
 * only what changed since (durable across server restarts). `hasMore` says
 * whether more records are waiting right now.
 */
export const FeedResponseSchema = z.strictObject({
  records: z.array(FeedRecordSchema),
  nextCursor: z.string(),
  hasMore: z.boolean(),
});
export type FeedResponse = z.infer<typeof FeedResponseSchema>;

/**
 * `POST /v1/lookup`: 1..100 hashes to look up (more is a 413), and the
 * largest Hamming distance that counts as a PDQ match (0..31, default 31).
 * MD5 matches only by equality. An invalid query hash is a 400 listing each
 * bad query by index.
 */
export const LookupRequestSchema = z.strictObject({
  queries: z.array(HashInputSchema).min(1).max(MAX_LOOKUP_QUERIES),
  maxDistance: z.number().int().min(MIN_MAX_DISTANCE).max(MAX_MAX_DISTANCE).optional(),
});
export type LookupRequest = z.infer<typeof LookupRequestSchema>;

/** One match: the hash id (as in the feed) and its distance (0 for MD5). */
export const LookupMatchSchema = z.strictObject({
  id: HashIdSchema,
  distance: z.number().int().min(0).max(256),
});
export type LookupMatch = z.infer<typeof LookupMatchSchema>;

/**
 * 200 answer of `POST /v1/lookup`: one result per query, in query order, each
 * with its active matches sorted by distance (then id). Withdrawn hashes never match.
 */
export const LookupResponseSchema = z.strictObject({
  results: z.array(
    z.strictObject({
      index: z.number().int().nonnegative(),
      matches: z.array(LookupMatchSchema),
    }),
  ),
});
export type LookupResponse = z.infer<typeof LookupResponseSchema>;

/** A platform's verdict on one hash. */
export const VerdictSchema = z.enum(["blocked", "not_blocked", "pending_review"]);
export type Verdict = z.infer<typeof VerdictSchema>;

/** A tag on a feedback item: 1..64 of [a-z0-9_:.-]. */
export const TagSchema = z.string().regex(new RegExp(`^[a-z0-9_:.-]{1,${MAX_TAG_LENGTH}}$`), "a tag of [a-z0-9_:.-]");

/**
 * `POST /v1/feedback`: 1..500 verdicts (more is a 413). One verdict per
 * platform and hash is kept; a later one replaces the earlier.
 */
export const FeedbackRequestSchema = z.strictObject({
  items: z
    .array(
      z.strictObject({
        id: HashIdSchema,
        verdict: VerdictSchema,
        tags: z.array(TagSchema).max(MAX_FEEDBACK_TAGS).optional(),
      }),
    )
    .min(1)
    .max(MAX_FEEDBACK_ITEMS),
});
export type FeedbackRequest = z.infer<typeof FeedbackRequestSchema>;

/**
 * 200 answer of `POST /v1/feedback`: one result per item, in request order.
 * An id the server does not know is `rejected` with reason `unknown_id`; the
 * others are `recorded`.
 */
export const FeedbackResponseSchema = z.strictObject({
  results: z.array(
    z.discriminatedUnion("status", [
      z.strictObject({ index: z.number().int().nonnegative(), id: HashIdSchema, status: z.literal("recorded") }),
      z.strictObject({
        index: z.number().int().nonnegative(),
        id: HashIdSchema,
        status: z.literal("rejected"),
        reason: z.literal("unknown_id"),
      }),
    ]),
  ),
});
export type FeedbackResponse = z.infer<typeof FeedbackResponseSchema>;
