/** Every API route answers 503 + Retry-After until the match index is loaded. */
import type { MiddlewareHandler } from "hono";
import { ApiError, type AppEnv } from "./context.ts";
import { detail } from "./lang.ts";

export function requireReady(isReady: () => boolean): MiddlewareHandler<AppEnv> {
  return async (_c, next) => {
    if (!isReady()) throw new ApiError("not_ready", detail("server.ready.starting"), undefined, { "retry-after": "1" });
    await next();
  };
}
