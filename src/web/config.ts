/**
 * The intake page's config file (config.json beside index.html): which
 * server, whose page it is, colours, support contacts, languages. Checked
 * here so that a typo shows a plain message instead of a broken page.
 * docs/intake-page.md documents every field with an example.
 */
export type Lang = "es" | "en";
export const LANGS: readonly Lang[] = ["es", "en"];

/** A text in one language for all, or one per language. */
export type Localised = string | Partial<Record<Lang, string>>;

export interface PageConfig {
  /** The hash-sharing server; "" (default) is the page's own origin. */
  server: string;
  org: { name: Localised; logo?: string; url?: string };
  colours: { primary: string; primaryText: string; background: string; text: string; accent: string };
  support: { contact?: Localised; helpline?: Localised; url?: string };
  languages: Lang[];
  defaultLanguage: Lang;
  under18Url?: string;
  quickExitUrl: string;
  /** Sent as `client.name` of a submission (default hashsafe-web). */
  clientName?: string;
}

export const DEFAULT_CONFIG: PageConfig = {
  server: "",
  org: { name: "hashsafe", logo: "logo.svg" },
  colours: { primary: "#1f5f8b", primaryText: "#ffffff", background: "#fbfaf7", text: "#1d2125", accent: "#b3261e" },
  support: {},
  languages: ["es", "en"],
  defaultLanguage: "es",
  under18Url: "https://takeitdown.ncmec.org/",
  quickExitUrl: "https://www.google.com/search?q=clima",
};

const COLOUR = /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/;

function isLocalised(v: unknown): v is Localised {
  if (typeof v === "string") return true;
  return typeof v === "object" && v !== null && Object.entries(v).every(([k, s]) => LANGS.includes(k as Lang) && typeof s === "string");
}

function httpUrl(v: unknown, name: string): string {
  if (typeof v !== "string") throw new Error(`${name} must be a web address`);
  const u = new URL(v, location.href);
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error(`${name} must start with https://`);
  return u.href;
}

/** Merge a parsed config file over the defaults; throws an Error naming the bad field. */
export function checkConfig(raw: unknown): PageConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error("config.json must hold one JSON object");
  const r = raw as Record<string, any>;
  const c: PageConfig = structuredClone(DEFAULT_CONFIG);
  if (r.server !== undefined) {
    if (typeof r.server !== "string") throw new Error("server must be a web address or \"\"");
    c.server = r.server;
  }
  if (r.org !== undefined) {
    if (!isLocalised(r.org.name)) throw new Error("org.name must be a text");
    c.org = { name: r.org.name };
    if (r.org.logo !== undefined) {
      if (typeof r.org.logo !== "string" || /^[a-z]+:/i.test(r.org.logo) && !r.org.logo.startsWith("data:image/")) {
        throw new Error("org.logo must be a file beside the page (e.g. logo.svg) or a data:image/ address");
      }
      c.org.logo = r.org.logo;
    }
    if (r.org.url) c.org.url = httpUrl(r.org.url, "org.url");
  }
  if (r.colours !== undefined) {
    for (const [k, v] of Object.entries(r.colours)) {
      if (!(k in c.colours)) throw new Error(`colours.${k} is not a colour this page uses`);
      if (typeof v !== "string" || !COLOUR.test(v)) throw new Error(`colours.${k} must be a colour like #1f5f8b`);
      (c.colours as Record<string, string>)[k] = v;
    }
  }
  if (r.support !== undefined) {
    if (r.support.contact !== undefined && r.support.contact !== "" && !isLocalised(r.support.contact)) throw new Error("support.contact must be a text");
    if (r.support.helpline !== undefined && r.support.helpline !== "" && !isLocalised(r.support.helpline)) throw new Error("support.helpline must be a text");
    c.support = { contact: r.support.contact || undefined, helpline: r.support.helpline || undefined };
    if (r.support.url) c.support.url = httpUrl(r.support.url, "support.url");
  }
  if (r.languages !== undefined) {
    if (!Array.isArray(r.languages) || r.languages.length === 0 || !r.languages.every((l: unknown) => LANGS.includes(l as Lang))) {
      throw new Error(`languages must list some of: ${LANGS.join(", ")}`);
    }
    c.languages = [...new Set(r.languages as Lang[])];
  }
  if (r.defaultLanguage !== undefined) {
    if (!c.languages.includes(r.defaultLanguage)) throw new Error("defaultLanguage must be one of languages");
    c.defaultLanguage = r.defaultLanguage;
  } else if (!c.languages.includes(c.defaultLanguage)) c.defaultLanguage = c.languages[0];
  if (r.under18Url !== undefined) c.under18Url = r.under18Url === "" ? undefined : httpUrl(r.under18Url, "under18Url");
  if (r.quickExitUrl !== undefined) c.quickExitUrl = httpUrl(r.quickExitUrl, "quickExitUrl");
  if (r.clientName !== undefined) {
    if (typeof r.clientName !== "string" || r.clientName.length < 1 || r.clientName.length > 64) throw new Error("clientName must be 1..64 characters");
    c.clientName = r.clientName;
  }
  return c;
}

/** The text of a localised value in `lang` (falling back to any). */
export function local(v: Localised | undefined, lang: Lang): string {
  if (v === undefined) return "";
  if (typeof v === "string") return v;
  return v[lang] ?? Object.values(v)[0] ?? "";
}

/** The language to start in: the browser's first offered one, else the config's default. */
export function pickLang(config: PageConfig, preferred: readonly string[]): Lang {
  for (const p of preferred) {
    const base = p.toLowerCase().split("-")[0] as Lang;
    if (config.languages.includes(base)) return base;
  }
  return config.defaultLanguage;
}
