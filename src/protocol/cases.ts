/**
 * Submitter calls: create a case, add hashes, read its status, withdraw.
 * Every call but the create carries `Authorization: Case <caseSecret>`.
 */
import { z } from "zod";
import { HASH_REJECT_REASONS, HashInputSchema } from "./hashes.ts";
import { CaseIdSchema, CaseSecretSchema, HashIdSchema, TimestampSchema } from "./ids.ts";
import { MAX_CLIENT_NAME_LENGTH, MAX_CLIENT_VERSION_LENGTH, MAX_HASHES_PER_REQUEST } from "./limits.ts";

/** The submitting program: its name and version, nothing else. */
export const ClientInfoSchema = z.strictObject({
  name: z.string().min(1).max(MAX_CLIENT_NAME_LENGTH),
  version: z.string().min(1).max(MAX_CLIENT_VERSION_LENGTH),
});
export type ClientInfo = z.infer<typeof ClientInfoSchema>;

/**
 * The hashes of a case request: 1..500 items, each checked on its own. More
 * than 500 is a 413 (the server checks the count before the schema).
 */
export const HashBatchSchema = z.array(HashInputSchema).min(1).max(MAX_HASHES_PER_REQUEST);

/** `POST /v1/cases`: the hashes and the client; nothing else can be sent. */
export const CreateCaseRequestSchema = z.strictObject({
  hashes: HashBatchSchema,
  client: ClientInfoSchema,
});
export type CreateCaseRequest = z.infer<typeof CreateCaseRequestSchema>;

/** `POST /v1/cases/{caseId}/hashes`: more hashes for the case. */
export const AddHashesRequestSchema = z.strictObject({
  hashes: HashBatchSchema,
  client: ClientInfoSchema.optional(),
});
export type AddHashesRequest = z.infer<typeof AddHashesRequestSchema>;

/** Reason codes of a rejected item (see hashes.ts). */
export const HashRejectReasonSchema = z.enum(HASH_REJECT_REASONS);

/**
 * The answer for one item of a case request, in request order. `index` is
 * its position in the request. Accepted items carry the hash `id` and the
 * canonical value (an item repeated in one request, or already in the case,
 * is accepted again with the same id). Rejected items carry the `reason`, the
 * type and value as sent, and no id; nothing is stored for them.
 */
export const HashItemResultSchema = z.discriminatedUnion("status", [
  z.strictObject({
    index: z.number().int().nonnegative(),
    id: HashIdSchema,
    type: z.enum(["pdq", "md5"]),
    value: z.string(),
    status: z.literal("accepted"),
  }),
  z.strictObject({
    index: z.number().int().nonnegative(),
    type: z.string(),
    value: z.string(),
    status: z.literal("rejected"),
    reason: HashRejectReasonSchema,
  }),
]);
export type HashItemResult = z.infer<typeof HashItemResultSchema>;

/** Status of a case: `active` while any of its hashes is active. */
export const CaseStatusSchema = z.enum(["active", "withdrawn"]);
export type CaseStatus = z.infer<typeof CaseStatusSchema>;

/**
 * 201 answer of `POST /v1/cases`. The secret appears here once and never
 * again; the server keeps only a scrypt hash of it. A request in which no hash
 * is valid creates nothing and answers 422 (a problem listing each item).
 */
export const CreateCaseResponseSchema = z.strictObject({
  caseId: CaseIdSchema,
  caseSecret: CaseSecretSchema,
  status: z.literal("active"),
  hashes: z.array(HashItemResultSchema),
});
export type CreateCaseResponse = z.infer<typeof CreateCaseResponseSchema>;

/** 200 answer of `POST /v1/cases/{caseId}/hashes`: the same item answers as the create. */
export const AddHashesResponseSchema = z.strictObject({
  caseId: CaseIdSchema,
  status: CaseStatusSchema,
  hashes: z.array(HashItemResultSchema),
});
export type AddHashesResponse = z.infer<typeof AddHashesResponseSchema>;

/** What platforms reported about one hash: one verdict per platform, counted. */
export const FeedbackCountsSchema = z.strictObject({
  blocked: z.number().int().nonnegative(),
  notBlocked: z.number().int().nonnegative(),
  pendingReview: z.number().int().nonnegative(),
});
export type FeedbackCounts = z.infer<typeof FeedbackCountsSchema>;

/** A hash of a case, in its status; `status` is this case's own (a withdrawal here may leave it active for another case). */
export const CaseHashSchema = z.strictObject({
  id: HashIdSchema,
  type: z.enum(["pdq", "md5"]),
  value: z.string().regex(/^[0-9a-f]{32}([0-9a-f]{32})?$/),
  status: z.enum(["active", "withdrawn"]),
  feedback: FeedbackCountsSchema,
});
export type CaseHash = z.infer<typeof CaseHashSchema>;

/** 200 answer of `GET /v1/cases/{caseId}`. */
export const CaseStatusResponseSchema = z.strictObject({
  caseId: CaseIdSchema,
  status: CaseStatusSchema,
  createdAt: TimestampSchema,
  hashes: z.array(CaseHashSchema),
});
export type CaseStatusResponse = z.infer<typeof CaseStatusResponseSchema>;

/**
 * 200 answer of `DELETE /v1/cases/{caseId}` and
 * `DELETE /v1/cases/{caseId}/hashes/{hashId}`: the case's status after the
 * withdrawal (the same shape as `GET /v1/cases/{caseId}`). Withdrawing what is
 * already withdrawn is not an error.
 */
export const WithdrawResponseSchema = CaseStatusResponseSchema;
export type WithdrawResponse = CaseStatusResponse;
