// Builds the browser library (dist/browser/: index.js + worker.js + chunks) and the
// intake page (dist/web/: index.html, app.js, worker.js, app.css,
// config.json, logo.svg, and the worker's chunks: heic-HASH.js, chunk-HASH.js). Called by `npm run build` after the Node build.
//
//   node src/web/build.mjs [--config my-config.json] [--out folder] [--lib-out folder]
//
// --out builds only the page (into that folder) unless --lib-out is given too.
//
// With --config, the page is built for that config: it is copied in as
// config.json and the page's Content-Security-Policy (a <meta> tag, for
// hosting the folder anywhere) allows fetches to its server's origin.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const configFile = opt("--config");
const outWeb = path.resolve(opt("--out") ?? path.join(root, "dist", "web"));
const outLib = opt("--lib-out") ? path.resolve(opt("--lib-out")) : opt("--out") ? null : path.join(root, "dist", "browser");

const common = {
  bundle: true,
  platform: "browser",
  format: "esm",
  target: ["es2022", "chrome100", "firefox100", "safari16"],
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
  minify: true,
  // No Node API may reach the browser: fail the build if anything imports one.
  plugins: [{
    name: "no-node",
    setup(b) {
      b.onResolve({ filter: /^node:|^(fs|path|crypto|os|http|https|net|url|stream|buffer|child_process|worker_threads)$/ }, (a) => ({
        errors: [{ text: `Node API "${a.path}" imported by ${a.importer} in the browser bundle` }],
      }));
    },
  }],
};

// The HEIC decoder (src/image/heic.ts: libheif with its WebAssembly, about 2 MB) is
// imported with import() by decode.ts: with `splitting` it becomes a chunk of its own
// beside the worker (heic-HASH.js), fetched from the same origin on the first HEIC only.
// The page's app.js is built on its own, so it shares no chunk with the worker.
// Chunks of an earlier build have other hashes in their names: remove them, so only this build's are served.
const CHUNK = /^(heic|chunk)-[A-Z0-9]+\.js$/;
for (const dir of [outWeb, outLib]) {
  if (dir && existsSync(dir)) for (const f of readdirSync(dir)) if (CHUNK.test(f)) rmSync(path.join(dir, f));
}
if (outLib) {
  await build({ ...common, splitting: true, entryPoints: { index: "src/browser/index.ts", worker: "src/browser/worker.ts" }, outdir: outLib, absWorkingDir: root, minify: false });
}
mkdirSync(outWeb, { recursive: true });
await build({ ...common, entryPoints: { app: "src/web/app.ts" }, outdir: outWeb, absWorkingDir: root });
await build({ ...common, splitting: true, entryPoints: { worker: "src/browser/worker.ts" }, outdir: outWeb, absWorkingDir: root });

const config = configFile ? readFileSync(configFile, "utf8") : readFileSync(path.join(root, "src/web/config.json"), "utf8");
const parsed = JSON.parse(config);
let connect = "'self'";
if (typeof parsed.server === "string" && /^https?:\/\//.test(parsed.server)) connect += ` ${new URL(parsed.server).origin}`;
const csp = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  `connect-src ${connect}`,
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");
const html = readFileSync(path.join(root, "src/web/index.html"), "utf8").replace("{{CSP}}", csp);
writeFileSync(path.join(outWeb, "index.html"), html);
writeFileSync(path.join(outWeb, "config.json"), config);
copyFileSync(path.join(root, "src/web/app.css"), path.join(outWeb, "app.css"));
const logo = parsed.org?.logo;
if (typeof logo === "string" && !logo.includes(":") && !logo.includes("/")) {
  const from = configFile && existsSync(path.join(path.dirname(configFile), logo)) ? path.join(path.dirname(configFile), logo) : path.join(root, "src/web", logo);
  if (existsSync(from)) copyFileSync(from, path.join(outWeb, logo));
}
