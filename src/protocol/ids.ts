/**
 * Identifiers and secrets of API v1. All are random (never sequential) and
 * base64url-encoded: a case id carries 128 bits, a hash id 96 bits, a case
 * secret 256 bits. Ids are opaque to clients; the patterns exist so that a
 * malformed id can be refused before any lookup.
 */
import { z } from "zod";

/** `c_` + 22 base64url characters (128 random bits). */
export const CaseIdSchema = z.string().regex(/^c_[A-Za-z0-9_-]{22}$/, "a case id");
export type CaseId = z.infer<typeof CaseIdSchema>;

/**
 * `h_` + 16 base64url characters (96 random bits). A hash id names one hash
 * value on the server: the same id in a case's status, in the feed, in lookup
 * matches and in feedback. Random, so ids reveal neither order nor grouping.
 */
export const HashIdSchema = z.string().regex(/^h_[A-Za-z0-9_-]{16}$/, "a hash id");
export type HashId = z.infer<typeof HashIdSchema>;

/**
 * A case secret, shown once at creation: 28 Crockford base32 characters in 7
 * groups of 4 (140 random bits), e.g. `7KQ2-M0ZD-4B8X-PJ1R-T6WC-9HNE-3FVA`.
 * Servers accept it with or without the dashes, with spaces, in any letter
 * case. Secrets of earlier servers (43 base64url characters, 256 bits) stay
 * valid.
 */
export const CaseSecretSchema = z
  .string()
  .regex(/^(?:[A-Za-z0-9_-]{43}|[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){6})$/, "a case secret");
export type CaseSecret = z.infer<typeof CaseSecretSchema>;

/** A platform API key: `hsk_` + 43 base64url characters (256 random bits). */
export const ApiKeySchema = z.string().regex(/^hsk_[A-Za-z0-9_-]{43}$/, "an API key");

/** An ISO 8601 timestamp in UTC with milliseconds, e.g. `2026-01-31T12:00:00.000Z`. */
export const TimestampSchema = z.iso.datetime();
