/**
 * `hashsafe cases`: the cases this device has receipts for (server, id,
 * date, how many hashes), read from the private receipts; nothing is sent.
 */
import { type Command, Option } from "commander";
import { listReceipts } from "../../client/receipts.ts";
import { receiptsDir } from "../../client/paths.ts";
import { tr } from "../lang.ts";
import { printJson } from "../sharing.ts";

export async function runCases(opts: { format?: string }): Promise<number> {
  const receipts = await listReceipts();
  if (opts.format === "json") {
    printJson(
      receipts.map((r) => ({
        caseId: r.caseId,
        server: r.server,
        createdAt: r.createdAt,
        hashes: r.hashes.length,
        withdrawnAt: r.withdrawnAt ?? null,
      })),
    );
    return 0;
  }
  if (receipts.length === 0) {
    process.stdout.write(`${tr("cli.cases.none", { dir: receiptsDir() })}\n`);
    return 0;
  }
  process.stdout.write(`${tr("cli.cases.title", { count: receipts.length, dir: receiptsDir() })}\n`);
  for (const r of receipts) {
    const state = r.withdrawnAt ? tr("cli.cases.withdrawn", { date: r.withdrawnAt.slice(0, 10) }) : tr("cli.cases.active");
    process.stdout.write(
      `  ${r.caseId}  ${r.createdAt.slice(0, 10)}  ${tr("cli.cases.hashes", { count: r.hashes.length })}  ${state}  ${r.server}\n`,
    );
  }
  process.stdout.write(`${tr("cli.cases.next")}\n`);
  return 0;
}

export function registerCases(program: Command): void {
  program
    .command("cases")
    .description(tr("cli.help.cases"))
    .addOption(new Option("--format <format>", tr("cli.help.formatTextJson")).choices(["text", "json"]).default("text"))
    .action(async (opts: { format?: string }) => {
      process.exitCode = await runCases(opts);
    });
}
