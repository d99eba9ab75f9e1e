/**
 * Idempotency-Key on every POST and DELETE: the header is required (400); a
 * request whose key is still running in this process is a 409; a live record
 * answers at once (replay, or 422 for another request under the same key).
 * Otherwise `idempotency` carries what the store writes with the answer. The
 * store checks for a record again inside the write's transaction (the
 * contract, rule 1), so the same key sent to two processes at once is one
 * write too; `answerOf` turns the store's `replayed` into the same answers.
 */
import type { MiddlewareHandler } from "hono";
import { IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_PATTERN, IDEMPOTENCY_TTL_MS } from "../../protocol/index.ts";
import { keyDigest, requestDigest, seal, unseal } from "../idempotency.ts";
import type { Committed, IdempotencyRecord, Store, WriteAnswer } from "../store.ts";
import { ApiError, type AppEnv, type Ctx, jsonResponse } from "./context.ts";
import { detail } from "./lang.ts";

/** Validate the header (400). Runs before the content type is checked. */
export const requireIdempotencyKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const key = c.req.header(IDEMPOTENCY_HEADER);
  if (!key || !IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new ApiError(
      "missing_idempotency_key",
      detail("server.idem.missing", { method: c.req.method, header: IDEMPOTENCY_HEADER }),
    );
  }
  await next();
};

function replay(c: Ctx, record: IdempotencyRecord, reqDigest: string): Response {
  if (record.requestDigest !== reqDigest) throw new ApiError("idempotency_key_reused", detail("server.idem.reused"));
  const key = c.req.header(IDEMPOTENCY_HEADER)!;
  return jsonResponse(record.status, unseal(c.get("principal"), key, record.sealed), { "idempotent-replayed": "true" });
}

/** Find or prepare the idempotency record of this request. */
export function idempotency(store: Store, now: () => number, inFlight: Set<string>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = c.req.header(IDEMPOTENCY_HEADER)!;
    const principal = c.get("principal");
    const digest = keyDigest(principal, key);
    if (inFlight.has(digest)) {
      throw new ApiError("idempotency_in_flight", detail("server.idem.inFlight"), undefined, {
        "retry-after": "1",
      });
    }
    inFlight.add(digest);
    try {
      const reqDigest = requestDigest(c.req.method, c.req.path, c.get("raw"));
      const t = now();
      const record = await store.getIdempotency(digest, t);
      if (record) {
        c.res = replay(c, record, reqDigest);
        return;
      }
      c.set("idempotency", {
        keyDigest: digest,
        requestDigest: reqDigest,
        expiresAt: t + IDEMPOTENCY_TTL_MS,
        now: t,
        seal: (body) => seal(principal, key, body),
      });
      await next();
    } finally {
      inFlight.delete(digest);
    }
  };
}

/** The answer of a write: the committed one, or the replay of the record the store found instead. */
export function answerOf<R>(c: Ctx, out: Committed<R>): { answer: WriteAnswer; result?: R } | { response: Response } {
  if (out.replayed) return { response: replay(c, out.replayed, c.get("idempotency")!.requestDigest) };
  return { answer: out.answer, result: out.result };
}
