/**
 * `hashsafe match <inputs...> --against <bank>`: check images, folders and
 * hash lists against a bank (hash lists or an index file), like grep: exit 0
 * when something matched, 1 when nothing did, 2 on errors.
 */
import { type Command, Option } from "commander";
import { DEFAULT_MAX_PIXELS } from "../../image/limits.ts";
import { type AlphaMode, decodeImage, tryReadHead } from "../../image/node.ts";
import { flatError, isFlat } from "../../image/flat.ts";
import { looksLikeText, sniffFormat } from "../../image/sniff.ts";
import { type Bank, loadBank } from "../../match/bank.ts";
import { hashProblem, PDQ_HEX as HEX64 } from "../../match/hash256.ts";
import { HashListError, readHashList } from "../../match/lists.ts";
import { type QueryVariant, queryVariants, type RobustHit, searchVariants } from "../../match/robust.ts";
import type { PdqMode } from "../../pdq/index.ts";
import { alphaOption, defaultJobs, errorText, transparencyWarning } from "../hashing.ts";
import { HashError } from "../../pdq/errors.ts";
import { listProblemText, retell, retellTail, tr } from "../lang.ts";
import {
  type ComparisonRecord,
  defaultFormat,
  INPUT_COLUMNS,
  inputFields,
  type InputFields,
  inputLabel,
  invalidOption,
  type OutputFormat,
  requiredOption,
  parseFormat,
  RECORD_FORMATS,
  RecordWriter,
  Sink,
  UsageError,
} from "../output.ts";
import { collectInputs, type WalkEntry } from "../walk.ts";

/** grep-like statuses of compare, match and lookup. */
export const MATCH_EXIT = { MATCH: 0, NO_MATCH: 1, ERROR: 2 } as const;

/** A record of `match` (docs/records.md): the input, the bank entry it matched, distance, transform. */
export type MatchRecord = ComparisonRecord;

/** CSV columns of `match`. */
export const MATCH_COLUMNS = [...INPUT_COLUMNS, "against.hash", "against.metadata", "distance", "transform", "matched"];

/** The text line of a comparison record: input, what it matched, distance, transform, metadata. */
export function comparisonText(r: ComparisonRecord): string {
  const against = r.against.id ?? r.against.hash ?? "";
  return [inputLabel(r), against, `d=${r.distance}`, r.transform, r.against.metadata ?? ""].filter((x) => x !== "").join("  ");
}

export interface QueryOptions {
  dihedral?: boolean;
  trimBorders?: boolean;
  mode: PdqMode;
  orient: boolean;
  maxPixels: number;
  alpha?: AlphaMode;
}

/** One thing to look up: an image (with its variants) or a hash from a list or the command line. */
export interface Query {
  source: string;
  /** the input as records name it */
  input: InputFields;
  kind: "image" | "hash";
  quality?: number;
  variants: QueryVariant[];
  /** An image with transparent parts. */
  transparent?: boolean;
}

export function say(line: string): void {
  process.stderr.write(`hashsafe: ${line}\n`);
}

/** A problem with how the command was called: message, and exit status 2 (as every usage error). */
export class MatchUsageError extends UsageError {}

export function parseThreshold(v: string | undefined, dflt = 31): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 256) throw invalidOption("--threshold", tr("cli.usage.expect.range", { min: 0, max: 256 }), v);
  return n;
}

export function parseQuality(v: string | undefined, dflt = 50): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 100) throw invalidOption("--min-quality", tr("cli.usage.expect.range", { min: 0, max: 100 }), v);
  return n;
}

export function parseMode(v: string | undefined): PdqMode {
  if (v === undefined || v === "full" || v === "squash512") return (v ?? "full") as PdqMode;
  throw invalidOption("--mode", tr("cli.usage.expect.oneOf", { choices: "full, squash512" }), v);
}


/** Decode an image and make its query variants; throws HashError (`FLAT` for a picture of one colour). */
export async function imageQuery(path: string | Uint8Array, source: string, opts: QueryOptions): Promise<Query> {
  const img = await decodeImage(path, { orient: opts.orient, maxPixels: opts.maxPixels, alpha: opts.alpha });
  const q = queryVariants(img, { dihedral: opts.dihedral, trimBorders: opts.trimBorders, mode: opts.mode });
  if (isFlat({ hash: q.variants[0].hash, quality: q.quality })) throw flatError();
  const input = inputFields({ path: source, hash: q.variants[0].hash, quality: q.quality });
  return { source, input, kind: "image", quality: q.quality, variants: q.variants, transparent: img.transparent ?? false };
}

/** A thrown error's message for a person (a flat picture's in their language). */
export function problemText(err: unknown): string {
  return err instanceof HashError ? errorText(err) : err instanceof Error ? err.message : String(err);
}

