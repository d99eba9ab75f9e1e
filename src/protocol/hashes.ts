/**
 * Hash values on the wire: which are valid, and their canonical form.
 *
 * Input is lower-cased before checking; answers always carry the canonical
 * (lower-case) value. A PDQ value is 64 hex digits, not all zero, with 16..240
 * bits set (PDQ hashes of flat or degenerate images fall outside that band and
 * would match far too much). An MD5 value is 32 hex digits.
 */
import { z } from "zod";
import { nibble, POP16 } from "../match/hash256.ts";
import { PDQ_MAX_BITS, PDQ_MIN_BITS } from "./limits.ts";

/** Hash types of API v1. */
export const HASH_TYPES = ["pdq", "md5"] as const;
export type HashType = (typeof HASH_TYPES)[number];

/** Hex digits of each hash type. */
export const HASH_HEX_LENGTH: Record<HashType, number> = { pdq: 64, md5: 32 };

/** Why a hash was rejected (the `reason` of a rejected item, the `code` of a problem's error). */
export const HASH_REJECT_REASONS = [
  "unsupported_type",
  "wrong_length",
  "not_hex",
  "all_zero",
  "too_few_bits",
  "too_many_bits",
] as const;
export type HashRejectReason = (typeof HASH_REJECT_REASONS)[number];

/** A canonical PDQ value: 64 lower-case hex digits. */
export const PdqValueSchema = z.string().regex(/^[0-9a-f]{64}$/, "64 lower-case hex digits");
/** A canonical MD5 value: 32 lower-case hex digits. */
export const Md5ValueSchema = z.string().regex(/^[0-9a-f]{32}$/, "32 lower-case hex digits");

/** A hash in canonical form, as the server answers it. */
export const CanonicalHashSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("pdq"), value: PdqValueSchema }),
  z.strictObject({ type: z.literal("md5"), value: Md5ValueSchema }),
]);
export type CanonicalHash = z.infer<typeof CanonicalHashSchema>;

/**
 * A hash as a request carries it: any `{type, value}` strings. Values are
 * checked one by one with {@link checkHash}, so that one bad item in a batch
 * is reported on its own instead of failing the whole request.
 */
export const HashInputSchema = z.strictObject({
  type: z.string(),
  value: z.string(),
});
export type HashInput = z.infer<typeof HashInputSchema>;

/** Outcome of {@link checkHash}. */
export type HashCheck =
  | { ok: true; hash: CanonicalHash }
  | { ok: false; reason: HashRejectReason; message: string };

const HEX = /^[0-9a-f]*$/;

/** Bits set in a hex string (its digits are checked before); the hex rule of src/match/hash256.ts. */
function bitsSet(hex: string): number {
  let n = 0;
  for (let i = 0; i < hex.length; i++) n += POP16[nibble(hex.charCodeAt(i))];
  return n;
}

/** Validate one hash and return its canonical form, or the reason it is rejected. */
export function checkHash(input: { type: string; value: string }): HashCheck {
  const type = input.type.toLowerCase();
  if (type !== "pdq" && type !== "md5") {
    return { ok: false, reason: "unsupported_type", message: `hash type must be "pdq" or "md5"` };
  }
  const value = input.value.toLowerCase();
  const len = HASH_HEX_LENGTH[type];
  if (value.length !== len) {
    return { ok: false, reason: "wrong_length", message: `a ${type} value has ${len} hex digits, not ${value.length}` };
  }
  if (!HEX.test(value)) return { ok: false, reason: "not_hex", message: `a ${type} value has only hex digits 0-9a-f` };
  if (type === "pdq") {
    const bits = bitsSet(value);
    if (bits === 0) return { ok: false, reason: "all_zero", message: "an all-zero PDQ value is not a hash" };
    if (bits < PDQ_MIN_BITS) {
      return { ok: false, reason: "too_few_bits", message: `${bits} bits set; a PDQ value needs at least ${PDQ_MIN_BITS}` };
    }
    if (bits > PDQ_MAX_BITS) {
      return { ok: false, reason: "too_many_bits", message: `${bits} bits set; a PDQ value has at most ${PDQ_MAX_BITS}` };
    }
  }
  return { ok: true, hash: { type, value } };
}

/**
 * A fully validated hash: accepts any case, answers the canonical form.
 * For clients that want to check a hash before sending it.
 */
export const ValidHashSchema = HashInputSchema.transform((h, ctx) => {
  const r = checkHash(h);
  if (!r.ok) {
    ctx.addIssue({ code: "custom", message: r.message, params: { reason: r.reason } });
    return z.NEVER;
  }
  return r.hash;
});
