/**
 * Case secrets: the new format (Crockford base32, 7 groups of 4, 140 bits),
 * lenient reading, HMAC storage checked in constant time, legacy secrets and
 * scrypt rows, and the per-case slow-down of wrong secrets.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, test } from "vitest";
import { CaseSecretSchema } from "../../src/protocol/index.ts";
import { FailureCounter } from "../../src/server/middleware/auth.ts";
import { canonicalSecret, checkSecret, CROCKFORD, hashSecret, macSecret, newCaseSecret } from "../../src/server/secrets.ts";

const key = randomBytes(32);
const caseId = "c_AAAAAAAAAAAAAAAAAAAAAA";

describe("new case secrets", () => {
  test("7 groups of 4 Crockford base32 characters, every character of the alphabet used, valid by the protocol", () => {
    const many = Array.from({ length: 2000 }, () => newCaseSecret());
    for (const s of many.slice(0, 50)) {
      expect(s).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){6}$/);
      expect(CaseSecretSchema.safeParse(s).success).toBe(true);
    }
    expect(new Set(many).size).toBe(many.length);
    // 28 characters of 5 bits: about uniform over the 32 symbols
    const counts = new Map<string, number>();
    for (const s of many) for (const ch of s.replaceAll("-", "")) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect([...counts.keys()].sort().join("")).toBe([...CROCKFORD].sort().join(""));
    const expected = (2000 * 28) / 32;
    for (const n of counts.values()) expect(Math.abs(n - expected)).toBeLessThan(expected * 0.15);
  });

  test("read leniently: spaces, dashes, letter case and the look-alikes I, L, O do not matter", () => {
    const s = newCaseSecret();
    const c = canonicalSecret(s)!;
    expect(c).toBe(s.replaceAll("-", ""));
    expect(canonicalSecret(s.toLowerCase())).toBe(c);
    expect(canonicalSecret(s.replaceAll("-", " "))).toBe(c);
    expect(canonicalSecret(` ${s.replaceAll("-", "")} `)).toBe(c);
    expect(canonicalSecret(c.replaceAll("1", "l").replaceAll("0", "O"))).toBe(c);
    expect(canonicalSecret(c.slice(1))).toBeNull();
    expect(canonicalSecret(`${c.slice(1)}U`)).toBeNull();
    // a legacy secret is taken exactly as given (base64url is case-sensitive)
    const legacy = randomBytes(32).toString("base64url");
    expect(canonicalSecret(legacy)).toBe(legacy);
  });
});

describe("checking", () => {
  test("HMAC form: right secret yes (any spelling), wrong secret or another case no, unknown case no", async () => {
    const s = newCaseSecret();
    const stored = macSecret(key, caseId, canonicalSecret(s)!);
    expect(stored).toMatch(/^hmac1\$[A-Za-z0-9_-]{43}$/);
    expect((await checkSecret(key, caseId, s, stored)).ok).toBe(true);
    expect((await checkSecret(key, caseId, s.toLowerCase().replaceAll("-", " "), stored)).ok).toBe(true);
    expect((await checkSecret(key, caseId, newCaseSecret(), stored)).ok).toBe(false);
    expect((await checkSecret(key, "c_BBBBBBBBBBBBBBBBBBBBBB", s, stored)).ok).toBe(false);
    expect((await checkSecret(randomBytes(32), caseId, s, stored)).ok).toBe(false);
    expect((await checkSecret(key, caseId, s, null)).ok).toBe(false);
    expect((await checkSecret(key, caseId, "", stored)).ok).toBe(false);
  });

  test("a legacy scrypt row: checked with scrypt, and the right secret gets its HMAC form to re-store", async () => {
    const legacy = randomBytes(32).toString("base64url");
    const row = await hashSecret(legacy, { N: 1024, r: 8, p: 1 });
    const good = await checkSecret(key, caseId, legacy, row);
    expect(good.ok).toBe(true);
    expect(good.restore).toBe(macSecret(key, caseId, legacy));
    expect((await checkSecret(key, caseId, legacy, good.restore!)).ok).toBe(true);
    const bad = await checkSecret(key, caseId, randomBytes(32).toString("base64url"), row);
    expect(bad).toEqual({ ok: false });
  });
});

describe("slowing down wrong secrets", () => {
  test("after `free` failures each attempt waits twice as long, up to the cap; a success or a quiet day forgets", () => {
    let now = 1_000_000;
    const f = new FailureCounter({ free: 3, maxWaitSeconds: 60, forgetAfterMs: 3_600_000 }, () => now);
    for (let i = 0; i < 3; i++) {
      expect(f.wait("c_x")).toBe(0);
      f.fail("c_x");
    }
    expect(f.wait("c_x")).toBe(1);
    now += 1000;
    expect(f.wait("c_x")).toBe(0);
    f.fail("c_x");
    expect(f.wait("c_x")).toBe(2);
    for (let i = 0; i < 10; i++) {
      now += 120_000;
      f.fail("c_x");
    }
    expect(f.wait("c_x")).toBe(60);
    expect(f.wait("c_other")).toBe(0);
    f.succeed("c_x");
    expect(f.wait("c_x")).toBe(0);
    f.fail("c_y");
    f.fail("c_y");
    f.fail("c_y");
    f.fail("c_y");
    expect(f.wait("c_y")).toBeGreaterThan(0);
    now += 3_600_001;
    expect(f.wait("c_y")).toBe(0);
  });
});

describe("sealed idempotency answers", () => {
  test("the seal key is RFC 5869 HKDF-SHA-256 computed with two HMACs (the bytes hkdfSync gives, so records sealed before still open)", async () => {
    const { hkdfSync } = await import("node:crypto");
    const { cipherKey, seal, unseal } = await import("../../src/server/idempotency.ts");
    for (const [principal, key] of [["ip:203.0.113.7", "9f1c2b3a-aaaa-bbbb-cccc-1234567890ab"], ["", "k"], ["intake:ngo-1", "ñ-ключ-🔑".repeat(40)]]) {
      expect(cipherKey(principal, key).equals(Buffer.from(hkdfSync("sha256", key, principal, "hashsafe/idempotency-seal/v1", 32)))).toBe(true);
      const sealed = seal(principal, key, '{"caseId":"c_x"}');
      expect(unseal(principal, key, sealed)).toBe('{"caseId":"c_x"}');
      expect(() => unseal(principal, `${key}x`, sealed)).toThrow();
    }
  });
});
