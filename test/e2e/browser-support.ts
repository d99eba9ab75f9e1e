/**
 * Support for the browser tests: Debian's Chromium driven by playwright-core
 * (nothing is downloaded), the intake page built into a temporary folder,
 * and a real `hashsafe` server on loopback over a SQLite file serving it.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { type RunningServer, startServer, type StartOptions } from "../../src/server/index.ts";
import { ROOT } from "../helpers.ts";

export const CHROMIUM = process.env.HASHSAFE_CHROMIUM ?? "/usr/bin/chromium";

/** Flags for a closed network: no background calls home, no QUIC, no GPU. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--metrics-recording-only",
  "--no-default-browser-check",
];

export interface LaunchedBrowser {
  context: BrowserContext;
  userDataDir: string;
  close(): Promise<void>;
}

/** A persistent context with a fresh profile folder (IndexedDB survives reloads; each call is a new device). */
export async function launch(options: { locale?: string; viewport?: { width: number; height: number } } = {}): Promise<LaunchedBrowser> {
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), "hashsafe-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    locale: options.locale ?? "es-419",
    viewport: options.viewport ?? { width: 1280, height: 900 },
    serviceWorkers: "block",
    acceptDownloads: true,
  });
  return {
    context,
    userDataDir,
    async close() {
      await context.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

let sharedBrowser: Browser | null = null;
/** One non-persistent browser per test file, for contexts that need no profile. */
export async function browser(): Promise<Browser> {
  sharedBrowser ??= await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  return sharedBrowser;
}
export async function closeBrowser(): Promise<void> {
  await sharedBrowser?.close();
  sharedBrowser = null;
}

/** Build the page (and, when asked, the library) into a fresh temporary folder. */
export async function buildPage(options: { config?: unknown; lib?: boolean } = {}): Promise<{ web: string; lib: string; dir: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "hashsafe-web-"));
  const web = path.join(dir, "web");
  const lib = path.join(dir, "browser");
  const args = [path.join(ROOT, "src/web/build.mjs"), "--out", web];
  if (options.lib) args.push("--lib-out", lib);
  if (options.config !== undefined) {
    mkdirSync(web, { recursive: true });
    const file = path.join(dir, "config.json");
    writeFileSync(file, JSON.stringify(options.config, null, 2));
    args.push("--config", file);
  }
  await promisify(execFile)(process.execPath, args, { cwd: ROOT });
  return { web, lib, dir };
}

/** A real server on loopback over a SQLite file, serving the page from `webRoot`. */
export function startWithPage(db: string, webRoot: string, options: StartOptions = {}): Promise<RunningServer> {
  return startServer({
    host: "127.0.0.1",
    port: 0,
    db,
    logLevel: "silent",
    scrypt: { N: 1024, r: 8, p: 1 },
    web: { root: webRoot },
    ...options,
  } as StartOptions);
}

export interface RecordedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
  resourceType: string;
}

/** Record every request the page (and its workers) makes, from the browser's side. */
export function recordRequests(context: BrowserContext): RecordedRequest[] {
  const list: RecordedRequest[] = [];
  context.on("request", (r) => {
    list.push({ url: r.url(), method: r.method(), headers: r.headers(), body: r.postData(), resourceType: r.resourceType() });
  });
  return list;
}

/** Wait until the page has rendered a screen (data-screen on <main>). */
export async function onScreen(page: Page, screen: string): Promise<void> {
  await page.waitForSelector(`main[data-screen="${screen}"]`, { timeout: 30_000 });
}

/** Serve files to the page under `${origin}/__fixtures/` without touching the server (request interception). */
export async function serveFixtures(page: Page, origin: string, files: Map<string, Buffer>): Promise<void> {
  await page.route(`${origin}/__fixtures/**`, (route) => {
    const name = decodeURIComponent(new URL(route.request().url()).pathname.slice("/__fixtures/".length));
    const body = files.get(name);
    if (!body) return route.fulfill({ status: 404, body: "" });
    return route.fulfill({ status: 200, body, headers: { "content-type": "application/octet-stream" } });
  });
}
