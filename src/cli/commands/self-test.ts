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
    ? `${r.images}/${r.images} exact in both modes`
    : `NOT EXACT: full ${r.exact.full}/${r.images}, squash512 ${r.exact.squash512}/${r.images} exact`;
  return `${head} (hash, quality and 8 dihedral hashes); decoder: ${decoder}; ${(r.durationMs / 1000).toFixed(1)} s`;
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
    process.stderr.write(`hashsafe: self-test could not run: ${(err as Error).message}\n`);
    return 2;
  }
  if (format === "json") {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`${selfTestVerdict(report)}\n`);
    for (const m of report.mismatches.slice(0, 20)) {
      process.stdout.write(`  ${m.file} ${m.mode} ${m.field}: expected ${m.expected}, got ${m.got}\n`);
    }
    if (report.mismatches.length > 20) process.stdout.write(`  ... and ${report.mismatches.length - 20} more\n`);
    if (!report.ok) {
      process.stdout.write(
        "This installation does not reproduce the reference exactly: its image decoder differs. Hashes made here may sit a few bits from other platforms' hashes of the same files.\n",
      );
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
