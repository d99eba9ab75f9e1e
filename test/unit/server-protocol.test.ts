/**
 * The protocol module: hash validation at its boundaries, strict schemas, and
 * the route builders. (Shared by client and server; the server tests cover
 * the same rules over HTTP.)
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  checkHash,
  CreateCaseRequestSchema,
  FeedQuerySchema,
  FeedResponseSchema,
  LookupRequestSchema,
  paths,
  problem,
  problemOf,
  ProblemSchema,
  ValidHashSchema,
} from "../../src/protocol/index.ts";

/** A PDQ value with exactly `bits` bits set (the lowest ones). */
function withBits(bits: number): string {
  const b = Buffer.alloc(32);
  for (let i = 0; i < bits; i++) b[31 - (i >> 3)] |= 1 << (i & 7);
  return b.toString("hex");
}

describe("checkHash", () => {
  test("PDQ bit-count band is 16..240 inclusive", () => {
    expect(checkHash({ type: "pdq", value: withBits(15) })).toMatchObject({ ok: false, reason: "too_few_bits" });
    expect(checkHash({ type: "pdq", value: withBits(16) }).ok).toBe(true);
    expect(checkHash({ type: "pdq", value: withBits(240) }).ok).toBe(true);
    expect(checkHash({ type: "pdq", value: withBits(241) })).toMatchObject({ ok: false, reason: "too_many_bits" });
    expect(checkHash({ type: "pdq", value: withBits(0) })).toMatchObject({ ok: false, reason: "all_zero" });
  });

  test("input is lower-cased; the answer is canonical", () => {
    const v = withBits(100);
    expect(checkHash({ type: "PDQ", value: v.toUpperCase() })).toEqual({ ok: true, hash: { type: "pdq", value: v } });
    expect(checkHash({ type: "md5", value: "D41D8CD98F00B204E9800998ECF8427E" })).toEqual({
      ok: true,
      hash: { type: "md5", value: "d41d8cd98f00b204e9800998ecf8427e" },
    });
  });

  test("lengths, hex and types", () => {
    expect(checkHash({ type: "pdq", value: withBits(100).slice(1) })).toMatchObject({ ok: false, reason: "wrong_length" });
    expect(checkHash({ type: "md5", value: "x".repeat(32) })).toMatchObject({ ok: false, reason: "not_hex" });
    expect(checkHash({ type: "md5", value: `${"a".repeat(31)} ` })).toMatchObject({ ok: false, reason: "not_hex" });
    expect(checkHash({ type: "sha256", value: "a".repeat(64) })).toMatchObject({ ok: false, reason: "unsupported_type" });
  });

  test("any string either validates to a canonical value or is rejected with a reason (never throws)", () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ maxLength: 80 }), (type, value) => {
        const r = checkHash({ type, value });
        if (r.ok) expect(r.hash.value).toMatch(/^[0-9a-f]{32}([0-9a-f]{32})?$/);
        else expect(r.reason).toMatch(/^[a-z_]+$/);
      }),
    );
  });

  test("ValidHashSchema checks and canonicalises", () => {
    expect(ValidHashSchema.parse({ type: "pdq", value: withBits(64).toUpperCase() })).toEqual({ type: "pdq", value: withBits(64) });
    expect(ValidHashSchema.safeParse({ type: "pdq", value: withBits(3) }).success).toBe(false);
  });
});

describe("schemas are strict", () => {
  const ok = { hashes: [{ type: "pdq", value: withBits(100) }], client: { name: "x", version: "1" } };
  test("a create request with only protocol fields parses; any other field is refused", () => {
    expect(CreateCaseRequestSchema.safeParse(ok).success).toBe(true);
    expect(CreateCaseRequestSchema.safeParse({ ...ok, path: "/home/me/a.jpg" }).success).toBe(false);
    expect(CreateCaseRequestSchema.safeParse({ ...ok, hashes: [{ ...ok.hashes[0], quality: 90 }] }).success).toBe(false);
    expect(CreateCaseRequestSchema.safeParse({ ...ok, client: { ...ok.client, os: "linux" } }).success).toBe(false);
    expect(CreateCaseRequestSchema.safeParse({ ...ok, hashes: Array(501).fill(ok.hashes[0]) }).success).toBe(false);
  });

  test("lookup maxDistance is 0..31 and queries 1..100", () => {
    const q = { type: "pdq", value: withBits(100) };
    expect(LookupRequestSchema.safeParse({ queries: [q], maxDistance: 31 }).success).toBe(true);
    expect(LookupRequestSchema.safeParse({ queries: [q], maxDistance: 32 }).success).toBe(false);
    expect(LookupRequestSchema.safeParse({ queries: [] }).success).toBe(false);
    expect(LookupRequestSchema.safeParse({ queries: Array(101).fill(q) }).success).toBe(false);
  });

  test("feed query: limit 1..1000, default 100; answers strict", () => {
    expect(FeedQuerySchema.parse({})).toEqual({ limit: 100 });
    expect(FeedQuerySchema.parse({ limit: "1000" }).limit).toBe(1000);
    expect(FeedQuerySchema.safeParse({ limit: "1001" }).success).toBe(false);
    expect(FeedQuerySchema.safeParse({ since: "x" }).success).toBe(false);
    expect(
      FeedResponseSchema.safeParse({ records: [], nextCursor: "x", hasMore: false, caseId: "c_x" }).success,
    ).toBe(false);
  });

  test("problems", () => {
    expect(ProblemSchema.parse(problem(404, "Not found", "no such case"))).toEqual({
      type: "about:blank",
      title: "Not found",
      status: 404,
      detail: "no such case",
    });
    expect(problemOf("batch_too_large", "x", [{ index: 3, code: "c", message: "m" }])).toMatchObject({
      type: "urn:hashsafe:problem:batch-too-large",
      status: 413,
      errors: [{ index: 3 }],
    });
  });
});

test("path builders encode their arguments", () => {
  expect(paths.caseHash("c_a/b", "h_?")).toBe("/v1/cases/c_a%2Fb/hashes/h_%3F");
  expect(paths.feed({ cursor: "a+b", limit: 5 })).toBe("/v1/feed?cursor=a%2Bb&limit=5");
  expect(paths.feed()).toBe("/v1/feed");
});
