/**
 * Inputs of `submit` and `lookup`: image files and folders (hashed here),
 * PDQ hash lists (read by src/match/lists.ts: hex per line, CSV with a `hash`
 * column, ndjson as `hash` prints it) and hashes typed on the command line
 * (PDQ, or MD5 for videos). Every problem is a
 * record with a message; the rest goes on.
 */
import { tryReadHead } from "../image/node.ts";
import type { PdqMode } from "../pdq/index.ts";
import { checkHash, type HashType } from "../protocol/index.ts";
import { looksLikeText, sniffFormat } from "../image/sniff.ts";
import { HashListError, type ListResult, readHashList } from "../match/lists.ts";
import { hashEntries } from "./hashing.ts";
import type { WalkEntry } from "./walk.ts";
import { collectInputs } from "./walk.ts";

export interface InputHash {
  type: HashType;
  value: string;
  /** Where it came from: a file path, "path:line" for a hash list, or "argument". */
  source: string;
  /** PDQ quality, when known (images, and lists that carry it). */
  quality?: number;
  /** The file it came from (an image or a hash list); absent for a hash typed as an argument. */
  path?: string;
  /** Its line in that hash list, and the line's metadata. */
  line?: number;
  metadata?: string;
}

export interface InputProblem {
  source: string;
  message: string;
}

export interface GatherResult {
  /** Valid hashes in input order, without repeats. */
  hashes: InputHash[];
  /** Valid hashes under the quality threshold, left out. */
  lowQuality: InputHash[];
  /** Files or lines that gave no hash, with the reason. */
  problems: InputProblem[];
  /** How many image files were hashed, and how many hash lists were read. */
  images: number;
  lists: number;
  /** Hashes seen more than once (sent once). */
  repeats: number;
}

export interface GatherOptions {
  mode: PdqMode;
  orient: boolean;
  maxPixels: number;
  jobs: number;
  /** Hashes of lower quality are left out (set to 0 to keep all). */
  minQuality: number;
}

const HEX_HASH = /^(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{32})$/;
const LIST_EXTENSIONS = /\.(txt|csv|tsv|ndjson|jsonl|json|hashes|lst)$/i;

function typeOf(hex: string): HashType {
  return hex.length === 64 ? "pdq" : "md5";
}

/** Gather, hash, check and deduplicate the hashes of `args`. */
export async function gatherHashes(args: readonly string[], opts: GatherOptions): Promise<GatherResult> {
  const result: GatherResult = { hashes: [], lowQuality: [], problems: [], images: 0, lists: 0, repeats: 0 };
  const raw: InputHash[] = [];
  const pathArgs: string[] = [];
  for (const a of args) {
    if (HEX_HASH.test(a)) raw.push({ type: typeOf(a), value: a, source: "argument" });
    else pathArgs.push(a);
  }

  const entries = await collectInputs(pathArgs);
  const images: WalkEntry[] = [];
  // Per entry, the hashes in input order (lists are read now, images hashed below).
  const slots: InputHash[][] = entries.map(() => []);
  const imageSlot: number[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.error) {
      result.problems.push({ source: e.path, message: e.error.message });
      continue;
    }
    const head = await tryReadHead(e.path);
    const isImage = head !== null && sniffFormat(head) !== null;
    if (!isImage && head !== null && (LIST_EXTENSIONS.test(e.path) || looksLikeText(head))) {
      let list: ListResult;
      try {
        list = await readHashList(e.path, { maxErrors: 50 });
      } catch (err) {
        result.problems.push({ source: e.path, message: err instanceof HashListError ? err.message.replace(`${e.path}: `, "") : String(err) });
        continue;
      }
      for (const p of list.problems) result.problems.push({ source: p.line > 0 ? `${e.path}:${p.line}` : e.path, message: p.message });
      if (list.problemCount > list.problems.length) {
        result.problems.push({ source: e.path, message: `and ${list.problemCount - list.problems.length} more bad lines` });
      }
      if (list.count === 0) continue;
      result.lists++;
      slots[i] = list.entries.map((x) => ({
        type: "pdq" as const,
        value: x.hash,
        source: `${e.path}:${x.line}`,
        quality: x.quality,
        path: e.path,
        line: x.line,
        metadata: x.metadata,
      }));
      continue;
    }
    imageSlot.push(i);
    images.push(e);
  }

  await hashEntries(images, { mode: opts.mode, orient: opts.orient, maxPixels: opts.maxPixels, jobs: opts.jobs }, (rec, k) => {
    if (rec.error) {
      result.problems.push({ source: rec.path, message: rec.error.message });
      return;
    }
    result.images++;
    slots[imageSlot[k]] = [{ type: "pdq", value: rec.result.hash, source: rec.path, quality: rec.result.quality, path: rec.path }];
  });
  for (const s of slots) raw.push(...s);

  const seen = new Set<string>();
  for (const h of raw) {
    const check = checkHash(h);
    if (h.quality !== undefined && h.quality < opts.minQuality && h.type === "pdq") {
      // Weak hashes are left out before anything else (a flat image may not even be a valid PDQ value).
      const key = `pdq:${h.value.toLowerCase()}`;
      if (!seen.has(key)) {
        seen.add(key);
        result.lowQuality.push({ ...h, value: h.value.toLowerCase() });
      }
      continue;
    }
    if (!check.ok) {
      result.problems.push({ source: h.source, message: check.message });
      continue;
    }
    const hash: InputHash = { ...h, type: check.hash.type, value: check.hash.value };
    const key = `${hash.type}:${hash.value}`;
    if (seen.has(key)) {
      result.repeats++;
      continue;
    }
    seen.add(key);
    result.hashes.push(hash);
  }
  return result;
}
