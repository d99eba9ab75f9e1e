/**
 * `hashsafe index build <lists...> -o bank.idx`: read hash lists once into a
 * saved multi-index-hashing index, so `match --against bank.idx` loads a large
 * bank in well under a second instead of parsing it each time.
 */
import type { Command } from "commander";
import { readListsIntoIndex } from "../../match/bank.ts";
import { formatProblem } from "../../match/lists.ts";
import { saveIndexFile } from "../../match/mih-file.ts";
import { say } from "./match.ts";
import { tr } from "../lang.ts";

export interface IndexBuildOptions {
  output?: string;
  strict?: boolean;
}

export async function runIndexBuild(lists: string[], opts: IndexBuildOptions): Promise<number> {
  if (!opts.output) {
    say("-o, --output <file> is required: where to write the index\n(run with --help for usage)");
    return 2;
  }
  const t0 = performance.now();
  let built;
  try {
    built = await readListsIntoIndex(lists, { strict: opts.strict });
  } catch (err) {
    say(err instanceof Error ? err.message : String(err));
    return 2;
  }
  for (const p of built.problems) say(`${formatProblem(p)} (skipped)`);
  if (built.problemCount > built.problems.length) say(`and ${built.problemCount - built.problems.length} more bad lines (skipped)`);
  if (built.count === 0) {
    say("no usable hashes in the given lists: no index written");
    return 2;
  }
  try {
    await saveIndexFile(built.index, opts.output, { labels: (id) => built.labels[id] });
  } catch (err) {
    say(`${opts.output}: cannot write the index (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return 2;
  }
  const s = ((performance.now() - t0) / 1000).toFixed(2);
  say(
    `${opts.output}: ${built.count} hash${built.count === 1 ? "" : "es"} from ${lists.length} list${lists.length === 1 ? "" : "s"} in ${s} s` +
      (built.problemCount ? `, ${built.problemCount} bad line${built.problemCount === 1 ? "" : "s"} skipped` : ""),
  );
  return built.problemCount > 0 ? 2 : 0;
}

export function registerIndex(program: Command): void {
  const index = program.command("index").description(tr("cli.help.index"));
  index
    .command("build")
    .description(tr("cli.help.indexBuild"))
    .argument("<lists...>", tr("cli.help.indexLists"))
    .option("-o, --output <file>", tr("cli.help.indexOutput"))
    .option("--strict", tr("cli.help.indexStrict"))
    .action(async (lists: string[], opts: IndexBuildOptions) => {
      process.exitCode = await runIndexBuild(lists, opts);
    });
}
