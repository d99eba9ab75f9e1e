/**
 * The intake page for people who use a keyboard or assistive technology, in a
 * real browser (Debian's Chromium) against a real server over a SQLite file:
 * axe-core on every screen of the flow (no "serious" or "critical"
 * violations), the whole flow with the keyboard only (the file dialog itself
 * is answered with setInputFiles), and screenshots of every screen at a phone
 * and a desktop size, in Spanish and in English, under test-output/screenshots/.
 */
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server/index.ts";
import { FIXTURES, ROOT } from "../helpers.ts";
import { buildPage, launch, onScreen, startWithPage } from "./browser-support.ts";
import { countRows, removeDir, tempDir } from "./e2e-support.ts";

let dir: string;
let server: RunningServer;
let db: string;
const pictures = ["harbour.jpg", "tower.png"].map((name) => path.join(FIXTURES, "images", name));
const SHOTS = path.join(ROOT, "test-output", "screenshots");
// The page's CSP (script-src 'self') refuses addScriptTag's inline script, so axe-core's
// source is evaluated through the DevTools protocol, which the CSP does not govern.
const AXE = readFileSync(path.join(ROOT, "node_modules/axe-core/axe.min.js"), "utf8");

beforeAll(async () => {
  dir = tempDir("hashsafe-a11y-");
  db = path.join(dir, "db.sqlite");
  const built = await buildPage();
  server = await startWithPage(db, built.web);
  mkdirSync(SHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await removeDir(dir);
});

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown; failureSummary?: string }[];
}

/** axe-core's serious and critical violations on what the page shows now. */
async function axeProblems(page: Page): Promise<Violation[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE);
  const result = await page.evaluate(() => (window as any).axe.run() as Promise<{ violations: Violation[] }>);
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
}

async function checkScreen(page: Page, name: string, problems: Record<string, Violation[]>): Promise<void> {
  const found = await axeProblems(page);
  if (found.length) problems[name] = found;
}

const hashed = (n: number) => (page: Page) =>
  page.waitForFunction((n) => document.querySelectorAll("#items li").length === n && !document.querySelector("#items progress"), n, { timeout: 30_000 });

/** Go through every screen, calling `visit` on each (start, choose, confirm, done, status, withdraw dialog). */
async function walk(page: Page, lang: "es" | "en", visit: (screen: string) => Promise<void>): Promise<void> {
  await page.goto(server.url + "/");
  await onScreen(page, "intro");
  await visit("start");
  await page.click("#start");
  await onScreen(page, "choose");
  await visit("choose-empty");
  await page.setInputFiles("#file-input", pictures);
  await hashed(pictures.length)(page);
  await page.click("#what-is-sent summary");
  await visit("choose-hashed");
  await page.click("text=" + (lang === "es" ? "Continuar" : "Continue"));
  await onScreen(page, "confirm");
  await visit("confirm");
  await page.click("#send");
  await onScreen(page, "done");
  await visit("done");
  await page.click("#to-status");
  await onScreen(page, "status");
  await page.waitForSelector("#case-view");
  await visit("status");
  await page.locator(".withdraw-one").first().click();
  await page.waitForSelector("#confirm-dialog[open]");
  await visit("withdraw-confirm");
  await page.click("#confirm-no");
}

describe("accessibility (axe-core) on every screen", () => {
  for (const lang of ["es", "en"] as const) {
    it(`no serious or critical violations in ${lang}`, async () => {
      const b = await launch({ locale: lang === "es" ? "es-419" : "en-US" });
      try {
        const page = b.context.pages()[0] ?? (await b.context.newPage());
        const problems: Record<string, Violation[]> = {};
        const seen: string[] = [];
        // The language switch offers the other language, named in that language and marked with its lang.
        await page.goto(server.url + "/");
        await onScreen(page, "intro");
        const other = lang === "es" ? { lang: "en", name: "English" } : { lang: "es", name: "Español" };
        expect((await page.textContent("#lang-switch"))!.trim()).toBe(other.name);
        expect(await page.getAttribute("#lang-switch", "lang")).toBe(other.lang);
        await walk(page, lang, async (screen) => {
          seen.push(screen);
          await checkScreen(page, screen, problems);
        });
        expect(seen).toEqual(["start", "choose-empty", "choose-hashed", "confirm", "done", "status", "withdraw-confirm"]);
        expect(problems, JSON.stringify(problems, null, 2)).toEqual({});
      } finally {
        await b.close();
      }
    }, 60_000);
  }
});

/** A screenshot of one of the other states (English, 1280x900), from the top. */
async function shoot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SHOTS, `en-1280-state-${name}.png`), fullPage: true });
}

