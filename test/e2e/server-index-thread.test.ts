/**
 * `hashsafe serve --index-thread`: PDQ searches in a worker thread
 * (src/server/pdq-thread.ts, from the built package). The thread gives the
 * in-thread index's answers exactly, sees every add and remove made before a
 * search, fails loudly (never a silent "no match") once its worker is gone,
 * and the real binary with the flag matches, then stops matching after a
 * withdrawal.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { HashIndex } from "../../src/match/mih.ts";
import { BIN, ROOT } from "../helpers.ts";
import { ensureBuilt, removeDir, runCli, tempDir } from "./e2e-support.ts";

type Hits = { id: number; distance: number }[];
interface ThreadIndex {
  add(hash: string, id: number): void;
  remove(id: number): void;
  build(): void;
  search(hash: string, d: number): Promise<Hits>;
  close(): Promise<void>;
}

let dir: string;
let Thread: new () => ThreadIndex;

beforeAll(async () => {
  await ensureBuilt();
  dir = tempDir("hashsafe-ithread-");
  // the built class: it starts dist/server/pdq-worker.js
  ({ ThreadPdqIndex: Thread } = (await import(path.join(ROOT, "dist", "server", "index.js"))) as { ThreadPdqIndex: new () => ThreadIndex });
}, 120_000);
afterAll(() => removeDir(dir));

const hex = () => randomBytes(32).toString("hex");
function flip(h: string, bits: number): string {
  const b = Buffer.from(h, "hex");
  const seen = new Set<number>();
  while (seen.size < bits) seen.add(randomBytes(1)[0]);
  for (const x of seen) b[x >> 3] ^= 1 << (x & 7);
  return b.toString("hex");
}

describe("the index thread itself", () => {
  test("the in-thread index's exact answers, before and after removes and more adds (each seen by the next search)", async () => {
    const local = new HashIndex();
    const thread = new Thread();
    try {
      const bases = Array.from({ length: 40 }, hex);
      let id = 0;
      const addBoth = (h: string) => {
        local.add(h, id);
        thread.add(h, id);
        id++;
      };
      for (let i = 0; i < 30_000; i++) addBoth(i % 10 === 0 ? flip(bases[i % 40], 1 + (i % 40)) : hex());
      local.build();
      thread.build();
      const compare = async () => {
        for (const b of bases) for (const d of [0, 8, 16, 31, 40]) expect(await thread.search(b, d), `d ${d}`).toEqual(local.search(b, d));
      };
      await compare();
      // removes and adds, then a search right away: it must see them
      for (let r = 0; r < 30_000; r += 7) {
        local.remove(r);
        thread.remove(r);
      }
      for (const b of bases) addBoth(flip(b, 3));
      await compare();
      const fresh = hex();
      addBoth(fresh);
      expect(await thread.search(fresh, 0)).toEqual([{ id: id - 1, distance: 0 }]);
      thread.remove(id - 1);
      expect(await thread.search(fresh, 0)).toEqual([]);
    } finally {
      await thread.close();
    }
  }, 120_000);

  test("once its worker is gone every search rejects: no silent empty answer", async () => {
    const thread = new Thread();
    const h = hex();
    thread.add(h, 1);
    expect(await thread.search(h, 0)).toEqual([{ id: 1, distance: 0 }]);
    await thread.close();
    await expect(thread.search(h, 0)).rejects.toThrow(/match index thread/);
  });
});

describe("hashsafe serve --index-thread", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill("SIGKILL");
  });

  test("lookups match a new case and stop matching once it is withdrawn", async () => {
    const db = path.join(dir, "thread.db");
    const made = await runCli(["serve", "keys", "create", "--db", db, "--name", "platform", "--scopes", "lookup", "--format", "json"], { home: dir });
    expect(made.code, made.stderr).toBe(0);
    const key = (JSON.parse(made.stdout) as { key: string }).key;
    const serve = async (extra: string[]) => {
      const p = spawn(process.execPath, [BIN, "serve", "--db", db, "--port", "0", "--format", "json", "--feed-batch", "0", "--no-rate-limit", "--no-quotas", "--no-web", "--log-level", "warn", ...extra], {
        env: { ...process.env, CI: "true", HOME: dir },
        stdio: ["ignore", "pipe", "inherit"],
      });
      const u = (JSON.parse(await new Promise<string>((r) => createInterface({ input: p.stdout! }).once("line", r))) as { url: string }).url;
      for (let i = 0; i < 200 && (await fetch(`${u}/v1/health/ready`).then((r) => r.status, () => 0)) !== 200; i++) await new Promise((r) => setTimeout(r, 50));
      const threads = Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${p.pid}/status`, "utf8"))![1]);
      return { p, url: u, threads };
    };
    // the flag does start a thread: the same server without it has fewer
    const plain = await serve([]);
    plain.p.kill("SIGTERM");
    await new Promise((r) => plain.p.once("exit", r));
    const withThread = await serve(["--index-thread"]);
    child = withThread.p;
    const url = withThread.url;
    expect(withThread.threads).toBeGreaterThan(plain.threads);
    const value = hex();
    const created = await fetch(`${url}/v1/cases`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": randomUUID() },
      body: JSON.stringify({ hashes: [{ type: "pdq", value }], client: { name: "test", version: "0" } }),
    });
    expect(created.status).toBe(201);
    const c = (await created.json()) as { caseId: string; caseSecret: string };
    const lookup = async () => {
      const r = await fetch(`${url}/v1/lookup`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}`, "idempotency-key": randomUUID() },
        body: JSON.stringify({ queries: [{ type: "pdq", value: flip(value, 5) }, { type: "pdq", value: hex() }], maxDistance: 31 }),
      });
      const text = await r.text();
      expect(r.status, text).toBe(200);
      return (JSON.parse(text) as { results: { index: number; matches: { distance: number }[] }[] }).results;
    };
    const before = await lookup();
    expect(before.map((x) => x.matches.map((m) => m.distance))).toEqual([[5], []]);
    const w = await fetch(`${url}/v1/cases/${c.caseId}`, { method: "DELETE", headers: { authorization: `Case ${c.caseSecret}`, "idempotency-key": randomUUID() } });
    expect(w.status).toBe(200);
    expect((await lookup()).map((x) => x.matches.length)).toEqual([0, 0]);
  }, 60_000);
});
