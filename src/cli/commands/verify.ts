/**
 * `hashsafe verify --hashes THEIRS [images or folders...]`: checks another
 * PDQ implementation's hashes against ours, image by image, or (with
 * `--conformance`) against the reference's hashes of the bundled
 * conformance set. Exit 0 when every image passes, 1 when some do not,
 * 2 on errors (a bad list, an unreadable image, a usage mistake).
 */
import path from "node:path";
import { type Command, Option } from "commander";
import { loadConformanceSet } from "../../conformance/data.ts";
import { type OurHash, type TheirHash, type VerifyRecord, type VerifySummary, verifyHashes } from "../../conformance/verify.ts";
import { DEFAULT_MAX_PIXELS } from "../../image/limits.ts";
import { decodeImage } from "../../image/node.ts";
import { readHashList } from "../../match/lists.ts";
import { hashPixels, type PdqMode } from "../../pdq/index.ts";
import { csvRow, invalidOption, parseFormat, requiredOption, UsageError } from "../output.ts";
import { collectInputs } from "../walk.ts";
import { listProblemText, retellTail, tr } from "../lang.ts";

export interface VerifyOptions {
  hashes?: string;
  conformance?: boolean;
  mode: PdqMode;
  orient: boolean;
  maxDistance: string;
  format?: string;
  jobs?: string;
}

const EXIT_PASS = 0;
const EXIT_FAIL = 1;
const EXIT_ERROR = 2;

function say(line: string): void {
  process.stderr.write(`hashsafe: ${line}\n`);
}

/** Their list's name for an image: `path`, or `quality,path` as pdq-photo-hasher prints it. */
function theirKey(metadata: string): string {
  const m = /^\s*\d{1,3}\s*,(.+)$/.exec(metadata);
  return (m ? m[1] : metadata).trim();
}

