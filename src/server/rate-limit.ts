/**
 * Token-bucket rate limits per key (a client address, a case). A bucket holds
 * up to `burst` tokens and gains `perSecond` tokens a second; each request
 * takes one. An empty bucket answers how long until the next token.
 *
 * With one process (SQLite) the buckets, and the failed-secret counts, are
 * kept in memory (`RateLimiter`, auth.ts `FailureCounter`). With a store that
 * several processes share (PostgreSQL: `store.limits`, store rule 7) they are
 * kept in the database (`SharedRateLimiter`, `SharedFailureCounter`), so N
 * processes behind one load balancer enforce one limit, not N.
 */
import type { SharedLimits, Store } from "./store.ts";
import type { FailurePolicy } from "./middleware/auth.ts";

/** Size and refill rate of one kind of bucket. */
export interface BucketLimit {
  burst: number;
  perSecond: number;
}

/** What the middlewares take tokens from: 0 when allowed, else the whole seconds to wait (>= 1). */
export interface TokenBuckets {
  take(key: string): number | Promise<number>;
}

/** Failed case-secret attempts per case id (auth.ts). */
export interface FailureTracker {
  /** Seconds to wait before the next attempt on `id` (0: go ahead). */
  wait(id: string): number | Promise<number>;
  fail(id: string): void | Promise<void>;
  succeed(id: string): void | Promise<void>;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter implements TokenBuckets {
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

/**
 * Token buckets kept in the database (`store.limits`), shared by every
 * process on it: one atomic statement per take, so the processes together
 * never let more through than the bucket gives. Two things keep the cost
 * down: a refusal is remembered in this process until the moment a token is
 * due (no other process can make it come sooner), so a client that keeps
 * knocking while limited costs no database round trip; and a take asks for a
 * small lease, up to a tenth of a second of refill (at most a quarter of the
 * burst), whose rest this process spends within a second, so a busy key
 * costs one round trip per lease, not per request (with the default 20/s,
 * one per 2 requests; with 5000/s, one per 500). Tokens leased and not spent
 * are lost, which makes the limit only stricter.
 */
export class SharedRateLimiter implements TokenBuckets {
  private readonly refused = new Map<string, number>();
  private readonly stock = new Map<string, { n: number; until: number }>();
  private readonly pending = new Map<string, Promise<void>>();
  private readonly lease: number;

  constructor(
    private readonly shared: SharedLimits,
    private readonly name: string,
    private readonly limit: BucketLimit,
    private readonly now: () => number = Date.now,
  ) {
    if (!(limit.burst >= 1) || !(limit.perSecond > 0)) throw new RangeError("a rate limit needs burst >= 1 and perSecond > 0");
    this.lease = Math.max(1, Math.min(Math.floor(limit.burst / 4), Math.floor(limit.perSecond / 10)));
  }

  async take(key: string): Promise<number> {
    for (let round = 0; ; round++) {
      const t = this.now();
      const s = this.stock.get(key);
      if (s) {
        if (s.until > t && s.n > 0) {
          if (--s.n === 0) this.stock.delete(key);
          return 0;
        }
        this.stock.delete(key);
      }
      const until = this.refused.get(key);
      if (until !== undefined) {
        if (t < until) return Math.max(1, Math.ceil((until - t) / 1000));
        this.refused.delete(key);
      }
      // one take per key in flight in this process: the others wait for its lease, then look again
      const pending = this.pending.get(key);
      if (pending && round < 100) {
        await pending;
        continue;
      }
      const run = this.shared.takeTokens(this.name, key, this.limit, t, this.lease).then((r) => {
        if (r.taken > 1) {
          if (this.stock.size >= 100_000) this.stock.clear();
          const left = this.stock.get(key);
          this.stock.set(key, { n: (left && left.until > t ? left.n : 0) + r.taken - 1, until: t + 1000 });
        } else if (r.taken === 0) {
          if (this.refused.size >= 100_000) {
            for (const [k, u] of this.refused) if (u <= t) this.refused.delete(k);
            if (this.refused.size >= 100_000) this.refused.clear();
          }
          this.refused.set(key, t + r.waitMs);
        }
        return r;
      });
      const settled = run.then(
        () => undefined,
        () => undefined,
      );
      this.pending.set(key, settled);
      void settled.then(() => {
        if (this.pending.get(key) === settled) this.pending.delete(key);
      });
      const r = await run;
      return r.taken > 0 ? 0 : Math.max(1, Math.ceil(r.waitMs / 1000));
    }
  }
}

/** Token buckets for `limit`: in the database when the store shares them across processes, else in memory. */
export function bucketsFor(store: Store, name: string, limit: BucketLimit, now: () => number = Date.now): TokenBuckets {
  return store.limits ? new SharedRateLimiter(store.limits, name, limit, now) : new RateLimiter(limit, now);
}

/**
 * Failed case-secret attempts counted in the database (`store.limits`), the
 * same policy as auth.ts `FailureCounter`: after `free` failures each further
 * attempt on a case id must wait, twice as long each time, up to
 * `maxWaitSeconds`. A case call costs one indexed read; a failure one upsert.
 * Once a case id is throttled, the one attempt each wait allows is claimed
 * with one atomic update (counted as a failure at once), so several processes
 * together let through one attempt per wait, not one each.
 */
export class SharedFailureCounter implements FailureTracker {
  /** attempts of this process that claimed a throttled slot (already counted), and those that saw a count, per id */
  private readonly claimed = new Map<string, number>();
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly shared: SharedLimits,
    private readonly policy: FailurePolicy,
    private readonly now: () => number = Date.now,
  ) {}

  private waitOf(e: { n: number; last: number } | null, t: number): number {
    if (!e || t - e.last > this.policy.forgetAfterMs || e.n < this.policy.free) return 0;
    const wait = Math.min(this.policy.maxWaitSeconds, 2 ** Math.min(e.n - this.policy.free, 40));
    const left = Math.ceil((e.last + wait * 1000 - t) / 1000);
    return left > 0 ? left : 0;
  }

  async wait(id: string): Promise<number> {
    const t = this.now();
    const e = await this.shared.secretFailures(id);
    const active = e !== null && t - e.last <= this.policy.forgetAfterMs;
    if (!active || e.n < this.policy.free) {
      if (active) bump(this.seen, id, 1);
      return 0;
    }
    const w = this.waitOf(e, t);
    if (w) return w;
    if (await this.shared.claimSecretAttempt(id, t, this.policy)) {
      bump(this.claimed, id, 1);
      bump(this.seen, id, 1);
      return 0;
    }
    // another process took this slot: its claim set the next wait
    return Math.max(1, this.waitOf(await this.shared.secretFailures(id), t));
  }

  async fail(id: string): Promise<void> {
    bump(this.seen, id, -1);
    if (bump(this.claimed, id, -1)) return; // counted when claimed
    await this.shared.addSecretFailure(id, this.now(), this.policy.forgetAfterMs);
  }

  async succeed(id: string): Promise<void> {
    bump(this.claimed, id, -1);
    if (bump(this.seen, id, -1)) await this.shared.clearSecretFailures(id);
  }
}

/** Add `d` to the count of `id` (entries at 0 are dropped); answers whether the count was above 0 before a decrement. */
function bump(m: Map<string, number>, id: string, d: number): boolean {
  const v = m.get(id) ?? 0;
  if (d < 0 && v === 0) return false;
  const n = v + d;
  if (m.size >= 100_000 && d > 0) m.clear(); // attempts that never finished (the store failed): forget, do not grow
  if (n <= 0) m.delete(id);
  else m.set(id, n);
  return true;
}
