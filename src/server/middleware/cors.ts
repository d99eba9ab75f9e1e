/**
 * CORS for API v1: an allow-list of origins (`hashsafe serve --cors-origin`),
 * off by default. An intake page hosted elsewhere (an NGO's own site) can
 * call the API only from an origin on the list; the page served by
 * `hashsafe serve` itself is same-origin and needs none.
 *
 * - Only exact origins (`https://intake.example.org`), never a wildcard, and
 *   never credentials (the API uses no cookies: `Authorization` headers only).
 * - A preflight (`OPTIONS` with `Access-Control-Request-Method`) from an
 *   allowed origin answers 204 with the methods and headers the API uses;
 *   from any other origin it gets no CORS headers, so the browser refuses.
 * - Answers to allowed origins expose `Retry-After` (the client's backoff).
 */
import type { MiddlewareHandler } from "hono";

export const CORS_METHODS = "GET, POST, DELETE";
export const CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key, Accept";
export const CORS_EXPOSE = "Retry-After";
export const CORS_MAX_AGE = 600;

/**
 * Check and normalise `--cors-origin` values: each a scheme, host and
 * optional port, nothing else. Throws an Error naming the bad one.
 */
export function parseCorsOrigins(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Error(`--cors-origin "${raw}" is not an origin: give it as https://host[:port]`);
    }
    if ((url.protocol !== "https:" && url.protocol !== "http:") || url.origin === "null") {
      throw new Error(`--cors-origin "${raw}" must start with https:// (or http:// for a page on this machine)`);
    }
    if (url.pathname !== "/" || url.search || url.hash || url.username || url.password || /\/./.test(raw.replace(/^https?:\/\//, ""))) {
      throw new Error(`--cors-origin "${raw}" must be only scheme, host and port (no path), e.g. ${url.origin}`);
    }
    if (!out.includes(url.origin)) out.push(url.origin);
  }
  return out;
}

/** The middleware; with an empty list it does nothing at all. */
export function cors(origins: readonly string[]): MiddlewareHandler {
  const allowed = new Set(origins);
  return async (c, next) => {
    if (allowed.size === 0) return next();
    const origin = c.req.header("origin");
    const ok = origin !== undefined && allowed.has(origin);
    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined) {
      if (!ok) {
        return new Response(null, { status: 204, headers: { vary: "Origin" } });
      }
      return new Response(null, {
        status: 204,
        headers: {
          "access-control-allow-origin": origin,
          "access-control-allow-methods": CORS_METHODS,
          "access-control-allow-headers": CORS_HEADERS,
          "access-control-max-age": String(CORS_MAX_AGE),
          vary: "Origin",
        },
      });
    }
    await next();
    c.res.headers.append("vary", "Origin");
    if (ok) {
      c.res.headers.set("access-control-allow-origin", origin);
      c.res.headers.set("access-control-expose-headers", CORS_EXPOSE);
    }
  };
}
