/**
 * `submit` and an earlier submission waiting in the outbox for ANOTHER server
 * than the one now named (issue 10, point 6):
 * - without a terminal (or with --yes) it is never sent there: a note says it
 *   waits (`hashsafe outbox send` sends it);
 * - on a terminal submit asks, per server, in the person's language; "n"
 *   keeps it queued and sends nothing to that server; yes ("s" in Spanish)
 *   sends it there and the outbox is empty.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { BIN, FIXTURES, ROOT } from "../helpers.ts";
import { countRows, ensureBuilt, freePort, removeDir, runCli, show, startTestServer, tempDir, type TestServer } from "./e2e-support.ts";

let work: string;
let home: string;
let first: TestServer; // the server of the earlier, queued submission
let now: TestServer; // the server named in the later submit
let firstUrl: string;
const queued = () => (existsSync(path.join(home, "outbox")) ? readdirSync(path.join(home, "outbox")).filter((f) => f.endsWith(".json")) : []);
const posts = (s: TestServer) => s.requests.filter((r) => r.method === "POST").length;

/**
 * The CLI on a pseudo-terminal (util-linux `script`), answering each step's
 * `answer` once the output since the previous answer matches its `prompt`.
 */
function inTerminal(args: string[], steps: { prompt: RegExp; answer: string }[], env: Record<string, string>): Promise<{ code: number; out: string; answered: number }> {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("HASHSAFE_")) e[k] = v;
  Object.assign(e, { CI: "1", NO_COLOR: "1", HASHSAFE_HOME: home }, env);
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], { cwd: ROOT, env: e, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let from = 0;
    let answered = 0;
    const onData = (d: string) => {
      out += d;
      const step = steps[answered];
      if (step && step.prompt.test(out.slice(from))) {
        answered++;
        from = out.length;
        child.stdin.write(step.answer);
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", onData);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, out, answered }));
  });
}

beforeAll(async () => {
  await ensureBuilt();
  work = tempDir("hs-other-server-");
  home = tempDir("hs-home-other-");
  // Queue a submission for a server that is down at the time ...
  const port = await freePort();
  firstUrl = `http://127.0.0.1:${port}`;
  const q = await runCli(["submit", path.join(FIXTURES, "images", "harbour.jpg"), "--server", firstUrl, "--yes"], { home });
  expect(q.code, show(q)).toBe(3);
  expect(queued()).toHaveLength(1);
  // ... and is up again later, at the same address; the person now names another server.
  first = await startTestServer(path.join(work, "first.db"), { port });
  now = await startTestServer(path.join(work, "now.db"));
}, 120_000);

afterAll(async () => {
  await first?.close();
  await now?.close();
  await removeDir(work);
  await removeDir(home);
});

test("without a terminal (and with --yes): not sent to the other server, only mentioned", async () => {
  const r = await runCli(["submit", path.join(FIXTURES, "images", "tower.png"), "--server", now.url, "--yes"], { home });
  expect(r.code, show(r)).toBe(0);
  expect(r.stderr).toMatch(/1 earlier submission to another server is waiting in the outbox \(see `hashsafe outbox list`\)/);
  expect(posts(first)).toBe(0);
  expect(countRows(first.db, "cases")).toBe(0);
  expect(countRows(now.db, "cases")).toBe(1);
  expect(queued()).toHaveLength(1);
});

test("on a terminal: asks which server and when; 'n' keeps it queued and sends nothing there", async () => {
  const r = await inTerminal(
    ["submit", path.join(FIXTURES, "images", "meadow.webp"), "--server", now.url],
    [
      { prompt: /Send it\? .*\[y\/N\]/s, answer: "y\n" },
      { prompt: /Send it to http:\/\/127\.0\.0\.1:\d+ now \(not to the server you just named\)\? .*\[y\/N\]/s, answer: "n\n" },
    ],
    { LANG: "en_US.UTF-8" },
  );
  expect(r.answered, r.out).toBe(2);
  expect(r.code, r.out).toBe(0);
  expect(r.out).toContain(`1 earlier submission to another server, ${firstUrl}, from `);
  expect(r.out).toMatch(/stays in the outbox, not sent/);
  expect(posts(first)).toBe(0);
  expect(countRows(first.db, "cases")).toBe(0);
  expect(countRows(now.db, "cases")).toBe(2); // the new submission went to the server named
  expect(queued()).toHaveLength(1);
});

test("on a terminal in Spanish: 's' sends it to its own server, and the outbox is empty", async () => {
  const r = await inTerminal(
    ["submit", path.join(FIXTURES, "images", "square.gif"), "--server", now.url],
    [
      { prompt: /¿La envío\? .*\[s\/N\]/s, answer: "s\n" },
      { prompt: /¿Lo envío ahora a http:\/\/127\.0\.0\.1:\d+ \(no al servidor que acabas de indicar\)\? .*\[s\/N\]/s, answer: "s\n" },
    ],
    { LANG: "es_DO.UTF-8" },
  );
  expect(r.answered, r.out).toBe(2);
  expect(r.code, r.out).toBe(0);
  expect(r.out).toContain(`enviando 1 envío anterior a ${firstUrl}`);
  expect(posts(first)).toBeGreaterThan(0);
  expect(countRows(first.db, "cases")).toBe(1);
  expect(countRows(now.db, "cases")).toBe(3);
  expect(queued()).toHaveLength(0);
  // both cases are printed, each with its own server
  expect(r.out).toContain(`Enviada: 1 huella a ${firstUrl}`);
  expect(r.out).toContain(`Enviada: 1 huella a ${now.url}`);
});
