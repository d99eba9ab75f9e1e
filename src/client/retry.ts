/**
 * Retry policy: which answers are worth another try, and how long to wait.
 */

export interface RetryPolicy {
  /** Attempts in all, the first included (default 4). */
  maxAttempts: number;
  /** Backoff before the first retry, in ms (default 500); doubles each time. */
  baseDelayMs: number;
  /** Longest backoff between two attempts, in ms (default 8000). */
  maxDelayMs: number;
  /**
   * Longest `Retry-After` the client waits for, in ms (default 60 s). A server
   * asking for a longer pause gets no retry: the error goes to the caller
   * (and a submission to the outbox).
   */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 8000,
  maxRetryAfterMs: 60_000,
};

/** HTTP statuses retried at once with the same request (and the same idempotency key). */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/**
 * HTTP statuses of a temporary failure: those retried at once, and those
 * worth trying again later with the same idempotency key (408 timeout, 409
 * the same key still in flight, 500). The one rule behind `isTransient`
 * (what an outbox keeps) and the CLI's "unreachable or busy" exit status.
 */
export const TEMPORARY_STATUSES: ReadonlySet<number> = new Set([...RETRY_STATUSES, 408, 409, 500]);

/**
 * `Retry-After` in milliseconds: delay-seconds or an HTTP date. Undefined
 * when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/**
 * The wait before retry number `retry` (1 for the first retry). Exponential
 * backoff with "equal jitter" (half fixed, half random), so that many clients
 * cut off together do not come back in step. A `Retry-After` from the server
 * is a floor: the wait is at least that long, plus up to 10 % jitter.
 */
export function retryDelay(policy: RetryPolicy, retry: number, retryAfterMs?: number, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined) {
    return Math.ceil(retryAfterMs + random() * Math.min(1000, retryAfterMs * 0.1));
  }
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.ceil(exp / 2 + random() * (exp / 2));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
