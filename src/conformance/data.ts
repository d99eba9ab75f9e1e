/**
 * The bundled conformance set (fixtures/conformance/): 62 images made for
 * this project and the reference C++ PDQ's hash, quality and 8 dihedral
 * hashes for each, in both modes. Shipped with the package so that
 * `hashsafe self-test` and `hashsafe verify --conformance` work anywhere.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DIHEDRAL_NAMES, type DihedralHashes, type PdqMode } from "../pdq/index.ts";

export interface ConformanceRow {
  file: string;
  mode: PdqMode;
  width: number;
  height: number;
  hash: string;
  quality: number;
  dihedral: DihedralHashes;
}

export interface ConformanceSet {
  dir: string;
  rows: ConformanceRow[];
}

/**
 * The folder holding `expected.tsv` and `images/`: `dir` when given, else the
 * package's own `fixtures/conformance/` (found above this module, which sits
 * in src/conformance/ or in a dist/ bundle).
 */
export function conformanceDir(dir?: string): string {
  if (dir) return path.resolve(dir);
  let here = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(here, "fixtures", "conformance");
    if (existsSync(path.join(candidate, "expected.tsv"))) return candidate;
    here = path.dirname(here);
  }
  throw new Error("the conformance set is missing: fixtures/conformance/expected.tsv is not in this installation");
}

/** Reads and checks `expected.tsv`. */
export async function loadConformanceSet(dir?: string): Promise<ConformanceSet> {
  const root = conformanceDir(dir);
  const file = path.join(root, "expected.tsv");
  const text = await readFile(file, "utf8");
  const [head, ...lines] = text.trim().split(/\r?\n/);
  const cols = head.split("\t");
  const need = ["file", "mode", "width", "height", "hash", "quality", ...DIHEDRAL_NAMES];
  const missing = need.filter((c) => !cols.includes(c));
  if (missing.length) throw new Error(`${file}: missing columns ${missing.join(", ")}`);
  const rows = lines.map((line, i) => {
    const cells = line.split("\t");
    const get = (c: string) => cells[cols.indexOf(c)] ?? "";
    const mode = get("mode");
    if (mode !== "full" && mode !== "squash512") throw new Error(`${file}:${i + 2}: unknown mode "${mode}"`);
    return {
      file: get("file"),
      mode,
      width: Number(get("width")),
      height: Number(get("height")),
      hash: get("hash"),
      quality: Number(get("quality")),
      dihedral: Object.fromEntries(DIHEDRAL_NAMES.map((n) => [n, get(n)])) as DihedralHashes,
    } satisfies ConformanceRow;
  });
  return { dir: root, rows };
}
