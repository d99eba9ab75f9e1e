/**
 * A submission: the hashes of one case, cut into requests of at most 500
 * (a create, then adds), each with its own idempotency key fixed once, so
 * that delivering it again (a retry, the outbox, another run) can never
 * create a second case or add twice.
 */
import { randomUUID } from "node:crypto";
import {
  type AddHashesRequest,
  type ClientInfo,
  type CreateCaseRequest,
  type HashInput,
  HASH_REJECT_REASONS,
  type HashItemResult,
  type HashRejectReason,
  MAX_HASHES_PER_REQUEST,
} from "../protocol/index.ts";
import type { HashShareClient } from "./client.ts";
import { ApiError } from "./errors.ts";
import type { Receipt } from "./receipts.ts";

export type SubmissionRequest =
  | { kind: "create"; idempotencyKey: string; body: CreateCaseRequest }
  | { kind: "add"; idempotencyKey: string; body: AddHashesRequest };

export interface Submission {
  version: 1;
  /** Local id (the outbox file name). */
  id: string;
  /** Server address, normalised. */
  server: string;
  /** When the person asked for it, ISO 8601. */
  createdAt: string;
  /** The requests, exactly as they are sent: the create first. */
  requests: SubmissionRequest[];
  /** How many requests the server has confirmed. */
  delivered: number;
  /** Whether to save a receipt once the case exists. */
  receipt: boolean;
  /** Known once the create was answered. */
  caseId?: string;
  caseSecret?: string;
  /** The server's answer for each hash, in the order sent (indexes count across requests). */
  results: HashItemResult[];
  /** Delivery attempts so far, the last time, and why it failed. */
  attempts: number;
  lastAttemptAt?: string;
  lastError?: string;
  /** Where the receipt was saved, or why it could not be (set by the outbox's delivery). */
  receiptFile?: string;
  receiptError?: string;
  /**
   * On this device only, never sent: for "type:value", the picture's file
   * name and a blurhash, copied into the receipt so `status` can name it.
   */
  local?: Record<string, { file?: string; blurhash?: string }>;
}

/** A new submission of `hashes` (already deduplicated and checked) for `server`. */
export function newSubmission(server: string, hashes: HashInput[], client: ClientInfo, options: { receipt?: boolean } = {}): Submission {
  if (hashes.length === 0) throw new Error("a submission needs at least one hash");
  const requests: SubmissionRequest[] = [];
  for (let i = 0; i < hashes.length; i += MAX_HASHES_PER_REQUEST) {
    const chunk = hashes.slice(i, i + MAX_HASHES_PER_REQUEST);
    requests.push(
      i === 0
        ? { kind: "create", idempotencyKey: randomUUID(), body: { hashes: chunk, client } }
        : { kind: "add", idempotencyKey: randomUUID(), body: { hashes: chunk } },
    );
  }
  return {
    version: 1,
    id: requests[0].idempotencyKey,
    server,
    createdAt: new Date().toISOString(),
    requests,
    delivered: 0,
    receipt: options.receipt ?? true,
    results: [],
    attempts: 0,
  };
}

/** Every hash of the submission, in order. */
export function submissionHashes(sub: Submission): HashInput[] {
  return sub.requests.flatMap((r) => r.body.hashes);
}

/** True once the server has confirmed every request. */
export function isDelivered(sub: Submission): boolean {
  return sub.delivered >= sub.requests.length && sub.caseId !== undefined;
}

/** The receipt of a (partly) delivered submission. */
export function receiptOf(sub: Submission): Receipt {
  if (!sub.caseId || !sub.caseSecret) throw new Error("the case does not exist yet");
  return {
    version: 1,
    server: sub.server,
    caseId: sub.caseId,
    caseSecret: sub.caseSecret,
    createdAt: sub.createdAt,
    hashes: sub.results.flatMap((r) =>
      r.status === "accepted" ? [{ id: r.id, type: r.type, value: r.value, ...sub.local?.[`${r.type}:${r.value}`] }] : [],
    ),
    rejected: sub.results.flatMap((r) => (r.status === "rejected" ? [{ type: r.type, value: r.value, reason: r.reason }] : [])),
  };
}

export interface DeliverHooks {
  /** Called after each confirmed request (the submission has its new state): save progress here. */
  onProgress?: (sub: Submission) => Promise<void> | void;
}

/**
 * Send the requests not yet confirmed, in order, each with its own original
 * idempotency key. Updates `sub` as it goes; throws the first error that the
 * client's own retries could not get past (the caller keeps `sub`, e.g. in
 * the outbox). A batch in which the server found no valid hash (422) is
 * recorded as rejected and the rest goes on.
 */
export async function deliverSubmission(client: HashShareClient, sub: Submission, hooks: DeliverHooks = {}): Promise<void> {
  sub.attempts++;
  sub.lastAttemptAt = new Date().toISOString();
  let offset = sub.requests.slice(0, sub.delivered).reduce((n, r) => n + r.body.hashes.length, 0);
  while (sub.delivered < sub.requests.length) {
    const req = sub.requests[sub.delivered];
    let results: HashItemResult[];
    if (req.kind === "create") {
      const res = await client.createCase(req.body, { idempotencyKey: req.idempotencyKey });
      sub.caseId = res.caseId;
      sub.caseSecret = res.caseSecret;
      results = res.hashes;
    } else {
      if (!sub.caseId || !sub.caseSecret) throw new Error("internal: adding hashes before the case exists");
      try {
        results = (await client.addHashes(sub.caseId, sub.caseSecret, req.body.hashes, { idempotencyKey: req.idempotencyKey })).hashes;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 422 && err.type === "urn:hashsafe:problem:no-valid-hashes")) throw err;
        results = req.body.hashes.map((h, index) => {
          const e = err.errors.find((x) => x.index === index);
          return { index, type: h.type, value: h.value, status: "rejected" as const, reason: asReason(e?.code) };
        });
      }
    }
    sub.results.push(...results.map((r) => ({ ...r, index: r.index + offset })));
    offset += req.body.hashes.length;
    sub.delivered++;
    sub.lastError = undefined;
    await hooks.onProgress?.(sub);
  }
}

function asReason(code: string | undefined): HashRejectReason {
  return (HASH_REJECT_REASONS as readonly string[]).includes(code ?? "") ? (code as HashRejectReason) : "not_hex";
}
