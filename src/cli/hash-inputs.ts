/**
 * Inputs of `submit` and `lookup`: image files and folders (hashed here),
 * hash lists (text files: hex per line, CSV with a hash column, ndjson as
 * `hash` prints it) and hashes typed on the command line. Every problem is a
 * record with a message; the rest goes on.
 */
import { open, readFile } from "node:fs/promises";
import type { PdqMode } from "../pdq/index.ts";
import { checkHash, type HashType } from "../protocol/index.ts";
import { looksLikeText, sniffFormat } from "../image/sniff.ts";
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

async function readHead(file: string): Promise<Uint8Array | null> {
  try {
    const fh = await open(file, "r");
    try {
      const buf = new Uint8Array(64);
      const { bytesRead } = await fh.read(buf, 0, 64, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
}

function typeOf(hex: string): HashType {
  return hex.length === 64 ? "pdq" : "md5";
}

/** Fields of one line: CSV (RFC 4180 quotes) when it has a comma, else tab- or space-separated. */
function splitCells(line: string): string[] {
  if (!line.includes(",")) return line.split(line.includes("\t") ? "\t" : /\s+/).map((c) => c.trim());
  const cells: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      cells.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  cells.push(cur.trim());
  return cells;
}

/** The hashes of a hash list file's text. Lines without a hash are reported unless they look like a header or a comment. */
export function parseHashList(text: string, source: string): { hashes: InputHash[]; problems: InputProblem[] } {
  const hashes: InputHash[] = [];
  const problems: InputProblem[] = [];
  const lines = text.split(/\r?\n/);
  let qualityColumn = -1;
  let hashColumn = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const where = `${source}:${i + 1}`;
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("{")) {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        problems.push({ source: where, message: "not valid JSON" });
        continue;
      }
      if (rec.error !== undefined && rec.hash === undefined) continue; // a file `hash` could not read
      const value = rec.hash ?? rec.value;
      if (typeof value !== "string") {
        problems.push({ source: where, message: `no "hash" or "value" field` });
        continue;
      }
      const type = typeof rec.type === "string" ? rec.type : typeOf(value);
      const quality = typeof rec.quality === "number" ? rec.quality : undefined;
      hashes.push({ type: type as HashType, value, source: where, quality });
      continue;
    }
    const cells = splitCells(line);
    const idx = hashColumn >= 0 && HEX_HASH.test(cells[hashColumn] ?? "") ? hashColumn : cells.findIndex((c) => HEX_HASH.test(c));
    if (idx < 0) {
      const lower = cells.map((c) => c.toLowerCase());
      const firstLine = hashes.length === 0 && problems.length === 0 && hashColumn < 0;
      if (firstLine && (lower.includes("hash") || lower.includes("value") || lower.includes("path"))) {
        // a CSV header: remember where the columns are
        hashColumn = lower.findIndex((c) => c === "hash" || c === "value");
        qualityColumn = lower.indexOf("quality");
        continue;
      }
      problems.push({ source: where, message: "no hash on this line (expected 64 hex digits for PDQ or 32 for MD5)" });
      continue;
    }
    const q = qualityColumn >= 0 ? Number(cells[qualityColumn]) : NaN;
    hashes.push({ type: typeOf(cells[idx]), value: cells[idx], source: where, quality: Number.isFinite(q) && cells[qualityColumn] !== "" ? q : undefined });
  }
  return { hashes, problems };
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
    const head = await readHead(e.path);
    const isImage = head !== null && sniffFormat(head) !== null;
    if (!isImage && head !== null && (LIST_EXTENSIONS.test(e.path) || looksLikeText(head))) {
      let text: string;
      try {
        text = await readFile(e.path, "utf8");
      } catch (err) {
        result.problems.push({ source: e.path, message: `cannot read this file (${(err as NodeJS.ErrnoException).code ?? String(err)})` });
        continue;
      }
      const parsed = parseHashList(text, e.path);
      if (parsed.hashes.length === 0 && parsed.problems.length > 0) {
        result.problems.push({ source: e.path, message: "neither an image nor a list of hashes" });
        continue;
      }
      result.lists++;
      slots[i] = parsed.hashes;
      result.problems.push(...parsed.problems);
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
    slots[imageSlot[k]] = [{ type: "pdq", value: rec.result.hash, source: rec.path, quality: rec.result.quality }];
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
