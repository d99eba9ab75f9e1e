/**
 * A victim's folder as it really is: pictures (one a HEIC from an iPhone),
 * a PDF, a note for a lawyer holding a 64-hex line, an SVG and a video. `submit --dry-run` sends the
 * pictures' PDQ hashes and the video's MD5, nothing from the note, and one
 * summary line for the rest; `hash` on the same folder gives the same set.
 */
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, expect, test } from "vitest";
import { hashFile } from "../../src/image/hash.ts";
import { FIXTURES } from "../helpers.ts";
import { ensureBuilt, runCli, show, tempDir } from "./e2e-support.ts";

let home: string;
let dir: string;
const NOTE_HEX = "f".repeat(16) + "0".repeat(16) + "a".repeat(16) + "5".repeat(16);
const expected = new Set<string>();

beforeAll(async () => {
  await ensureBuilt();
  home = tempDir("hs-home-folder-");
  dir = path.join(tempDir("hs-folder-"), "fotos");
  mkdirSync(dir, { recursive: true });
  for (const f of ["harbour.jpg", "tower.png"]) {
    copyFileSync(path.join(FIXTURES, "images", f), path.join(dir, f));
    expected.add(`pdq:${(await hashFile(path.join(dir, f))).hash}`);
  }
  // A HEIC photo (what iPhones save), named as an iPhone names it.
  copyFileSync(path.join(FIXTURES, "heic", "tower-upright-120x160.heic"), path.join(dir, "IMG_0412.HEIC"));
  expected.add(`pdq:${(await hashFile(path.join(dir, "IMG_0412.HEIC"))).hash}`);
  writeFileSync(path.join(dir, "denuncia.pdf"), "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + "x".repeat(2000) + "\n%%EOF\n");
  writeFileSync(path.join(dir, "contrato.pdf"), "%PDF-1.7\n" + "y".repeat(500) + "\n%%EOF\n");
  writeFileSync(path.join(dir, "notas.txt"), `Para la abogada: llamar el lunes.\n${NOTE_HEX}\n`);
  writeFileSync(path.join(dir, "logo.svg"), `<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>\n`);
  // An MP4's first box (ftyp, brand isom) and some bytes: recognised by content, hashed as StopNCII does (MD5 of the bytes).
  const video = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from("ftypisom\0\0\x02\0isomiso2", "latin1"), Buffer.alloc(4000, 7)]);
  writeFileSync(path.join(dir, "video.mp4"), video);
  expected.add(`md5:${createHash("md5").update(video).digest("hex")}`);
}, 60_000);

test("submit --dry-run: the pictures' PDQ and the video's MD5, nothing from the note, one summary line", async () => {
  for (const [lang, summary] of [
    ["en_US.UTF-8", /^hashsafe: 4 files skipped: not pictures \(2 PDF, 1 SVG, 1 text\)$/m],
    ["es_DO.UTF-8", /^hashsafe: 4 archivos omitidos: no son fotos \(2 PDF, 1 SVG, 1 de texto\)$/m],
  ] as const) {
    const r = await runCli(["submit", dir, "--dry-run", "--format", "json"], { home, env: { LANG: lang } });
    expect(r.code, show(r)).toBe(0);
    const body = JSON.parse(r.stdout.trim().split("\n")[0]);
    const sent = new Set(body.hashes.map((h: { type: string; value: string }) => `${h.type}:${h.value}`));
    expect(sent).toEqual(expected);
    expect(r.stdout.toLowerCase()).not.toContain(NOTE_HEX);
    expect(r.stderr).toMatch(summary);
    expect(r.stderr).not.toMatch(/wrong length|notas\.txt:/);
    expect(r.stderr.split("\n").filter((l) => /pdf|svg|notas/i.test(l))).toHaveLength(lang.startsWith("en") ? 1 : 1);
  }
});

test("hash on the same folder gives the same set of records; a list is read only when named", async () => {
  const r = await runCli(["hash", dir, "--format", "ndjson"], { home });
  expect(r.code, show(r)).toBe(0);
  const recs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  expect(new Set(recs.map((x: { type?: string; hash: string }) => `${x.type ?? "pdq"}:${x.hash}`))).toEqual(expected);
  expect(r.stderr).toMatch(/4 files skipped: not pictures \(2 PDF, 1 SVG, 1 text\)/);
  // Named as a file, the note is a hash list (the person asked for it).
  const named = await runCli(["submit", path.join(dir, "notas.txt"), "--dry-run", "--format", "json"], { home });
  expect(readFileSync(path.join(dir, "notas.txt"), "utf8")).toContain(NOTE_HEX);
  expect(named.stdout).toContain(NOTE_HEX);
});
