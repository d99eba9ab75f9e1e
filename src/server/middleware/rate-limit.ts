/** Token-bucket rate limits (429 + Retry-After): per client address before anything else, per case after authentication. */
import type { MiddlewareHandler } from "hono";
import type { TokenBuckets } from "../rate-limit.ts";
import { ApiError, type AppEnv, type Ctx } from "./context.ts";

export function rateLimited(seconds: number, what: string): ApiError {
  return new ApiError("rate_limited", `too many requests ${what}; retry after ${seconds} s`, undefined, { "retry-after": String(seconds) });
}

/**
 * Take a token from `limiter` for the key `keyOf(c)`; `what` says whose limit
 * it is in the answer. With `limiter` null (limits off) nothing is counted and
 * nothing touches the store.
 */
export function rateLimit(limiter: TokenBuckets | null, keyOf: (c: Ctx) => string, what: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (limiter) {
      const wait = await limiter.take(keyOf(c));
      if (wait) throw rateLimited(wait, what);
    }
    await next();
  };
}
