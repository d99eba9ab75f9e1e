/**
 * Honest storage health. `StorageHealth` holds what is known about the
 * storage: a fault seen by any request (disk full, I/O error, corruption, a
 * read-only file: the store's StorageError) and whether free disk space is
 * below the watermark. While a fault lasts, writes answer 503 + Retry-After
 * at once, reads are still tried, /v1/health/ready answers 503, and a probe
 * (one tiny write) runs every few seconds; the first probe that succeeds ends
 * the fault. The watermark refuses only writes that add data (cases, hashes,
 * feedback), before the disk is full; withdrawals still go through.
 */
import { statfsSync } from "node:fs";
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../logger.ts";
import type { StorageError, Store } from "../store.ts";
import { ApiError, type AppEnv } from "./context.ts";
import { detail } from "./lang.ts";

export interface StorageOptions {
  /** folder whose file system holds the database (null: no disk check, e.g. :memory: or PostgreSQL) */
  dir: string | null;
  /** answer 503 to writes that add data when less than this many bytes are free */
  minFreeBytes: number;
  /** Retry-After of the 503s, in seconds */
  retryAfterSeconds: number;
  /** how often to probe a faulted store, in ms */
  probeEveryMs: number;
}

export const DEFAULT_STORAGE: Omit<StorageOptions, "dir"> = {
  minFreeBytes: 256 * 1024 * 1024,
  retryAfterSeconds: 30,
  probeEveryMs: 5_000,
};

export class StorageHealth {
  private fault: { kind: string; message: string; since: number } | null = null;
  private probing: ReturnType<typeof setInterval> | null = null;
  private freeCheckedAt = 0;
  private lowSpace = false;
  private freeBytes = Number.POSITIVE_INFINITY;

  constructor(
    private readonly store: Store,
    private readonly options: StorageOptions,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The fault now in force, or null. */
  current(): { kind: string; message: string; since: number } | null {
    return this.fault;
  }

  /** Record a fault (logged once when it starts) and start probing. */
  report(err: StorageError): void {
    if (!this.fault) {
      this.fault = { kind: err.kind, message: err.message, since: this.now() };
      this.logger.error("storage fault: writes answer 503 until it clears", { kind: err.kind, code: err.code, error: err.message });
    }
    if (!this.probing) {
      this.probing = setInterval(() => void this.probe(), this.options.probeEveryMs);
      this.probing.unref();
    }
  }

  /** Try one tiny write; clears the fault when it succeeds. */
  async probe(): Promise<boolean> {
    try {
      await this.store.probe(this.now());
    } catch (err) {
      if ((err as Error).name !== "StorageError") this.logger.error("storage probe failed", { error: String(err) });
      return false;
    }
    if (this.fault) this.logger.warn("storage fault cleared: writes accepted again", { kind: this.fault.kind, ms: this.now() - this.fault.since });
    this.fault = null;
    if (this.probing) clearInterval(this.probing);
    this.probing = null;
    return true;
  }

  /** True while free space is below the watermark (checked at most once a second). */
  belowWatermark(): boolean {
    if (this.options.dir === null) return false;
    const t = this.now();
    if (t - this.freeCheckedAt >= 1000 || t < this.freeCheckedAt) {
      this.freeCheckedAt = t;
      try {
        const s = statfsSync(this.options.dir);
        this.freeBytes = s.bavail * s.bsize;
      } catch {
        this.freeBytes = Number.POSITIVE_INFINITY;
      }
      const low = this.freeBytes < this.options.minFreeBytes;
      if (low && !this.lowSpace) {
        this.logger.error("disk space below the watermark: new cases, hashes and feedback answer 503", {
          freeBytes: this.freeBytes,
          minFreeBytes: this.options.minFreeBytes,
        });
      } else if (!low && this.lowSpace) this.logger.warn("disk space above the watermark again", { freeBytes: this.freeBytes });
      this.lowSpace = low;
    }
    return this.lowSpace;
  }

  retryHeaders(): Record<string, string> {
    return { "retry-after": String(this.options.retryAfterSeconds) };
  }

  close(): void {
    if (this.probing) clearInterval(this.probing);
    this.probing = null;
  }
}

/** Before a write: 503 while a storage fault lasts; for writes that add data, also below the disk watermark. */
export function storageGuard(health: StorageHealth, adds: boolean): MiddlewareHandler<AppEnv> {
  return async (_c, next) => {
    const f = health.current();
    if (f) {
      throw new ApiError("storage_unavailable", detail("server.storage.failing", { kind: f.kind }), undefined, health.retryHeaders());
    }
    if (adds && health.belowWatermark()) {
      throw new ApiError("storage_full", detail("server.storage.full"), undefined, health.retryHeaders());
    }
    await next();
  };
}
