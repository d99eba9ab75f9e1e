/**
 * verify: does another PDQ implementation agree with ours (and so with the
 * reference)? Pairs our hash of each image with theirs, by file name or
 * path, and says in words when theirs differs by a known convention mistake
 * (16-bit words in reverse order, bytes swapped, complement, a rotated or
 * mirrored picture) instead of only reporting ~128 bits of distance.
 */
import { DIHEDRAL_NAMES, type DihedralHashes } from "../pdq/index.ts";
import { hamming, parseHash } from "../match/hash256.ts";

export type VerifyStatus = "exact" | "within" | "over" | "missing-theirs" | "missing-ours" | "error";

export interface Diagnosis {
  /** `word-reversed`, `byte-swapped`, `digits-reversed`, `complement`, `complement+word-reversed`, or `dihedral:<name>`. */
  kind: string;
  /** Distance between our hash and theirs once that mistake is undone. */
  distance: number;
  message: string;
}

export interface VerifyRecord {
  /** The image (its path as given, or the conformance file name), or their list's key for `missing-ours`. */
  file: string;
  status: VerifyStatus;
  ours?: string;
  theirs?: string;
  distance?: number;
  /** Line of their list the hash came from. */
  theirsLine?: number;
  diagnosis?: Diagnosis;
  /** Why we have no hash of this image (`error`). */
  error?: string;
}

export interface VerifySummary {
  pass: boolean;
  maxDistance: number;
  total: number;
  exact: number;
  within: number;
  over: number;
  missingTheirs: number;
  missingOurs: number;
  errors: number;
  /** Distance -> number of images, over every pair that was compared. */
  histogram: Record<string, number>;
  /** The pairs that differ most (up to 5), largest first. */
  worst: { file: string; distance: number }[];
  /** Diagnosis kind -> number of images. */
  diagnoses: Record<string, number>;
}

/** Our side of one image: its hash and the 8 dihedral hashes, or why it failed. */
export interface OurHash {
  file: string;
  /** Other names their list may use for this image (relative, absolute, base name). */
  keys: string[];
  hash?: string;
  dihedral?: DihedralHashes;
  error?: string;
}

/** Their side: a hash keyed by file name or path, with the list line. */
export interface TheirHash {
  key: string;
  hash: string;
  line: number;
}

const words = (hex: string) => hex.match(/.{4}/g)!;
const TRANSFORMS: [string, (hex: string) => string, string][] = [
  [
    "word-reversed",
    (h) => words(h).reverse().join(""),
    "their hash is ours with its sixteen 16-bit words in reverse order (PDQ writes word 15 first)",
  ],
  [
    "byte-swapped",
    (h) => words(h).map((w) => w.slice(2) + w.slice(0, 2)).join(""),
    "their hash is ours with the two bytes of every 16-bit word swapped (a byte-order mistake)",
  ],
  ["digits-reversed", (h) => [...h].reverse().join(""), "their hash is ours written backwards, hex digit by hex digit"],
  [
    "complement",
    (h) => complement(h),
    "their hash is the bitwise complement of ours (their threshold sets a bit where the DCT value is at or below the median)",
  ],
  [
    "complement+word-reversed",
    (h) => complement(words(h).reverse().join("")),
    "their hash is the complement of ours with the words in reverse order",
  ],
];

function complement(hex: string): string {
  return [...hex].map((c) => (15 - parseInt(c, 16)).toString(16)).join("");
}

const distance = (a: string, b: string) => hamming(parseHash(a), parseHash(b));

/**
 * When `theirs` is far from `ours` but close to a known mistake of ours, say
 * which. `tolerance`: how close counts (at least 10 bits, the noise of a
 * different decoder).
 */
