/**
 * Health endpoints, for load balancers and orchestrators. No authentication.
 */
import { z } from "zod";

/** 200 answer of `GET /v1/health/live`: the process is up. */
export const LiveResponseSchema = z.strictObject({ status: z.literal("live") });
export type LiveResponse = z.infer<typeof LiveResponseSchema>;

/**
 * 200 answer of `GET /v1/health/ready`: the store is open and the match index
 * is loaded. Until then the answer is a 503 problem (`not_ready`).
 */
export const ReadyResponseSchema = z.strictObject({ status: z.literal("ready") });
export type ReadyResponse = z.infer<typeof ReadyResponseSchema>;
