/**
 * The hash-sharing client: API v1 calls, submissions, the outbox and receipts.
 */
export {
  type CallOptions,
  HashShareClient,
  type HashShareClientOptions,
  isLoopbackHost,
  parseServerUrl,
  type RetryEvent,
} from "./client.ts";
export {
  ApiError,
  ClientError,
  InsecureServerError,
  isTransient,
  NetworkError,
  type ProblemItem,
  ProtocolError,
} from "./errors.ts";
export { DEFAULT_RETRY, parseRetryAfter, type RetryPolicy, retryDelay } from "./retry.ts";
export { Outbox, type OutboxProblem, OutboxSaved, OutboxUnavailable } from "./outbox.ts";
export { listReceipts, readReceipt, type Receipt, type ReceiptHash, receiptPath, saveReceipt } from "./receipts.ts";
export {
  deliverSubmission,
  isDelivered,
  newSubmission,
  receiptOf,
  type Submission,
  type SubmissionRequest,
  submissionHashes,
} from "./submission.ts";
export { dataDir, outboxDir, receiptsDir } from "./paths.ts";
