/**
 * The client's safety rules, end to end against the real server on
 * 127.0.0.1 (SQLite file) and with the CLI as a real process:
 * HTTPS-only except loopback, nothing sent without a confirmation, --dry-run
 * prints exactly the body a real submit sends, bad inputs reported while the
 * rest goes through, more than 500 hashes in one case, typed API errors.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  ApiError,
  DEFAULT_RETRY,
  HashShareClient,
  InsecureServerError,
  isLoopbackHost,
  NetworkError,
  parseRetryAfter,
  parseServerUrl,
  retryDelay,
} from "../../src/client/index.ts";
import { hashFile } from "../../src/image/hash.ts";
import { CreateCaseRequestSchema } from "../../src/protocol/index.ts";
import {
  type CliResult,
  countRows,
  ensureBuilt,
  freePort,
  json,
  platformKey,
  removeDir,
  runCli,
  show,
  runCliInTerminal,
  startTestServer,
  tempDir,
  type TestServer,
} from "./e2e-support.ts";
import { FIXTURES } from "../helpers.ts";

let work: string;
let home: string;
let server: TestServer;
let pics: string;
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { home, env });

/** A random PDQ-like value with a valid bit count. */
function randomPdq(): string {
  for (;;) {
    const hex = randomBytes(32).toString("hex");
    const bits = [...hex].reduce((n, d) => n + ((parseInt(d, 16).toString(2).match(/1/g) ?? []).length), 0);
    if (bits >= 16 && bits <= 240) return hex;
  }
}

beforeAll(async () => {
  await ensureBuilt();
  work = tempDir("client-");
  home = tempDir("hs-home-");
  pics = path.join(work, "pics");
  mkdirSync(pics);
  for (const f of ["harbour.jpg", "tower.png"]) copyFileSync(path.join(FIXTURES, "images", f), path.join(pics, f));
  server = await startTestServer(path.join(work, "db", "hashsafe.db"));
}, 120_000);

afterAll(async () => {
  await server?.close();
  await removeDir(work);
  await removeDir(home);
});

