/**
 * Output formats shared by the commands: text for people, json / ndjson / csv
 * for scripts. Records go to stdout or `-o FILE`; messages to stderr.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import { csvQuote } from "../match/lists.ts";
import { tr } from "./lang.ts";

export type OutputFormat = "text" | "json" | "ndjson" | "csv";

/** The formats of every record-printing command (`--format`). */
export const RECORD_FORMATS: readonly OutputFormat[] = ["text", "json", "ndjson", "csv"];

/** text on a terminal, ndjson when stdout is a pipe or a file. */
export function defaultFormat(toTerminal: boolean): OutputFormat {
  return toTerminal ? "text" : "ndjson";
}

/** One CSV field (RFC 4180 quoting, the one rule of src/match/lists.ts). */
export function csvField(v: unknown): string {
  if (v === undefined || v === null) return "";
  return csvQuote(typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v));
}

export function csvRow(values: readonly unknown[]): string {
  return values.map(csvField).join(",") + "\n";
}

/** A line-oriented sink: stdout or a file, with backpressure. */
export class Sink {
  private readonly stream: NodeJS.WritableStream;
  private readonly file: WriteStream | null;

  constructor(outputPath?: string) {
    this.file = outputPath ? createWriteStream(outputPath, { flags: "w" }) : null;
    this.stream = this.file ?? process.stdout;
  }

  /** True when the records go to a terminal. */
  get isTerminal(): boolean {
    return !this.file && Boolean(process.stdout.isTTY);
  }

  async write(text: string): Promise<void> {
    if (!this.stream.write(text)) await once(this.stream, "drain");
  }

  async close(): Promise<void> {
    if (this.file) {
      this.file.end();
      await once(this.file, "close");
    }
  }
}

/**
 * Writes a stream of records in one format. `json` collects them into one
 * array written at `end()`; the others write as they come.
 */
export class RecordWriter<T extends Record<string, unknown>> {
  private readonly all: T[] = [];
  private headerDone = false;

  constructor(
    private readonly sink: Sink,
    private readonly format: OutputFormat,
    private readonly csvColumns: readonly string[],
    private readonly textLine: (rec: T) => string | null,
  ) {}

  async write(rec: T): Promise<void> {
    switch (this.format) {
      case "json":
        this.all.push(rec);
        return;
      case "ndjson":
        return this.sink.write(JSON.stringify(rec) + "\n");
      case "csv":
        if (!this.headerDone) {
          this.headerDone = true;
          await this.sink.write(csvRow(this.csvColumns));
        }
        return this.sink.write(csvRow(this.csvColumns.map((c) => csvValue(rec, c))));
      case "text": {
        const line = this.textLine(rec);
        if (line !== null) await this.sink.write(line + "\n");
      }
    }
  }

  async end(): Promise<void> {
    if (this.format === "json") await this.sink.write(JSON.stringify(this.all, null, 2) + "\n");
    if (this.format === "csv" && !this.headerDone) await this.sink.write(csvRow(this.csvColumns));
    await this.sink.close();
  }
}

/** Column "a.b" reads rec.a.b; "a" reads rec.a. */
function csvValue(rec: Record<string, unknown>, column: string): unknown {
  let v: unknown = rec;
  for (const k of column.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** Parse `--format`, limited to what the command supports. */
export function parseFormat(value: string | undefined, allowed: readonly OutputFormat[]): OutputFormat | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(tr("cli.usage.unknownChoice", { value, choices: allowed.join(", ") }));
  }
  return value as OutputFormat;
}

/** A mistake in how the command was called (exit status 1). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * The one usage error for an option value that is not allowed, in the
 * person's language: `--jobs must be a positive whole number, not "0"`.
 * `expected` is a phrase of the catalogue (cli.usage.expect.*).
 */
export function invalidOption(name: string, expected: string, value: string): UsageError {
  return new UsageError(tr("cli.usage.invalid", { name, expected, value }));
}

/** The usage error for a required option that is missing: `what` says what it is for. */
export function requiredOption(name: string, what: string): UsageError {
  return new UsageError(tr("cli.usage.required", { name, what }));
}

/** Parse a positive integer option value. */
export function parsePositiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw invalidOption(name, tr("cli.usage.expect.positiveInt"), value);
    return n;
  };
}

/** Parse a whole number from `min` to `max` (an option's value). */
export function parseIntRange(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max) throw invalidOption(name, tr("cli.usage.expect.range", { min, max }), value);
    return n;
  };
}

// ---------------------------------------------------------------- records

/*
 * One vocabulary for the records of `hash`, `match`, `lookup` and `compare`
 * (docs/records.md). Every record names its input the same way:
 *   path      the file given (an image, or the hash list the hash came from);
 *             absent for a hash typed on the command line
 *   line      the line of that list (hashes from lists only)
 *   metadata  the rest of that list line (when it has any)
 *   hash      the input's PDQ hash (or MD5 in lookup), lowercase hex
 *   quality   PDQ quality, when known
 * and a comparison (match, lookup, compare) adds:
 *   against   what it was compared with: {hash, metadata} of a bank entry,
 *             {id} of a server's hash, {path, hash, quality} of compare's second input
 *   distance  Hamming distance (0 for MD5 equality)
 *   transform "original", a rotation/mirror (--dihedral), "trim", "trim+<rotation>"
 *   matched   whether distance <= the threshold
 */

/** The identity of an input and its hash, as every record gives it. */
export interface InputFields {
  path?: string;
  line?: number;
  metadata?: string;
  hash: string;
  quality?: number;
}

/** What an input was compared with. */
export interface AgainstFields {
  /** a server's hash id (lookup) */
  id?: string;
  path?: string;
  line?: number;
  metadata?: string;
  hash?: string;
  quality?: number;
}

/** A comparison record of match, lookup and compare. */
export interface ComparisonRecord extends InputFields, Record<string, unknown> {
  /** "pdq" or "md5" (lookup only: it also takes MD5 hashes of videos) */
  type?: "pdq" | "md5";
  against: AgainstFields;
  distance: number;
  transform: string;
  matched: boolean;
  /** the largest distance that counts as a match (compare) */
  threshold?: number;
}

/** The input fields in their fixed order, leaving out those that are unknown. */
export function inputFields(i: { path?: string; line?: number; metadata?: string | null; hash: string; quality?: number }): InputFields {
  const out = {} as InputFields;
  if (i.path !== undefined) out.path = i.path;
  if (i.line !== undefined) out.line = i.line;
  if (i.metadata !== undefined && i.metadata !== null && i.metadata !== "") out.metadata = i.metadata;
  out.hash = i.hash;
  if (i.quality !== undefined) out.quality = i.quality;
  return out;
}

/** How a person reads an input: `path:line`, `path`, or the hash itself. */
export function inputLabel(r: InputFields): string {
  if (r.path !== undefined) return r.line !== undefined ? `${r.path}:${r.line}` : r.path;
  return r.hash;
}

/** CSV columns of the input fields (every record command starts with these). */
export const INPUT_COLUMNS = ["path", "line", "metadata", "hash", "quality"] as const;
