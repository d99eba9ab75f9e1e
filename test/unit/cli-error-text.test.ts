/**
 * The library's file errors as a person reads them on the CLI: in Spanish,
 * every error that real files give is said in Spanish (the catalogue's
 * cli.hashError.* templates still match the library's English wording, word
 * for word); in English, exactly the library's message. Records keep the
 * English message either way (test/e2e/cli-lang-errors.test.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, expect, test } from "vitest";
import { hashFile } from "../../src/image/hash.ts";
import { HashError } from "../../src/pdq/errors.ts";
import { errorText } from "../../src/cli/hashing.ts";
import { chooseCliLang } from "../../src/cli/lang.ts";
import { collectInputs } from "../../src/cli/walk.ts";
import { FIXTURES } from "../helpers.ts";

let dir: string;
const errors: { name: string; err: HashError }[] = [];

async function failure(name: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (err instanceof HashError) {
      errors.push({ name, err });
      return;
    }
    throw err;
  }
  throw new Error(`${name}: no error`);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "hs-error-text-"));
  const file = (name: string, bytes: string | Buffer) => {
    const p = path.join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const jpeg = readFileSync(path.join(FIXTURES, "images", "harbour.jpg"));
  const png = readFileSync(path.join(FIXTURES, "images", "tower.png"));
  await failure("empty", () => hashFile(file("empty.jpg", "")));
  await failure("text", () => hashFile(file("nota.txt", "una nota para la abogada\n")));
  await failure("pdf", () => hashFile(file("doc.pdf", "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")));
  await failure("svg", () => hashFile(file("d.svg", '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>\n')));
  await failure("unknown bytes", () => hashFile(file("x.bin", Buffer.from([0, 1, 2, 3, 250, 251, 252, 253, 9, 8, 7, 6, 5, 4, 3, 2]))));
  await failure("truncated JPEG", () => hashFile(file("cut.jpg", jpeg.subarray(0, 2000))));
  await failure("truncated PNG", () => hashFile(file("cut.png", png.subarray(0, 3000))));
  await failure("too large", () => hashFile(path.join(FIXTURES, "images", "harbour.jpg"), { maxPixels: 1000 }));
  await failure("too small", async () => hashFile(file("tiny.png", await sharp({ create: { width: 3, height: 3, channels: 3, background: "#808080" } }).png().toBuffer())));
  await failure("missing", () => hashFile(path.join(dir, "no-such.jpg")));
  mkdirSync(path.join(dir, "folder.jpg"));
  await failure("directory", () => hashFile(path.join(dir, "folder.jpg")));
  const walked = await collectInputs([path.join(dir, "nowhere")]);
  if (walked[0]?.error) errors.push({ name: "walk: missing", err: walked[0].error });
}, 60_000);

afterAll(() => {
  chooseCliLang(["--lang", "en"]);
  rmSync(dir, { recursive: true, force: true });
});

test("every real file error is said in Spanish with --lang es, and as the library says it in English", () => {
  expect(errors.map((e) => e.name)).toContain("walk: missing");
  expect(errors.length).toBe(12);
  chooseCliLang(["--lang", "es"]);
  const spanish = errors.map(({ name, err }) => ({ name, code: err.code, message: err.message, es: errorText(err) }));
  const untranslated = spanish.filter((e) => e.es === e.message).map((e) => `${e.name} (${e.code}): ${e.message}`);
  expect(untranslated, "messages the catalogue does not recognise").toEqual([]);
  // the variable parts come through: the format's name, the size, the path
  expect(spanish.find((e) => e.name === "truncated JPEG")?.es).toBe("JPEG incompleto: el archivo está dañado o no se copió completo");
  expect(spanish.find((e) => e.name === "too small")?.es).toMatch(/^demasiado pequeña para sacarle la huella: 3x3 \(PDQ necesita por lo menos \d+ píxeles por lado\)$/);
  expect(spanish.find((e) => e.name === "too large")?.es).toMatch(/^demasiado grande: 640x480 supera el límite de .+; súbelo con --max-pixels$/);
  chooseCliLang(["--lang", "en"]);
  for (const { err } of errors) expect(errorText(err)).toBe(err.message);
});

test("hash-list problems (wrong length, not hex, all zero, degenerate, empty, a folder) are said in Spanish too", async () => {
  const { readHashList, HashListError } = await import("../../src/match/lists.ts");
  const { listProblemText, retellTail } = await import("../../src/cli/lang.ts");
  const list = path.join(dir, "list.txt");
  writeFileSync(list, `abc\nzz${"0".repeat(62)}\n${"0".repeat(64)}\n${"f".repeat(64)}\n`);
  writeFileSync(path.join(dir, "empty.txt"), "");
  const problems = (await readHashList(list)).problems;
  const empty = (await readHashList(path.join(dir, "empty.txt"))).problems;
  let folder = "";
  try {
    await readHashList(path.join(dir, "folder.jpg"));
  } catch (err) {
    if (err instanceof HashListError) folder = err.message;
  }
  expect(problems.length).toBe(4);
  expect(empty.length).toBe(1);
  expect(folder).not.toBe("");
  chooseCliLang(["--lang", "es"]);
  const told = [...problems, ...empty].map((p) => ({ en: `${p.file}:${p.line}: ${p.message}`, es: listProblemText(p) }));
  told.push({ en: folder, es: retellTail("cli.listError.", folder) });
  chooseCliLang(["--lang", "en"]);
  expect(told.filter((t) => t.en.endsWith(t.es.split(": ").slice(1).join(": ")))).toEqual([]);
  expect(told[0].es).toMatch(/list\.txt:1: largo equivocado: 3 caracteres; una huella PDQ tiene 64 dígitos hexadecimales$/);
  expect(told.at(-1)!.es).toMatch(/folder\.jpg: es una carpeta, no una lista de huellas$/);
});
