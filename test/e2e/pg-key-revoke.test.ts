/**
 * A PostgreSQL server answers a known API key from memory for up to
 * API_KEY_CACHE_MS (1 s): a key revoked by another process (`serve keys
 * revoke`) must stop working in the serving process within that bound.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { API_KEY_CACHE_MS } from "../../src/server/pg-store.ts";
import { BIN, ROOT } from "../helpers.ts";
import { ensureBuilt } from "./e2e-support.ts";
import { type PgCluster, startPg } from "./pg-support.ts";
import { call, randomPdq, tempDir } from "./server-helpers.ts";

const run = promisify(execFile);
let cluster: PgCluster | undefined;
let dbUrl: string;
let tmp: ReturnType<typeof tempDir>;
let child: ChildProcess | undefined;
let url: string;

function serve(keyFile: string): Promise<{ child: ChildProcess; url: string }> {
  const c = spawn(
    process.execPath,
    [BIN, "serve", "--db", dbUrl, "--port", "0", "--format", "json", "--feed-batch", "0", "--no-rate-limit", "--no-quotas", "--key-file", keyFile, "--log-level", "warn"],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let err = "";
  c.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in 20 s: ${err}`)), 20_000);
    createInterface({ input: c.stdout! }).once("line", (line) => {
      clearTimeout(timer);
      resolve({ child: c, url: (JSON.parse(line) as { url: string }).url });
    });
    c.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}): ${err}`));
    });
  });
}

async function createKey(name: string): Promise<string> {
  const made = await run(process.execPath, [BIN, "serve", "keys", "create", "--db", dbUrl, "--name", name, "--scopes", "lookup", "--format", "json"], { cwd: ROOT });
  return String((JSON.parse(made.stdout) as { key: string }).key);
}

const lookup = (key: string) =>
  call(url, "POST", "/v1/lookup", { body: { queries: [{ type: "pdq", value: randomPdq() }] }, auth: `Bearer ${key}` });

beforeAll(async () => {
  await ensureBuilt();
  cluster = await startPg();
  dbUrl = await cluster.createDatabase();
  tmp = tempDir();
  ({ child, url } = await serve(path.join(tmp.dir, "server.key")));
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  }
  cluster?.stop();
  tmp?.remove();
});

describe("API keys on PostgreSQL, answered from memory for a bounded time", () => {
  test(`a key revoked by another process stops working within ${API_KEY_CACHE_MS} ms; a key created by another process works at once`, async () => {
    expect(API_KEY_CACHE_MS).toBeLessThanOrEqual(1000);
    for (let round = 0; round < 3; round++) {
      const key = await createKey(`k${round}`);
      // a new key works at once (unknown keys are not remembered)
      expect((await lookup(key)).status).toBe(200);
      // keep it in the process's memory right up to the revocation
      let stop = false;
      const warm = (async () => {
        while (!stop) expect((await lookup(key)).status).toBe(200);
      })();
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await warm;
      expect((await lookup(key)).status).toBe(200);
      const revoked = await run(process.execPath, [BIN, "serve", "keys", "revoke", `k${round}`, "--db", dbUrl], { cwd: ROOT });
      const t0 = performance.now();
      expect(revoked.stdout + revoked.stderr).toMatch(/k\d/);
      let status = 200;
      while (status === 200) {
        const sent = performance.now();
        status = (await lookup(key)).status;
        if (status === 200) {
          // accepted: the server read it before the bound, so it was sent before too
          expect(sent - t0, "a request sent after the bound was still accepted").toBeLessThan(API_KEY_CACHE_MS + 20);
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      expect(status).toBe(401);
      console.log(`round ${round}: revoked key refused ${(performance.now() - t0).toFixed(0)} ms after the revoke command returned`);
      // and it stays refused
      await new Promise((r) => setTimeout(r, API_KEY_CACHE_MS + 100));
      expect((await lookup(key)).status).toBe(401);
    }
  }, 60_000);
});
