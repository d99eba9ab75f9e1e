/**
 * Accept-Language for the server's problem details (src/server/middleware/lang.ts):
 * ranges with q-values, best first; the first one naming a language we have
 * wins; English otherwise. And the one place problem bodies are put into words.
 */
import { describe, expect, it } from "vitest";
import { t } from "../../src/i18n/index.ts";
import { PROBLEMS, type ProblemCode } from "../../src/protocol/index.ts";
import { ApiError, problemIn, problemResponse } from "../../src/server/middleware/context.ts";
import { detail, negotiateLang, parseAcceptLanguage } from "../../src/server/middleware/lang.ts";

describe("parseAcceptLanguage", () => {
  it("reads ranges and q-values, best first, stable among equal weights", () => {
    expect(parseAcceptLanguage("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5")).toEqual([
      { range: "fr-CH", q: 1 },
      { range: "fr", q: 0.9 },
      { range: "en", q: 0.8 },
      { range: "de", q: 0.7 },
      { range: "*", q: 0.5 },
    ]);
    expect(parseAcceptLanguage("en;q=0.5, es-419;q=0.9, pt")).toEqual([
      { range: "pt", q: 1 },
      { range: "es-419", q: 0.9 },
      { range: "en", q: 0.5 },
    ]);
    expect(parseAcceptLanguage("da, en-gb;q=0.8, en;q=0.8")).toEqual([
      { range: "da", q: 1 },
      { range: "en-gb", q: 0.8 },
      { range: "en", q: 0.8 },
    ]);
    expect(parseAcceptLanguage(" es-DO ; q=1.000 ,en ;Q=0.001")).toEqual([
      { range: "es-DO", q: 1 },
      { range: "en", q: 0.001 },
    ]);
  });

  it("leaves out q=0 and malformed entries; nothing for none", () => {
    expect(parseAcceptLanguage("es;q=0, en")).toEqual([{ range: "en", q: 1 }]);
    expect(parseAcceptLanguage("es;q=0.000")).toEqual([]);
    for (const bad of ["es;q=2", "es;q=1.5", "es;q=0.0001", "es;q=abc", "es;q=", "es;;", "es_DO", "e$", "toolongtag-x", "-es", "es-"]) {
      expect(parseAcceptLanguage(bad), bad).toEqual([]);
    }
    expect(parseAcceptLanguage("es;q=abc, en;q=0.2")).toEqual([{ range: "en", q: 0.2 }]);
    expect(parseAcceptLanguage(undefined)).toEqual([]);
    expect(parseAcceptLanguage(null)).toEqual([]);
    expect(parseAcceptLanguage("")).toEqual([]);
    expect(parseAcceptLanguage(" , ,")).toEqual([]);
  });

  it("reads at most 64 ranges of a long header", () => {
    const many = Array.from({ length: 200 }, () => "fr").join(",") + ",es";
    expect(parseAcceptLanguage(many)).toHaveLength(64);
    expect(negotiateLang(many)).toBe("en");
  });
});

describe("negotiateLang", () => {
  it.each([
    ["es", "es"],
    ["es-DO", "es"],
    ["es-419", "es"],
    ["ES-mx", "es"],
    ["es-DO,es;q=0.9,en;q=0.8", "es"],
    ["fr;q=1, es;q=0.5", "es"], // French preferred but not offered: the best of what is
    ["fr, de, es;q=0.1", "es"],
    ["en;q=0.5, es;q=0.9", "es"],
    ["en", "en"],
    ["en-GB,en;q=0.9,es;q=0.8", "en"],
    ["es;q=0.5, en;q=0.5", "es"], // equal weights: the order given
    ["en;q=0.5, es;q=0.5", "en"],
    ["es;q=0", "en"],
    ["es;q=0, en;q=0.1", "en"],
    ["*", "en"],
    ["*, es;q=0.5", "en"], // "any" first: the default
    ["fr-FR", "en"],
    ["spa", "en"],
    ["", "en"],
    [undefined, "en"],
  ] as const)("%j -> %s", (header, lang) => {
    expect(negotiateLang(header)).toBe(lang);
  });
});

describe("problem bodies in words", () => {
  it("every problem code has a title in both languages; the English one is the protocol's", () => {
    for (const code of Object.keys(PROBLEMS) as ProblemCode[]) {
      expect(t("en", `server.title.${code}`), code).toBe(PROBLEMS[code].title);
      expect(t("es", `server.title.${code}`), code).not.toBe(PROBLEMS[code].title);
    }
  });

  it("the same type, status and errors in both languages; title and detail translated", () => {
    const errors = [{ index: 1, code: "invalid_hash", message: "not 64 hex digits" }];
    const en = problemIn("en", "no_valid_hashes", detail("server.case.noValidCreate", { count: 2 }), errors);
    const es = problemIn("es", "no_valid_hashes", detail("server.case.noValidCreate", { count: 2 }), errors);
    expect(en.lang).toBe("en");
    expect(es.lang).toBe("es");
    expect(en.body).toEqual({
      type: "urn:hashsafe:problem:no-valid-hashes",
      title: "No valid hash in the request",
      status: 422,
      detail: "none of the 2 hashes is valid; no case was created",
      errors,
    });
    expect(es.body).toEqual({
      ...en.body,
      title: "La solicitud no trae ninguna huella válida",
      detail: "ninguna de las 2 huellas es válida; no se creó ningún caso",
    });
    expect(problemIn("es", "no_valid_hashes", detail("server.case.noValidCreate", { count: 1 })).body.detail).toBe(
      "la huella no es válida; no se creó ningún caso",
    );
  });

  it("a plain-string detail is said as is, and the whole answer stays English", async () => {
    const r = problemResponse(new ApiError("rate_limited", "too many requests somewhere; retry after 3 s"), "es");
    expect(r.headers.get("content-language")).toBe("en");
    expect(await r.json()).toMatchObject({ title: "Too many requests", detail: "too many requests somewhere; retry after 3 s" });
  });

  it("ApiError.message is the English text; the answer has Content-Language and Vary", async () => {
    const err = new ApiError("forbidden", detail("server.auth.scope", { scope: "lookup" }), undefined, { "x-extra": "1" });
    expect(err.message).toBe("this call needs the scope lookup");
    const r = problemResponse(err, "es");
    expect(r.status).toBe(403);
    expect(r.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(r.headers.get("content-language")).toBe("es");
    expect(r.headers.get("vary")).toBe("Accept-Language");
    expect(r.headers.get("x-extra")).toBe("1");
    expect((await r.json()).detail).toBe("esta llamada necesita el permiso lookup");
  });
});
