/**
 * `hashsafe compare <a> <b>`: the Hamming distance between two hashes or
 * images, and whether it is a match. Exit 0: match, 1: no match, 2: errors.
 */
import type { Command } from "commander";
import { DEFAULT_MAX_PIXELS } from "../../image/limits.ts";
import { hamming, hashProblem, parseHash, PDQ_HEX as HEX64 } from "../../match/hash256.ts";
import { type ComparisonRecord, INPUT_COLUMNS, parseFormat, RECORD_FORMATS, RecordWriter, Sink } from "../output.ts";
import { imageQuery, MATCH_EXIT, parseMode, parseThreshold, problemText, type Query, say } from "./match.ts";
import type { AlphaMode } from "../../image/node.ts";
import { alphaOption, transparencyWarning } from "../hashing.ts";
import { tr } from "../lang.ts";

/** CSV columns of `compare`: the first input, the second (`against`), and the comparison. */
export const COMPARE_COLUMNS = [...INPUT_COLUMNS, "against.path", "against.hash", "against.quality", "distance", "transform", "threshold", "matched"];

export interface CompareOptions {
  threshold?: string;
  dihedral?: boolean;
  trimBorders?: boolean;
  format?: string;
  mode?: string;
  orient: boolean;
  alpha?: AlphaMode;
}


export async function runCompare(a: string, b: string, opts: CompareOptions): Promise<number> {
  let threshold: number;
  let mode;
  let format;
  try {
    threshold = parseThreshold(opts.threshold);
    mode = parseMode(opts.mode);
    format = parseFormat(opts.format, RECORD_FORMATS) ?? "text";
  } catch (err) {
    say(`${(err as Error).message}\n${tr("cli.help.afterError")}`);
    return MATCH_EXIT.ERROR;
  }
  const robust = Boolean(opts.dihedral || opts.trimBorders);
  const side = async (x: string): Promise<Query | string> => {
    if (HEX64.test(x)) {
      const problem = hashProblem(x);
      if (problem) return `${x}: ${problem}`;
      const hash = x.toLowerCase();
      return { source: hash, input: { hash }, kind: "hash", variants: [{ hash, transform: "original" }] };
    }
    try {
      return await imageQuery(x, x, { dihedral: opts.dihedral, trimBorders: opts.trimBorders, mode, orient: opts.orient, maxPixels: DEFAULT_MAX_PIXELS, alpha: opts.alpha });
    } catch (err) {
      const msg = problemText(err);
      return /^[0-9a-fA-F]+$/.test(x) ? `${x}: not a PDQ hash (${x.length} hex digits, a PDQ hash has 64) and not a file` : `${x}: ${msg}`;
    }
  };
  const [qa, qb] = await Promise.all([side(a), side(b)]);
  let failed = false;
  for (const q of [qa, qb]) {
    if (typeof q === "string") {
      say(q);
      failed = true;
    }
  }
  if (failed) return MATCH_EXIT.ERROR;
  for (const q of [qa, qb] as Query[]) if (q.transparent) say(transparencyWarning(q.source, opts.alpha));
  let left = qa as Query;
  let right = qb as Query;
  if (robust) {
    if (left.kind === "hash" && right.kind === "hash") {
      say(tr("cli.compare.needsImage"));
      return MATCH_EXIT.ERROR;
    }
    // The variants of one image against the plain hash of the other side.
    if (left.kind !== "image") [left, right] = [right, left];
  }
  const target = parseHash(right.variants[0].hash);
  let best = { distance: Infinity, transform: "original", hash: left.variants[0].hash };
  for (const v of robust ? left.variants : left.variants.slice(0, 1)) {
    const d = hamming(parseHash(v.hash), target);
    if (d < best.distance) best = { distance: d, transform: v.transform, hash: v.hash };
  }
  const match = best.distance <= threshold;
  const quality = { a: (qa as Query).quality, b: (qb as Query).quality };
  // One record: the first input, the second as `against`; `transform` is of the image side that was turned.
  const rec: ComparisonRecord = {
    ...(qa as Query).input,
    against: (qb as Query).input,
    distance: best.distance,
    transform: best.transform,
    threshold,
    matched: match,
  };
  const writer = new RecordWriter<ComparisonRecord>(new Sink(), format, COMPARE_COLUMNS, () => {
    let line = `distance ${best.distance}: ${match ? "match" : "no match"} (threshold ${threshold})`;
    if (robust) line += best.transform === "original" ? ", as is" : `, after ${best.transform} of ${left.source}`;
    return line;
  });
  await writer.write(rec);
  await writer.end();
  for (const [name, q] of [[a, quality.a], [b, quality.b]] as const) {
    if (q !== undefined && q < 50) say(tr("cli.compare.weak", { source: name, quality: q }));
  }
  return match ? MATCH_EXIT.MATCH : MATCH_EXIT.NO_MATCH;
}

export function registerCompare(program: Command): void {
  program
    .command("compare")
    .description(tr("cli.help.compare"))
    .argument("[a]", tr("cli.help.compareArg"))
    .argument("[b]", tr("cli.help.compareArg"))
    .allowExcessArguments() // counted below, for a clearer message than commander's
    .option("--threshold <n>", tr("cli.help.threshold"))
    .option("--dihedral", tr("cli.help.compareDihedral"))
    .option("--trim-borders", tr("cli.help.compareTrim"))
    .option("--format <format>", tr("cli.help.formatCompare"))
    .option("--mode <mode>", tr("cli.help.mode"))
    .option("--no-orient", tr("cli.help.noOrient"))
    .addOption(alphaOption())
    .action(async (a: string | undefined, b: string | undefined, opts: CompareOptions, cmd: Command) => {
      const extra = cmd.args.slice(2);
      const unknown = [a, b, ...extra].find((x) => x !== undefined && x.startsWith("-") && x.length > 1);
      if (unknown || a === undefined || b === undefined || extra.length > 0) {
        say(`${unknown ? tr("cli.usage.unknownOption", { option: unknown }) : tr("cli.compare.twoArgs")}\n${tr("cli.help.afterError")}`);
        process.exitCode = MATCH_EXIT.ERROR;
        return;
      }
      process.exitCode = await runCompare(a, b, opts);
    });
}
