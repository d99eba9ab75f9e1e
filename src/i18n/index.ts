/**
 * One message catalogue for every place a person reads hashsafe's words: the
 * CLI (cli.ts), the intake page (web.ts), the server's problem details
 * (server.ts), and shared words (common.ts). English and Latin American
 * Spanish.
 *
 * Built on the platform's Intl only (Intl.PluralRules for plural forms), no
 * library: the catalogue must load unchanged in Node and in a browser, and
 * two languages with `one`/`other` plurals and `{name}` placeholders need
 * nothing more. Keys are typed: `t` accepts only keys that exist.
 *
 * A message is a string with `{name}` placeholders, or a plural object
 * `{ one, other }` chosen by the `count` parameter.
 */
import { cli } from "./cli.ts";
import { common } from "./common.ts";
import { server } from "./server.ts";
import { web } from "./web.ts";

export type Lang = "es" | "en";
export const LANGS: readonly Lang[] = ["en", "es"];

export type Plural = { readonly one: string; readonly other: string };
export type Message = string | Plural;
export type Params = Record<string, string | number>;

/** Every domain's messages, per language. */
export const catalogue = {
  en: { ...common.en, ...cli.en, ...server.en, ...web.en },
  es: { ...common.es, ...cli.es, ...server.es, ...web.es },
} as const;

export type MessageKey = keyof (typeof catalogue)["en"] & string;

/** The domains separately (the parity test checks each). */
export const domains = { common, cli, server, web } as const;

/** `{name}` placeholders of a string. */
export function placeholders(s: string): string[] {
  return [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

export function isPlural(m: unknown): m is Plural {
  return typeof m === "object" && m !== null && typeof (m as Plural).one === "string" && typeof (m as Plural).other === "string";
}

function fill(s: string, params: Params): string {
  return s.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

const pluralRules = new Map<Lang, Intl.PluralRules>();

/** The message `key` in `lang` (English when missing there), with `params` filled in. */
export function t(lang: Lang, key: MessageKey, params: Params = {}): string {
  const entry = ((catalogue[lang] as Record<string, Message>)[key] ?? (catalogue.en as Record<string, Message>)[key]) as Message | undefined;
  if (entry === undefined) return key;
  let s: string;
  if (isPlural(entry)) {
    let rules = pluralRules.get(lang);
    if (!rules) pluralRules.set(lang, (rules = new Intl.PluralRules(lang)));
    s = rules.select(Number(params.count ?? 0)) === "one" ? entry.one : entry.other;
  } else s = entry;
  return fill(s, params);
}

/** The language of a locale name ("es_DO.UTF-8", "es-419", "en-GB"), if one we have. */
export function langOf(locale: string | undefined | null): Lang | undefined {
  if (!locale) return undefined;
  const m = /^\s*([a-zA-Z]{2,3})(?:[-_.@]|$)/.exec(locale);
  const code = m?.[1].toLowerCase();
  return code === "es" || code === "en" ? code : undefined;
}

/**
 * The language to speak. The CLI passes `--lang`, HASHSAFE_LANG, LC_ALL,
 * LC_MESSAGES, LANG in that order; the page passes navigator.languages.
 * The first one that names a language we have wins (LC_ALL=C names none, so
 * the next is tried); English otherwise.
 */
export function pickLang(...candidates: (string | readonly string[] | undefined | null)[]): Lang {
  for (const c of candidates) {
    for (const one of typeof c === "string" || c == null ? [c] : c) {
      const l = langOf(one);
      if (l) return l;
    }
  }
  return "en";
}

/** The words that mean yes, as shown in the prompt (first) and accepted. */
export function yesWords(lang: Lang): readonly string[] {
  return lang === "es" ? ["s", "sí", "si", "y", "yes"] : ["y", "yes"];
}

/** Whether `answer` is a yes in `lang` (case, accents on "sí" and spaces ignored). */
export function isYes(lang: Lang, answer: string): boolean {
  const a = answer.trim().toLowerCase().normalize("NFC");
  return yesWords(lang).includes(a);
}
