/**
 * The CLI's language: `--lang`, then HASHSAFE_LANG, then LC_ALL, LC_MESSAGES,
 * LANG; English by default. Chosen once, before the program is built (so
 * `--help` is in that language too), by {@link chooseCliLang}.
 */
import { catalogue, type Lang, type MessageKey, type Params, pickLang, t } from "../i18n/index.ts";

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

const templates = new Map<string, { key: MessageKey; re: RegExp; names: string[] }[]>();

/**
 * English messages of the library and the client (records and programs keep
 * them) said again in the person's language: the catalogue's keys under
 * `prefix` hold each such message word for word in English, with its variable
 * parts as `{placeholders}`; the message is recognised by that template and
 * filled into the same key's text in the CLI's language. A message no
 * template fits is answered as it is.
 */
export function retell(prefix: string, message: string): string {
  if (current === "en") return message;
  let list = templates.get(prefix);
  if (!list) {
    list = Object.entries(catalogue.en)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, text]) => {
        const names: string[] = [];
        const source = String(text)
          .split(/(\{\w+\})/)
          .map((part) => {
            const m = /^\{(\w+)\}$/.exec(part);
            if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
            names.push(m[1]);
            return "(.*?)";
          })
          .join("");
        return { key: key as MessageKey, re: new RegExp(`^${source}$`, "s"), names };
      });
    templates.set(prefix, list);
  }
  for (const tpl of list) {
    const m = tpl.re.exec(message);
    if (m) return tr(tpl.key, Object.fromEntries(tpl.names.map((n, i) => [n, m[i + 1]])));
  }
  return message;
}

/**
 * {@link retell} for a message that may start with a place ("list.txt:3: ",
 * "file: "): the first tail after ": " that a template fits is retold, the
 * place kept.
 */
export function retellTail(prefix: string, message: string): string {
  if (current === "en") return message;
  const whole = retell(prefix, message);
  if (whole !== message) return whole;
  for (let i = message.indexOf(": "); i >= 0; i = message.indexOf(": ", i + 1)) {
    const tail = message.slice(i + 2);
    const told = retell(prefix, tail);
    if (told !== tail) return message.slice(0, i + 2) + told;
  }
  return message;
}

/** A problem of a hash list (src/match/lists.ts) as a person reads it: `file:line: what`, in their language. */
export function listProblemText(p: { file: string; line: number; message: string }): string {
  const what = retell("cli.listError.", p.message);
  return p.line > 0 ? `${p.file}:${p.line}: ${what}` : `${p.file}: ${what}`;
}
