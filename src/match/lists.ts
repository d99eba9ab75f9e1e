/**
 * Hash lists: read and write the formats people already have.
 *
 * - plain: one hex hash per line, optionally `,metadata` after it (the
 *   reference tools' format); blank lines and `#` comments are ignored;
 * - csv: a header line with a `hash` column (any order, RFC 4180 quoting);
 * - ndjson: the records `hashsafe hash` writes (`{"hash", "path", ...}`);
 *   records with an `"error"` are skipped.
 *
 * Files are streamed with a bounded line length, so a huge or binary file
 * costs bounded memory: bad lines are reported as `file:line: message` (the
 * first `maxErrors` kept, the rest counted) and good lines still load unless
 * `strict` is set.
 */
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { hashProblem, PDQ_HEX as HEX64 } from "./hash256.ts";

export type ListFormat = "plain" | "csv" | "ndjson";
export const LIST_FORMATS: readonly ListFormat[] = ["plain", "csv", "ndjson"];

export interface ListEntry {
  /** 64 lowercase hex digits, validated. */
  hash: string;
  /** The text after the hash, a CSV metadata column, or the ndjson `path`. */
  metadata?: string;
  /** PDQ quality when the list carries it (csv `quality` column, ndjson `quality`). */
  quality?: number;
  /** 1-based line number in the file. */
  line: number;
}

export interface ListProblem {
  file: string;
  /** 1-based; 0 for a problem with the whole file. */
  line: number;
  message: string;
}

export function formatProblem(p: ListProblem): string {
  return p.line > 0 ? `${p.file}:${p.line}: ${p.message}` : `${p.file}: ${p.message}`;
}

export interface ReadListOptions {
  /** Default: detected from the first line that is not blank or a comment. */
  format?: ListFormat;
  /** Any bad line makes the whole read fail ({@link HashListError}). */
  strict?: boolean;
  /** Problems kept with their messages (default 20); the rest are only counted. */
  maxErrors?: number;
  /** Longest line read (default 64 KiB); longer lines are reported and skipped. */
  maxLineBytes?: number;
  /**
   * Accept any 64-hex-digit hash, all-zero and degenerate ones included (what
   * the reference emits for flat pictures): for checking another hasher's
   * output, not for matching.
   */
  anyBits?: boolean;
  /** Receive each good entry instead of collecting them (bounded memory for big lists). */
  onEntry?: (entry: ListEntry) => void;
}

export interface ListResult {
  file: string;
  format: ListFormat;
  /** The good entries (empty when `onEntry` was given). */
  entries: ListEntry[];
  /** Good entries read. */
  count: number;
  /** The first `maxErrors` problems. */
  problems: ListProblem[];
  /** All bad lines (and file-level problems), including those not kept. */
  problemCount: number;
  /** ndjson records with an `"error"` (images that could not be hashed), skipped. */
  skipped: number;
}

/** A list that cannot be used: unreadable, or bad lines under `strict`. */
export class HashListError extends Error {
  constructor(
    message: string,
    readonly problems: ListProblem[] = [],
    readonly problemCount = problems.length,
  ) {
    super(message);
    this.name = "HashListError";
  }
}

const META_COLUMNS = ["metadata", "path", "file", "name", "label", "id"];

/** Split one CSV line into cells (RFC 4180 quoting, no line breaks inside quotes). */
export function parseCsvLine(line: string): string[] | null {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    let cell = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return null; // unterminated quote
        const c = line[i++];
        if (c === '"') {
          if (line[i] === '"') {
            cell += '"';
            i++;
          } else break;
        } else cell += c;
      }
      if (i < line.length && line[i] !== ",") return null;
    } else {
      const j = line.indexOf(",", i);
      cell = j < 0 ? line.slice(i) : line.slice(i, j);
      i = j < 0 ? line.length : j;
    }
    cells.push(cell);
    if (i >= line.length) return cells;
    i++; // the comma
  }
}

