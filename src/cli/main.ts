/**
 * CLI entry: parse argv, run the command, return the exit status.
 * Usage errors exit 1; commands set their own status (see EXIT).
 */
import { CommanderError } from "commander";
import { createProgram, EXIT } from "./program.ts";

export async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with exit code 0; usage errors with 1.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    process.stderr.write(`hashsafe: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.PARTIAL;
  }
}
