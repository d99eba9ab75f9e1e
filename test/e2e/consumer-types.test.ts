/**
 * The package as a consumer gets it: `npm pack` of the built checkout (dist/
 * with its declarations), unpacked into a temporary project's node_modules
 * (no registry: the package's own dependencies are linked from this
 * checkout's node_modules), then a small TypeScript program that uses every
 * entry is compiled with tsc under `moduleResolution: nodenext` and
 * `bundler`, and run. Type errors in the consumer must be reported (a
 * deliberately wrong file must fail), and test hooks are not in the types.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FIXTURES, ROOT } from "../helpers.ts";

const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
let dir: string;
let project: string;

const MAIN = `
import { hammingDistance, HashIndex, hashFile, type PdqResult, VERSION } from "hashsafe";
import { hashPixels, type PixelImage } from "hashsafe/pdq";
import { HashShareClient, parseServerUrl } from "hashsafe/client";
import { createApiKey, startServer, type RunningServer } from "hashsafe/server";

const img: PixelImage = { data: new Uint8Array(64 * 64).map((_, i) => (i * 37) % 251), width: 64, height: 64, channels: 1 };
const pdq: PdqResult = hashPixels(img);
const index = new HashIndex();
index.add(pdq.hash, 7);
const hits = index.search(pdq.hash, 0);
const file = await hashFile(${JSON.stringify(path.join(FIXTURES, "images", "harbour-small.jpg"))});
const server: RunningServer = await startServer({ host: "127.0.0.1", port: 0, db: ":memory:", logLevel: "silent" });
const { key } = await createApiKey(server.store, "consumer", ["feed:read"]);
const client = new HashShareClient({ server: parseServerUrl(server.url), apiKey: key });
const feed = await client.feed({ limit: 1 });
await server.close();
console.log(JSON.stringify({
  version: VERSION,
  quality: pdq.quality,
  self: hammingDistance(pdq.hash, pdq.hash),
  hits: hits.map((h) => h.id),
  fileHash: file.hash,
  feed: feed.records.length,
}));
`;

// Each line must be a type error for a consumer.
const BAD = `
import { hammingDistance } from "hashsafe";
import { startServer } from "hashsafe/server";
const n: string = hammingDistance("00", "00");
await startServer({ testHooks: {} });
`;

/**
 * A consumer's tsconfig: a Node project without DOM types and with
 * `skipLibCheck` (what `tsc --init` writes), or, with `libCheck`, one that
 * checks every declaration file too (DOM types on: hono's and our WebAssembly
 * types refer to them).
 */
function tsconfig(moduleResolution: "nodenext" | "bundler", outDir: string, files: string[], libCheck = false) {
  return {
    compilerOptions: {
      target: "ES2022",
      module: moduleResolution === "nodenext" ? "nodenext" : "esnext",
      moduleResolution,
      strict: true,
      skipLibCheck: !libCheck,
      types: ["node"],
      lib: libCheck ? ["ES2023", "DOM"] : ["ES2023"],
      outDir,
    },
    files,
  };
}

function tsc(config: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [TSC, "-p", config], { cwd: project, encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "hashsafe-consumer-"));
  // The tarball npm would publish (dist/ is built by the global setup).
  const packed = JSON.parse(execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8" }));
  const tarball = path.join(dir, packed[0].filename);
  project = path.join(dir, "consumer");
  const modules = path.join(project, "node_modules");
  mkdirSync(path.join(modules, "hashsafe"), { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", path.join(modules, "hashsafe"), "--strip-components=1"]);
  // The package's dependencies (and @types/node), from this checkout's node_modules, offline.
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
  // (@types/better-sqlite3: hashsafe/server's declarations name better-sqlite3's types)
  const links = [...Object.keys(pkg.dependencies), "@types/node", "undici-types", "@types/better-sqlite3"];
  for (const name of links) {
    if (name.includes("/")) mkdirSync(path.join(modules, name.split("/")[0]), { recursive: true });
    symlinkSync(path.join(ROOT, "node_modules", name), path.join(modules, name), "dir");
  }
  writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  writeFileSync(path.join(project, "main.ts"), MAIN);
  writeFileSync(path.join(project, "bad.ts"), BAD);
  // hashsafe/browser (when the package has it): its declarations are checked with DOM types on
  const hasBrowser = "./browser" in pkg.exports;
  writeFileSync(path.join(project, "browser.ts"), 'import * as browser from "hashsafe/browser";\nexport const names: string[] = Object.keys(browser);\n');
  for (const mode of ["nodenext", "bundler"] as const) {
    writeFileSync(path.join(project, `tsconfig.${mode}.json`), JSON.stringify(tsconfig(mode, `out-${mode}`, ["main.ts"])));
    writeFileSync(path.join(project, `tsconfig.bad-${mode}.json`), JSON.stringify(tsconfig(mode, `out-bad-${mode}`, ["bad.ts"])));
    const libFiles = hasBrowser ? ["main.ts", "browser.ts"] : ["main.ts"];
    writeFileSync(path.join(project, `tsconfig.lib-${mode}.json`), JSON.stringify(tsconfig(mode, `out-lib-${mode}`, libFiles, true)));
  }
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(["nodenext", "bundler"] as const)("a consumer project, moduleResolution %s", (mode) => {
  test("compiles against the declarations of every entry and runs", () => {
    const r = tsc(`tsconfig.${mode}.json`);
    expect(r.out).toBe("");
    expect(r.status).toBe(0);
    const run = spawnSync(process.execPath, [path.join(project, `out-${mode}`, "main.js")], { cwd: project, encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout.trim());
    expect(out).toMatchObject({ version: expect.any(String), self: 0, hits: [7], feed: 0 });
    expect(out.fileHash).toMatch(/^[0-9a-f]{64}$/);
  });

  test("every declaration file of the package type-checks (skipLibCheck off)", () => {
    const r = tsc(`tsconfig.lib-${mode}.json`);
    expect(r.out).toBe("");
    expect(r.status).toBe(0);
  });

  test("reports a consumer's type errors, and test hooks are not part of the types", () => {
    const r = tsc(`tsconfig.bad-${mode}.json`);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/bad\.ts\(4,7\): error TS2322/); // number is not a string
    expect(r.out).toMatch(/bad\.ts\(5,\d+\): error TS2353: Object literal may only specify known properties, and 'testHooks'/);
    expect(r.out.match(/error TS/g)).toHaveLength(2);
  });
});

test("the packed package: declarations for every entry, no TypeScript sources needed, no test hooks", () => {
  const pkg = JSON.parse(readFileSync(path.join(project, "node_modules", "hashsafe", "package.json"), "utf8"));
  for (const [entry, target] of Object.entries(pkg.exports as Record<string, string | { types: string; default: string }>)) {
    if (entry === "./package.json") continue;
    expect(typeof target, entry).toBe("object");
    const t = target as { types: string; default: string };
    expect(t.types, entry).toMatch(/^\.\/dist\/.*\.d\.ts$/);
    expect(readFileSync(path.join(project, "node_modules", "hashsafe", t.types), "utf8").length).toBeGreaterThan(0);
    expect(readFileSync(path.join(project, "node_modules", "hashsafe", t.default), "utf8").length).toBeGreaterThan(0);
  }
  const app = readFileSync(path.join(project, "node_modules", "hashsafe", "dist", "server", "app.d.ts"), "utf8");
  expect(app).not.toMatch(/TestHooks|testHooks/);
});
