/**
 * The request body: read raw, at most MAX_BODY_BYTES (413 before a larger one
 * is read in full); then the content type (415) or, for calls without a body,
 * that there is none (400); then JSON, the batch size (413) and the schema
 * (400). Each is its own middleware.
 */
import type { MiddlewareHandler } from "hono";
import type { z } from "zod";
import { MAX_BODY_BYTES, type ProblemError } from "../../protocol/index.ts";
import { ApiError, type AppEnv, type Ctx } from "./context.ts";
import { detail } from "./lang.ts";

function tooLarge(): ApiError {
  return new ApiError("body_too_large", detail("server.body.tooLarge", { max: MAX_BODY_BYTES }), undefined, { connection: "close" });
}

async function read(c: Ctx): Promise<Buffer> {
  const declared = c.req.header("content-length");
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) throw tooLarge();
  const incoming = c.env?.incoming;
  if (incoming && "on" in incoming && !incoming.readableEnded) {
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        incoming.off("data", onData);
        incoming.off("end", onEnd);
        incoming.off("error", onError);
        incoming.off("close", onClose);
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          done();
          incoming.pause();
          reject(tooLarge());
        } else chunks.push(chunk);
      };
      const onEnd = () => {
        done();
        resolve(Buffer.concat(chunks, size));
      };
      const onError = () => {
        done();
        reject(new ApiError("invalid_body", detail("server.body.ended")));
      };
      // the client went away before the body ended
      const onClose = () => onError();
      incoming.on("data", onData);
      incoming.on("end", onEnd);
      incoming.on("error", onError);
      incoming.on("close", onClose);
    });
  }
  // Not on Node's http server (e.g. app.request in a test): read the web stream.
  const stream = c.req.raw.body;
  if (!stream) return Buffer.alloc(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/** Read the raw body into `raw` (GET and HEAD: empty); `onBody` sees it before anything is parsed. */
export function readBody(onBody?: (c: Ctx, raw: Buffer) => void): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const m = c.req.method;
    const raw = m === "GET" || m === "HEAD" ? Buffer.alloc(0) : await read(c);
    c.set("raw", raw);
    onBody?.(c, raw);
    await next();
  };
}

/** The body must be application/json (415). */
export const requireJson: MiddlewareHandler<AppEnv> = async (c, next) => {
  const ct = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (ct !== "application/json") {
    throw new ApiError("unsupported_media_type", ct ? detail("server.body.mediaType", { type: JSON.stringify(ct) }) : detail("server.body.untyped"));
  }
  await next();
};

/** Calls that take no body refuse one (400). */
export const requireNoBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.get("raw").length > 0) throw new ApiError("invalid_body", detail("server.body.unexpected", { method: c.req.method, route: String(c.get("route")) }));
  await next();
};

/** zod issues as problem errors; `index` when an issue concerns one item of the batch `batchKey`. */
export function schemaErrors(error: z.ZodError, batchKey?: string): ProblemError[] {
  return error.issues.slice(0, 50).map((i) => {
    const where = i.path.length ? i.path.map(String).join(".") : "body";
    const e: ProblemError = { code: i.code, message: `${where}: ${i.message}` };
    if (batchKey && i.path[0] === batchKey && typeof i.path[1] === "number") e.index = i.path[1];
    return e;
  });
}

/** Parse the raw body as JSON (400), check the batch size (413) and the schema (400); the result goes to `body`. */
export function jsonBody<B>(schema: z.ZodType<B>, batch?: { key: string; max: number }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(c.get("raw").toString("utf8"));
    } catch (err) {
      throw new ApiError("invalid_body", detail("server.body.json", { reason: err instanceof Error ? err.message : String(err) }));
    }
    if (batch && parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
      const list = (parsed as Record<string, unknown>)[batch.key];
      if (Array.isArray(list) && list.length > batch.max) {
        throw new ApiError("batch_too_large", detail("server.body.batch", { count: list.length, key: batch.key, max: batch.max }));
      }
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      throw new ApiError("invalid_body", detail("server.body.schema"), schemaErrors(result.error, batch?.key));
    }
    c.set("body", result.data);
    await next();
  };
}