export function csvQuote(s: string): string {
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

interface Parser {
  /** An entry, a problem message, "skip" (ignored line) or "error-record". */
  line(text: string): { hash: string; metadata?: string; quality?: number } | string | null | "error-record";
}

function plainParser(check: HashCheck): Parser {
  return {
    line(text) {
      const t = text.trim();
      if (t === "" || t.startsWith("#")) return null;
      const cut = t.search(/[,\t ]/);
      const hash = cut < 0 ? t : t.slice(0, cut);
      const problem = check(hash);
      if (problem) return problem;
      let metadata: string | undefined;
      if (cut >= 0) {
        metadata = t.slice(cut + 1).trim();
        if (t[cut] === "," && metadata === "") metadata = undefined;
      }
      return { hash: hash.toLowerCase(), metadata: metadata || undefined };
    },
  };
}

function csvParser(check: HashCheck): Parser {
  let header: string[] | null = null;
  let hashCol = -1;
  let metaCol = -1;
  let qualityCol = -1;
  return {
    line(text) {
      const t = text.replace(/\r$/, "");
      if (t.trim() === "" || (header === null && t.trim().startsWith("#"))) return null;
      const cells = parseCsvLine(t);
      if (!cells) return "bad CSV: unterminated quote";
      if (header === null) {
        header = cells.map((c) => c.trim().toLowerCase());
        hashCol = header.indexOf("hash");
        if (hashCol < 0) return `CSV header has no "hash" column (columns: ${cells.join(", ").slice(0, 200)})`;
        metaCol = META_COLUMNS.map((c) => header!.indexOf(c)).find((i) => i >= 0) ?? -1;
        qualityCol = header.indexOf("quality");
        return null;
      }
      if (hashCol < 0) return `no "hash" column in the CSV header`;
      const hash = (cells[hashCol] ?? "").trim();
      const problem = hash === "" ? `no hash in the "hash" column` : check(hash);
      if (problem) return problem;
      let metadata: string | undefined;
      if (metaCol >= 0) metadata = cells[metaCol];
      else {
        const rest = cells.filter((_, i) => i !== hashCol && i !== qualityCol);
        metadata = rest.length ? rest.join(",") : undefined;
      }
      const q = qualityCol >= 0 ? Number(cells[qualityCol]) : NaN;
      return { hash: hash.toLowerCase(), metadata: metadata || undefined, quality: Number.isFinite(q) ? q : undefined };
    },
  };
}

function ndjsonParser(check: HashCheck): Parser {
  return {
    line(text) {
      const t = text.trim();
      if (t === "") return null;
      let rec: unknown;
      try {
        rec = JSON.parse(t);
      } catch {
        return "not JSON (an ndjson list has one JSON object per line)";
      }
      if (rec === null || typeof rec !== "object" || Array.isArray(rec)) return "not a JSON object";
      const r = rec as Record<string, unknown>;
      if (r.error !== undefined && r.error !== null) return "error-record";
      if (typeof r.hash !== "string") return `no "hash" string in the record`;
      const problem = check(r.hash);
      if (problem) return problem;
      const meta = typeof r.path === "string" ? r.path : typeof r.metadata === "string" ? r.metadata : r.id !== undefined ? String(r.id) : undefined;
      const quality = typeof r.quality === "number" ? r.quality : undefined;
      return { hash: r.hash.toLowerCase(), metadata: meta, quality };
    },
  };
}

/** Guess the format from the first line that is not blank or a comment. */
export function detectFormat(firstLine: string): ListFormat {
  const t = firstLine.trim();
  if (t.startsWith("{")) return "ndjson";
  const cells = parseCsvLine(t);
  if (cells && !HEX64.test(cells[0].trim()) && cells.some((c) => c.trim().toLowerCase() === "hash")) return "csv";
  return "plain";
}

type HashCheck = (hex: string) => string | null;

/** Only the shape (64 hex digits): for lists that may hold the reference's all-zero or degenerate hashes. */
function shapeProblem(hex: string): string | null {
  const p = hashProblem(hex);
  return p && /^(wrong length|not hex)/.test(p) ? p : null;
}

function makeParser(format: ListFormat, check: HashCheck = hashProblem): Parser {
  return format === "csv" ? csvParser(check) : format === "ndjson" ? ndjsonParser(check) : plainParser(check);
}

/**
 * Read a hash list, streaming. Throws {@link HashListError} when the file
 * cannot be read, or (with `strict`) when any line is bad.
 */
export async function readHashList(file: string, options: ReadListOptions = {}): Promise<ListResult> {
  const maxErrors = options.maxErrors ?? 20;
  const maxLine = options.maxLineBytes ?? 64 * 1024;
  const result: ListResult = {
    file,
    format: options.format ?? "plain",
    entries: [],
    count: 0,
    problems: [],
    problemCount: 0,
    skipped: 0,
  };
  const problem = (line: number, message: string) => {
    result.problemCount++;
    if (result.problems.length < maxErrors) result.problems.push({ file, line, message });
  };
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw new HashListError(`${file}: is a folder, not a hash list`);
    if (st.size === 0) {
      problem(0, "empty file: no hashes in it");
      if (options.strict) throw new HashListError(`${file}: empty file: no hashes in it`, result.problems, 1);
      return result;
    }
    // Fail early and clearly on unreadable files.
    await (await open(file, "r")).close();
  } catch (err) {
    if (err instanceof HashListError) throw err;
    const code = (err as NodeJS.ErrnoException)?.code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : `cannot read it (${code ?? String(err)})`;
    throw new HashListError(`${file}: ${why}`);
  }

  const check = options.anyBits ? shapeProblem : hashProblem;
  let parser: Parser | null = options.format ? makeParser(options.format, check) : null;
  let lineNo = 0;
  const handle = (buf: Buffer) => {
    lineNo++;
    if (buf.includes(0)) {
      problem(lineNo, "binary data (NUL bytes): not a text hash list");
      return;
    }
    let text = buf.toString("utf8");
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // BOM
    if (text.endsWith("\r")) text = text.slice(0, -1);
    if (!parser) {
      const t = text.trim();
      if (t === "" || t.startsWith("#")) return;
      result.format = detectFormat(t);
      parser = makeParser(result.format, check);
    }
    const out = parser.line(text);
    if (out === null) return;
    if (out === "error-record") {
      result.skipped++;
      return;
    }
    if (typeof out === "string") {
      problem(lineNo, out);
      return;
    }
    result.count++;
    const entry: ListEntry = { hash: out.hash, line: lineNo };
    if (out.metadata !== undefined) entry.metadata = out.metadata;
    if (out.quality !== undefined) entry.quality = out.quality;
    if (options.onEntry) options.onEntry(entry);
    else result.entries.push(entry);
  };

  // Our own line splitter (readline would buffer an unbounded line).
  const parts: Buffer[] = [];
  let partLen = 0;
  let tooLong = false;
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let at = 0;
      while (at < chunk.length) {
        const nl = chunk.indexOf(10, at);
        const end = nl < 0 ? chunk.length : nl;
        if (!tooLong) {
          if (partLen + (end - at) > maxLine) {
            tooLong = true;
            parts.length = 0;
            partLen = 0;
          } else {
            parts.push(chunk.subarray(at, end));
            partLen += end - at;
          }
        }
        if (nl < 0) break;
        if (tooLong) {
          lineNo++;
          problem(lineNo, `line too long (over ${maxLine} bytes): not a hash list line`);
          tooLong = false;
        } else {
          handle(parts.length === 1 ? parts[0] : Buffer.concat(parts, partLen));
        }
        parts.length = 0;
        partLen = 0;
        at = nl + 1;
      }
      // Keep partial lines as copies: the chunk's memory is released.
      if (parts.length > 0 && parts[parts.length - 1].buffer === chunk.buffer) {
        const joined = Buffer.concat(parts, partLen);
        parts.length = 0;
        parts.push(joined);
      }
      if (options.strict && result.problemCount > 0) break;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    throw new HashListError(`${file}: read failed after line ${lineNo} (${code ?? String(err)})`);
  } finally {
    stream.destroy();
  }
  if (!(options.strict && result.problemCount > 0)) {
    if (tooLong) {
      lineNo++;
      problem(lineNo, `line too long (over ${maxLine} bytes): not a hash list line`);
    } else if (partLen > 0) handle(Buffer.concat(parts, partLen));
  }
  if (result.count === 0 && result.problemCount === 0) {
    problem(0, "no hashes in the file (only blank lines, comments or a header)");
  }
  if (options.strict && result.problemCount > 0) {
    const first = result.problems[0];
    throw new HashListError(
      `${formatProblem(first)}${result.problemCount > 1 ? ` (and ${result.problemCount - 1} more)` : ""}`,
      result.problems,
      result.problemCount,
    );
  }
  return result;
}

export interface WritableEntry {
  hash: string;
  metadata?: string;
}

/** The text of a list in `format` (a header line for csv), one entry per line. */
export function formatHashList(entries: Iterable<WritableEntry>, format: ListFormat): string {
  let out = format === "csv" ? "hash,metadata\n" : "";
  for (const e of entries) out += formatListLine(e, format);
  return out;
}

/** One line of a list in `format` (for csv, without the header). */
export function formatListLine(e: WritableEntry, format: ListFormat): string {
  const problem = hashProblem(e.hash);
  if (problem) throw new TypeError(`cannot write ${JSON.stringify(e.hash)}: ${problem}`);
  const hash = e.hash.toLowerCase();
  switch (format) {
    case "plain":
      // metadata is one line: newlines would break the format
      return e.metadata !== undefined && e.metadata !== "" ? `${hash},${e.metadata.replace(/[\r\n]+/g, " ")}\n` : `${hash}\n`;
    case "csv":
      return `${hash},${csvQuote(e.metadata ?? "")}\n`;
    case "ndjson":
      return JSON.stringify(e.metadata !== undefined ? { hash, metadata: e.metadata } : { hash }) + "\n";
  }
}
