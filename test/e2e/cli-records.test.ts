/**
 * One record shape across `hash`, `match`, `lookup` and `compare`
 * (docs/records.md), through the real binary and, for lookup, a real server:
 * the same inputs give records whose shared fields have the same names and
 * values, in json, ndjson and csv; and the exit statuses of each command, case
 * by case (0 match, 1 none, 2 errors and usage errors).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseCsvLine } from "../../src/match/lists.ts";
import type { RunningServer } from "../../src/server/index.ts";
import { FIXTURES } from "../helpers.ts";
import { runCli, type CliResult } from "./e2e-support.ts";
import { call, CLIENT, platformKey, start, tempDir } from "./server-helpers.ts";

const HARBOUR = path.join(FIXTURES, "images", "harbour.jpg");
const SMALL = path.join(FIXTURES, "images", "harbour-small.jpg");
const TOWER = path.join(FIXTURES, "images", "tower.png");
const MEADOW = path.join(FIXTURES, "images", "meadow.webp");
const DAMAGED = path.join(FIXTURES, "bad", "damaged.jpg");

let work: string;
let t: ReturnType<typeof tempDir>;
let s: RunningServer;
let key: string;
let lookupOnly: string;
let list: string; // a hash list: harbour and tower, with metadata
let bank: string; // the bank: harbour and tower
const hashes: Record<string, { hash: string; quality: number }> = {};

function cli(args: string[]): Promise<CliResult> {
  return runCli(args, { home: work });
}
const net = () => ["--server", s.url, "--key", key];

/** Records of a run in `format`, as objects (csv: by its header; empty cells left out). */
function records(format: string, stdout: string): Record<string, unknown>[] {
  if (format === "json") return JSON.parse(stdout);
  const lines = stdout.trim() === "" ? [] : stdout.trim().split("\n");
  if (format === "ndjson") return lines.map((l) => JSON.parse(l));
  const [head, ...rows] = lines;
  const cols = parseCsvLine(head)!;
  return rows.map((row) => {
    const cells = parseCsvLine(row)!;
    const rec: Record<string, unknown> = {};
    cols.forEach((c, i) => {
      if (cells[i] === "") return;
      // "a.b" columns back into objects
      const [k, sub] = c.split(".");
      if (sub) rec[k] = { ...(rec[k] as object), [sub]: cells[i] };
      else rec[k] = cells[i];
    });
    return rec;
  });
}

/** The input fields every record shares, as strings (csv has no types). */
function shared(r: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ["path", "line", "metadata", "hash", "quality"]) if (r[k] !== undefined) out[k] = String(r[k]);
  return out;
}

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), "hashsafe-records-"));
  for (const f of [HARBOUR, TOWER, MEADOW, SMALL]) {
    const r = await cli(["hash", f, "--format", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const [rec] = JSON.parse(r.stdout);
    hashes[f] = { hash: rec.hash, quality: rec.quality };
  }
  list = path.join(work, "queries.csv");
  writeFileSync(list, `hash,metadata\n${hashes[HARBOUR].hash},"case 1, harbour"\n${hashes[TOWER].hash},case 2\n`);
  bank = path.join(work, "bank.txt");
  writeFileSync(bank, `${hashes[HARBOUR].hash},bank harbour\n${hashes[TOWER].hash},bank tower\n`);
  // The server holds harbour and tower, published.
  t = tempDir();
  s = await start(path.join(t.dir, "server.db"), { rateLimit: false });
  key = await platformKey(s, ["lookup"]);
  lookupOnly = await platformKey(s, ["feed:read"]);
  const c = await call(s.url, "POST", "/v1/cases", {
    body: { hashes: [HARBOUR, TOWER].map((f) => ({ type: "pdq", value: hashes[f].hash })), client: CLIENT },
  });
  expect(c.status, c.text).toBe(201);
  await s.server.feed.publish(true);
}, 120_000);

