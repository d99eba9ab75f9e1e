/**
 * Abuse limits of case writes: per-subject daily quotas of new cases and new
 * hashes, and a cap of hashes per case. The subject is the client address
 * (stored only as a keyed digest, truncated) or, for an NGO's intake tool,
 * its intake key, with quotas of their own. This middleware only says which
 * limits apply (`limits`); the store checks and counts them inside the
 * write's transaction and throws LimitError, which the app answers as 429
 * (daily quota, Retry-After until the next UTC day) or 422 (the case is full).
 */
import { createHmac } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { WriteLimits } from "../store.ts";
import { type AppEnv, type Ctx } from "./context.ts";

/** Daily quotas of one kind of subject. */
export interface DailyQuota {
  casesPerDay: number;
  hashesPerDay: number;
}

export interface QuotaOptions {
  /** per client address */
  address: DailyQuota | false;
  /** per intake key */
  intake: DailyQuota | false;
  /** most hashes one case may hold */
  hashesPerCase: number | false;
}

export const DEFAULT_QUOTAS: QuotaOptions = {
  address: { casesPerDay: 20, hashesPerDay: 2_000 },
  intake: { casesPerDay: 5_000, hashesPerDay: 200_000 },
  hashesPerCase: 5_000,
};

export const DAY_MS = 86_400_000;

/** Seconds until the next UTC day. */
export function secondsToNextDay(now: number): number {
  return Math.max(1, Math.ceil((DAY_MS - (now % DAY_MS)) / 1000));
}

/** Set `limits` for the write that follows. */
export function quota(o: {
  options: QuotaOptions | false;
  subjectKey: Buffer;
  address: (c: Ctx) => string;
  now: () => number;
}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (o.options === false) {
      c.set("limits", undefined);
      return next();
    }
    const keyId = c.get("keyId") ?? 0;
    const limits: WriteLimits = { day: Math.floor(o.now() / DAY_MS) };
    if (o.options.hashesPerCase !== false) limits.hashesPerCase = o.options.hashesPerCase;
    // A case call counts under the address it comes from; a create with an intake key under the key.
    const q = keyId && c.get("principal")?.startsWith("key:") ? o.options.intake : o.options.address;
    if (q) {
      limits.subject =
        keyId && q === o.options.intake
          ? `key:${keyId}`
          : `addr:${createHmac("sha256", o.subjectKey).update(o.address(c)).digest("base64url").slice(0, 22)}`;
      limits.casesPerDay = q.casesPerDay;
      limits.hashesPerDay = q.hashesPerDay;
    }
    c.set("limits", limits);
    await next();
  };
}
