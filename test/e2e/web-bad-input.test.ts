/**
 * Bad input in the intake page: a corrupt JPEG, a PDF renamed .jpg, a PNG
 * whose header says 60000 x 60000, a video, a 3 x 3 picture, a flat black
 * picture (nothing to recognise: FLAT, as the CLI). Each gets its own
 * message, in the page's language (the catalogue's words), and the good
 * pictures chosen with them are still hashed; a picture with transparent
 * parts is hashed and sent, with a warning (copies flattened onto a
 * background may not match).
 */
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { web } from "../../src/i18n/web.ts";
import type { RunningServer } from "../../src/server/index.ts";
import { FIXTURES, ROOT } from "../helpers.ts";
import { buildPage, encodePng, launch, onScreen, startWithPage } from "./browser-support.ts";
import { removeDir, tempDir } from "./e2e-support.ts";

let dir: string;
let server: RunningServer;

beforeAll(async () => {
  dir = tempDir("hashsafe-webbad-");
  mkdirSync(path.join(ROOT, "test-output", "screenshots"), { recursive: true });
  server = await startWithPage(path.join(dir, "db.sqlite"), (await buildPage()).web);
}, 120_000);
afterAll(async () => {
  await server?.close();
  await removeDir(dir);
});

async function badFiles(): Promise<{ name: string; mimeType: string; buffer: Buffer; key: string | null; transparent?: boolean }[]> {
  const jpeg = readFileSync(path.join(FIXTURES, "images", "harbour.jpg"));
  // Corrupt: a JPEG start (SOI and the first marker) kept, the segments after it overwritten
  // (the file still ends with EOI). Overwriting from byte 2 would make it no JPEG at all.
  const corrupt = Buffer.from(jpeg);
  corrupt.fill(0x5a, 4, 600);
  const pdf = Buffer.from("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
  // A PNG that claims 60000 x 60000 (3.6 gigapixels): IHDR says so, the data is tiny.
  const big = encodePng({ width: 1, height: 1, colorType: 0, bitDepth: 8, samples: [0] });
  big.writeUInt32BE(60000, 16);
  big.writeUInt32BE(60000, 20);
  big.writeUInt32BE(zlib.crc32(big.subarray(12, 29)), 29);
  // An MP4's first bytes: ftyp isom.
  const mp4 = Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from("ftypisom\0\0\x02\0isomiso2avc1mp41", "latin1"), Buffer.alloc(64)]);
  const tiny = await sharp({ create: { width: 3, height: 3, channels: 3, background: "#808080" } }).png().toBuffer();
  // One colour all over: PDQ quality 0, an all-zero hash.
  const black = await sharp({ create: { width: 300, height: 200, channels: 3, background: "#000000" } }).png().toBuffer();
  // A real photo with every pixel half transparent: hashed (its alpha dropped, as the CLI), with a warning.
  const seeThrough = await sharp(jpeg).resize(320).ensureAlpha(0.5).png().toBuffer();
  return [
    { name: "good-1.jpg", mimeType: "image/jpeg", buffer: jpeg, key: null },
    { name: "corrupt.jpg", mimeType: "image/jpeg", buffer: corrupt, key: "web.error.CORRUPT" },
    { name: "document.jpg", mimeType: "image/jpeg", buffer: pdf, key: "web.error.PDF" },
    { name: "huge.png", mimeType: "image/png", buffer: big, key: "web.error.TOO_LARGE" },
    { name: "clip.mp4", mimeType: "video/mp4", buffer: mp4, key: "web.error.VIDEO" },
    { name: "tiny.png", mimeType: "image/png", buffer: tiny, key: "web.error.TOO_SMALL" },
    { name: "good-2.png", mimeType: "image/png", buffer: readFileSync(path.join(FIXTURES, "images", "tower.png")), key: null },
    { name: "black.png", mimeType: "image/png", buffer: black, key: "web.error.FLAT" },
    { name: "see-through.png", mimeType: "image/png", buffer: seeThrough, key: null, transparent: true },
  ];
}

for (const lang of ["es", "en"] as const) {
  describe(`bad input, page in ${lang}`, () => {
    it("each bad file has its own message in the page's language; the good ones are hashed", async () => {
      const files = await badFiles();
      const b = await launch({ locale: lang === "es" ? "es-419" : "en-US" });
      try {
        const page = b.context.pages()[0] ?? (await b.context.newPage());
        await page.goto(server.url + "/");
        await page.click("#start");
        await onScreen(page, "choose");
        await page.setInputFiles("#file-input", files.map(({ name, mimeType, buffer }) => ({ name, mimeType, buffer })));
        await page.waitForFunction(() => document.querySelectorAll("#items li").length === 9 && !document.querySelector("#items progress"), null, { timeout: 30_000 });
        await page.screenshot({ path: path.join(ROOT, "test-output", "screenshots", `${lang}-1280-state-bad-input.png`), fullPage: true });
        const rows = await page.$$eval("#items li", (lis) => lis.map((li) => ({ state: li.getAttribute("data-state"), code: li.getAttribute("data-code"), text: li.querySelector(".item-body")!.textContent ?? "" })));
        const words = web[lang] as unknown as Record<string, string>;
        const other = web[lang === "es" ? "en" : "es"] as unknown as Record<string, string>;
        rows.forEach((row, i) => {
          const f = files[i];
          if (!f.key) {
            expect(row.state, f.name).toBe("done");
            // The transparency warning on the see-through picture only, in this language.
            expect(row.text.includes(words["web.item.transparent"]), f.name).toBe(f.transparent === true);
            expect(row.text, f.name).not.toContain(other["web.item.transparent"]);
            return;
          }
          expect({ name: f.name, state: row.state, code: row.code }).toEqual({ name: f.name, state: "error", code: f.key });
          // The words of the message, in this language (placeholders filled), not the other's.
          const stem = words[f.key].split("{")[0].trim();
          expect(row.text, f.name).toContain(stem);
          expect(row.text, f.name).not.toContain(other[f.key].split("{")[0].trim());
        });
        expect(rows[3].text).toContain("60000");
        expect(rows[5].text).toContain("3 x 3");
        // Six different messages for six different problems.
        expect(new Set(rows.filter((r) => r.state === "error").map((r) => r.text)).size).toBe(6);
        // The three good pictures (the see-through one too) go into what will be sent; the flat one does not.
        const sent = JSON.parse((await page.textContent("#sent-json"))!);
        expect(sent.hashes).toHaveLength(3);
        expect(sent.hashes.map((h: { value: string }) => h.value)).not.toContain("0".repeat(64));
      } finally {
        await b.close();
      }
    }, 60_000);
  });
}