describe("client safety", { timeout: 60_000 }, () => {
  test("plain http is refused except for this machine; nothing is sent", async () => {
    for (const url of ["http://example.org", "http://10.0.0.8:8787", "http://192.168.1.2"]) {
      expect(() => new HashShareClient({ server: url })).toThrow(InsecureServerError);
      const r = await cli(["submit", pics, "--server", url, "--yes"]);
      expect(r.code, show(r)).toBe(2);
      expect(r.stderr).toMatch(/only sent over HTTPS/);
    }
    expect(() => parseServerUrl("ftp://example.org")).toThrow(/must start with https/);
    expect(() => parseServerUrl("https://user:pw@example.org")).toThrow(/user name or password/);
    for (const h of ["127.0.0.1", "127.3.4.5", "[::1]", "localhost", "LOCALHOST"]) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ["128.0.0.1", "10.0.0.1", "example.org", "localhost.example.org", "[::2]"]) expect(isLoopbackHost(h), h).toBe(false);
    expect(parseServerUrl("https://hashes.example.org/base/v1/").href).toBe("https://hashes.example.org/base");
    expect(new HashShareClient({ server: "https://hashes.example.org/" }).serverUrl).toBe("https://hashes.example.org");
    expect(server.requests).toHaveLength(0);
  });

  test("no terminal and no --yes: refused with a clear message, nothing sent", async () => {
    const r = await cli(["submit", pics, "--server", server.url]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toMatch(/need a confirmation.*--yes/s);
    expect(r.stderr).toContain(server.url);
    expect(server.requests).toHaveLength(0);
    expect(countRows(server.db, "cases")).toBe(0);
  });

  test("--dry-run prints exactly the body a real submit sends, and sends nothing", async () => {
    const dry = await cli(["submit", pics, "--server", server.url, "--dry-run", "--format", "json"]);
    expect(dry.code, show(dry)).toBe(0);
    expect(dry.stderr).toMatch(/nothing was sent/);
    expect(server.requests).toHaveLength(0);
    const body = JSON.parse(dry.stdout);
    expect(CreateCaseRequestSchema.safeParse(body).success).toBe(true);
    expect(body.hashes.map((h: { value: string }) => h.value).sort()).toEqual(
      [(await hashFile(path.join(pics, "harbour.jpg"))).hash, (await hashFile(path.join(pics, "tower.png"))).hash].sort(),
    );
    const text = await cli(["submit", pics, "--dry-run"]); // no server needed to see the body
    expect(text.code, show(text)).toBe(0);
    expect(JSON.parse(text.stdout)).toEqual(body);

    const real = await cli(["submit", pics, "--server", server.url, "--yes"]);
    expect(real.code, show(real)).toBe(0);
    const sent = server.requests.filter((r) => r.method === "POST" && r.path === "/v1/cases");
    expect(sent).toHaveLength(1);
    expect(sent[0].body.toString("utf8")).toBe(dry.stdout.trim());
  });

  test("bad inputs are reported by name and the rest is sent (exit 2)", async () => {
    const mixed = path.join(work, "mixed");
    mkdirSync(mixed);
    copyFileSync(path.join(FIXTURES, "images", "meadow.webp"), path.join(mixed, "meadow.webp"));
    copyFileSync(path.join(FIXTURES, "bad", "damaged.jpg"), path.join(mixed, "damaged.jpg"));
    writeFileSync(path.join(mixed, "empty.png"), "");
    // A hash list is read only when named (issue 10): inside a folder it would be skipped unread.
    writeFileSync(path.join(work, "list.txt"), `${"0".repeat(64)}\nnot a hash at all\n`);
    const r = await cli(["submit", mixed, path.join(work, "list.txt"), path.join(work, "missing.jpg"), "--server", server.url, "--yes", "--format", "json"]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toMatch(/damaged\.jpg: /);
    expect(r.stderr).toMatch(/empty\.png: empty file/);
    expect(r.stderr).toMatch(/missing\.jpg: no such file/);
    expect(r.stderr).toMatch(/list\.txt:1: all-zero hash/);
    expect(r.stderr).toMatch(/list\.txt:2: wrong length/);
    const out = json(r);
    expect(out.hashes.map((h: { value: string }) => h.value)).toEqual([(await hashFile(path.join(mixed, "meadow.webp"))).hash]);
  });

  test("more than 500 hashes: one case, created then filled in batches of 500, each with its own key", async () => {
    const hashes = Array.from({ length: 1203 }, randomPdq);
    const list = path.join(work, "many.csv");
    writeFileSync(list, "hash,note\n" + hashes.map((h) => `${h},x`).join("\n") + "\n");
    const before = server.requests.length;
    const r = await cli(["submit", list, "--server", server.url, "--yes", "--format", "json"]);
    expect(r.code, show(r)).toBe(0);
    const out = json(r);
    expect(out.hashes).toHaveLength(1203);
    expect(out.hashes.map((h: { index: number }) => h.index)).toEqual([...hashes.keys()]);
    const reqs = server.requests.slice(before).filter((x) => x.method === "POST");
    expect(reqs.map((x) => x.path)).toEqual(["/v1/cases", `/v1/cases/${out.caseId}/hashes`, `/v1/cases/${out.caseId}/hashes`]);
    expect(new Set(reqs.map((x) => x.headers["idempotency-key"])).size).toBe(3);
    expect(reqs.map((x) => JSON.parse(x.body.toString()).hashes.length)).toEqual([500, 500, 203]);
    const st = json(await cli(["status", out.caseId, "--format", "json"]));
    expect(st.hashes).toHaveLength(1203);
  });

  test("the library: typed errors with a readable message", async () => {
    const client = new HashShareClient({ server: server.url, retry: { maxAttempts: 1 } });
    try {
      expect(await client.health("ready")).toEqual({ status: "ready" });
      expect(await client.health("live")).toEqual({ status: "live" });
      const created = await client.createCase({ hashes: [{ type: "pdq", value: randomPdq() }] });
      const wrong = await client.getCase(created.caseId, "B".repeat(43)).catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(ApiError);
      expect((wrong as ApiError).status).toBe(404);
      expect((wrong as ApiError).message).toMatch(/HTTP 404/);
      const invalid = await client.createCase({ hashes: [{ type: "pdq", value: "0".repeat(64) }, { type: "md5", value: "xyz" }] }).catch((e: unknown) => e);
      expect(invalid).toBeInstanceOf(ApiError);
      expect((invalid as ApiError).status).toBe(422);
      expect((invalid as ApiError).errors.map((e) => e.index)).toEqual([0, 1]);
      expect((invalid as ApiError).message).toMatch(/item 1: .*item 2: /s);
      const noKey = await new HashShareClient({ server: server.url, apiKey: "hsk_" + "A".repeat(43) }).feed().catch((e: unknown) => e);
      expect(noKey).toBeInstanceOf(ApiError);
      expect((noKey as ApiError).status).toBe(401);
      // The same idempotency key twice: one case, the same answer.
      const key = crypto.randomUUID();
      const body = { hashes: [{ type: "pdq", value: randomPdq() }] };
      const a = await client.createCase(body, { idempotencyKey: key });
      const b = await client.createCase(body, { idempotencyKey: key });
      expect(b).toEqual(a);
    } finally {
      await client.close();
    }
    const down = new HashShareClient({ server: `http://127.0.0.1:${await freePort()}`, retry: { maxAttempts: 2, baseDelayMs: 10 } });
    const err = await down.health().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).attempts).toBe(2);
    expect((err as Error).message).toMatch(/connection refused.*tried 2 times/);
  });

  test("HASHSAFE_SERVER and HASHSAFE_KEY stand in for --server and --key", async () => {
    const key = await platformKey(server, "env-platform");
    const bank = path.join(work, "env-bank.txt");
    const r = await cli(["feed", "-o", bank, "--format", "json"], { HASHSAFE_SERVER: server.url, HASHSAFE_KEY: key });
    expect(r.code, show(r)).toBe(0);
    expect(json(r).active).toBeGreaterThan(1000);
    const none = await cli(["feed", "-o", bank]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/HASHSAFE_SERVER/);
    const badKey = await cli(["feed", "-o", bank, "--key", "hsk_" + "Z".repeat(43)], { HASHSAFE_SERVER: server.url });
    expect(badKey.code, show(badKey)).toBe(5);
    expect(badKey.stderr).toMatch(/did not accept the API key/);
  });
  test("MD5 (video) hashes: sent as typed, kept in their own list by `feed`, found by lookup", async () => {
    const md5 = randomBytes(16).toString("hex");
    const sub = await cli(["submit", md5.toUpperCase(), "--server", server.url, "--yes", "--format", "json"]);
    expect(sub.code, show(sub)).toBe(0);
    expect(json(sub).hashes).toMatchObject([{ type: "md5", value: md5, status: "accepted" }]);
    const entryId = json(sub).hashes[0].id;
    const key = await platformKey(server, "md5-platform");
    const bank = path.join(work, "md5-bank.txt");
    const f = await cli(["feed", "-o", bank, "--server", server.url, "--key", key, "--format", "json"]);
    expect(f.code, show(f)).toBe(0);
    expect(json(f)).toMatchObject({ md5: 1, md5Output: `${bank}.md5` });
    const md5Lines = readFileSync(`${bank}.md5`, "utf8").trim().split("\n");
    expect(md5Lines).toHaveLength(1);
    const [value, id] = md5Lines[0].split(",");
    expect(value).toBe(md5);
    // the feed's id, not the case's own entry id (docs/protocol.md, "No oracle")
    expect(id).toMatch(/^h_/);
    expect(id).not.toBe(entryId);
    expect(readFileSync(bank, "utf8")).not.toContain(md5);
    const look = await cli(["lookup", md5, "--server", server.url, "--key", key, "--format", "json"]);
    expect(json(look)).toMatchObject([{ type: "md5", hash: md5, against: { id }, distance: 0, matched: true }]);
  });
  test("on a terminal: submit asks before sending (no -> nothing sent), and a missing secret is asked for without echo", async () => {
    const before = server.requests.length;
    const no = await runCliInTerminal(["submit", path.join(pics, "tower.png"), "--server", server.url], { home, prompt: /Send it\?.*\[y\/N\]/s, answer: "n\r" });
    expect(no.answered, no.stdout).toBe(true);
    expect(no.stdout).toContain(`About to send 1 hash to ${server.url}`);
    expect(no.stdout).toMatch(/Only the hashes are sent/);
    expect(no.stdout).toMatch(/nothing was sent/);
    expect(no.code).toBe(1);
    expect(server.requests.length).toBe(before);

    const yes = await runCliInTerminal(["submit", path.join(pics, "tower.png"), "--server", server.url, "--no-receipt"], { home, prompt: /\[y\/N\]/, answer: "y\r" });
    expect(yes.code, yes.stdout).toBe(0);
    const caseId = /Case id:\s+(c_[A-Za-z0-9_-]{22})/.exec(yes.stdout)![1];
    const secret = /Case secret:\s+((?:[0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4})/.exec(yes.stdout)![1];

    const st = await runCliInTerminal(["status", caseId, "--server", server.url], { home, prompt: /Case secret for c_.*not shown/, answer: `${secret}\r` });
    expect(st.code, st.stdout).toBe(0);
    expect(st.stdout).toContain(`Case ${caseId}`);
    expect(st.stdout).not.toContain(secret);
  });
  test("retry timing: exponential backoff with jitter, Retry-After as a floor, no wait beyond the limit", async () => {
    expect(parseRetryAfter("3")).toBe(3000);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter(new Date(now + 5000).toUTCString(), now)).toBe(5000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
    const p = DEFAULT_RETRY;
    expect([1, 2, 3].map((n) => retryDelay(p, n, undefined, () => 0))).toEqual([250, 500, 1000]);
    expect([1, 2, 3].map((n) => retryDelay(p, n, undefined, () => 0.999999))).toEqual([500, 1000, 2000]);
    expect(retryDelay(p, 30, undefined, () => 1)).toBe(p.maxDelayMs);
    expect(retryDelay(p, 1, 2000, () => 0)).toBe(2000);
    expect(retryDelay(p, 1, 2000, () => 1)).toBe(2200);

    // A server asking for an hour's pause: no retry, the error at once, with the pause in it.
    let hits = 0;
    const busy = createServer((_req, res) => {
      hits++;
      res.writeHead(503, { "retry-after": "3600", "content-type": "text/html" });
      res.end("<h1>maintenance</h1>");
    });
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const client = new HashShareClient({ server: `http://127.0.0.1:${(busy.address() as AddressInfo).port}` });
    try {
      const t0 = Date.now();
      const err = await client.health().catch((e: unknown) => e);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(503);
      expect((err as ApiError).retryAfter).toBe(3600);
      expect((err as ApiError).title).toBe("Service Unavailable");
      expect(hits).toBe(1);
    } finally {
      await client.close();
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });
});
