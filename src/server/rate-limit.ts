/**
 * Token-bucket rate limits, kept in memory per key (a client address, a case).
 * A bucket holds up to `burst` tokens and gains `perSecond` tokens a second;
 * each request takes one. An empty bucket answers how long until the next token.
 */

/** Size and refill rate of one kind of bucket. */
export interface BucketLimit {
  burst: number;
  perSecond: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly limit: BucketLimit;
  private readonly now: () => number;

  constructor(limit: BucketLimit, now: () => number = Date.now) {
    if (!(limit.burst >= 1) || !(limit.perSecond > 0)) throw new RangeError("a rate limit needs burst >= 1 and perSecond > 0");
    this.limit = limit;
    this.now = now;
  }

  /** Take a token for `key`: 0 when allowed, else the seconds to wait (>= 1, whole). */
  take(key: string): number {
    const t = this.now();
    const { burst, perSecond } = this.limit;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= 100_000) this.sweep(t);
      b = { tokens: burst, at: t };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * perSecond);
      b.at = t;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / perSecond));
  }

  /** Forget buckets that have refilled (they hold nothing worth keeping). */
  sweep(t = this.now()): void {
    const { burst, perSecond } = this.limit;
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * perSecond >= burst) this.buckets.delete(k);
    }
  }
}