async function ourHashes(args: readonly string[], mode: PdqMode, orient: boolean, jobs: number): Promise<OurHash[]> {
  const entries = await collectInputs(args);
  const roots = args.map((a) => path.resolve(a));
  const out: OurHash[] = new Array(entries.length);
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const i = next++;
      const e = entries[i];
      const abs = path.resolve(e.path);
      const keys = [path.relative(process.cwd(), abs), abs, ...roots.filter((r) => abs.startsWith(r + path.sep)).map((r) => path.relative(r, abs))];
      if (e.error) {
        out[i] = { file: e.path, keys, error: e.error.message };
        continue;
      }
      try {
        const px = await decodeImage(e.path, { orient, maxPixels: DEFAULT_MAX_PIXELS });
        const r = hashPixels(px, { mode, dihedral: true });
        out[i] = { file: e.path, keys, hash: r.hash, dihedral: r.dihedral };
      } catch (err) {
        out[i] = { file: e.path, keys, error: err instanceof Error ? err.message : String(err) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  return out;
}

function statusWords(r: VerifyRecord, max: number): string {
  switch (r.status) {
    case "exact":
      return tr("cli.verify.exact");
    case "within":
      return tr("cli.verify.within", { max });
    case "over":
      return tr("cli.verify.over");
    case "missing-theirs":
      return tr("cli.verify.missingTheirs");
    case "missing-ours":
      return tr("cli.verify.missingOurs");
    default:
      return tr("cli.verify.error");
  }
}

function textSummary(s: VerifySummary): string {
  const lines = [
    tr("cli.verify.summary", {
      count: s.total,
      exact: s.exact,
      within: s.within,
      max: s.maxDistance,
      over: s.over,
      missingTheirs: s.missingTheirs,
      missingOurs: s.missingOurs,
      errors: s.errors,
    }),
  ];
  const hist = Object.entries(s.histogram).map(([d, n]) => `${d}: ${n}`);
  if (hist.length) lines.push(tr("cli.verify.distances", { list: hist.join(", ") }));
  if (s.worst.length) lines.push(tr("cli.verify.worst", { list: s.worst.map((w) => `${w.file} (${w.distance})`).join(", ") }));
  for (const [kind, n] of Object.entries(s.diagnoses)) lines.push(tr("cli.verify.diagnosis", { count: n, kind }));
  lines.push(s.pass ? tr("cli.verify.pass", { max: s.maxDistance }) : tr("cli.verify.fail"));
  return lines.join("\n") + "\n";
}

const CSV_COLUMNS = ["file", "status", "distance", "ours", "theirs", "theirsLine", "diagnosis", "error"];

export async function runVerify(args: string[], opts: VerifyOptions): Promise<number> {
  let format;
  let maxDistance: number;
  try {
    format = parseFormat(opts.format, ["text", "json", "ndjson", "csv"]) ?? "text";
    maxDistance = Number(opts.maxDistance);
    if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > 256) {
      throw invalidOption("--max-distance", tr("cli.usage.expect.range", { min: 0, max: 256 }), String(opts.maxDistance));
    }
    if (!opts.hashes) throw requiredOption("--hashes <list>", tr("cli.verify.hashesWhat"));
    if (opts.conformance && args.length) throw new UsageError(tr("cli.verify.conformanceNoImages"));
    if (!opts.conformance && !args.length) throw new UsageError(tr("cli.verify.nothing"));
  } catch (err) {
    say(`${(err as Error).message}\n${tr("cli.help.afterError")}`);
    return EXIT_ERROR;
  }
  let errors = false;
  let theirs: TheirHash[];
  try {
    const list = await readHashList(opts.hashes, { anyBits: true });
    for (const p of list.problems) say(listProblemText(p));
    if (list.problemCount > list.problems.length) say(`${opts.hashes}: ${tr("cli.inputs.moreBad", { count: list.problemCount - list.problems.length })}`);
    if (list.problemCount) errors = true;
    const unnamed = list.entries.filter((e) => !e.metadata);
    if (unnamed.length) {
      say(tr("cli.verify.unnamed", { file: opts.hashes, line: unnamed[0].line }));
      errors = true;
    }
    theirs = list.entries.filter((e) => e.metadata).map((e) => ({ key: theirKey(e.metadata!), hash: e.hash, line: e.line }));
  } catch (err) {
    say(retellTail("cli.listError.", (err as Error).message));
    return EXIT_ERROR;
  }
  let ours: OurHash[];
  if (opts.conformance) {
    const set = await loadConformanceSet();
    ours = set.rows
      .filter((r) => r.mode === opts.mode)
      .map((r) => ({ file: r.file, keys: [`images/${r.file}`, `fixtures/conformance/images/${r.file}`], hash: r.hash, dihedral: r.dihedral }));
  } else {
    ours = await ourHashes(args, opts.mode, opts.orient, Number(opts.jobs ?? 2));
  }
  const { records, summary } = verifyHashes(ours, theirs, maxDistance);
  for (const r of records) if (r.status === "error") say(`${r.file}: ${r.error}`);
  const out = process.stdout;
  if (format === "json") {
    out.write(`${JSON.stringify({ summary, files: records }, null, 2)}\n`);
  } else if (format === "ndjson") {
    for (const r of records) out.write(`${JSON.stringify(r)}\n`);
    out.write(`${JSON.stringify({ summary })}\n`);
  } else if (format === "csv") {
    out.write(csvRow(CSV_COLUMNS));
    for (const r of records) {
      out.write(csvRow([r.file, r.status, r.distance, r.ours, r.theirs, r.theirsLine, r.diagnosis?.kind, r.error]));
    }
    process.stderr.write(textSummary(summary));
  } else {
    for (const r of records) {
      if (r.status === "exact") continue;
      let line = `${statusWords(r, maxDistance)}: ${r.file}`;
      if (r.distance !== undefined) line += `  (${tr("cli.verify.bits", { count: r.distance })})`;
      if (r.diagnosis) line += `\n  ${r.diagnosis.message}; ${tr("cli.verify.undone", { count: r.diagnosis.distance })}`;
      out.write(`${line}\n`);
    }
    out.write(textSummary(summary));
  }
  if (errors || summary.errors) return EXIT_ERROR;
  return summary.pass ? EXIT_PASS : EXIT_FAIL;
}

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description(tr("cli.help.verify"))
    .argument("[paths...]", tr("cli.help.verifyPaths"))
    .option("--hashes <list>", tr("cli.help.verifyHashes"))
    .option("--conformance", tr("cli.help.verifyConformance"))
    .addOption(new Option("--mode <mode>", tr("cli.help.verifyMode")).choices(["full", "squash512"]).default("full"))
    .option("--no-orient", tr("cli.help.verifyNoOrient"))
    .option("--max-distance <n>", tr("cli.help.verifyMaxDistance"), "0")
    .option("--format <format>", tr("cli.help.formatAll"), "text")
    .option("--jobs <n>", tr("cli.help.jobs"), "2")
    .action(async (paths: string[], opts: VerifyOptions) => {
      process.exitCode = await runVerify(paths, opts);
    });
}
