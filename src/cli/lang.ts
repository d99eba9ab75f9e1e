/**
 * The CLI's language: `--lang`, then HASHSAFE_LANG, then LC_ALL, LC_MESSAGES,
 * LANG; English by default. Chosen once, before the program is built (so
 * `--help` is in that language too), by {@link chooseCliLang}.
 */
import { type Lang, type MessageKey, type Params, pickLang, t } from "../i18n/index.ts";

let current: Lang = "en";

/** The value of `--lang X` / `--lang=X` in argv, if any. */
export function langArg(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") break;
    if (a === "--lang") return argv[i + 1];
    if (a.startsWith("--lang=")) return a.slice("--lang=".length);
  }
  return undefined;
}

/** Choose (and remember) the language for this run. */
export function chooseCliLang(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Lang {
  current = pickLang(langArg(argv), env.HASHSAFE_LANG, env.LC_ALL, env.LC_MESSAGES, env.LANG);
  return current;
}

export function cliLang(): Lang {
  return current;
}

/** A message of the catalogue in the CLI's language. */
export function tr(key: MessageKey, params?: Params): string {
  return t(current, key, params);
}
