/**
 * `hashsafe hash [options] <paths...>`: PDQ hashes of image files and folders.
 */
import { type Command, Option } from "commander";
import { DEFAULT_MAX_PIXELS } from "../../image/limits.ts";
import { DIHEDRAL_NAMES, type PdqMode } from "../../pdq/index.ts";
import { alphaOption, errorText, type FileRecord, defaultJobs, hashEntries, transparencyWarning } from "../hashing.ts";
import { tr } from "../lang.ts";
import { defaultFormat, invalidOption, parseFormat, parsePositiveInt, RecordWriter, Sink, UsageError } from "../output.ts";
import { startProgress } from "../progress.ts";
import { EXIT } from "../exit.ts";
import { collectInputs, type WalkEntry } from "../walk.ts";
import { picturesOnly, skippedSummary } from "../pictures.ts";
import { md5OfFile } from "../hash-inputs.ts";
import { type AlphaMode, tryReadHead } from "../../image/node.ts";
import { isVideo } from "../../image/sniff.ts";

export interface HashCommandOptions {
  format?: string;
  mode: PdqMode;
  orient: boolean;
  dihedral?: boolean;
  minQuality: number;
  maxPixels: number;
  jobs: number;
  output?: string;
  alpha: AlphaMode;
}

/** The JSON record of one file, as `hash` prints it. */
export interface HashRecord extends Record<string, unknown> {
  path: string;
  hash?: string;
  quality?: number;
  width?: number;
  height?: number;
  mode?: PdqMode;
  orientation?: number;
  lowQuality?: true;
  /** Some pixel is transparent (alpha under 255): see `--alpha`. */
  transparent?: true;
  /** "md5" for a video (MD5 of the file's bytes, as StopNCII hashes videos); absent for PDQ. */
  type?: "md5";
  dihedral?: Record<string, string>;
  error?: { code: string; message: string };
}

export function toHashRecord(rec: FileRecord, minQuality: number): HashRecord {
  if (rec.error) return { path: rec.path, error: { code: rec.error.code, message: rec.error.message } };
  const r = rec.result;
  const out: HashRecord = {
    path: rec.path,
    hash: r.hash,
    quality: r.quality,
    width: r.width,
    height: r.height,
    mode: r.mode,
    orientation: r.orientation,
  };
  if (r.quality < minQuality) out.lowQuality = true;
  if (r.transparent) out.transparent = true;
  if (r.dihedral) out.dihedral = r.dihedral;
  return out;
}

function textLine(rec: HashRecord): string | null {
  if (rec.error) return null; // errors go to stderr
  let line = `${rec.hash}  ${rec.path}`;
  if (rec.dihedral) {
    for (const name of DIHEDRAL_NAMES.slice(1)) line += `\n  ${name.padEnd(11)} ${rec.dihedral[name]}`;
  }
  return line;
}

function csvColumns(dihedral: boolean): string[] {
  const cols = ["path", "hash", "quality", "width", "height", "mode", "orientation", "lowQuality"];
  if (dihedral) cols.push(...DIHEDRAL_NAMES.map((n) => `dihedral.${n}`));
  cols.push("error.code", "error.message");
  return cols;
}

function say(line: string): void {
  process.stderr.write(`hashsafe: ${line}\n`);
}

