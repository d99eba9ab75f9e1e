/**
 * The commander program: one file per command under ./commands, registered here.
 */
import { Command } from "commander";
import { VERSION } from "../version.ts";
import { registerHash } from "./commands/hash.ts";

export { EXIT } from "./exit.ts";

export function createProgram(): Command {
  const program = new Command("hashsafe")
    .description(
      "Protect private images by hash: PDQ hashes are computed on this machine, and only hashes ever leave it.",
    )
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ outputError: (str, write) => write(str) });
  registerHash(program);
  return program;
}
