import type { Command } from "commander";
export function registerHash(program: Command): void {
  program.command("hash").description("(in progress)");
}
