/**
 * A StopNCII-compatible fetch endpoint, so that Hasher-Matcher-Actioner and
 * python-threatexchange (whose StopNCII exchange takes a base URL) can pull
 * hashsafe's feed without a client of their own:
 *
 *   GET /compat/stopncii/v1/FetchHashes?startTimestamp=&pageSize=&nextPageToken=
 *
 * It is a view of the same published feed as `GET /v1/feed` (`Store.readFeed`),
 * so it shows exactly what that route shows and nothing more: full snapshots
 * in feed order, withdrawals as `Withdrawn` records, the feed's (coarse) batch
 * times, never a case id (`caseNumbers` is always `{}`) and no feedback.
 *
 * Paging. `startTimestamp` (Unix seconds) is inclusive: a fetch starts at the
 * first feed record whose time is at or after it. `nextPageToken` holds the
 * exact feed position reached (not a time), sealed with AES-256-GCM, so ties
 * (a whole batch shares one time) never lose or repeat a record across pages,
 * and the position cannot be read from the token. `nextSetTimestamp` is the
 * time of the last record delivered (inclusive again): a client that restarts
 * from it gets that second's records a second time (snapshots: harmless) and
 * misses none. This relies on the store's rule that feed times never go down
 * along the feed order (one batch time per publication, batches in order).
 *
 * See docs/stopncii-compat.md for the operator's side.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { Context } from "hono";
import { type HashType, MAX_FEED_LIMIT, type ProblemCode, type ProblemError } from "../../protocol/index.ts";
import { hashApiKey } from "../secrets.ts";
import type { FeedRow, Store } from "../store.ts";
import { type Detail, detail, say } from "../middleware/lang.ts";

/** Base URL path to give a StopNCII client (`base_url_override`): it appends `/FetchHashes`. */
export const STOPNCII_PREFIX = "/compat/stopncii/v1";
/** The route of the fetch endpoint. */
export const STOPNCII_FETCH_ROUTE = `${STOPNCII_PREFIX}/FetchHashes`;
/** Page size when none is given (python-threatexchange asks for 800). */
export const STOPNCII_DEFAULT_PAGE_SIZE = 800;
/** A nextPageToken is refused this long after it was given out (StopNCII's tokens are short-lived too). */
export const STOPNCII_TOKEN_TTL_MS = 60 * 60 * 1000;
/** The headers a StopNCII client sends its keys in; either may carry the hashsafe platform key. */
export const STOPNCII_KEY_HEADERS = ["x-functions-key", "ocp-apim-subscription-key"] as const;

/** StopNCII's signal type names for ours. */
export const STOPNCII_SIGNAL_TYPES: Record<HashType, string> = { pdq: "ImagePDQ", md5: "VideoMD5" };

/** One record of a FetchHashes page. */
export interface StopNciiHashRecord {
  lastModtimestamp: number;
  signalType: string;
  hashValue: string;
  hashStatus: "Active" | "Withdrawn";
  caseNumbers: Record<string, never>;
  CSPFeedbacks: never[];
}

/** A FetchHashes page. */
export interface StopNciiPage {
  count: number;
  nextPageToken: string;
  nextSetTimestamp: number;
  hasMoreRecords: boolean;
  hashRecords: StopNciiHashRecord[];
}

/** What the endpoint needs from the server. */
export interface StopNciiDeps {
  store: Store;
  now(): number;
  /** 32 bytes that seal page tokens (a token outlives the server only if the key does) */
  tokenKey: Uint8Array;
  tokenTtlMs?: number;
  /** The server's shared first steps (route name for the log, readiness, per-address rate limit); throws to refuse. */
  begin(c: Context): void;
  /** Make the error the server answers as problem+json. */
  fail(code: ProblemCode, detail: Detail, errors?: ProblemError[], headers?: Record<string, string>): Error;
}

const TOKEN_MAGIC = "snc1";
const MAX_TIMESTAMP_S = 253402300799; // 9999-12-31T23:59:59Z
const INTEGER = /^(0|[1-9][0-9]{0,15})$/;

interface TokenState {
  /** the feed sequence number of the last record delivered (continue after it) */
  afterSeq: number;
  /** the startTimestamp the paging began with (a token is valid only with it) */
  start: number;
  /** the feed time (ms) of the last record delivered, for nextSetTimestamp on an empty page */
  lastMs: number;
  issuedAt: number;
}

function sealToken(key: Uint8Array, s: TokenState): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const plain = Buffer.from(`${TOKEN_MAGIC}:${s.afterSeq}:${s.start}:${s.lastMs}:${s.issuedAt}`, "latin1");
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
}

function openToken(key: Uint8Array, token: string): TokenState | null {
  if (token.length > 256 || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
  const raw = Buffer.from(token, "base64url");
  if (raw.length < 12 + 16 + 8) return null;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const plain = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString("latin1");
    const parts = plain.split(":");
    if (parts.length !== 5 || parts[0] !== TOKEN_MAGIC || !parts.slice(1).every((p) => INTEGER.test(p))) return null;
    const [afterSeq, start, lastMs, issuedAt] = parts.slice(1).map(Number);
    return { afterSeq, start, lastMs, issuedAt };
  } catch {
    return null; // wrong key or altered bytes
  }
}

/**
 * The feed position to start after for `startMs`: the sequence number of the
 * last record older than `startMs` (0 when there is none), found with
 * O(log n) one-row reads of the feed (its times never go down along it).
 */
