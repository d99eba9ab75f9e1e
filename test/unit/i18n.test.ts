/**
 * The message catalogue: every key in both languages, the same placeholders,
 * plural objects in both; language choice; yes words.
 */
import { describe, expect, it } from "vitest";
import { domains, isPlural, isYes, pickLang, placeholders, t, yesWords } from "../../src/i18n/index.ts";
import { PROBLEMS } from "../../src/protocol/index.ts";

type Domain = { en: Record<string, unknown>; es: Record<string, unknown> };

/** Problems of one domain: missing keys, different placeholders, plural in one language only. */
function catalogueProblems(name: string, d: Domain): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(d.en), ...Object.keys(d.es)]);
  for (const key of keys) {
    if (!(key in d.en)) out.push(`${name}: ${key} missing in en`);
    if (!(key in d.es)) out.push(`${name}: ${key} missing in es`);
    if (!(key in d.en) || !(key in d.es)) continue;
    if (!key.startsWith(`${name}.`)) out.push(`${name}: ${key} is not in the ${name}.* namespace`);
    const en = d.en[key];
    const es = d.es[key];
    if (isPlural(en) !== isPlural(es)) {
      out.push(`${name}: ${key} is a plural in one language only`);
      continue;
    }
    const forms = (m: unknown): string[] => (isPlural(m) ? [m.one, m.other] : [m as string]);
    for (const m of [en, es]) {
      if (!isPlural(m) && typeof m !== "string") out.push(`${name}: ${key} is neither a string nor { one, other }`);
    }
    const enPh = [...new Set(forms(en).flatMap(placeholders))].sort().join(",");
    const esPh = [...new Set(forms(es).flatMap(placeholders))].sort().join(",");
    if (enPh !== esPh) out.push(`${name}: ${key} placeholders differ: en {${enPh}} es {${esPh}}`);
    for (const s of [...forms(en), ...forms(es)]) if (s.trim() === "") out.push(`${name}: ${key} is empty`);
  }
  return out;
}

describe("i18n catalogue", () => {
  for (const [name, d] of Object.entries(domains)) {
    it(`${name}: every key in en and es, same placeholders, plurals in both`, () => {
      expect(catalogueProblems(name, d as Domain)).toEqual([]);
    });
  }

  it("no domain is empty (an empty one would pass the check above without checking anything)", () => {
    for (const [name, d] of Object.entries(domains)) expect(Object.keys((d as Domain).en).length, name).toBeGreaterThan(0);
    // the server's: a title per kind of problem, and the details (test/unit/server-lang.test.ts checks the titles)
    expect(Object.keys(domains.server.en).filter((k) => k.startsWith("server.title.")).length).toBe(Object.keys(PROBLEMS).length);
  });

  it("the check finds a missing key, a placeholder mismatch and a one-sided plural", () => {
    const bad: Domain = {
      en: { "x.a": "A {n}", "x.b": "B", "x.c": { one: "one", other: "{count} others" } },
      es: { "x.a": "A {m}", "x.c": "c" },
    };
    expect(catalogueProblems("x", bad)).toEqual([
      "x: x.a placeholders differ: en {n} es {m}",
      "x: x.b missing in es",
      "x: x.c is a plural in one language only",
    ]);
  });

  it("t fills placeholders and picks plural forms in each language", () => {
    expect(t("en", "cli.withdraw.confirm", { count: 1, caseId: "c_1" })).toMatch(/^Withdraw 1 hash of case c_1\?/);
    expect(t("en", "cli.withdraw.confirm", { count: 3, caseId: "c_1" })).toMatch(/^Withdraw 3 hashes/);
    expect(t("es", "cli.withdraw.confirm", { count: 1, caseId: "c_1" })).toMatch(/^¿Retirar 1 huella del caso c_1\?/);
    expect(t("es", "cli.withdraw.confirm", { count: 0, caseId: "c_1" })).toMatch(/^¿Retirar 0 huellas/);
  });

  it("pickLang: first candidate naming es or en wins; C/POSIX are skipped; English by default", () => {
    expect(pickLang(undefined, undefined, undefined, undefined, "es_DO.UTF-8")).toBe("es");
    expect(pickLang("en", "es", undefined, undefined, "es_DO.UTF-8")).toBe("en");
    expect(pickLang(undefined, "es-419")).toBe("es");
    expect(pickLang("C", "POSIX", "en_US.UTF-8")).toBe("en");
    expect(pickLang("C.UTF-8", "es_MX")).toBe("es");
    expect(pickLang("fr_FR.UTF-8")).toBe("en");
    expect(pickLang(["fr-FR", "es-AR", "en"])).toBe("es");
    expect(pickLang()).toBe("en");
  });

  it("yes words: y/yes in English; s/sí/si (and y/yes) in Spanish", () => {
    for (const a of ["y", "Y", "yes", " YES "]) expect(isYes("en", a)).toBe(true);
    for (const a of ["s", "S", "sí", "SÍ", "si", "Si", "y"]) expect(isYes("es", a)).toBe(true);
    for (const a of ["s", "si", "n", "no", "", "yess"]) expect(isYes("en", a)).toBe(false);
    for (const a of ["n", "no", "", "sip"]) expect(isYes("es", a)).toBe(false);
    expect(yesWords("es")[0]).toBe("s");
    expect(yesWords("en")[0]).toBe("y");
  });
});