afterAll(async () => {
  await s?.close();
  t?.remove();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.each(["json", "ndjson", "csv"])("--format %s: the same input, the same fields", (format) => {
  test("an image through hash, match, lookup and compare", async () => {
    const h = records(format, (await cli(["hash", HARBOUR, "--format", format])).stdout);
    const m = await cli(["match", HARBOUR, "--against", bank, "--format", format]);
    const l = await cli(["lookup", HARBOUR, ...net(), "--format", format]);
    const c = await cli(["compare", HARBOUR, SMALL, "--format", format]);
    for (const r of [m, l, c]) expect(r.code, r.stderr).toBe(0);
    const [hr] = h;
    const [mr] = records(format, m.stdout);
    const [lr] = records(format, l.stdout);
    const [cr] = records(format, c.stdout);
    const expected = { path: HARBOUR, hash: hashes[HARBOUR].hash, quality: String(hashes[HARBOUR].quality) };
    for (const r of [hr, mr, lr, cr]) expect(shared(r)).toEqual(expected);
    // the comparison fields: one vocabulary
    for (const r of [mr, lr, cr]) {
      expect(Object.keys(r)).toEqual(expect.arrayContaining(["against", "distance", "transform", "matched"]));
      expect(String(r.matched)).toBe("true");
      expect(String(r.transform)).toBe("original");
    }
    expect(mr.against).toEqual({ hash: hashes[HARBOUR].hash, metadata: "bank harbour" });
    expect((lr.against as { id: string }).id).toMatch(/^h_[A-Za-z0-9_-]{16}$/);
    expect(shared(cr.against as Record<string, unknown>)).toEqual({ path: SMALL, hash: hashes[SMALL].hash, quality: String(hashes[SMALL].quality) });
    expect(String(mr.distance)).toBe("0");
    expect(String(lr.distance)).toBe("0");
  });

  test("a hash list through match and lookup: path, line and metadata of each line", async () => {
    const m = await cli(["match", list, "--against", bank, "--format", format]);
    const l = await cli(["lookup", list, ...net(), "--format", format]);
    expect(m.code, m.stderr).toBe(0);
    expect(l.code, l.stderr).toBe(0);
    const want = [
      { path: list, line: "2", metadata: "case 1, harbour", hash: hashes[HARBOUR].hash },
      { path: list, line: "3", metadata: "case 2", hash: hashes[TOWER].hash },
    ];
    expect(records(format, m.stdout).map(shared)).toEqual(want);
    expect(records(format, l.stdout).map(shared)).toEqual(want);
  });

  test("a hash typed on the command line: only `hash`, no path", async () => {
    const typed = hashes[TOWER].hash;
    const m = await cli(["match", typed, "--against", bank, "--format", format]);
    const l = await cli(["lookup", typed, ...net(), "--format", format]);
    const c = await cli(["compare", typed, TOWER, "--format", format]);
    for (const r of [m, l, c]) expect(r.code, r.stderr).toBe(0);
    for (const r of [m, l, c]) expect(shared(records(format, r.stdout)[0])).toEqual({ hash: typed });
  });
});

test("--format text: one line per record, naming the input the same way", async () => {
  const m = await cli(["match", list, "--against", bank, "--format", "text"]);
  const l = await cli(["lookup", list, ...net(), "--format", "text"]);
  expect(m.stdout.trim().split("\n").map((x) => x.split("  ")[0])).toEqual([`${list}:2`, `${list}:3`]);
  expect(l.stdout.trim().split("\n").map((x) => x.split("  ")[0])).toEqual([`${list}:2`, `${list}:3`]);
  const h = await cli(["hash", HARBOUR, "--format", "text"]);
  expect(h.stdout.trim()).toBe(`${hashes[HARBOUR].hash}  ${HARBOUR}`);
});

// ---------------------------------------------------------------- exit statuses

type Case = [what: string, args: () => string[], status: number, stderr?: RegExp];

const CASES: Record<string, Case[]> = {
  hash: [
    ["hashed", () => ["hash", HARBOUR], 0],
    ["one file could not be hashed", () => ["hash", HARBOUR, DAMAGED], 2, /damaged\.jpg/],
    ["unknown option", () => ["hash", "--frobnicate", HARBOUR], 2, /^hashsafe: unknown option '--frobnicate'/m],
    ["option without its value", () => ["hash", HARBOUR, "--format"], 2, /^hashsafe: option '--format <format>' argument missing/m],
    ["bad value", () => ["hash", HARBOUR, "--format", "xml"], 2, /^hashsafe: unknown format "xml"/m],
  ],
  match: [
    ["a match", () => ["match", HARBOUR, "--against", bank], 0],
    ["no match", () => ["match", MEADOW, "--against", bank], 1],
    ["an input that cannot be read", () => ["match", HARBOUR, DAMAGED, "--against", bank], 2, /damaged\.jpg/],
    ["unknown option", () => ["match", HARBOUR, "--against", bank, "--frobnicate"], 2, /^hashsafe: unknown option '--frobnicate'/m],
    ["option without its value", () => ["match", HARBOUR, "--against"], 2, /^hashsafe: option '--against <bank>' argument missing/m],
    ["bad value", () => ["match", HARBOUR, "--against", bank, "--format", "xml"], 2, /^hashsafe: unknown format "xml"/m],
    ["no --against", () => ["match", HARBOUR], 2, /^hashsafe: --against/m],
  ],
  compare: [
    ["a match", () => ["compare", HARBOUR, SMALL], 0],
    ["no match", () => ["compare", HARBOUR, TOWER], 1],
    ["an input that is not a hash or image", () => ["compare", HARBOUR, "abc123"], 2, /abc123: not a PDQ hash/],
    ["unknown option", () => ["compare", HARBOUR, SMALL, "--frobnicate"], 2, /^hashsafe: unknown option '--frobnicate'/m],
    ["option without its value", () => ["compare", HARBOUR, SMALL, "--threshold"], 2, /^hashsafe: option '--threshold <n>' argument missing/m],
    ["bad value", () => ["compare", HARBOUR, SMALL, "--threshold", "x"], 2, /^hashsafe: --threshold must be a whole number/m],
    ["one input only", () => ["compare", HARBOUR], 2, /^hashsafe: compare takes exactly two/m],
  ],
  lookup: [
    ["a match", () => ["lookup", HARBOUR, ...net()], 0],
    ["no match", () => ["lookup", MEADOW, ...net()], 1],
    ["an input that cannot be read", () => ["lookup", HARBOUR, DAMAGED, ...net()], 2, /damaged\.jpg/],
    ["unknown option", () => ["lookup", HARBOUR, ...net(), "--frobnicate"], 2, /^hashsafe: unknown option '--frobnicate'/m],
    ["option without its value", () => ["lookup", HARBOUR, ...net(), "--max-distance"], 2, /^hashsafe: option '--max-distance <n>' argument missing/m],
    ["bad value", () => ["lookup", HARBOUR, ...net(), "--format", "xml"], 2, /^hashsafe: option '--format <format>' argument 'xml' is invalid/m],
    ["no key", () => ["lookup", HARBOUR, "--server", s.url], 2, /^hashsafe: this needs a platform API key/m],
    ["a key without the lookup scope", () => ["lookup", HARBOUR, "--server", s.url, "--key", lookupOnly], 5],
  ],
};

describe.each(Object.keys(CASES))("exit status of %s", (command) => {
  test.each(CASES[command])("%s", async (_what, args, status, stderr) => {
    const r = await cli(args());
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(status);
    if (stderr) expect(r.stderr).toMatch(stderr);
    if (status === 2 && stderr && /option|format|--against|--threshold|compare takes|API key/.test(stderr.source)) {
      expect(r.stderr).toMatch(/\(run with --help for usage\)/);
    }
  });
});
