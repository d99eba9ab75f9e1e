/**
 * selfTest(): is this installation exact, here? Hashes the bundled
 * conformance set with this machine's decoder (sharp / libvips and its
 * libjpeg, libpng, ...) in both modes and compares hash, quality and the 8
 * dihedral hashes with the reference's.
 */
import path from "node:path";
import sharp from "sharp";
import { decodeImage } from "../image/node.ts";
import { DIHEDRAL_NAMES, hashPixels, PDQ_MODES, type PdqMode } from "../pdq/index.ts";
import { loadConformanceSet } from "./data.ts";

export interface SelfTestMismatch {
  file: string;
  mode: PdqMode;
  /** What differs: `hash`, `quality`, a dihedral name, or `error` (could not decode). */
  field: string;
  expected: string;
  got: string;
}

export interface SelfTestReport {
  /** True when every image is exact in every mode. */
  ok: boolean;
  images: number;
  /** Images exact (hash, quality and all 8 dihedral hashes) per mode. */
  exact: Record<PdqMode, number>;
  mismatches: SelfTestMismatch[];
  /** The decoder this result depends on: versions from sharp (libvips, libjpeg, libpng, ...). */
  decoder: Record<string, string>;
  durationMs: number;
}

export interface SelfTestOptions {
  /** A conformance folder other than the bundled one (expected.tsv + images/). */
  dir?: string;
  /** Called after each image. */
  onProgress?: (done: number, total: number) => void;
}

/** Decoder versions that matter for exactness. */
export function decoderVersions(): Record<string, string> {
  const v = sharp.versions as Record<string, string | undefined>;
  const out: Record<string, string> = {};
  for (const k of ["sharp", "vips", "mozjpeg", "jpeg", "png", "spng", "webp", "gif", "cgif", "tiff", "heif"]) {
    if (v[k]) out[k === "vips" ? "libvips" : k] = v[k]!;
  }
  return out;
}

export async function selfTest(options: SelfTestOptions = {}): Promise<SelfTestReport> {
  const start = Date.now();
  const set = await loadConformanceSet(options.dir);
  const files = [...new Set(set.rows.map((r) => r.file))];
  const exact = { full: 0, squash512: 0 } as Record<PdqMode, number>;
  const mismatches: SelfTestMismatch[] = [];
  let done = 0;
  for (const file of files) {
    let px: Awaited<ReturnType<typeof decodeImage>> | undefined;
    let error = "";
    try {
      px = await decodeImage(path.join(set.dir, "images", file), { orient: false });
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    for (const mode of PDQ_MODES) {
      const want = set.rows.find((r) => r.file === file && r.mode === mode);
      if (!want) continue;
      if (!px) {
        mismatches.push({ file, mode, field: "error", expected: want.hash, got: error });
        continue;
      }
      const got = hashPixels(px, { mode, dihedral: true });
      const diffs: SelfTestMismatch[] = [];
      if (got.hash !== want.hash) diffs.push({ file, mode, field: "hash", expected: want.hash, got: got.hash });
      if (got.quality !== want.quality) diffs.push({ file, mode, field: "quality", expected: String(want.quality), got: String(got.quality) });
      for (const n of DIHEDRAL_NAMES) {
        if (got.dihedral![n] !== want.dihedral[n]) diffs.push({ file, mode, field: n, expected: want.dihedral[n], got: got.dihedral![n] });
      }
      if (diffs.length === 0) exact[mode]++;
      mismatches.push(...diffs);
    }
    options.onProgress?.(++done, files.length);
  }
  return {
    ok: mismatches.length === 0 && exact.full === files.length && exact.squash512 === files.length,
    images: files.length,
    exact,
    mismatches,
    decoder: decoderVersions(),
    durationMs: Date.now() - start,
  };
}