export function diagnose(ours: string, dihedral: DihedralHashes | undefined, theirs: string, tolerance: number): Diagnosis | undefined {
  const tol = Math.max(10, tolerance);
  let best: Diagnosis | undefined;
  for (const [kind, undo, message] of TRANSFORMS) {
    const d = distance(ours, undo(theirs));
    if (d <= tol && (!best || d < best.distance)) best = { kind, distance: d, message };
  }
  for (const name of DIHEDRAL_NAMES.slice(1)) {
    if (!dihedral) break;
    const d = distance(dihedral[name], theirs);
    if (d <= tol && (!best || d < best.distance)) {
      best = {
        kind: `dihedral:${name}`,
        distance: d,
        message: `their hash is our ${name} hash: one side hashed the picture turned or mirrored (EXIF orientation applied on one side only? compare with --no-orient)`,
      };
    }
  }
  return best;
}

/** Pairs our hashes with theirs and classifies every image. */
export function verifyHashes(ours: readonly OurHash[], theirs: readonly TheirHash[], maxDistance: number): { records: VerifyRecord[]; summary: VerifySummary } {
  const byKey = new Map<string, TheirHash>();
  const byBase = new Map<string, TheirHash[]>();
  for (const t of theirs) {
    const key = t.key.replace(/\\/g, "/");
    if (!byKey.has(key)) byKey.set(key, t);
    const base = key.slice(key.lastIndexOf("/") + 1);
    byBase.set(base, [...(byBase.get(base) ?? []), t]);
  }
  const used = new Set<TheirHash>();
  const find = (o: OurHash): TheirHash | undefined => {
    for (const k of [o.file, ...o.keys]) {
      const t = byKey.get(k.replace(/\\/g, "/"));
      if (t && !used.has(t)) return t;
    }
    const norm = o.file.replace(/\\/g, "/");
    const base = norm.slice(norm.lastIndexOf("/") + 1);
    const same = (byBase.get(base) ?? []).filter((t) => !used.has(t));
    return same.length === 1 ? same[0] : undefined;
  };
  const records: VerifyRecord[] = [];
  for (const o of ours) {
    const t = find(o);
    if (t) used.add(t);
    if (o.error !== undefined || !o.hash) {
      records.push({ file: o.file, status: "error", error: o.error ?? "no hash", ...(t ? { theirs: t.hash, theirsLine: t.line } : {}) });
      continue;
    }
    if (!t) {
      records.push({ file: o.file, status: "missing-theirs", ours: o.hash });
      continue;
    }
    const d = distance(o.hash, t.hash);
    const rec: VerifyRecord = {
      file: o.file,
      status: d === 0 ? "exact" : d <= maxDistance ? "within" : "over",
      ours: o.hash,
      theirs: t.hash,
      distance: d,
      theirsLine: t.line,
    };
    if (rec.status === "over") {
      const why = diagnose(o.hash, o.dihedral, t.hash, maxDistance);
      if (why) rec.diagnosis = why;
    }
    records.push(rec);
  }
  for (const t of theirs) if (!used.has(t)) records.push({ file: t.key, status: "missing-ours", theirs: t.hash, theirsLine: t.line });
  return { records, summary: summarize(records, maxDistance) };
}

export function summarize(records: readonly VerifyRecord[], maxDistance: number): VerifySummary {
  const count = (s: VerifyStatus) => records.filter((r) => r.status === s).length;
  const histogram: Record<string, number> = {};
  const diagnoses: Record<string, number> = {};
  const compared = records.filter((r) => r.distance !== undefined);
  for (const r of [...compared].sort((a, b) => a.distance! - b.distance!)) histogram[r.distance!] = (histogram[r.distance!] ?? 0) + 1;
  for (const r of records) if (r.diagnosis) diagnoses[r.diagnosis.kind] = (diagnoses[r.diagnosis.kind] ?? 0) + 1;
  const worst = compared
    .filter((r) => r.distance! > 0)
    .sort((a, b) => b.distance! - a.distance! || a.file.localeCompare(b.file))
    .slice(0, 5)
    .map((r) => ({ file: r.file, distance: r.distance! }));
  const s = {
    maxDistance,
    total: records.length,
    exact: count("exact"),
    within: count("within"),
    over: count("over"),
    missingTheirs: count("missing-theirs"),
    missingOurs: count("missing-ours"),
    errors: count("error"),
    histogram,
    worst,
    diagnoses,
  };
  return { pass: s.over + s.missingTheirs + s.missingOurs + s.errors === 0 && s.total > 0, ...s };
}