describe("accessibility (axe-core) on the other states", () => {
  it("empty status form, a wrong secret, the server down (pending), a withdrawn case", async () => {
    const b = await launch({ locale: "en-US" });
    try {
      const page = b.context.pages()[0] ?? (await b.context.newPage());
      const problems: Record<string, Violation[]> = {};
      await page.goto(server.url + "/");
      await onScreen(page, "intro");
      await page.click("#open-status");
      await onScreen(page, "status");
      await checkScreen(page, "status-empty", problems);
      await shoot(page, "status-empty");
      await page.fill("#case-input", "c_nosuchcase0000000000");
      await page.fill("#secret-input", "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG");
      await page.click("#check");
      await page.waitForFunction(() => !document.querySelector("#check[disabled]") && !!document.querySelector("main [role=alert]:not(:empty), main .error:not(:empty)"), null, { timeout: 15_000 });
      await checkScreen(page, "status-wrong", problems);
      await shoot(page, "status-wrong");
      await page.goto(server.url + "/");
      await page.click("#start");
      await page.setInputFiles("#file-input", pictures.slice(0, 1));
      await hashed(1)(page);
      await page.click("#continue");
      await onScreen(page, "confirm");
      await page.route(`${server.url}/v1/**`, (route) => route.abort("connectionrefused"));
      await page.click("#send");
      await onScreen(page, "pending");
      await checkScreen(page, "pending", problems);
      await shoot(page, "pending");
      await page.unroute(`${server.url}/v1/**`);
      await page.click("#retry");
      await onScreen(page, "done");
      await page.click("#to-status");
      await page.waitForSelector("#withdraw-all");
      await page.click("#withdraw-all");
      await page.click("#confirm-yes");
      await page.waitForFunction(() => !document.querySelector("#withdraw-all"));
      await checkScreen(page, "status-withdrawn", problems);
      await shoot(page, "status-withdrawn");
      expect(problems, JSON.stringify(problems, null, 2)).toEqual({});
    } finally {
      await b.close();
    }
  }, 60_000);
});

/** Press Tab until `selector` has the focus (at most `max` times); fails if it never does. */
async function tabTo(page: Page, selector: string, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => !!document.activeElement?.matches(s), selector)) return;
    await page.keyboard.press("Tab");
  }
  const at = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120));
  throw new Error(`${selector} never got the focus with Tab (focus on ${at})`);
}

/** After a change of screen the focus is on the new screen's heading, so a screen reader reads it out. */
async function focusOnHeading(page: Page): Promise<void> {
  expect(await page.evaluate(() => document.activeElement?.matches("main h1") ?? false)).toBe(true);
}

describe("keyboard only", () => {
  it("start, choose, continue, send, case shown, status, withdraw one: with Tab, Enter, Space and Escape only", async () => {
    const b = await launch({ locale: "en-US" });
    try {
      const page = b.context.pages()[0] ?? (await b.context.newPage());
      const before = countRows(db, "cases");
      await page.goto(server.url + "/");
      await onScreen(page, "intro");
      await tabTo(page, "#start");
      await page.keyboard.press("Enter");
      await onScreen(page, "choose");
      // The file dialog: reached with Tab and opened with Space; the dialog itself is answered by setFiles.
      const chooser = page.waitForEvent("filechooser", { timeout: 10_000 });
      await tabTo(page, "#choose-files");
      await page.keyboard.press("Space");
      await (await chooser).setFiles(pictures);
      await hashed(pictures.length)(page);
      await tabTo(page, "#continue");
      await page.keyboard.press("Enter");
      await onScreen(page, "confirm");
      await focusOnHeading(page);
      await tabTo(page, "#send");
      await page.keyboard.press("Space");
      await onScreen(page, "done");
      await focusOnHeading(page);
      const caseId = (await page.textContent("#case-id"))!.trim();
      expect(caseId.length).toBeGreaterThan(4);
      expect(countRows(db, "cases")).toBe(before + 1);
      // Status, and withdraw one picture: Escape cancels the confirmation, Enter on "yes" confirms.
      await tabTo(page, "#to-status");
      await page.keyboard.press("Enter");
      await onScreen(page, "status");
      await page.waitForSelector("#case-view");
      expect(await page.locator(".withdraw-one").count()).toBe(pictures.length);
      await tabTo(page, ".withdraw-one");
      await page.keyboard.press("Enter");
      await page.waitForSelector("#confirm-dialog[open]");
      await page.keyboard.press("Escape");
      await page.waitForSelector("#confirm-dialog:not([open])", { state: "attached" });
      expect(await page.evaluate(() => document.activeElement?.matches(".withdraw-one") ?? false)).toBe(true);
      await page.keyboard.press("Enter");
      await page.waitForSelector("#confirm-dialog[open]");
      await tabTo(page, "#confirm-yes", 5);
      await page.keyboard.press("Enter");
      await page.waitForFunction((n) => document.querySelectorAll(".withdraw-one").length === n, pictures.length - 1);
    } finally {
      await b.close();
    }
  }, 60_000);
});

describe("screenshots", () => {
  it("every screen at 390x844 and 1280x900, in es and en", async () => {
    const written: string[] = [];
    for (const lang of ["es", "en"] as const) {
      for (const vp of [{ width: 390, height: 844 }, { width: 1280, height: 900 }]) {
        const b = await launch({ locale: lang === "es" ? "es-419" : "en-US", viewport: vp });
        try {
          const page = b.context.pages()[0] ?? (await b.context.newPage());
          let n = 0;
          await walk(page, lang, async (screen) => {
            const file = path.join(SHOTS, `${lang}-${vp.width}-${String(++n).padStart(2, "0")}-${screen}.png`);
            // The header is sticky: from the top, so a full-page capture shows it where it is (a modal dialog: the viewport, as seen).
            const modal = screen === "withdraw-confirm";
            if (!modal) await page.evaluate(() => window.scrollTo(0, 0));
            await page.screenshot({ path: file, fullPage: !modal });
            written.push(file);
          });
        } finally {
          await b.close();
        }
      }
    }
    expect(written).toHaveLength(2 * 2 * 7);
  }, 90_000);
});
