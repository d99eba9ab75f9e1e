/**
 * The commander program: one file per command under ./commands, registered here.
 */
import { Command } from "commander";
import { VERSION } from "../version.ts";
import { registerHash } from "./commands/hash.ts";

/** Exit statuses shared by every command. */
export const EXIT = {
  OK: 0,
  /** a usage error (bad flag or argument) */
  USAGE: 1,
  /** some input could not be processed; the rest was */
  PARTIAL: 2,
} as const;

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
