/**
 * Publishes the feed in batches (the store's rule 4) and keeps the match
 * index in step with what is published: lookups see a hash exactly when the
 * feed does, so their timing tells no more than the feed.
 *
 * Every `intervalMs` it asks the store to publish what is pending; the store
 * publishes only when the pending changes come from `minCases` distinct cases
 * or the oldest has waited `maxDelayMs`. "immediate" publishes after every
 * write (tests, and single-user setups that do not need unlinkability).
 * Publication runs one at a time.
 */
import type { Logger } from "./logger.ts";
import type { MatchIndex } from "./match-index.ts";
import type { PublishResult, Store } from "./store.ts";

export interface BatchPolicy {
  /** how often to try publishing, in ms */
  intervalMs: number;
  /** fewest distinct cases a batch mixes (unless the oldest change waited maxDelayMs) */
  minCases: number;
  /** longest an addition waits for other cases' additions, in ms */
  maxDelayMs: number;
  /**
   * longest a withdrawal waits for other cases' withdrawals, in ms. Longer
   * than maxDelayMs: withdrawals are rarer, so one person's would otherwise
   * often go out alone (linkable); a hash keeps matching until then.
   */
  withdrawMaxDelayMs: number;
  /** `updatedAt` of feed records is the batch time rounded down to this, in ms */
  granularityMs: number;
}

export const DEFAULT_BATCH: BatchPolicy = {
  intervalMs: 60_000,
  minCases: 3,
  maxDelayMs: 15 * 60_000,
  withdrawMaxDelayMs: 60 * 60_000,
  granularityMs: 60_000,
};

export class FeedPublisher {
  private chain: Promise<unknown> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | null = null;
  readonly immediate: boolean;
  private readonly policy: BatchPolicy;

  constructor(
    private readonly store: Store,
    private readonly index: MatchIndex,
    policy: Partial<BatchPolicy> | "immediate",
    private readonly now: () => number,
    private readonly logger: Logger,
    private readonly onError: (err: unknown) => void,
  ) {
    this.immediate = policy === "immediate";
    this.policy = policy === "immediate" ? { ...DEFAULT_BATCH, minCases: 1, maxDelayMs: 0, withdrawMaxDelayMs: 0 } : { ...DEFAULT_BATCH, ...policy };
  }

  /** Start the timer (not in immediate mode). */
  start(): void {
    if (this.immediate || this.timer) return;
    this.timer = setInterval(() => void this.publish().catch(() => {}), this.policy.intervalMs);
    this.timer.unref();
  }

  /** After a committed write: publish now in immediate mode. */
  async afterWrite(): Promise<void> {
    if (this.immediate) await this.publish().catch(() => {});
  }

  /** Publish what the policy allows now; `force` ignores minCases and maxDelayMs (tests, shutdown). */
  publish(force = false): Promise<PublishResult> {
    const run = async (): Promise<PublishResult> => {
      try {
        const r = await this.store.publishFeed({
          now: this.now(),
          minCases: force ? 0 : this.policy.minCases,
          maxDelayMs: force ? 0 : this.policy.maxDelayMs,
          withdrawMaxDelayMs: force ? 0 : this.policy.withdrawMaxDelayMs,
          granularityMs: this.policy.granularityMs,
        });
        if (r.published) {
          this.index.apply(r.changes);
          this.logger.debug("feed batch published", { records: r.changes.length, cases: r.cases });
        }
        return r;
      } catch (err) {
        this.onError(err);
        throw err;
      }
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => {});
    return p;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
