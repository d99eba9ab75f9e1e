import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** `../shared/` beside the checkout (CI has it there too). */
export const SHARED = path.resolve(ROOT, "..", "shared");
export const REF = path.join(SHARED, "pdq-reference");
export const FIXTURES = path.join(ROOT, "fixtures");
export const BIN = path.join(ROOT, "bin", "hashsafe.js");

if (!existsSync(REF)) {
  throw new Error(`the reference data is missing: expected ${REF} (../shared beside the checkout)`);
}

/** Rows of a TSV file with a header line, as objects. */
export function readTsv(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split("\n");
  const cols = head.split("\t");
  return lines.map((l) => {
    const cells = l.split("\t");
    return Object.fromEntries(cols.map((c, i) => [c, cells[i]]));
  });
}

export function hexDistance(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < a.length; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) {
      x &= x - 1;
      d++;
    }
  }
  return d;
}