async function positionAt(store: Store, startMs: number): Promise<number> {
  // true when every record after `seq` is at or after startMs
  const fromHere = async (seq: number) => {
    const [r] = await store.readFeed(seq, 1);
    return r === undefined || r.updatedAt >= startMs;
  };
  if (await fromHere(0)) return 0;
  let lo = 0; // fromHere(lo) is false
  let hi = 1;
  while (!(await fromHere(hi))) {
    lo = hi;
    hi *= 2;
    if (hi > Number.MAX_SAFE_INTEGER / 2) break;
  }
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (await fromHere(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

function record(r: FeedRow): StopNciiHashRecord {
  return {
    lastModtimestamp: Math.floor(r.updatedAt / 1000),
    signalType: STOPNCII_SIGNAL_TYPES[r.type],
    hashValue: r.value,
    hashStatus: r.active ? "Active" : "Withdrawn",
    caseNumbers: {},
    CSPFeedbacks: [],
  };
}

/** The handler of `GET /compat/stopncii/v1/FetchHashes`. */
export function stopNciiFetchHashes(deps: StopNciiDeps): (c: Context) => Promise<Response> {
  const { store, tokenKey } = deps;
  if (tokenKey.length !== 32) throw new Error("the StopNCII page token key must be 32 bytes");
  const ttl = deps.tokenTtlMs ?? STOPNCII_TOKEN_TTL_MS;
  // errors[].message stays English in every language (like the other routes' errors[]); the detail is said per request
  const badQuery = (d: Detail, code: string) => deps.fail("invalid_query", d, [{ code, message: say("en", d) }]);

  return async (c) => {
    deps.begin(c);

    // Authentication: a hashsafe platform key with feed:read in either header.
    const offered = [...new Set(STOPNCII_KEY_HEADERS.map((h) => c.req.header(h)?.trim() ?? "").filter((v) => v.length > 0))];
    let unscoped = false;
    let allowed = false;
    for (const token of offered) {
      const key = await store.findApiKey(hashApiKey(token));
      if (!key || key.revokedAt !== null) continue;
      if (key.scopes.includes("feed:read")) {
        allowed = true;
        break;
      }
      unscoped = true;
    }
    if (!allowed) {
      if (unscoped) throw deps.fail("forbidden", detail("server.stopncii.scope"));
      throw deps.fail(
        "unauthorized",
        detail(offered.length ? "server.stopncii.unknownKey" : "server.stopncii.keyNeeded"),
      );
    }

    // The query: startTimestamp, pageSize, nextPageToken; other parameters are ignored.
    const q: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.req.queries())) {
      if (k !== "startTimestamp" && k !== "pageSize" && k !== "nextPageToken") continue;
      if (v.length !== 1) throw badQuery(detail("server.query.repeated", { name: k, count: v.length }), "repeated_parameter");
      q[k] = v[0];
    }
    let start = 0;
    if (q.startTimestamp !== undefined && q.startTimestamp !== "") {
      if (!INTEGER.test(q.startTimestamp) || Number(q.startTimestamp) > MAX_TIMESTAMP_S) {
        throw badQuery(detail("server.stopncii.startTimestamp", { max: MAX_TIMESTAMP_S, value: JSON.stringify(q.startTimestamp.slice(0, 40)) }), "invalid_start_timestamp");
      }
      start = Number(q.startTimestamp);
    }
    let pageSize = STOPNCII_DEFAULT_PAGE_SIZE;
    if (q.pageSize !== undefined && q.pageSize !== "") {
      if (!INTEGER.test(q.pageSize) || Number(q.pageSize) < 1 || Number(q.pageSize) > MAX_FEED_LIMIT) {
        throw badQuery(detail("server.stopncii.pageSize", { max: MAX_FEED_LIMIT, value: JSON.stringify(q.pageSize.slice(0, 40)) }), "invalid_page_size");
      }
      pageSize = Number(q.pageSize);
    }

    const now = deps.now();
    let afterSeq: number;
    let lastMs: number;
    if (q.nextPageToken !== undefined && q.nextPageToken !== "") {
      const t = openToken(tokenKey, q.nextPageToken);
      if (t === null) {
        throw badQuery(detail("server.stopncii.badToken"), "invalid_token");
      }
      if (now - t.issuedAt > ttl) {
        throw badQuery(detail("server.stopncii.expiredToken", { minutes: Math.round(ttl / 60000) }), "expired_token");
      }
      if (t.start !== start) {
        throw badQuery(detail("server.stopncii.tokenMismatch", { tokenStart: t.start, start }), "token_mismatch");
      }
      afterSeq = t.afterSeq;
      lastMs = t.lastMs;
    } else {
      afterSeq = await positionAt(store, start * 1000);
      lastMs = start * 1000;
    }

    const rows = await store.readFeed(afterSeq, pageSize + 1);
    const page = rows.slice(0, pageSize);
    if (page.length) {
      afterSeq = page[page.length - 1].seq;
      lastMs = page[page.length - 1].updatedAt;
    }
    const body: StopNciiPage = {
      count: page.length,
      nextPageToken: sealToken(tokenKey, { afterSeq, start, lastMs, issuedAt: now }),
      nextSetTimestamp: Math.floor(lastMs / 1000),
      hasMoreRecords: rows.length > pageSize,
      hashRecords: page.map(record),
    };
    return new Response(JSON.stringify(body), {
      status: 200,
      headers: { "content-type": "application/json", "cache-control": "no-store" },
    });
  };
}