/** Run fn over items, `jobs` at a time, handing results to emit in input order. */
async function orderedPool<T, R>(items: readonly T[], jobs: number, fn: (t: T) => Promise<R>, emit: (r: R) => Promise<void>): Promise<void> {
  const done: (R | undefined)[] = new Array(items.length);
  const ready: boolean[] = new Array(items.length).fill(false);
  let next = 0;
  let emitted = 0;
  let chain = Promise.resolve();
  const flush = async () => {
    while (emitted < items.length && ready[emitted]) {
      const r = done[emitted] as R;
      done[emitted] = undefined;
      emitted++;
      await emit(r);
    }
  };
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      done[i] = await fn(items[i]);
      ready[i] = true;
      chain = chain.then(flush);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  await chain;
}

export interface MatchOptions {
  against?: string;
  threshold?: string;
  dihedral?: boolean;
  trimBorders?: boolean;
  minQuality?: string;
  format?: string;
  mode?: string;
  orient: boolean;
  strict?: boolean;
  maxPixels?: string;
  jobs?: string;
  output?: string;
  alpha?: AlphaMode;
}

export async function runMatch(inputs: string[], opts: MatchOptions): Promise<number> {
  let threshold: number;
  let minQuality: number;
  let mode: PdqMode;
  let format: OutputFormat | undefined;
  let jobs = defaultJobs();
  let maxPixels = DEFAULT_MAX_PIXELS;
  try {
    if (inputs.length === 0) throw new MatchUsageError(tr("cli.match.nothing"));
    if (!opts.against) throw requiredOption("--against <list|bank.idx>", tr("cli.match.againstWhat"));
    threshold = parseThreshold(opts.threshold);
    minQuality = parseQuality(opts.minQuality);
    mode = parseMode(opts.mode);
    format = parseFormat(opts.format, RECORD_FORMATS);
    if (opts.jobs !== undefined) {
      jobs = Number(opts.jobs);
      if (!Number.isInteger(jobs) || jobs < 1) throw invalidOption("--jobs", tr("cli.usage.expect.positiveInt"), opts.jobs);
    }
    if (opts.maxPixels !== undefined) {
      maxPixels = Number(opts.maxPixels);
      if (!Number.isInteger(maxPixels) || maxPixels < 1) throw invalidOption("--max-pixels", tr("cli.usage.expect.positiveInt"), opts.maxPixels);
    }
  } catch (err) {
    say(`${(err as Error).message}\n${tr("cli.help.afterError")}`);
    return MATCH_EXIT.ERROR;
  }

  let errors = 0;
  let bank: Bank;
  const bankHead = await tryReadHead(opts.against!);
  if (bankHead && sniffFormat(bankHead)) {
    say(tr("cli.match.bankIsImage", { file: opts.against! }));
    return MATCH_EXIT.ERROR;
  }
  try {
    bank = await loadBank([opts.against!], { strict: opts.strict });
  } catch (err) {
    say(err instanceof Error ? retellTail("cli.listError.", err.message) : String(err));
    return MATCH_EXIT.ERROR;
  }
  for (const p of bank.problems) say(`${listProblemText(p)} ${tr("cli.match.bankLineSkipped")}`);
  if (bank.problemCount > bank.problems.length) say(`${opts.against}: ${tr("cli.inputs.moreBad", { count: bank.problemCount - bank.problems.length })} ${tr("cli.match.bankWord")}`);
  errors += bank.problemCount;
  if (bank.index.size === 0) {
    say(tr("cli.match.bankEmpty", { file: opts.against! }));
    return MATCH_EXIT.ERROR;
  }

  const sink = new Sink(opts.output);
  const fmt = format ?? defaultFormat(sink.isTerminal);
  const writer = new RecordWriter<MatchRecord>(sink, fmt, MATCH_COLUMNS, comparisonText);
  const qopts: QueryOptions = { dihedral: opts.dihedral, trimBorders: opts.trimBorders, mode, orient: opts.orient, maxPixels, alpha: opts.alpha };
  let queries = 0;
  let matchedQueries = 0;
  let matches = 0;
  let weak = 0;
  let listQueriesWithOptions = false;

  const lookup = async (q: Query) => {
    if (q.transparent) say(transparencyWarning(q.source, opts.alpha));
    if (q.quality !== undefined && q.quality < minQuality) {
      weak++;
      say(tr("cli.match.weak", { source: q.source, quality: q.quality ?? 0, min: minQuality }));
      return;
    }
    queries++;
    const hits: RobustHit[] = searchVariants(bank.index, q.variants, threshold);
    if (hits.length) matchedQueries++;
    for (const h of hits) {
      matches++;
      const label = bank.label(h.id);
      const against = label ? { hash: bank.hash(h.id), metadata: label } : { hash: bank.hash(h.id) };
      await writer.write({ ...q.input, against, distance: h.distance, transform: h.transform, matched: true });
    }
  };

  try {
    // Inputs in order: hashes typed on the command line, files and folders.
    const entries: WalkEntry[] = [];
    for (const a of inputs) {
      if (HEX64.test(a)) entries.push({ path: a, hash: a.toLowerCase() } as WalkEntry & { hash: string });
      else entries.push(...(await collectInputs([a])));
    }
    // Consecutive images are decoded in parallel; lists are read in place.
    let batch: string[] = [];
    const flushImages = async () => {
      const files = batch;
      batch = [];
      await orderedPool(
        files,
        jobs,
        async (f): Promise<{ path: string; query?: Query; error?: string }> => {
          try {
            return { path: f, query: await imageQuery(f, f, qopts) };
          } catch (err) {
            return { path: f, error: problemText(err) };
          }
        },
        async (r) => {
          if (r.query) await lookup(r.query);
          else {
            errors++;
            say(`${r.path}: ${r.error}`);
          }
        },
      );
    };
    for (const e of entries) {
      const typed = (e as { hash?: string }).hash;
      if (typed !== undefined) {
        await flushImages();
        const problem = hashProblem(typed);
        if (problem) {
          errors++;
          say(`${typed}: ${retell("cli.listError.", problem)}`);
        } else await lookup({ source: typed, input: { hash: typed }, kind: "hash", variants: [{ hash: typed, transform: "original" }] });
        continue;
      }
      if (e.error) {
        await flushImages();
        errors++;
        say(`${e.path}: ${problemText(e.error)}`);
        continue;
      }
      const head = await tryReadHead(e.path);
      const isImage = head !== null && sniffFormat(head) !== null;
      if (isImage || head === null || head.length === 0 || !looksLikeText(head)) {
        batch.push(e.path);
        continue;
      }
      await flushImages();
      // A hash list: every good line is a query.
      let list;
      try {
        list = await readHashList(e.path, { strict: opts.strict });
      } catch (err) {
        errors++;
        say(err instanceof HashListError ? retellTail("cli.listError.", err.message) : `${e.path}: ${String(err)}`);
        continue;
      }
      for (const p of list.problems) say(listProblemText(p));
      if (list.problemCount > list.problems.length) say(`${e.path}: ${tr("cli.inputs.moreBad", { count: list.problemCount - list.problems.length })}`);
      errors += list.problemCount;
      if ((opts.dihedral || opts.trimBorders) && list.count > 0) listQueriesWithOptions = true;
      for (const x of list.entries) {
        await lookup({
          source: `${e.path}:${x.line}`,
          input: inputFields({ path: e.path, line: x.line, metadata: x.metadata, hash: x.hash, quality: x.quality }),
          kind: "hash",
          quality: x.quality,
          variants: [{ hash: x.hash, transform: "original" }],
        });
      }
    }
    await flushImages();
  } finally {
    await writer.end();
  }

  if (listQueriesWithOptions) {
    say(tr("cli.match.listsAsGiven"));
  }
  if (queries + weak === 0 && errors === 0) {
    say(tr("cli.match.noQueries"));
    return MATCH_EXIT.ERROR;
  }
  if (fmt === "text" || errors > 0) {
    const parts = [tr("cli.match.summary", { matched: matchedQueries, count: queries, matches: tr("cli.match.matches", { count: matches }), threshold })];
    if (weak) parts.push(tr("cli.match.summaryWeak", { count: weak }));
    if (errors) parts.push(tr("cli.match.summaryErrors", { count: errors }));
    say(parts.join(", "));
  }
  if (errors > 0) return MATCH_EXIT.ERROR;
  return matches > 0 ? MATCH_EXIT.MATCH : MATCH_EXIT.NO_MATCH;
}

export function registerMatch(program: Command): void {
  program
    .command("match")
    .description(tr("cli.help.match"))
    .argument("[inputs...]", tr("cli.help.matchInputs"))
    .option("--against <bank>", tr("cli.help.against"))
    .option("--threshold <n>", tr("cli.help.threshold"))
    .option("--dihedral", tr("cli.help.matchDihedral"))
    .option("--trim-borders", tr("cli.help.trimBorders"))
    .option("--min-quality <n>", tr("cli.help.minQualityMatch"))
    .addOption(new Option("--format <format>", tr("cli.help.formatRecords")))
    .option("--mode <mode>", tr("cli.help.mode"))
    .option("--no-orient", tr("cli.help.noOrient"))
    .addOption(alphaOption())
    .option("--strict", tr("cli.help.strict"))
    .option("--max-pixels <n>", tr("cli.help.maxPixels"))
    .option("--jobs <n>", tr("cli.help.jobs"))
    .option("-o, --output <file>", tr("cli.help.output"))
    .action(async (inputs: string[], opts: MatchOptions) => {
      process.exitCode = await runMatch(inputs, opts);
    });
}
