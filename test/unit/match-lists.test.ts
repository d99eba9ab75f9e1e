// Hash lists: the three formats, line-numbered validation, writers, and
// bounded memory on big garbage files (acceptance 5).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatHashList, formatProblem, HashListError, readHashList } from "../../src/match/lists.ts";
import { ROOT } from "../helpers.ts";

const A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
const B = "98736629670cc19fc9f23862f66cce1f599e32c78e236c78619d202e9e66c157";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "hashsafe-lists-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string | Buffer): Promise<string> {
  const f = path.join(dir, name);
  await writeFile(f, text);
  return f;
}

describe("reading lists", () => {
  it("plain: hash[,metadata], blank lines and comments ignored, upper case accepted", async () => {
    const f = await file("plain.txt", `# my bank\n\n${A},case 1, part a\n${B.toUpperCase()}\n  \n${A} with a space\n`);
    const r = await readHashList(f);
    expect(r.format).toBe("plain");
    expect(r.problemCount).toBe(0);
    expect(r.entries).toEqual([
      { hash: A, metadata: "case 1, part a", line: 3 },
      { hash: B, line: 4 },
      { hash: A, metadata: "with a space", line: 6 },
    ]);
  });

  it("csv: a header with a hash column anywhere, quoting, a metadata column", async () => {
    const f = await file("list.csv", `path,quality,hash\r\n"a, b.jpg",100,${A}\r\nc.jpg,87,${B}\r\n`);
    const r = await readHashList(f);
    expect(r.format).toBe("csv");
    expect(r.entries).toEqual([
      { hash: A, metadata: "a, b.jpg", quality: 100, line: 2 },
      { hash: B, metadata: "c.jpg", quality: 87, line: 3 },
    ]);
    const bad = await file("nohash.csv", `path,quality,digest\nx,1,${A}\n`);
    const rb = await readHashList(bad, { format: "csv" });
    expect(rb.count).toBe(0);
    expect(formatProblem(rb.problems[0])).toBe(`${bad}:1: CSV header has no "hash" column (columns: path, quality, digest)`);
  });

  it("ndjson as `hashsafe hash` writes it: error records skipped, path as metadata", async () => {
    const f = await file(
      "hashes.ndjson",
      [
        JSON.stringify({ path: "a.jpg", hash: A, quality: 100 }),
        JSON.stringify({ path: "broken.jpg", error: "damaged JPEG", code: "CORRUPT" }),
        JSON.stringify({ hash: B }),
        "{not json",
        JSON.stringify({ path: "x.jpg", hash: 12 }),
      ].join("\n"),
    );
    const r = await readHashList(f);
    expect(r.format).toBe("ndjson");
    expect(r.entries).toEqual([
      { hash: A, metadata: "a.jpg", quality: 100, line: 1 },
      { hash: B, line: 3 },
    ]);
    expect(r.skipped).toBe(1);
    expect(r.problems.map(formatProblem)).toEqual([
      `${f}:4: not JSON (an ndjson list has one JSON object per line)`,
      `${f}:5: no "hash" string in the record`,
    ]);
  });

  it("names file and line of every bad hash; good lines still load unless strict", async () => {
    const lines = [
      A,
      A.slice(0, 63),
      A + "0",
      A.slice(0, 10) + "xyz" + A.slice(13),
      "0".repeat(64),
      "0".repeat(62) + "ff",
      "f".repeat(64),
      B + ",fine",
    ];
    const f = await file("bad.txt", lines.join("\n") + "\n");
    const r = await readHashList(f);
    expect(r.entries.map((e) => e.line)).toEqual([1, 8]);
    expect(r.problems.map(formatProblem)).toEqual([
      `${f}:2: wrong length: 63 characters, a PDQ hash is 64 hex digits`,
      `${f}:3: wrong length: 65 characters, a PDQ hash is 64 hex digits`,
      `${f}:4: not hex: "x" at column 11`,
      `${f}:5: all-zero hash (what the reference emits for an image it could not hash)`,
      `${f}:6: degenerate hash: 8 of 256 bits set (a usable hash has 16 to 240)`,
      `${f}:7: degenerate hash: 256 of 256 bits set (a usable hash has 16 to 240)`,
    ]);
    await expect(readHashList(f, { strict: true })).rejects.toThrow(
      `${f}:2: wrong length: 63 characters, a PDQ hash is 64 hex digits (and 5 more)`,
    );
  });

  it("empty, comment-only, missing and folder inputs are clear errors", async () => {
    const empty = await file("empty.txt", "");
    const r = await readHashList(empty);
    expect(r.count).toBe(0);
    expect(r.problems.map(formatProblem)).toEqual([`${empty}: empty file: no hashes in it`]);
    await expect(readHashList(empty, { strict: true })).rejects.toThrow(HashListError);
    const comments = await file("comments.txt", "# nothing\n\n");
    expect((await readHashList(comments)).problems.map(formatProblem)).toEqual([
      `${comments}: no hashes in the file (only blank lines, comments or a header)`,
    ]);
    await expect(readHashList(path.join(dir, "missing.txt"))).rejects.toThrow(/missing\.txt: no such file/);
    await expect(readHashList(dir)).rejects.toThrow(/is a folder/);
  });

  it("keeps the first maxErrors messages and counts the rest", async () => {
    const f = await file("many.txt", Array.from({ length: 1000 }, (_, i) => (i === 500 ? A : "nope")).join("\n"));
    const r = await readHashList(f, { maxErrors: 5 });
    expect(r.count).toBe(1);
    expect(r.problems).toHaveLength(5);
    expect(r.problemCount).toBe(999);
    expect(r.entries[0].line).toBe(501);
  });

  it("reads every line of a list bigger than the read chunks, with CRLF and a last line without newline", async () => {
    const hashes: string[] = [];
    for (let i = 0; i < 40_000; i++) hashes.push(randomBytes(32).toString("hex"));
    const f = await file("big.txt", hashes.map((h, i) => `${h},entry ${i}`).join("\r\n"));
    const r = await readHashList(f);
    expect(r.problemCount).toBe(0);
    expect(r.count).toBe(40_000);
    const bad = r.entries.filter((e, i) => e.hash !== hashes[i] || e.metadata !== `entry ${i}` || e.line !== i + 1);
    expect(bad).toEqual([]);
  });

  it("writes lists that read back the same, in all three formats", async () => {
    const entries = [
      { hash: A, metadata: 'a, "quoted" name.jpg' },
      { hash: B },
    ];
    for (const format of ["plain", "csv", "ndjson"] as const) {
      const f = await file(`out.${format}`, formatHashList(entries, format));
      const r = await readHashList(f);
      expect(r.format).toBe(format);
      expect(r.entries.map(({ hash, metadata }) => (metadata === undefined ? { hash } : { hash, metadata }))).toEqual(
        format === "csv" ? [entries[0], { hash: B }] : entries,
      );
    }
    expect(() => formatHashList([{ hash: "abc" }], "plain")).toThrow(/wrong length/);
  });
});

