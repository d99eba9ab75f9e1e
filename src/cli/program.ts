/**
 * The commander program: one file per command under ./commands, registered here.
 */
import { Command } from "commander";
import { VERSION } from "../version.ts";
import { registerHash } from "./commands/hash.ts";
import { registerSubmit } from "./commands/submit.ts";
import { registerStatus } from "./commands/status.ts";
import { registerWithdraw } from "./commands/withdraw.ts";
import { registerOutbox } from "./commands/outbox.ts";
import { registerFeed } from "./commands/feed.ts";
import { registerLookup } from "./commands/lookup.ts";
import { registerServe } from "./commands/serve.ts";

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
  registerSubmit(program);
  registerStatus(program);
  registerWithdraw(program);
  registerOutbox(program);
  registerFeed(program);
  registerLookup(program);
  registerServe(program);
  return program;
}
