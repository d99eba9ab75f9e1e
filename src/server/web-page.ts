/**
 * The intake page at `/`, served by `hashsafe serve` from the built static
 * folder (dist/web, see src/web/ and docs/intake-page.md), on the same
 * origin as the API, with a strict Content-Security-Policy: scripts, styles,
 * workers and fetches from this origin only, no inline script or style, no
 * third-party origin, no framing, no referrer.
 *
 * Only the files the folder held when the server started are served (a
 * fixed list, read once); `config.json` can be replaced by the operator's
 * own (`--web-config`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Hono } from "hono";

export interface WebPageOptions {
  /** The built page folder (default: dist/web of this installation). */
  root?: string;
  /** A config file for the page, served as /config.json instead of the folder's own. */
  configFile?: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webmanifest": "application/manifest+json",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * The policy of the page and its worker. `wasm-unsafe-eval` lets the worker
 * compile the PDQ WebAssembly that is inside its own bundle; it allows no
 * `eval` of text.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The built page folder beside this code: dist/web (from dist/ or from src/server/). */
export function defaultWebRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (basename(dir) === "dist" && existsSync(join(dir, "web", "index.html"))) return join(dir, "web");
    if (existsSync(join(dir, "dist", "web", "index.html"))) return join(dir, "dist", "web");
    dir = dirname(dir);
  }
  return null;
}

/** Register the page's routes on the app. Throws when the folder has no index.html. */
export function registerWebPage(app: Hono<any>, options: WebPageOptions = {}): void {
  const root = options.root ? resolve(options.root) : defaultWebRoot();
  if (!root || !existsSync(join(root, "index.html"))) {
    throw new Error(`the intake page is not built (no index.html in ${root ?? "dist/web"}): run npm run build`);
  }
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    if (!statSync(p).isFile() || name.startsWith(".") || name.endsWith(".map")) continue;
    const type = TYPES[extname(name).toLowerCase()];
    if (type) files.set(`/${name}`, { body: readFileSync(p), type });
  }
  if (options.configFile) {
    const text = readFileSync(options.configFile, "utf8");
    JSON.parse(text); // refuse a broken file at start, not in a victim's browser
    files.set("/config.json", { body: Buffer.from(text), type: TYPES[".json"] });
  }
  const headers = (type: string) => ({
    "content-type": type,
    "content-security-policy": PAGE_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "cache-control": "no-cache",
  });
  app.get("/", () => {
    const f = files.get("/index.html")!;
    return new Response(new Uint8Array(f.body), { status: 200, headers: headers(f.type) });
  });
  for (const [path, f] of files) {
    app.get(path, () => new Response(new Uint8Array(f.body), { status: 200, headers: headers(f.type) }));
  }
}
