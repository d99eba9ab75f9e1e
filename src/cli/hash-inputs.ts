/**
 * Inputs of `submit` and `lookup`: image files and folders (hashed here),
 * PDQ hash lists (read by src/match/lists.ts: hex per line, CSV with a `hash`
 * column, ndjson as `hash` prints it) and hashes typed on the command line
 * (PDQ, or MD5 for videos). Every problem is a
 * record with a message; the rest goes on.
 */
import { type AlphaMode, tryReadHead } from "../image/node.ts";
import type { PdqMode } from "../pdq/index.ts";
import { checkHash, type HashType } from "../protocol/index.ts";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { isVideo, looksLikeText, sniffFormat } from "../image/sniff.ts";
import { picturesOnly, type Skipped } from "./pictures.ts";
import { HashListError, type ListResult, readHashList } from "../match/lists.ts";
import { errorText, hashEntries } from "./hashing.ts";
import { retell, retellTail, tr } from "./lang.ts";
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
  /** A picture with transparent parts (some alpha under 255). */
  transparent?: boolean;
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
  /** Files found in folders that are not pictures or videos: skipped unread (one summary line). */
  skipped: Skipped[];
  /** How many videos were hashed (MD5 of the file's bytes). */
  videos: number;
}

export interface GatherOptions {
  mode: PdqMode;
  orient: boolean;
  maxPixels: number;
  jobs: number;
  /** Hashes of lower quality are left out (set to 0 to keep all). */
  minQuality: number;
  /** Hash lists given with --list (read as lists whatever their name). */
  lists?: readonly string[];
  /** Transparency: dropped (default) or flattened onto white or black (`--alpha`). */
  alpha?: AlphaMode;
}

/** The MD5 of a file's bytes, as StopNCII hashes videos: it matches only byte-identical copies of the file. */
export async function md5OfFile(file: string): Promise<string> {
  const h = createHash("md5");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

const HEX_HASH = /^(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{32})$/;
const LIST_EXTENSIONS = /\.(txt|csv|tsv|ndjson|jsonl|json|hashes|lst)$/i;

function typeOf(hex: string): HashType {
  return hex.length === 64 ? "pdq" : "md5";
}

/** Gather, hash, check and deduplicate the hashes of `args`. */
export async function gatherHashes(args: readonly string[], opts: GatherOptions): Promise<GatherResult> {
  const result: GatherResult = { hashes: [], lowQuality: [], problems: [], images: 0, lists: 0, repeats: 0, skipped: [], videos: 0 };
  const raw: InputHash[] = [];
  const pathArgs: string[] = [];
  for (const a of args) {
    if (HEX_HASH.test(a)) raw.push({ type: typeOf(a), value: a, source: "argument" });
    else pathArgs.push(a);
  }

  const walked = await collectInputs(pathArgs);
  // Folders contribute pictures and videos only; the rest is skipped unread.
  const only = await picturesOnly(walked, ["video"]);
  result.skipped = only.skipped;
  const listEntries: WalkEntry[] = (opts.lists ?? []).map((p) => ({ path: p, list: true }) as WalkEntry);
  const entries: (WalkEntry & { list?: boolean })[] = [...only.entries, ...listEntries];
  const images: WalkEntry[] = [];
  // Per entry, the hashes in input order (lists are read now, images hashed below).
  const slots: InputHash[][] = entries.map(() => []);
  const imageSlot: number[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.error) {
      result.problems.push({ source: e.path, message: errorText(e.error) });
      continue;
    }
    const head = await tryReadHead(e.path);
    const isImage = head !== null && sniffFormat(head) !== null;
    if (!e.list && head !== null && !isImage && isVideo(head)) {
      try {
        const value = await md5OfFile(e.path);
        result.videos++;
        slots[i] = [{ type: "md5", value, source: e.path, path: e.path }];
      } catch (err) {
        result.problems.push({ source: e.path, message: err instanceof Error ? err.message : String(err) });
      }
      continue;
    }
    // A hash list is read only when named: on the command line with a list's name or text content, or with --list.
    const named = e.list || !e.inFolder;
    if (named && !isImage && head !== null && (e.list || LIST_EXTENSIONS.test(e.path) || looksLikeText(head))) {
      let list: ListResult;
      try {
        list = await readHashList(e.path, { maxErrors: 50 });
      } catch (err) {
        result.problems.push({ source: e.path, message: err instanceof HashListError ? retellTail("cli.listError.", err.message.replace(`${e.path}: `, "")) : String(err) });
        continue;
      }
      for (const p of list.problems) result.problems.push({ source: p.line > 0 ? `${e.path}:${p.line}` : e.path, message: retell("cli.listError.", p.message) });
      if (list.problemCount > list.problems.length) {
        result.problems.push({ source: e.path, message: tr("cli.inputs.moreBad", { count: list.problemCount - list.problems.length }) });
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

  await hashEntries(images, { mode: opts.mode, orient: opts.orient, maxPixels: opts.maxPixels, jobs: opts.jobs, alpha: opts.alpha }, (rec, k) => {
    if (rec.error) {
      // A flat picture is a problem like any other (never an all-zero hash).
      result.problems.push({ source: rec.path, message: errorText(rec.error) });
      return;
    }
    result.images++;
    const h: InputHash = { type: "pdq", value: rec.result.hash, source: rec.path, quality: rec.result.quality, path: rec.path };
    if (rec.result.transparent) h.transparent = true;
    slots[imageSlot[k]] = [h];
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
      result.problems.push({ source: h.source, message: retell("cli.listError.", check.message) });
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
