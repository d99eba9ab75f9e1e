/**
 * The intake page in a real browser (Debian's Chromium), against a real
 * server on loopback over a SQLite file, in Spanish and in English: choose
 * pictures, hashing progress, "what will be sent", send, case id + secret,
 * status, withdraw one, withdraw all (each confirmed), quick exit. Every
 * request of the flow (page and workers) is recorded and checked: only the
 * protocol's calls to this server, bodies of protocol fields only, nothing
 * of the pictures (names, sizes, dimensions, EXIF, thumbnails, image bytes).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateCaseRequestSchema } from "../../src/protocol/cases.ts";
import type { RunningServer } from "../../src/server/index.ts";
import { FIXTURES } from "../helpers.ts";
import { buildPage, launch, onScreen, recordRequests, startWithPage } from "./browser-support.ts";
import { countRows, removeDir, tempDir } from "./e2e-support.ts";

let dir: string;
let server: RunningServer;
let db: string;
const pictures = ["harbour.jpg", "tower.png", "meadow.webp"].map((name) => ({ name, path: path.join(FIXTURES, "images", name), bytes: readFileSync(path.join(FIXTURES, "images", name)) }));

beforeAll(async () => {
  dir = tempDir("hashsafe-webflow-");
  db = path.join(dir, "db.sqlite");
  const built = await buildPage();
  server = await startWithPage(db, built.web);
}, 120_000);

afterAll(async () => {
  await server?.close();
  await removeDir(dir);
});

/** Words and byte runs that must never appear in any request. */
async function secretsOfPictures(): Promise<{ words: string[]; runs: Buffer[] }> {
  const words: string[] = [];
  const runs: Buffer[] = [];
  for (const p of pictures) {
    const m = await sharp(p.bytes).metadata();
    words.push(p.name, p.name.replace(/\.[a-z]+$/, ""), String(p.bytes.length), `${m.width}x${m.height}`, `"width":${m.width}`, `"height":${m.height}`);
    // Runs of 16 image bytes from several places, as base64 and hex too.
    for (const at of [64, Math.floor(p.bytes.length / 2), p.bytes.length - 40]) {
      const run = p.bytes.subarray(at, at + 16);
      runs.push(run);
      words.push(run.toString("base64").slice(0, 20), run.toString("hex"));
    }
  }
  words.push("data:image", "blob:", "base64,", "Exif", "exif");
  return { words, runs };
}

