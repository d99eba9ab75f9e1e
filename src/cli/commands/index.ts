/**
 * `hashsafe index build <lists...> -o bank.idx`: read hash lists once into a
 * saved multi-index-hashing index, so `match --against bank.idx` loads a large
 * bank in well under a second instead of parsing it each time.
 */
import type { Command } from "commander";
import { readListsIntoIndex } from "../../match/bank.ts";
import { saveIndexFile } from "../../match/mih-file.ts";
import { say } from "./match.ts";
import { listProblemText, retellTail, tr } from "../lang.ts";

export interface IndexBuildOptions {
  output?: string;
  strict?: boolean;
}

export async function runIndexBuild(lists: string[], opts: IndexBuildOptions): Promise<number> {
  if (!opts.output) {
    say(`${tr("cli.usage.required", { name: "-o, --output <file>", what: tr("cli.index.outputWhat") })}\n${tr("cli.help.afterError")}`);
    return 2;
  }
  const t0 = performance.now();
  let built;
  try {
    built = await readListsIntoIndex(lists, { strict: opts.strict });
  } catch (err) {
    say(err instanceof Error ? retellTail("cli.listError.", err.message) : String(err));
    return 2;
  }
  for (const p of built.problems) say(`${listProblemText(p)} ${tr("cli.index.skipped")}`);
  if (built.problemCount > built.problems.length) say(`${tr("cli.inputs.moreBad", { count: built.problemCount - built.problems.length })} ${tr("cli.index.skipped")}`);
  if (built.count === 0) {
    say(tr("cli.index.empty"));
    return 2;
  }
  try {
    await saveIndexFile(built.index, opts.output, { labels: (id) => built.labels[id] });
  } catch (err) {
    say(tr("cli.index.cannotWrite", { file: opts.output, error: (err as NodeJS.ErrnoException).code ?? String(err) }));
    return 2;
  }
  const s = ((performance.now() - t0) / 1000).toFixed(2);
  say(
    tr("cli.index.done", { file: opts.output, count: built.count, lists: tr("cli.index.lists", { count: lists.length }), seconds: s }) +
      (built.problemCount ? `, ${tr("cli.index.badSkipped", { count: built.problemCount })}` : ""),
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
