/**
 * Authentication. Case calls: `Authorization: Case <secret>` checked by HMAC
 * in constant time (secrets.ts); an unknown case, a malformed id and a wrong
 * secret give the same 404 after the same work. Failed attempts are counted
 * per case id (known or not, so the counting itself says nothing about which
 * ids exist): after `free` failures each further attempt must wait, twice as
 * long each time up to `maxWaitSeconds` (429 + Retry-After), until an attempt
 * succeeds or the count is forgotten after a quiet `forgetAfterMs`.
 * Platform calls: `Authorization: Bearer <key>` with the route's scope.
 */
import type { MiddlewareHandler } from "hono";
import { CASE_AUTH_SCHEME, CaseIdSchema, PLATFORM_AUTH_SCHEME, type Scope } from "../../protocol/index.ts";
import type { FailureTracker, TokenBuckets } from "../rate-limit.ts";
import { checkSecret, hashApiKey } from "../secrets.ts";
import type { ApiKeyInfo, Store } from "../store.ts";
import { ApiError, type AppEnv, authToken } from "./context.ts";
import { detail } from "./lang.ts";

/** How failed case-secret attempts are slowed down. */
export interface FailurePolicy {
  /** failures allowed before any wait */
  free: number;
  /** longest wait between attempts, in seconds */
  maxWaitSeconds: number;
  /** a count is forgotten after this long without a failure */
  forgetAfterMs: number;
}

export const DEFAULT_FAILURE_POLICY: FailurePolicy = { free: 10, maxWaitSeconds: 900, forgetAfterMs: 24 * 3600_000 };

/** Failed attempts per case id, in memory (at most 100,000 ids; the oldest are forgotten first). */
export class FailureCounter implements FailureTracker {
  private readonly counts = new Map<string, { n: number; last: number }>();
  constructor(
    private readonly policy: FailurePolicy = DEFAULT_FAILURE_POLICY,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds to wait before the next attempt on `id` (0: go ahead). */
  wait(id: string): number {
    const e = this.counts.get(id);
    if (!e) return 0;
    const t = this.now();
    if (t - e.last > this.policy.forgetAfterMs) {
      this.counts.delete(id);
      return 0;
    }
    if (e.n < this.policy.free) return 0;
    const wait = Math.min(this.policy.maxWaitSeconds, 2 ** (e.n - this.policy.free));
    const left = Math.ceil((e.last + wait * 1000 - t) / 1000);
    return left > 0 ? left : 0;
  }

  fail(id: string): void {
    const e = this.counts.get(id);
    this.counts.delete(id);
    if (this.counts.size >= 100_000) this.counts.delete(this.counts.keys().next().value!);
    this.counts.set(id, { n: (e?.n ?? 0) + 1, last: this.now() });
  }

  succeed(id: string): void {
    this.counts.delete(id);
  }

  /** Failures counted for `id`. */
  failures(id: string): number {
    return this.counts.get(id)?.n ?? 0;
  }
}

/** A 429 of a case call (Retry-After: `seconds`). */
function tooMany(seconds: number, key: "server.rate.wrongSecret" | "server.rate.case"): ApiError {
  return new ApiError("rate_limited", detail(key, { seconds }), undefined, { "retry-after": String(seconds) });
}

/** Authenticate a case call; sets `caseRowId` and `principal`. */
export function caseAuth(o: {
  store: Store;
  secretKey: Buffer;
  /** FailureCounter (memory, one process) or rate-limit.ts SharedFailureCounter (the store's, several processes) */
  failures: FailureTracker;
  caseLimiter: TokenBuckets | null;
}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const secret = authToken(c, CASE_AUTH_SCHEME);
    if (secret === null) {
      throw new ApiError("unauthorized", detail("server.auth.caseNeeded"), undefined, {
        "www-authenticate": CASE_AUTH_SCHEME,
      });
    }
    const caseId = c.req.param("caseId") ?? "";
    const wait = await o.failures.wait(caseId);
    if (wait) throw tooMany(wait, "server.rate.wrongSecret");
    const found = CaseIdSchema.safeParse(caseId).success ? await o.store.getCaseAuth(caseId) : null;
    const check = await checkSecret(o.secretKey, caseId, secret, found?.secretHash ?? null);
    if (!check.ok || !found) {
      await o.failures.fail(caseId);
      throw new ApiError("not_found", detail("server.auth.caseNotFound"));
    }
    await o.failures.succeed(caseId);
    if (check.restore) await o.store.setCaseSecretHash(found.rowId, check.restore);
    c.set("caseRowId", found.rowId);
    c.set("principal", `case:${found.rowId}`);
    if (o.caseLimiter) {
      const w = await o.caseLimiter.take(`case:${found.rowId}`);
      if (w) throw tooMany(w, "server.rate.case");
    }
    await next();
  };
}

/**
 * SHA-256 of the API keys seen lately (those that named a key), so a
 * platform's every call does not hash its key again: a pure memo of
 * hashApiKey, at most 1,000 entries. Whether the key is still valid is asked
 * of the store each time (its cache follows revocations).
 */
const keyDigests = new Map<string, string>();

function keyDigestOf(token: string): string {
  const hit = keyDigests.get(token);
  if (hit !== undefined) return hit;
  return hashApiKey(token);
}

async function keyOf(store: Store, token: string | null): Promise<ApiKeyInfo> {
  const digest = token ? keyDigestOf(token) : null;
  const key = digest ? await store.findApiKey(digest) : null;
  if (key && token && !keyDigests.has(token)) {
    if (keyDigests.size >= 1000) keyDigests.clear();
    keyDigests.set(token, digest!);
  }
  if (!key || key.revokedAt !== null) {
    throw new ApiError("unauthorized", detail(token ? "server.auth.unknownKey" : "server.auth.keyNeeded"), undefined, {
      "www-authenticate": PLATFORM_AUTH_SCHEME,
    });
  }
  return key;
}

/** Authenticate a platform call with this scope; sets `keyId` and `principal`. */
export function platformAuth(store: Store, scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = await keyOf(store, authToken(c, PLATFORM_AUTH_SCHEME));
    if (!key.scopes.includes(scope)) throw new ApiError("forbidden", detail("server.auth.scope", { scope }));
    c.set("keyId", key.id);
    c.set("principal", `key:${key.id}`);
    await next();
  };
}

/**
 * Case creation: anyone may call; an NGO's intake tool may send its intake key
 * (`Authorization: Bearer <key>` with scope `intake`) to be counted under the
 * key's quotas instead of its address's. A key that is given must be valid.
 * Sets `keyId` (0 without a key) and `principal`.
 */
export function optionalIntakeKey(store: Store): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("keyId", 0);
    c.set("principal", "anonymous");
    if (c.req.header("authorization") !== undefined) {
      const key = await keyOf(store, authToken(c, PLATFORM_AUTH_SCHEME));
      if (!key.scopes.includes("intake")) throw new ApiError("forbidden", detail("server.auth.intakeOnly"));
      c.set("keyId", key.id);
      c.set("principal", `key:${key.id}`);
    }
    await next();
  };
}