export async function runHash(paths: string[], opts: HashCommandOptions): Promise<number> {
  const sink = new Sink(opts.output);
  const format = parseFormat(opts.format, ["text", "json", "ndjson", "csv"]) ?? defaultFormat(sink.isTerminal);
  const writer = new RecordWriter<HashRecord>(sink, format, csvColumns(Boolean(opts.dihedral)), textLine);
  // Folders give pictures and videos only (the rest: one summary line); videos get the MD5 of their bytes.
  const only = await picturesOnly(await collectInputs(paths), ["video"]);
  const entries: WalkEntry[] = [];
  const videos: string[] = [];
  for (let i = 0; i < only.entries.length; i++) {
    const e = only.entries[i];
    const head = e.error ? null : only.kinds.get(i) === "video" ? null : await tryReadHead(e.path);
    if (!e.error && (only.kinds.get(i) === "video" || (head !== null && isVideo(head)))) videos.push(e.path);
    else entries.push(e);
  }
  const skipped = skippedSummary(only.skipped);
  if (skipped) say(skipped);
  const progress = startProgress(entries.length, tr("cli.progress.hashing"));
  let failed = 0;
  let weak = 0;
  try {
    await hashEntries(
      entries,
      { mode: opts.mode, orient: opts.orient, dihedral: opts.dihedral, maxPixels: opts.maxPixels, jobs: opts.jobs, alpha: opts.alpha },
      async (rec) => {
        const out = toHashRecord(rec, opts.minQuality);
        if (rec.error) {
          failed++;
          progress.say(`hashsafe: ${rec.path}: ${errorText(rec.error)}`);
        } else {
          if (out.transparent) progress.say(`hashsafe: ${transparencyWarning(rec.path, opts.alpha)}`);
          if (out.lowQuality) {
            weak++;
            progress.say(`hashsafe: ${tr("cli.hash.weak", { path: rec.path, quality: out.quality ?? 0, min: opts.minQuality })}`);
          }
        }
        // Records for a terminal share it with the bar; elsewhere they do not.
        if (sink.isTerminal) await progress.around(() => writer.write(out));
        else await writer.write(out);
        progress.tick();
      },
    );
    for (const v of videos) {
      try {
        await writer.write({ path: v, type: "md5", hash: await md5OfFile(v) });
      } catch (err) {
        failed++;
        const message = err instanceof Error ? err.message : String(err);
        say(`${v}: ${message}`);
        await writer.write({ path: v, error: { code: "READ_ERROR", message } });
      }
    }
  } finally {
    progress.stop();
    await writer.end();
  }
  entries.push(...videos.map((path) => ({ path })));
  const hashed = entries.length - failed;
  if (entries.length === 0) {
    say(tr("cli.hash.noFiles"));
    return EXIT.PARTIAL;
  }
  if (failed > 0 || weak > 0 || entries.length > 1) {
    const parts = [tr("cli.hash.summary", { hashed, count: entries.length })];
    if (weak) parts.push(tr("cli.hash.summaryWeak", { count: weak }));
    if (failed) parts.push(tr("cli.hash.summaryFailed", { count: failed }));
    if (format === "text" || failed) say(parts.join(", "));
  }
  return failed > 0 ? EXIT.PARTIAL : EXIT.OK;
}

function parseMinQuality(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 100) throw invalidOption("--min-quality", tr("cli.usage.expect.range", { min: 0, max: 100 }), v);
  return n;
}

export function registerHash(program: Command): void {
  program
    .command("hash")
    .description(tr("cli.help.hash"))
    .argument("<paths...>", tr("cli.help.hashPaths"))
    .addOption(new Option("--format <format>", tr("cli.help.formatRecords")))
    .addOption(new Option("--mode <mode>", tr("cli.help.mode")).choices(["full", "squash512"]).default("full"))
    .option("--no-orient", tr("cli.help.noOrient"))
    .addOption(alphaOption())
    .option("--dihedral", tr("cli.help.dihedral"))
    .option("--min-quality <n>", tr("cli.help.minQualityHash"), parseMinQuality, 50)
    .option("--max-pixels <n>", tr("cli.help.maxPixels"), parsePositiveInt("--max-pixels"), DEFAULT_MAX_PIXELS)
    .option("--jobs <n>", tr("cli.help.jobs"), parsePositiveInt("--jobs"), defaultJobs())
    .option("-o, --output <file>", tr("cli.help.output"))
    .action(async (paths: string[], opts: HashCommandOptions) => {
      process.exitCode = await runHash(paths, opts);
    });
}
