/**
 * The commander program: one file per command under ./commands, registered here.
 *
 * Commands are loaded lazily: `hashsafe hash ...` loads only the hash command
 * (and so never loads the HTTP client, the server or SQLite), which keeps
 * start-up fast. `--help` and unknown commands load them all.
 */
import { Command, type Argument, Help, Option } from "commander";
import { retell, tr } from "./lang.ts";
import type { MessageKey } from "../i18n/index.ts";
import { VERSION } from "../version.ts";

export { EXIT } from "./exit.ts";

type Register = (program: Command) => void;

/** Command name -> loader of the module that registers it. Add new commands here. */
const COMMANDS: Record<string, () => Promise<Register>> = {
  hash: async () => (await import("./commands/hash.ts")).registerHash,
  submit: async () => (await import("./commands/submit.ts")).registerSubmit,
  status: async () => (await import("./commands/status.ts")).registerStatus,
  withdraw: async () => (await import("./commands/withdraw.ts")).registerWithdraw,
  outbox: async () => (await import("./commands/outbox.ts")).registerOutbox,
  cases: async () => (await import("./commands/cases.ts")).registerCases,
  feed: async () => (await import("./commands/feed.ts")).registerFeed,
  lookup: async () => (await import("./commands/lookup.ts")).registerLookup,
  serve: async () => (await import("./commands/serve.ts")).registerServe,
  compare: async () => (await import("./commands/compare.ts")).registerCompare,
  match: async () => (await import("./commands/match.ts")).registerMatch,
  index: async () => (await import("./commands/index.ts")).registerIndex,
  "self-test": async () => (await import("./commands/self-test.ts")).registerSelfTest,
  verify: async () => (await import("./commands/verify.ts")).registerVerify,
};

/** commander's own help words, from the catalogue (the titles, and "default:" / "choices:" after a description). */
const TITLES: Record<string, MessageKey> = {
  "Usage:": "cli.help.title.usage",
  "Options:": "cli.help.title.options",
  "Arguments:": "cli.help.title.arguments",
  "Commands:": "cli.help.title.commands",
  "Global Options:": "cli.help.title.globalOptions",
};

/** "[options]" and "[command]" in a usage line or a command's term, in the CLI's language. */
function usageWords(text: string): string {
  return text.replace(/\[options\]/g, `[${tr("cli.help.word.options")}]`).replace(/\[command\]/g, `[${tr("cli.help.word.command")}]`);
}

function helpWords(text: string): string {
  return text.replace(/(\(|, )(default|choices): /g, (_m, before: string, w: string) => `${before}${tr(w === "default" ? "cli.help.word.default" : "cli.help.word.choices")}: `);
}

/** The help's layout in the CLI's language (inherited by every command made after it is set). */
function translatedHelp(program: Command): void {
  program
    .configureHelp({
      styleTitle: (title: string) => (TITLES[title] ? tr(TITLES[title]) : title),
      commandUsage(cmd: Command) {
        return usageWords(Help.prototype.commandUsage.call(this, cmd));
      },
      subcommandTerm(cmd: Command) {
        return usageWords(Help.prototype.subcommandTerm.call(this, cmd));
      },
      optionDescription(option: Option) {
        return helpWords(Help.prototype.optionDescription.call(this, option));
      },
      argumentDescription(argument: Argument) {
        return helpWords(Help.prototype.argumentDescription.call(this, argument));
      },
    })
    .helpOption("-h, --help", tr("cli.help.help"))
    .helpCommand("help [command]", tr("cli.help.helpCommand"));
}

/**
 * commander's own usage errors ("error: unknown option '--x'", "(Did you
 * mean --y?)") in the one message style, "hashsafe: ...", and in the
 * person's language: each line is recognised by its English template
 * (cli.commander.*, commander's wording word for word).
 */
function commanderError(str: string): string {
  return str
    .replace(/^error: /, "hashsafe: ")
    .split("\n")
    .map((line) => {
      const m = /^(hashsafe: )?(.*)$/s.exec(line)!;
      return (m[1] ?? "") + retell("cli.commander.", m[2]);
    })
    .join("\n");
}

/** The first argument that is not an option: the command name, if any. */
function commandName(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((a) => !a.startsWith("-"));
}

/**
 * The program with the commands `argv` needs registered (all of them when
 * argv names none that is known, so help and "unknown command" work).
 */
export async function createProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command("hashsafe");
  translatedHelp(program);
  program
    .description(tr("cli.help.program"))
    .version(VERSION, "-V, --version", tr("cli.help.version"))
    .addOption(new Option("--lang <lang>", tr("cli.help.lang")).choices(["en", "es"]))
    .showHelpAfterError(tr("cli.help.afterError"))
    // commander's own usage errors in the one message style: "hashsafe: unknown option '--x'"
    .configureOutput({ outputError: (str, write) => write(commanderError(str)) });
  const name = commandName(argv);
  const versionOnly = !name && (argv.includes("-V") || argv.includes("--version"));
  const wanted = versionOnly ? [] : name && name !== "help" && COMMANDS[name] ? [name] : Object.keys(COMMANDS);
  for (const register of await Promise.all(wanted.map((n) => COMMANDS[n]()))) register(program);
  return program;
}
