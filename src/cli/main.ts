/**
 * CLI entry: parse argv, run the command, return the exit status.
 * Usage errors exit 2 (EXIT.USAGE) with a `hashsafe: ...` message, whatever
 * the command; commands set their own status (see EXIT).
 */
import { CommanderError, InvalidArgumentError } from "commander";
import { EXIT } from "./exit.ts";
import { UsageError } from "./output.ts";
import { chooseCliLang, tr } from "./lang.ts";
import { createProgram } from "./program.ts";

export async function main(argv: string[]): Promise<number> {
  // A closed pipe (`hashsafe hash dir | head`) is a normal way to stop reading.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? EXIT.OK);
    throw err;
  });
  chooseCliLang(argv);
  const program = await createProgram(argv);
  // on every subcommand too (commander does not pass it down to commands made before it), so that
  // a usage error anywhere exits EXIT.USAGE instead of commander's own process.exit(1)
  const override = (c: typeof program): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with exit code 0; usage errors with 1.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (err instanceof UsageError || err instanceof InvalidArgumentError) {
      process.stderr.write(`hashsafe: ${err.message}\n${tr("cli.help.afterError")}\n`);
      return EXIT.USAGE;
    }
    process.stderr.write(`hashsafe: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.PARTIAL;
  }
}
