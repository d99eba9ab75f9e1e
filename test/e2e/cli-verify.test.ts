// hashsafe verify and hashsafe self-test through the real binary: another
// implementation's hashes (made here from the reference's values, then
// broken in the ways real ports go wrong) and the bundled conformance set.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selfTest } from "../../src/conformance/index.ts";
import { type CliRun, CONFORMANCE, FIXTURES, readTsv, runCli } from "../helpers.ts";

const run = runCli;

const rows = async () => readTsv(await readFile(path.join(CONFORMANCE, "expected.tsv"), "utf8")).filter((r) => r.mode === "full");
const reversedWords = (h: string) => h.match(/.{4}/g)!.reverse().join("");
const complement = (h: string) => [...h].map((c) => (15 - parseInt(c, 16)).toString(16)).join("");
function flip(h: string, bits: number[]): string {
  const b = Buffer.from(h, "hex");
  for (const i of bits) b[i >> 3] ^= 1 << (i & 7);
  return b.toString("hex");
}

let dir = "";
const list = (name: string) => path.join(dir, name);
async function writeList(name: string, entries: [string, string][], header = "hash,file") {
  await writeFile(list(name), `${header}\n${entries.map(([h, f]) => `${h},${f}`).join("\n")}\n`);
  return list(name);
}
const summaryOf = (r: CliRun) => JSON.parse(r.stdout).summary;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "hashsafe-verify-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("hashsafe verify --conformance", () => {
  it("a correct list passes: all 62 exact, exit 0", async () => {
    const f = await writeList("good.csv", (await rows()).map((r) => [r.hash, r.file]));
    const r = await run(["verify", "--conformance", "--hashes", f, "--format", "json"]);
    expect(r.code).toBe(0);
    expect(summaryOf(r)).toMatchObject({ pass: true, total: 62, exact: 62, within: 0, over: 0, missingTheirs: 0, missingOurs: 0, histogram: { 0: 62 } });
    const text = await run(["verify", "--conformance", "--hashes", f]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^62 images: 62 exact/m);
    expect(text.stdout).toMatch(/^PASS/m);
  });

  it("a few flipped bits: over at --max-distance 0 (exit 1), within at 5 (exit 0), the worst named", async () => {
    const rs = await rows();
    const f = await writeList(
      "flipped.csv",
      rs.map((r, i) => [i === 3 ? flip(r.hash, [1, 77, 200]) : i === 10 ? flip(r.hash, [5]) : r.hash, r.file]),
    );
    let r = await run(["verify", "--conformance", "--hashes", f, "--format", "json"]);
    expect(r.code).toBe(1);
    expect(summaryOf(r)).toMatchObject({ pass: false, exact: 60, over: 2, histogram: { 0: 60, 1: 1, 3: 1 } });
    expect(summaryOf(r).worst).toEqual([{ file: rs[3].file, distance: 3 }, { file: rs[10].file, distance: 1 }]);
    r = await run(["verify", "--conformance", "--hashes", f, "--max-distance", "5", "--format", "json"]);
    expect(r.code).toBe(0);
    expect(summaryOf(r)).toMatchObject({ pass: true, exact: 60, within: 2, over: 0 });
  });

  it("word-reversed hashes are named as such, not only as ~128 bits", async () => {
    const rs = await rows();
    const f = await writeList("reversed.csv", rs.map((r) => [reversedWords(r.hash), r.file]));
    const r = await run(["verify", "--conformance", "--hashes", f, "--format", "json"]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    // Palindromic word orders (flat pictures) are exact; every other one is diagnosed.
    const over = out.files.filter((x: { status: string }) => x.status === "over");
    expect(over.length).toBeGreaterThan(50);
    for (const x of over) expect(x.diagnosis, x.file).toMatchObject({ kind: "word-reversed", distance: 0 });
    const text = await run(["verify", "--conformance", "--hashes", f]);
    expect(text.stdout).toMatch(/sixteen 16-bit words in reverse order/);
  });

  it("complemented hashes are named as the complement", async () => {
    const rs = await rows();
    const f = await writeList("complement.csv", rs.map((r) => [complement(r.hash), r.file]));
    const r = await run(["verify", "--conformance", "--hashes", f, "--format", "json"]);
    expect(r.code).toBe(1);
    const files = JSON.parse(r.stdout).files.filter((x: { file: string }) => !x.file.includes("flat-black"));
    for (const x of files) expect(x.diagnosis?.kind, x.file).toBe("complement");
  });

  it("hashes of the rotated picture are named as that dihedral variant", async () => {
    const rs = await rows();
    const f = await writeList("rotated.csv", rs.map((r) => [r.rotate90, r.file]));
    const r = await run(["verify", "--conformance", "--hashes", f, "--format", "ndjson"]);
    expect(r.code).toBe(1);
    const recs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const over = recs.filter((x) => x.status === "over");
    expect(over.length).toBeGreaterThan(40);
    for (const x of over) expect(x.diagnosis.kind, x.file).toMatch(/^dihedral:rotate(90|270)$|^word-reversed$|^complement/);
    expect(over.filter((x) => x.diagnosis.kind === "dihedral:rotate90").length).toBeGreaterThan(40);
    expect(recs.at(-1).summary.diagnoses["dihedral:rotate90"]).toBeGreaterThan(40);
  });

  it("missing entries on both sides are counted and fail the run", async () => {
    const rs = await rows();
    const entries: [string, string][] = rs.slice(2).map((r) => [r.hash, r.file]);
    entries.push(["a".repeat(64), "not-in-the-set.png"]);
    const f = await writeList("missing.csv", entries);
    const r = await run(["verify", "--conformance", "--hashes", f, "--format", "json"]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.summary).toMatchObject({ pass: false, exact: 60, missingTheirs: 2, missingOurs: 1 });
    expect(out.files.filter((x: { status: string }) => x.status === "missing-theirs").map((x: { file: string }) => x.file)).toEqual([rs[0].file, rs[1].file]);
    expect(out.files.find((x: { status: string }) => x.status === "missing-ours")).toMatchObject({ file: "not-in-the-set.png", theirsLine: 62 });
  });

  it("a malformed list: line-numbered errors, exit 2", async () => {
    const rs = await rows();
    const good = rs.slice(0, 5).map((r) => `${r.hash},${r.file}`);
    const f = list("bad.txt");
    await writeFile(f, [good[0], "zz-not-hex,c001-photo-5x64.png", good[2], `${"0".repeat(63)}g,c003.png`, "12345", good[4]].join("\n") + "\n");
    const r = await run(["verify", "--conformance", "--hashes", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}:2: wrong length`);
    expect(r.stderr).toContain(`${f}:4: not hex: "g" at column 64`);
    expect(r.stderr).toContain(`${f}:5: wrong length`);
  });

  it("usage mistakes exit 2 with a message", async () => {
    let r = await run(["verify", "--conformance"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--hashes <list> is required/);
    r = await run(["verify", "--hashes", list("good.csv")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nothing to verify/);
    r = await run(["verify", "--conformance", "--hashes", list("good.csv"), "--max-distance", "x"]);
    expect(r.code).toBe(2);
  });
});

describe("hashsafe verify on images", () => {
  it("pairs their hashes with the images by path or file name, including pdq-photo-hasher's hash,quality,file lines", async () => {
    const imgs = path.join(FIXTURES, "images");
    const ours = await run(["hash", "--format", "ndjson", "--no-orient", imgs]);
    const recs = ours.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(recs).toHaveLength(5);
    // theirs: plain lines, one as pdq-photo-hasher prints them, one with its words reversed
    const lines = recs.map((x, i) =>
      i === 0 ? `${x.hash},${x.quality},${x.path}` : i === 1 ? `${reversedWords(x.hash)},${path.basename(x.path)}` : `${x.hash},${path.basename(x.path)}`,
    );
    const f = list("theirs-images.txt");
    await writeFile(f, lines.join("\n") + "\n");
    const r = await run(["verify", "--no-orient", "--hashes", f, imgs, "--format", "json"]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.summary).toMatchObject({ total: 5, exact: 4, over: 1, diagnoses: { "word-reversed": 1 } });
    const csv = await run(["verify", "--no-orient", "--hashes", f, imgs, "--format", "csv"]);
    expect(csv.stdout.split("\n")[0]).toBe("file,status,distance,ours,theirs,theirsLine,diagnosis,error");
    expect(csv.stdout).toMatch(/,over,\d+,[0-9a-f]{64},[0-9a-f]{64},2,word-reversed,/);
  });
});

describe("self-test", () => {
  it("hashsafe self-test: 62/62 exact in both modes, exit 0", async () => {
    const r = await run(["self-test"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^62\/62 exact in both modes .*decoder: sharp \S+, libvips \S+/);
    const j = await run(["self-test", "--format", "json"]);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: true, images: 62, exact: { full: 62, squash512: 62 }, mismatches: [] });
  });

  it("selfTest() reports a difference, and the command exits 1, when an expected value does not match", async () => {
    const copy = path.join(dir, "conformance");
    await cp(CONFORMANCE, copy, { recursive: true });
    const tsv = await readFile(path.join(copy, "expected.tsv"), "utf8");
    const lines = tsv.split("\n");
    const cells = lines[5].split("\t");
    cells[4] = flip(cells[4], [9]);
    lines[5] = cells.join("\t");
    await writeFile(path.join(copy, "expected.tsv"), lines.join("\n"));
    const report = await selfTest({ dir: copy });
    expect(report.ok).toBe(false);
    expect(report.mismatches).toEqual([expect.objectContaining({ file: cells[0], mode: cells[1], field: "hash" })]);
    const r = await run(["self-test", "--dir", copy]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/NOT EXACT/);
  });
});
