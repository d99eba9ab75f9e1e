/**
 * Support for the end-to-end tests: the real CLI (node bin/hashsafe.js) as a
 * child process, the real server in-process on 127.0.0.1 with a SQLite file,
 * and a record of every request the server received.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { createApiKey, type RunningServer, SqliteStore, startServer, type StartOptions } from "../../src/server/index.ts";
import type { Scope } from "../../src/protocol/index.ts";
import { BIN, ROOT } from "../helpers.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = statSync(p);
    newest = Math.max(newest, st.isDirectory() ? newestMtime(p) : st.mtimeMs);
  }
  return newest;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

/**
 * Build dist/ unless it is newer than every source file (the global setup
 * may have built it already). The build goes to a temporary folder first and
 * its files are then renamed into dist/ one by one, chunks before entry
 * points, never deleting: a CLI that another test file started meanwhile
 * never reads a half-written file or misses a chunk it imports.
 */
export async function ensureBuilt(): Promise<void> {
  const dist = path.join(ROOT, "dist");
  const main = path.join(dist, "cli", "main.js");
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(path.join(ROOT, "src"))) return;
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: { build: string } };
  const tmp = path.join(dist, `.build-${process.pid}-${Date.now()}`);
  // The esbuild step of the build script (the JavaScript; declarations and the web page come after `&&`).
  const args = pkg.scripts.build
    .split("&&")[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map((a) => (a.startsWith("--outdir=") ? `--outdir=${tmp}` : a));
  try {
    await promisify(execFile)(path.join(ROOT, "node_modules", ".bin", "esbuild"), args, { cwd: ROOT });
    const files = filesUnder(tmp);
    const isEntry = (f: string) => !path.basename(f).startsWith("chunk-") && f.endsWith(".js");
    for (const f of [...files.filter((f) => !isEntry(f)), ...files.filter(isEntry)]) {
      const to = path.join(dist, path.relative(tmp, f));
      mkdirSync(path.dirname(to), { recursive: true });
      renameSync(f, to);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** A fresh temporary folder; the prefix is chosen so that it cannot occur in a request by chance. */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/**
 * Run `node bin/hashsafe.js ...args` with HASHSAFE_HOME = `home`, no terminal
 * (stdin closed), CI set, and no HASHSAFE_* from the outer environment
 * (unless given in `env`). Asynchronous: the server runs in this process.
 */
export function runCli(args: string[], opts: { home: string; env?: Record<string, string>; cwd?: string }): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("HASHSAFE_")) env[k] = v;
  Object.assign(env, { CI: "1", NO_COLOR: "1", HASHSAFE_HOME: opts.home }, opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** One request as the server received it. */
export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  at: number;
}

export interface TestServer {
  running: RunningServer;
  url: string;
  db: string;
  /** every request the server received since start (shared across restarts when passed in) */
  requests: Recorded[];
  close(): Promise<void>;
}

/** Start the real server on 127.0.0.1 with the SQLite file `db`, recording every request body. */
export async function startTestServer(
  db: string,
  options: Omit<StartOptions, "db" | "host"> & { requests?: Recorded[] } = {},
): Promise<TestServer> {
  mkdirSync(path.dirname(db), { recursive: true });
  const requests = options.requests ?? [];
  const { requests: _r, testHooks, ...rest } = options;
  const running = await startServer({
    port: 0,
    logLevel: "error",
    // the feed at once after each write (the batching has its own tests, test/e2e/server-feed-privacy.test.ts)
    feedBatch: "immediate",
    ...rest,
    host: "127.0.0.1",
    db,
    testHooks: {
      ...testHooks,
      onRequestBody(info) {
        requests.push({ ...info, body: Buffer.from(info.body), at: Date.now() });
        testHooks?.onRequestBody?.(info);
      },
    },
  });
  return { running, url: running.url, db, requests, close: () => running.close() };
}

/** A platform key made through the server's store API (as `hashsafe serve keys create` does). */
export async function platformKey(server: TestServer, name: string, scopes: Scope[] = ["feed:read", "lookup", "feedback:write"]): Promise<string> {
  return (await createApiKey(server.running.store, name, scopes)).key;
}

/** Rows of a table in the server's SQLite file, read through a separate read-only connection. */
export function countRows(db: string, table: "cases" | "hashes" | "case_hashes"): number {
  // a running server holds its file exclusively: read through its store when it is open in this process
  const open = SqliteStore.openAt(db);
  if (open) return open.readQuery<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`)[0].n;
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return (conn.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    conn.close();
  }
}

/** The JSON printed on stdout by a `--format json` run. */
/** A CLI result as text, for assertion messages. */
export function show(r: CliResult): string {
  return `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

export function json<T = Record<string, any>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

/** A free port on 127.0.0.1 with nothing listening (a "server down" address). */
export async function freePort(): Promise<number> {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as import("node:net").AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Run the CLI on a pseudo-terminal (util-linux `script`), answering `answer`
 * once the output matches `prompt`: for the questions asked only on a terminal.
 */
export function runCliInTerminal(
  args: string[],
  opts: { home: string; prompt: RegExp; answer: string; env?: Record<string, string> },
): Promise<CliResult & { answered: boolean }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("HASHSAFE_")) env[k] = v;
  Object.assign(env, { CI: "1", NO_COLOR: "1", HASHSAFE_HOME: opts.home }, opts.env);
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let answered = false;
    const onData = (d: string) => {
      out += d;
      if (!answered && opts.prompt.test(out)) {
        answered = true;
        child.stdin.write(opts.answer);
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", onData);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout: out, stderr: "", answered }));
  });
}

/** Every substring of length `n`. */
function windows(str: string, n: number): Set<string> {
  const set = new Set<string>();
  for (let i = 0; i + n <= str.length; i++) set.add(str.slice(i, i + n));
  return set;
}

/**
 * Where any 16-byte run of a file's bytes appears in what was sent: raw, as
 * hex (any case), or as base64 / base64url at any byte alignment. Answers one
 * line per find (empty: nothing leaked).
 */
export function findByteLeaks(wire: readonly Buffer[], files: readonly { name: string; bytes: Buffer }[]): string[] {
  const raw = new Set<string>();
  const b64 = new Set<string>();
  const hex = new Set<string>();
  for (const b of wire) {
    const text = b.toString("latin1");
    for (const w of windows(text, 16)) raw.add(w);
    for (const w of windows(text.replace(/-/g, "+").replace(/_/g, "/"), 22)) b64.add(w);
    for (const w of windows(text.toLowerCase(), 32)) hex.add(w);
  }
  const leaks: string[] = [];
  for (const { name, bytes } of files) {
    const r = bytes.toString("latin1");
    for (let i = 0; i + 16 <= r.length; i++) if (raw.has(r.slice(i, i + 16))) leaks.push(`${name}: bytes ${i}..${i + 15}`);
    const h = bytes.toString("hex");
    for (let i = 0; i + 32 <= h.length; i += 2) if (hex.has(h.slice(i, i + 32))) leaks.push(`${name}: hex of bytes from ${i / 2}`);
    for (let shift = 0; shift < 3; shift++) {
      const s = bytes.subarray(shift).toString("base64");
      for (let i = 0; i + 22 <= s.length; i += 4) if (b64.has(s.slice(i, i + 22))) leaks.push(`${name}: base64 of bytes from ${shift + (i / 4) * 3}`);
    }
  }
  return leaks;
}

/** Which of `words` appear anywhere in what was sent. */
export function findWordLeaks(wire: readonly Buffer[], words: Iterable<string>): string[] {
  const texts = wire.map((b) => b.toString("utf8"));
  return [...words].filter((w) => w.length > 0 && texts.some((t) => t.includes(w)));
}

/** A recorded request as the bytes that crossed the wire (request line, headers, body). */
export function wireBytes(r: Recorded): Buffer {
  return Buffer.concat([Buffer.from(`${r.method} ${r.path}\n${JSON.stringify(r.headers)}\n`), r.body]);
}
