/**
 * `hashsafe self-test`: hashes the bundled conformance set with this
 * machine's decoder, in both modes, and says whether every hash, quality and
 * dihedral hash equals the reference's. Exit 0 only when all are exact.
 */
import type { Command } from "commander";
import { type SelfTestReport, selfTest } from "../../conformance/self-test.ts";
import { parseFormat } from "../output.ts";
import { tr } from "../lang.ts";

export function selfTestVerdict(r: SelfTestReport): string {
  const decoder = Object.entries(r.decoder)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  const head = r.ok
    ? tr("cli.selfTest.exact", { count: r.images })
    : tr("cli.selfTest.notExact", { full: r.exact.full, squash: r.exact.squash512, count: r.images });
  return tr("cli.selfTest.verdict", { head, decoder, seconds: (r.durationMs / 1000).toFixed(1) });
}

export async function runSelfTest(opts: { format?: string; dir?: string }): Promise<number> {
  let format;
  try {
    format = parseFormat(opts.format, ["text", "json"]) ?? "text";
  } catch (err) {
    process.stderr.write(`hashsafe: ${(err as Error).message}\n`);
    return 2;
  }
  let report: SelfTestReport;
  try {
    report = await selfTest({ dir: opts.dir });
  } catch (err) {
    process.stderr.write(`hashsafe: ${tr("cli.selfTest.couldNotRun", { error: (err as Error).message })}\n`);
    return 2;
  }
  if (format === "json") {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`${selfTestVerdict(report)}\n`);
    for (const m of report.mismatches.slice(0, 20)) {
      process.stdout.write(`  ${tr("cli.selfTest.mismatch", { file: m.file, mode: m.mode, field: m.field, expected: m.expected, got: m.got })}\n`);
    }
    if (report.mismatches.length > 20) process.stdout.write(`  ... ${tr("cli.api.more", { count: report.mismatches.length - 20 })}\n`);
    if (!report.ok) {
      process.stdout.write(`${tr("cli.selfTest.differs")}\n`);
    }
  }
  return report.ok ? 0 : 1;
}

export function registerSelfTest(program: Command): void {
  program
    .command("self-test")
    .description(tr("cli.help.selfTest"))
    .option("--format <format>", tr("cli.help.formatTextJson"), "text")
    .option("--dir <folder>", tr("cli.help.selfTestDir"))
    .action(async (opts: { format?: string; dir?: string }) => {
      process.exitCode = await runSelfTest(opts);
    });
}
