/**
 * Faults, end to end (issue 4, acceptance 3), with the CLI as a real process
 * and the real server on 127.0.0.1 over a SQLite file:
 * - the server is down at submit: the submission waits in the outbox (exit 3)
 *   and is delivered by `outbox send`, or by the next `submit`, as one case;
 * - the connection is cut after the server stored the case: the retry gets
 *   the same case (idempotency), not a second one;
 * - 503 and 429 with Retry-After (from a proxy of our own, and from the
 *   server's own rate limiter): retried after the pause, same key;
 * - a server restart between calls loses nothing.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { hashFile } from "../../src/image/hash.ts";
import {
  type CliResult,
  countRows,
  ensureBuilt,
  freePort,
  json,
  platformKey,
  type Recorded,
  removeDir,
  runCli,
  show,
  startTestServer,
  tempDir,
  type TestServer,
} from "./e2e-support.ts";
import { FIXTURES } from "../helpers.ts";

let work: string;
let home: string;
let images: Record<string, string> = {};
const cli = (args: string[]) => runCli(args, { home });

const posts = (reqs: Recorded[], p = "/v1/cases") => reqs.filter((r) => r.method === "POST" && r.path === p);
const outboxFiles = () => (existsSync(path.join(home, "outbox")) ? readdirSync(path.join(home, "outbox")) : []);

beforeAll(async () => {
  await ensureBuilt();
  work = tempDir("faults-");
  home = tempDir("hs-home-");
  mkdirSync(path.join(work, "pics"));
  for (const f of ["harbour.jpg", "tower.png", "meadow.webp", "square.gif"]) {
    images[f] = path.join(work, "pics", f);
    copyFileSync(path.join(FIXTURES, "images", f), images[f]);
  }
}, 120_000);

afterAll(async () => {
  await removeDir(work);
  await removeDir(home);
});

describe("faults", { timeout: 90_000 }, () => {
  test("server down at submit: saved in the outbox (exit 3), delivered by `outbox send` as exactly one case", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const db = path.join(work, "down", "hashsafe.db");

    const r = await cli(["submit", images["harbour.jpg"], images["tower.png"], "--server", url, "--yes", "--format", "json"]);
    expect(r.code, show(r)).toBe(3);
    expect(r.stderr).toMatch(/connection refused/);
    expect(r.stderr).toMatch(/saved in the outbox/);
    const queued = json(r);
    expect(queued.queued).toBe(true);
    expect(queued.hashes).toHaveLength(2);
    // The outbox item: owner-only, in an owner-only folder, holding the original key and body.
    expect(statSync(queued.outboxFile).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(queued.outboxFile)).mode & 0o777).toBe(0o700);
    expect(outboxFiles().filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const item = JSON.parse(readFileSync(queued.outboxFile, "utf8"));
    const key = item.requests[0].idempotencyKey as string;
    expect(key).toMatch(/^[0-9a-f-]{36}$/);
    expect(item.requests[0].body.hashes.map((h: { value: string }) => h.value).sort()).toEqual(
      [(await hashFile(images["harbour.jpg"])).hash, (await hashFile(images["tower.png"])).hash].sort(),
    );

    const list = await cli(["outbox", "list", "--format", "json"]);
    expect(list.code, show(list)).toBe(0);
    expect(json<any[]>(list)).toMatchObject([{ id: item.id, hashes: 2, delivered: 0, caseId: null, attempts: 1 }]);

    // Still down: `outbox send` keeps it (exit 3), with one more attempt recorded.
    const stillDown = await cli(["outbox", "send"]);
    expect(stillDown.code, show(stillDown)).toBe(3);
    expect(JSON.parse(readFileSync(queued.outboxFile, "utf8")).attempts).toBe(2);

    const server = await startTestServer(db, { port });
    try {
      const send = await cli(["outbox", "send", "--format", "json"]);
      expect(send.code, show(send)).toBe(0);
      const out = json(send);
      expect(out.waiting).toEqual([]);
      expect(out.delivered).toHaveLength(1);
      const { caseId, caseSecret } = out.delivered[0];
      expect(caseId).toMatch(/^c_/);
      expect(caseSecret).toMatch(/^(?:[0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4}$/);
      // One case, made by one request carrying the key and the body saved at the first try.
      expect(countRows(db, "cases")).toBe(1);
      const creates = posts(server.requests);
      expect(creates).toHaveLength(1);
      expect(creates[0].headers["idempotency-key"]).toBe(key);
      expect(JSON.parse(creates[0].body.toString())).toEqual(item.requests[0].body);
      // Removed from the outbox, and the receipt is there.
      expect(outboxFiles()).toEqual([]);
      const receipt = JSON.parse(readFileSync(path.join(home, "receipts", `${caseId}.json`), "utf8"));
      expect(receipt).toMatchObject({ caseId, caseSecret, server: url });
      // Nothing left: a second send sends nothing.
      const again = await cli(["outbox", "send"]);
      expect(again.code, show(again)).toBe(0);
      expect(again.stdout).toMatch(/outbox is empty/);
      expect(countRows(db, "cases")).toBe(1);
      const st = await cli(["status", caseId, "--format", "json"]);
      expect(json(st).hashes).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  test("server down, then up: the next `submit` delivers the waiting submission first, then its own", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const db = path.join(work, "next", "hashsafe.db");
    const down = await cli(["submit", images["meadow.webp"], "--server", url, "--yes"]);
    expect(down.code, show(down)).toBe(3);
    expect(down.stdout).not.toMatch(/Case secret/);
    expect(outboxFiles()).toHaveLength(1);

    const server = await startTestServer(db, { port });
    try {
      const r = await cli(["submit", images["square.gif"], "--server", url, "--yes", "--format", "json"]);
      expect(r.code, show(r)).toBe(0);
      const out = json(r);
      expect(out.outbox).toHaveLength(1);
      expect(out.outbox[0].hashes.map((h: { value: string }) => h.value)).toEqual([(await hashFile(images["meadow.webp"])).hash]);
      expect(out.hashes.map((h: { value: string }) => h.value)).toEqual([(await hashFile(images["square.gif"])).hash]);
      expect(out.outbox[0].caseId).not.toBe(out.caseId);
      expect(countRows(db, "cases")).toBe(2);
      expect(posts(server.requests)).toHaveLength(2);
      expect(outboxFiles()).toEqual([]);
    } finally {
      await server.close();
    }
  });

  test("connection cut after the case was stored: the retry gets the same case, not a second one", async () => {
    const db = path.join(work, "cut", "hashsafe.db");
    let cuts = 0;
    const server = await startTestServer(db, {
      testHooks: {
        cutConnection: (info) => info.method === "POST" && info.route === "/v1/cases" && cuts++ === 0,
      },
    });
    try {
      const r = await cli(["submit", images["harbour.jpg"], "--server", server.url, "--yes", "--format", "json"]);
      expect(r.code, show(r)).toBe(0);
      expect(cuts).toBeGreaterThanOrEqual(1); // the first answer was cut
      expect(r.stderr).toMatch(/the connection was cut before the answer arrived; trying again/);
      expect(r.stderr).toMatch(/trying again/);
      const creates = posts(server.requests);
      expect(creates).toHaveLength(2);
      expect(creates[1].headers["idempotency-key"]).toBe(creates[0].headers["idempotency-key"]);
      expect(creates[1].body.equals(creates[0].body)).toBe(true);
      expect(countRows(db, "cases")).toBe(1);
      // The replayed answer carries the stored case: its secret works.
      const { caseId } = json(r);
      const st = await cli(["status", caseId, "--format", "json"]);
      expect(st.code, show(st)).toBe(0);
      expect(json(st).caseId).toBe(caseId);
    } finally {
      await server.close();
    }
  });

  test("503 and 429 with Retry-After: retried after the pause, with the same idempotency key", async () => {
    const db = path.join(work, "busy", "hashsafe.db");
    const server = await startTestServer(db);
    // A small HTTP server of our own in front of the real one: two refusals, then it forwards.
    const seen: { at: number; method: string; path: string; key: string | undefined; status: number }[] = [];
    const refusals = [
      { status: 503, retryAfter: "1" },
      { status: 429, retryAfter: "2" },
    ];
    const proxy: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const key = req.headers["idempotency-key"] as string | undefined;
      const refusal = req.method === "POST" ? refusals.shift() : undefined;
      if (refusal) {
        seen.push({ at: Date.now(), method: req.method!, path: req.url!, key, status: refusal.status });
        res.writeHead(refusal.status, { "content-type": "application/problem+json", "retry-after": refusal.retryAfter });
        res.end(JSON.stringify({ type: "about:blank", title: refusal.status === 429 ? "Too many requests" : "Unavailable", status: refusal.status, detail: "try later" }));
        return;
      }
      const headers = { ...req.headers };
      delete headers.host;
      delete headers.connection;
      const up = await request(server.url + req.url, { method: req.method as "GET", headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
      const body = Buffer.from(await up.body.arrayBuffer());
      seen.push({ at: Date.now(), method: req.method!, path: req.url!, key, status: up.statusCode });
      res.writeHead(up.statusCode, { "content-type": String(up.headers["content-type"] ?? "application/json") });
      res.end(body);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const r = await cli(["submit", images["tower.png"], "--server", proxyUrl, "--yes", "--format", "json"]);
      expect(r.code, show(r)).toBe(0);
      expect(seen.map((s) => s.status)).toEqual([503, 429, 201]);
      expect(new Set(seen.map((s) => s.key)).size).toBe(1);
      expect(seen[0].key).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen[1].at - seen[0].at).toBeGreaterThanOrEqual(1000);
      expect(seen[2].at - seen[1].at).toBeGreaterThanOrEqual(2000);
      expect(r.stderr).toMatch(/unavailable for now \(HTTP 503\); trying again in 1\.\d s/);
      expect(r.stderr).toMatch(/too many requests\); trying again in 2\.\d s/);
      expect(countRows(db, "cases")).toBe(1);
      expect(json(r).caseId).toMatch(/^c_/);
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await server.close();
    }
  });

  test("the server's own rate limiter (429 + Retry-After) slows the feed down but loses nothing", async () => {
    const db = path.join(work, "limited", "hashsafe.db");
    const server = await startTestServer(db, { rateLimit: { address: { burst: 3, perSecond: 1 }, case: false } });
    try {
      const key = await platformKey(server, "slow-platform");
      const sub = await cli(["submit", ...Object.values(images), "--server", server.url, "--yes", "--format", "json"]);
      expect(sub.code, show(sub)).toBe(0);
      const bank = path.join(work, "limited", "bank.txt");
      const f = await cli(["feed", "--server", server.url, "--key", key, "-o", bank, "--limit", "1", "--format", "json"]);
      expect(f.code, show(f)).toBe(0);
      // Some pages were answered 429 and asked for again after the pause.
      expect(f.stderr).toMatch(/the server is busy \(too many requests\); trying again in \d\.\d s/);
      expect(json(f)).toMatchObject({ active: 4, added: 4 });
      expect(readFileSync(bank, "utf8").trim().split("\n")).toHaveLength(4);
    } finally {
      await server.close();
    }
  });

  test("a server restart between calls loses nothing (file database, durable cursor)", async () => {
    const db = path.join(work, "restart", "hashsafe.db");
    const bank = path.join(work, "restart", "bank.txt");
    const requests: Recorded[] = [];
    let server = await startTestServer(db, { requests });
    const port = server.running.port;
    const key = await platformKey(server, "platform-r");
    const a = json(await cli(["submit", images["harbour.jpg"], images["tower.png"], "--server", server.url, "--yes", "--format", "json"]));
    const f1 = await cli(["feed", "--server", server.url, "--key", key, "-o", bank, "--format", "json"]);
    expect(json(f1)).toMatchObject({ active: 2, added: 2 });
    await server.close();

    server = await startTestServer(db, { port, requests });
    try {
      // The case, its secret and the key survived.
      const st = await cli(["status", a.caseId, "--format", "json"]);
      expect(st.code, show(st)).toBe(0);
      expect(json(st).hashes.map((h: { status: string }) => h.status)).toEqual(["active", "active"]);
      // The cursor still works: nothing new, then only the new case's hash.
      const f2 = await cli(["feed", "--server", server.url, "--key", key, "-o", bank, "--format", "json"]);
      expect(f2.code, show(f2)).toBe(0);
      expect(json(f2)).toMatchObject({ records: 0, active: 2 });
      const b = json(await cli(["submit", images["meadow.webp"], "--server", server.url, "--yes", "--format", "json"]));
      const f3 = json(await cli(["feed", "--server", server.url, "--key", key, "-o", bank, "--format", "json"]));
      expect(f3).toMatchObject({ records: 1, added: 1, active: 3 });
      const bankLines = readFileSync(bank, "utf8").trim().split("\n").map((l) => l.split(","));
      expect(bankLines.map(([hex]) => hex)).toContain(b.hashes[0].value);
      const feedIdOf = new Map(bankLines.map(([hex, id]) => [hex, id]));
      // The match index was rebuilt from the file: lookup finds the first case's hash.
      const look = json(await cli(["lookup", images["harbour.jpg"], "--server", server.url, "--key", key, "--max-distance", "0", "--format", "json"]));
      expect(look.map((r: { against: { id: string }; distance: number }) => ({ id: r.against.id, distance: r.distance }))).toEqual([
        { id: feedIdOf.get(a.hashes[0].value), distance: 0 },
      ]);
      // Withdraw after the restart works with the receipt's secret.
      const w = await cli(["withdraw", a.caseId, "--yes"]);
      expect(w.code, show(w)).toBe(0);
      expect(countRows(db, "cases")).toBe(2);
    } finally {
      await server.close();
    }
  });
  test("a data folder that cannot be written: the case id and secret are still shown; a failed delivery says nothing was kept", async () => {
    const db = path.join(work, "nohome", "hashsafe.db");
    const server = await startTestServer(db);
    const blocker = path.join(work, "nohome", "a-file");
    writeFileSync(blocker, "not a folder");
    const badHome = path.join(blocker, "hashsafe"); // under a file: cannot be created, not even by root
    try {
      const ok = await runCli(["submit", images["tower.png"], "--server", server.url, "--yes"], { home: badHome });
      expect(ok.code, show(ok)).toBe(0);
      expect(ok.stdout).toMatch(/Case id:\s+c_/);
      expect(ok.stdout).toMatch(/Case secret:\s+(?:[0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4}/);
      expect(ok.stdout).toMatch(/receipt could NOT be saved/);
      expect(countRows(db, "cases")).toBe(1);

      const down = await runCli(["submit", images["tower.png"], "--server", `http://127.0.0.1:${await freePort()}`, "--yes"], { home: badHome });
      expect(down.code, show(down)).toBe(4);
      expect(down.stderr).toMatch(/could not be saved in the outbox/);
      expect(down.stderr).toMatch(/nothing was kept on this machine: run the same command again later/);
    } finally {
      await server.close();
    }
  });
  test("a slow server: the client times out, retries with the same key, waits out the 409 'still running', and gets the one case", async () => {
    const db = path.join(work, "slow", "hashsafe.db");
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let creates = 0;
    const server = await startTestServer(db, {
      testHooks: {
        onRequestBody: (info) => {
          // The retry has arrived while the first is still held: let the first finish a moment later.
          if (info.method === "POST" && info.path === "/v1/cases" && ++creates === 2) setTimeout(release, 300);
        },
        beforeCommit: (info) => (info.route === "/v1/cases" && creates === 1 ? held : undefined),
      },
    });
    try {
      const r = await cli(["submit", images["meadow.webp"], "--server", server.url, "--yes", "--timeout", "1", "--format", "json"]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stderr).toMatch(/the server did not answer in time; trying again/);
      expect(r.stderr).toMatch(/still working on the first try of this request; trying again/);
      const posts = server.requests.filter((x) => x.method === "POST" && x.path === "/v1/cases");
      expect(posts.length).toBeGreaterThanOrEqual(3);
      expect(new Set(posts.map((x) => x.headers["idempotency-key"])).size).toBe(1);
      expect(countRows(db, "cases")).toBe(1);
      const st = await cli(["status", json(r).caseId, "--format", "json"]);
      expect(st.code, show(st)).toBe(0);
    } finally {
      release();
      await server.close();
    }
  });
});