describe("big garbage files: bounded memory, nothing crashes", () => {
  /** Run readHashList in a child process (the built library) and report its peak memory. */
  function childRead(f: string | null): Promise<{ count: number; problems: number; problemCount: number; maxRssMB: number; first?: string }> {
    const script = `
      const m = await import(${JSON.stringify(path.join(ROOT, "dist", "index.js"))});
      const f = ${JSON.stringify(f)};
      let out = { count: 0, problems: 0, problemCount: 0 };
      if (f) {
        const r = await m.readHashList(f, { onEntry: () => {} });
        out = { count: r.count, problems: r.problems.length, problemCount: r.problemCount, first: r.problems[0] && m.formatProblem(r.problems[0]) };
      }
      out.maxRssMB = process.resourceUsage().maxRSS / 1024;
      console.log(JSON.stringify(out));`;
    return new Promise((resolve, reject) => {
      execFile(process.execPath, ["--input-type=module", "-e", script], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout));
      });
    });
  }

  async function bigFile(name: string, mb: number, chunk: () => Buffer): Promise<string> {
    const f = path.join(dir, name);
    const ws = createWriteStream(f);
    for (let i = 0; i < mb; i++) if (!ws.write(chunk())) await once(ws, "drain");
    ws.end();
    await once(ws, "close");
    return f;
  }

  it("80 MB of random bytes, and 80 MB on one line, read with bounded memory", async () => {
    const base = await childRead(null);
    const random = await bigFile("garbage.bin", 80, () => randomBytes(1 << 20));
    const r = await childRead(random);
    expect(r.count).toBe(0);
    expect(r.problems).toBe(20);
    expect(r.problemCount).toBeGreaterThan(250_000); // ~ one newline per 256 random bytes
    expect(r.first).toMatch(/garbage\.bin:1: /);
    // the file is 80 MB; reading it costs far less than that over the baseline. The reader's own
    // cost does not grow with the file (about 40 MB of stream buffers and GC slack, for 80 MB and
    // for 160 MB alike, on the 2026-12-04 VM); a reader that kept the file would need over 80.
    expect(r.maxRssMB - base.maxRssMB).toBeLessThan(56);

    const oneLine = await bigFile("oneline.txt", 80, () => Buffer.alloc(1 << 20, "a"));
    const o = await childRead(oneLine);
    expect(o.maxRssMB - base.maxRssMB).toBeLessThan(56);
    expect(o.count).toBe(0);
    expect(o.problemCount).toBe(1);
    expect(o.first).toBe(`${oneLine}:1: line too long (over 65536 bytes): not a hash list line`);
    await rm(random);
    await rm(oneLine);
  }, 120_000);
});