for (const lang of ["es", "en"] as const) {
  describe(`the whole flow in ${lang === "es" ? "Spanish" : "English"}`, () => {
    it("choose, hash, see what is sent, send, case + secret, status, withdraw one, withdraw all; only protocol calls leave", async () => {
      const b = await launch({ locale: lang === "es" ? "es-419" : "en-US" });
      try {
        const requests = recordRequests(b.context);
        const page = b.context.pages()[0] ?? (await b.context.newPage());
        const casesBefore = countRows(db, "cases");
        await page.goto(server.url + "/");
        await onScreen(page, "intro");
        expect(await page.getAttribute("html", "lang")).toMatch(new RegExp(`^${lang}`));
        await page.click("#start");
        await onScreen(page, "choose");
        await page.setInputFiles("#file-input", pictures.map((p) => p.path));
        await page.waitForFunction(() => document.querySelectorAll("#items li").length === 3 && !document.querySelector("#items progress"), null, { timeout: 30_000 });
        const progress = await page.textContent("#progress");
        expect(progress).toMatch(lang === "es" ? /3/ : /3/);
        // What will be sent: exactly the JSON body, three PDQ hashes and nothing of the files.
        await page.click("#what-is-sent summary");
        const shown = JSON.parse((await page.textContent("#sent-json"))!);
        const parsed = CreateCaseRequestSchema.parse(shown);
        expect(parsed.hashes).toHaveLength(3);
        await page.click("text=" + (lang === "es" ? "Continuar" : "Continue"));
        await onScreen(page, "confirm");
        await page.click("#send");
        await onScreen(page, "done");
        const caseId = (await page.textContent("#case-id"))!.trim();
        const secret = (await page.textContent("#case-secret"))!.trim();
        expect(caseId.length).toBeGreaterThan(4);
        expect(secret.length).toBeGreaterThan(8);
        expect(countRows(db, "cases")).toBe(casesBefore + 1);
        await page.click("#to-status");
        await onScreen(page, "status");
        await page.waitForSelector("#case-view");
        expect(await page.locator("#case-hashes li").count()).toBe(3);
        // Withdraw one, with a confirmation.
        await page.locator(".withdraw-one").first().click();
        await page.waitForSelector("#confirm-dialog[open]");
        await page.click("#confirm-yes");
        await page.waitForFunction(() => document.querySelectorAll(".withdraw-one").length === 2);
        // what happened and when platforms stop: the change may be held back so it cannot be tied to the person
        expect(await page.textContent("main")).toMatch(lang === "es" ? /Retirado\. Las plataformas dejan de buscar.*hasta una hora/ : /Withdrawn\. Platforms stop looking.*up to an hour/);
        // Withdraw all: cancel first (nothing happens), then confirm.
        await page.click("#withdraw-all");
        await page.click("#confirm-no");
        expect(await page.locator(".withdraw-one").count()).toBe(2);
        await page.click("#withdraw-all");
        await page.click("#confirm-yes");
        await page.waitForFunction(() => !document.querySelector(".withdraw-one") && !document.querySelector("#withdraw-all"));
        const statusText = (await page.textContent("#case-status"))!;
        expect(statusText).toMatch(lang === "es" ? /retirad/i : /withdrawn/i);

        // Privacy: every request so far. blob: URLs are the local thumbnails (object URLs: never on the network).
        const local = requests.filter((r) => r.url.startsWith("blob:"));
        for (const r of local) expect(r.method).toBe("GET");
        requests.splice(0, requests.length, ...requests.filter((r) => !r.url.startsWith("blob:")));
        const origin = new URL(server.url).origin;
        const others = requests.filter((r) => new URL(r.url).origin !== origin);
        expect(others.map((r) => r.url)).toEqual([]);
        const api = requests.filter((r) => new URL(r.url).pathname.startsWith("/v1/"));
        const page_ = requests.filter((r) => !new URL(r.url).pathname.startsWith("/v1/"));
        // Page assets are GETs without bodies (chunk-HASH.js: code the worker shares with the HEIC chunk,
        // which itself is not fetched: no HEIC here).
        for (const r of page_) {
          expect(r.method, r.url).toBe("GET");
          expect(r.body, r.url).toBeNull();
          expect(new URL(r.url).pathname).toMatch(/^\/(|index\.html|app\.js|worker\.js|chunk-[A-Z0-9]+\.js|app\.css|config\.json|logo\.svg|favicon\.ico)$/);
        }
        const calls = api.map((r) => `${r.method} ${new URL(r.url).pathname.replace(caseId, ":case").replace(/\/hashes\/[^/]+$/, "/hashes/:hash")}`);
        expect(calls).toEqual(["POST /v1/cases", "GET /v1/cases/:case", "DELETE /v1/cases/:case/hashes/:hash", "DELETE /v1/cases/:case"]);
        const post = api.find((r) => r.method === "POST")!;
        expect(CreateCaseRequestSchema.parse(JSON.parse(post.body!))).toEqual(parsed);
        for (const r of api.filter((r) => r.method !== "POST")) expect(r.body ?? "").toBe("");
        const { words, runs } = await secretsOfPictures();
        for (const r of requests) {
          const wire = [r.url, r.body ?? "", ...Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`)].join("\n");
          for (const w of words) expect(wire.includes(w), `${w} in ${r.method} ${r.url}`).toBe(false);
          const raw = Buffer.from(r.body ?? "", "latin1");
          for (const run of runs) expect(raw.includes(run), `image bytes in ${r.url}`).toBe(false);
          expect(Object.keys(r.headers).map((k) => k.toLowerCase())).not.toContain("cookie");
        }

        // Quick exit: replaces the page, no new history entry (the exit site is answered locally).
        await page.route("https://www.google.com/**", (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<title>clima</title>" }));
        const historyBefore = await page.evaluate(() => history.length);
        await page.click("#quick-exit");
        await page.waitForURL(/google\.com/);
        expect(await page.evaluate(() => history.length)).toBe(historyBefore);
        await page.goBack().catch(() => null);
        expect(page.url()).not.toBe(server.url + "/");
      } finally {
        await b.close();
      }
    }, 90_000);
  });
}

describe("start-up", () => {
  it("Start pressed while the page still checks this device's saved data is kept (not sent back to the first screen)", async () => {
    const b = await launch({ locale: "en-US" });
    try {
      const page = b.context.pages()[0] ?? (await b.context.newPage());
      // a slow device: the IndexedDB check at start-up answers after 1.5 s
      await page.addInitScript(() => {
        const databases = indexedDB.databases.bind(indexedDB);
        indexedDB.databases = () => new Promise((resolve) => setTimeout(() => resolve(databases()), 1500));
      });
      await page.goto(server.url + "/");
      await page.click("#start");
      await onScreen(page, "choose");
      await page.waitForTimeout(2500);
      expect(await page.getAttribute("main", "data-screen")).toBe("choose");
    } finally {
      await b.close();
    }
  }, 60_000);
});

describe("server down during submit", () => {
  it("the case waits in IndexedDB, survives a reload, and is delivered once when the server is back", async () => {
    // Its own server on a fixed port, so it can be stopped and started again over the same file.
    const built = await buildPage();
    const db2 = path.join(dir, "outbox.sqlite");
    let srv = await startWithPage(db2, built.web);
    const url = srv.url;
    const port = Number(new URL(url).port);
    const b = await launch({ locale: "es-419" });
    try {
      const page = b.context.pages()[0] ?? (await b.context.newPage());
      await page.goto(url + "/");
      await page.click("#start");
      await page.setInputFiles("#file-input", pictures.slice(0, 2).map((p) => p.path));
      await page.waitForFunction(() => document.querySelectorAll("#items li").length === 2 && !document.querySelector("#items progress"));
      await page.click("text=Continuar");
      await onScreen(page, "confirm");
      // The API goes away (the page itself stays loaded).
      await page.route(`${url}/v1/**`, (route) => route.abort("connectionrefused"));
      await page.click("#send");
      await onScreen(page, "pending");
      const keep = page.locator("#keep");
      await keep.click();
      await page.waitForFunction(async () => {
        const dbs = await indexedDB.databases();
        return dbs.length > 0;
      });
      expect(countRows(db2, "cases")).toBe(0);
      await srv.close();
      await page.unroute(`${url}/v1/**`);
      // Reload while the server is down: the page itself cannot load, so start it again first on the same port.
      srv = await startWithPage(db2, built.web, { port });
      await page.reload();
      // On load the page finds the saved case and delivers it by itself, showing its case id and secret.
      await onScreen(page, "done");
      expect((await page.textContent("#case-id"))!.trim().length).toBeGreaterThan(4);
      expect(countRows(db2, "cases")).toBe(1);
      // Once delivered, it is gone from the outbox: a reload offers nothing to resend.
      await page.reload();
      await onScreen(page, "intro");
      await page.waitForTimeout(500);
      expect(await page.locator(".notice button").count()).toBe(0);
      expect(countRows(db2, "cases")).toBe(1);
    } finally {
      await b.close();
      await srv.close();
    }
  }, 90_000);
});
