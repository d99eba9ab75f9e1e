/**
 * The language of the server's problem details: Accept-Language (RFC 9110
 * §12.5.4) read with q-values, matched against the languages the catalogue
 * has (src/i18n: English and Latin American Spanish) by primary subtag, so
 * es, es-DO, es-419 and es-MX are Spanish and en-GB is English.
 *
 * The ranges are tried in order of preference (highest q first, the order
 * given among equal q); the first one that names a language we have wins
 * (RFC 4647 lookup). So `fr;q=1, es;q=0.5` is Spanish: French is preferred
 * but not offered, and Spanish is the best of what is. `q=0` means "not
 * this one" and never selects. `*`, unknown languages, a malformed header or
 * none at all: English.
 */
import { type Lang, langOf, type MessageKey, type Params, t } from "../../i18n/index.ts";
import type { server } from "../../i18n/server.ts";

/** The keys of the server's catalogue (src/i18n/server.ts). */
export type ServerKey = keyof (typeof server)["en"] & MessageKey;

/** A detail to say: a catalogue key and its parameters, put into words per request. */
export interface Detail {
  readonly key: ServerKey;
  readonly params?: Params;
}

/** `detail("server.auth.scope", { scope })` */
export function detail(key: ServerKey, params?: Params): Detail {
  return params ? { key, params } : { key };
}

/** The words of a detail (a plain string is already words, in English). */
export function say(lang: Lang, d: Detail | string): string {
  return typeof d === "string" ? d : t(lang, d.key, d.params);
}

/** One language range of Accept-Language with its weight. */
export interface LanguageRange {
  range: string;
  q: number;
}

/** Headers longer than this are cut (a browser sends well under 200 characters). */
const MAX_HEADER = 4096;
/** At most this many ranges are read. */
const MAX_RANGES = 64;
const RANGE = /^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$/;
const QVALUE = /^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * The ranges of an Accept-Language value, best first (stable among equal
 * weights); ranges with q=0 and malformed entries are left out.
 */
export function parseAcceptLanguage(header: string | null | undefined): LanguageRange[] {
  if (!header) return [];
  const out: (LanguageRange & { at: number })[] = [];
  const parts = header.slice(0, MAX_HEADER).split(",");
  for (let at = 0; at < parts.length && at < MAX_RANGES; at++) {
    const [rawRange, ...params] = parts[at].split(";");
    const range = rawRange.trim();
    if (!RANGE.test(range)) continue;
    let q = 1;
    let ok = true;
    for (const p of params) {
      const m = /^\s*([A-Za-z]+)\s*=\s*(\S*)\s*$/.exec(p);
      if (!m) {
        ok = false;
        break;
      }
      if (m[1].toLowerCase() !== "q") continue; // other parameters are not part of the standard; ignored
      if (!QVALUE.test(m[2])) {
        ok = false;
        break;
      }
      q = Number(m[2]);
    }
    if (ok && q > 0) out.push({ range, q, at });
  }
  out.sort((a, b) => b.q - a.q || a.at - b.at);
  return out.map(({ range, q }) => ({ range, q }));
}

/** The language to answer in for this Accept-Language value. */
export function negotiateLang(header: string | null | undefined): Lang {
  for (const { range } of parseAcceptLanguage(header)) {
    if (range === "*") return "en";
    const lang = langOf(range);
    if (lang) return lang;
  }
  return "en";
}

/** The language of a request (anything with Hono's `req.header`). */
export function requestLang(c: { req: { header(name: string): string | undefined } }): Lang {
  return negotiateLang(c.req.header("accept-language"));
}
