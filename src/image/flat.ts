/**
 * The rule of the file-level APIs for pictures with nothing to recognise: a
 * PDQ quality of 0 (a picture of one colour, or a fully transparent one once
 * its alpha is dropped) or an all-zero hash is an error (`FLAT`), never a
 * hash. `hashPixels` itself keeps returning the reference's values (quality
 * 0 included); this rule is applied on top of it. No Node APIs.
 */
import { HashError } from "../pdq/errors.ts";

export const FLAT_MESSAGE = "this picture is a single colour (or almost): it has nothing a hash could recognise";

const ALL_ZERO = /^0+$/;

/** Whether a PDQ result has nothing a hash could recognise (quality 0, or an all-zero hash). */
export function isFlat(r: { hash: string; quality: number }): boolean {
  return r.quality === 0 || ALL_ZERO.test(r.hash);
}

/** The error of a flat picture. */
export function flatError(): HashError {
  return new HashError("FLAT", FLAT_MESSAGE);
}

/** `r` unchanged, or throws {@link flatError} when it is flat. */
export function refuseFlat<T extends { hash: string; quality: number }>(r: T): T {
  if (isFlat(r)) throw flatError();
  return r;
}
