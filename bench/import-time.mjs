// Import time of each package entry (the built dist/), each in fresh Node
// processes: the median of the time `await import(entry)` takes, and which
// heavy dependencies the entry loaded (a module-resolution hook records them).
//
//   npm run build && node bench/import-time.mjs [--runs 9] [--json]
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({ options: { runs: { type: "string", default: "9" }, json: { type: "boolean", default: false } } });
const runs = Number(args.runs);

const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const entries = Object.entries(pkg.exports)
  .filter(([k]) => k !== "./package.json")
  .map(([k, v]) => ({ name: k === "." ? "hashsafe" : `hashsafe/${k.slice(2)}`, file: path.join(root, typeof v === "string" ? v : v.default) }));
for (const e of entries) {
  if (!existsSync(e.file)) {
    console.error(`bench/import-time.mjs: ${path.relative(root, e.file)} is missing; run \`npm run build\` first`);
    process.exit(1);
  }
}

/** Bare package names the import resolved (heavy ones are what matter). */
const HEAVY = ["sharp", "better-sqlite3", "undici", "hono", "@hono/node-server", "zod", "commander", "blurhash", "cli-progress"];

// A resolve hook that notes every bare specifier; registered with --import.
const hook = `data:text/javascript,${encodeURIComponent(`
import { register } from "node:module";
register("data:text/javascript," + encodeURIComponent(\`
const seen = new Set();
export async function resolve(spec, ctx, next) {
  if (!spec.startsWith(".") && !spec.startsWith("/") && !spec.startsWith("file:") && !spec.startsWith("node:") && !spec.startsWith("data:")) {
    const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
    if (!seen.has(name)) { seen.add(name); process.stderr.write("LOADED " + name + "\\\\n"); }
  }
  return next(spec, ctx);
}\`));
`)}`;

function once(file) {
  const code = `const t = performance.now(); await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t));`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", code], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return Number(out);
}

function loadedBy(file) {
  const code = `await import(${JSON.stringify(file)});`;
  const r = spawnSync(process.execPath, ["--import", hook, "--input-type=module", "-e", code], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`importing ${file} failed: ${r.stderr}`);
  return [...new Set(r.stderr.split("\n").filter((l) => l.startsWith("LOADED ")).map((l) => l.slice(7)))];
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const results = [];
for (const e of entries) {
  once(e.file); // warm the file system cache
  const times = Array.from({ length: runs }, () => once(e.file));
  const packages = loadedBy(e.file);
  results.push({
    entry: e.name,
    medianMs: Math.round(median(times) * 10) / 10,
    minMs: Math.round(Math.min(...times) * 10) / 10,
    heavy: packages.filter((p) => HEAVY.includes(p)),
  });
}

if (args.json) console.log(JSON.stringify({ node: process.version, runs, results }, null, 2));
else {
  console.log(`import time of each entry (dist/, ${runs} fresh processes each, Node ${process.version})`);
  console.log("entry".padEnd(18) + "median ms".padStart(10) + "min ms".padStart(9) + "   dependencies loaded");
  for (const r of results) {
    console.log(r.entry.padEnd(18) + String(r.medianMs).padStart(10) + String(r.minMs).padStart(9) + "   " + (r.heavy.join(", ") || "-"));
  }
}
