// Where the upstream reference data lives for `npm run test:reference`:
// `HASHSAFE_REFERENCE_DATA` (set by `--data DIR`), else `../shared/` beside the checkout.
import { existsSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../helpers.ts";

export const SHARED = path.resolve(process.env.HASHSAFE_REFERENCE_DATA ?? path.join(ROOT, "..", "shared"));
export const REF = path.join(SHARED, "pdq-reference");
export const CORPUS = path.join(SHARED, "bench-corpus");

/** The folders this suite reads; a missing one fails the suite with its name. */
export const REQUIRED = [
  [REF, "pdq-reference/ (upstream images, expected hashes, dihedral hashes, pixel vectors, matching lists)"],
  [path.join(REF, "vectors"), "pdq-reference/vectors/ (bit-exact pixel vectors)"],
  [path.join(REF, "matching"), "pdq-reference/matching/ (matcher regression lists)"],
  [CORPUS, "bench-corpus/ (photos)"],
] as const;

export function missingData(): string[] {
  return REQUIRED.filter(([dir]) => !existsSync(dir)).map(([dir, what]) => `${dir}: ${what}`);
}
