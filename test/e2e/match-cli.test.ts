// compare, match and index build as a person runs them: the real binary
// (built by the global setup), real files, exit statuses like grep.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp, { type Sharp } from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashFile } from "../../src/image/hash.ts";
import { conformanceImage, FIXTURES, runCli } from "../helpers.ts";

const run = runCli;

const ndjson = (text: string) => text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
// The project's own pictures under the names the upstream suite uses (see
// test/reference/ for the upstream images): turned and mirrored copies of
// harbour.jpg, a 256x256 thumbnail, a sharpened copy, an unrelated picture
// and a nearly flat one.
const img = (f: string) => path.join(dir, f);
const HARBOUR = path.join(FIXTURES, "images", "harbour.jpg");
const MAKE: Record<string, () => Sharp> = {
  "original.jpg": () => sharp(HARBOUR),
  "bridge-1-original.jpg": () => sharp(HARBOUR),
  "bridge-2-rotate-90.jpg": () => sharp(HARBOUR).rotate(90),
  "bridge-3-rotate-180.jpg": () => sharp(HARBOUR).rotate(180),
  "bridge-4-rotate-270.jpg": () => sharp(HARBOUR).rotate(270),
  "bridge-5-flipx.jpg": () => sharp(HARBOUR).flip(),
  "bridge-6-flipy.jpg": () => sharp(HARBOUR).flop(),
  "bridge-7-flip-plus-1.jpg": () => sharp(HARBOUR).rotate(90).flop(),
  "bridge-8-flip-minus-1.jpg": () => sharp(HARBOUR).rotate(90).flip(),
  "sharpen-a-lot.jpg": () => sharp(HARBOUR).sharpen({ sigma: 6, m1: 10, m2: 20 }),
  "q1050.jpg": () => sharp(path.join(FIXTURES, "images", "meadow.webp")).resize(256, 256, { fit: "fill" }),
  "q0746.jpg": () => sharp(path.join(FIXTURES, "images", "tower.png")),
  // nearly flat but not quality 0 (a picture of one colour is an error, FLAT, not a weak hash)
  "q0003.jpg": () => sharp(conformanceImage("c032-nearflat2-97x131.png")),
};
const BRIDGES = [
  "bridge-1-original.jpg",
  "bridge-2-rotate-90.jpg",
  "bridge-3-rotate-180.jpg",
  "bridge-4-rotate-270.jpg",
  "bridge-5-flipx.jpg",
  "bridge-6-flipy.jpg",
  "bridge-7-flip-plus-1.jpg",
  "bridge-8-flip-minus-1.jpg",
];
let ORIG = ""; // original.jpg, full mode
let ORIG_QUALITY = 0;
let Q1050 = "";

let dir = "";
let bank = "";
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "hashsafe-match-cli-"));
  for (const [name, make] of Object.entries(MAKE)) await make().jpeg({ quality: 92 }).toFile(img(name));
  const orig = await hashFile(img("original.jpg"));
  ORIG = orig.hash;
  ORIG_QUALITY = orig.quality;
  Q1050 = (await hashFile(img("q1050.jpg"))).hash;
  // a bank of three pictures, with metadata
  bank = path.join(dir, "bank.txt");
  await writeFile(bank, `# test bank\n${ORIG},case-17 bridge\n${Q1050},case-18\n\n${"1f".repeat(32)},case-19\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("hashsafe compare", () => {
  it("gives the distance and match / no match with exit 0 / 1", async () => {
    const near = ORIG.slice(0, 60) + "0000";
    let r = await run(["compare", ORIG, near]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^distance \d+: match \(threshold 31\)$/);
    r = await run(["compare", ORIG, Q1050]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/: no match \(threshold 31\)/);
    r = await run(["compare", img("original.jpg"), ORIG, "--format", "json"]);
    expect(r.code).toBe(0);
    const [j] = JSON.parse(r.stdout);
    expect(j).toMatchObject({ distance: 0, threshold: 31, matched: true, hash: ORIG, quality: ORIG_QUALITY, against: { hash: ORIG } });
    r = await run(["compare", img("original.jpg"), img("sharpen-a-lot.jpg"), "--threshold", "5"]);
    expect(r.code).toBe(1);
  });

  it("--dihedral gives the best orientation", async () => {
    let r = await run(["compare", img("bridge-3-rotate-180.jpg"), img("bridge-1-original.jpg")]);
    expect(r.code).toBe(1);
    r = await run(["compare", img("bridge-3-rotate-180.jpg"), img("bridge-1-original.jpg"), "--dihedral", "--format", "json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({ matched: true, transform: "rotate180" });
    r = await run(["compare", ORIG, img("bridge-5-flipx.jpg"), "--dihedral"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/match \(threshold 31\), after flipx of .*bridge-5-flipx\.jpg/);
    r = await run(["compare", ORIG, Q1050, "--dihedral"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/need an image on at least one side/);
  });

  it("bad input is exit 2 with a message naming it", async () => {
    let r = await run(["compare", "abc123", ORIG]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/abc123: not a PDQ hash \(6 hex digits/);
    r = await run(["compare", "0".repeat(64), ORIG]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/all-zero hash/);
    r = await run(["compare", path.join(dir, "nope.jpg"), ORIG]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nope\.jpg: no such file/);
    r = await run(["compare", bank, ORIG]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bank\.txt: not an image/);
    r = await run(["compare", ORIG, ORIG, "--threshold", "x"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--threshold must be a whole number/);
  });
});

describe("hashsafe match", () => {
  it("--dihedral finds all 8 bridge images as one picture; without it only the original", async () => {
    const files = BRIDGES.map(img);
    let r = await run(["match", ...files, "--against", bank, "--dihedral", "--format", "ndjson"]);
    expect(r.code).toBe(0);
    const recs = ndjson(r.stdout);
    expect(recs.map((x) => x.path)).toEqual(files);
    for (const x of recs) {
      expect(x).toMatchObject({ against: { hash: ORIG, metadata: "case-17 bridge" }, matched: true });
      expect(x.distance).toBeLessThanOrEqual(12);
    }
    expect(new Set(recs.map((x) => x.transform)).size).toBe(8);
    expect(recs[0].transform).toBe("original");

    r = await run(["match", ...files, "--against", bank, "--format", "ndjson"]);
    expect(r.code).toBe(0);
    expect(ndjson(r.stdout).map((x) => x.path)).toEqual([files[0]]);
  });

  it("--trim-borders finds bordered copies and says so", async () => {
    const boxed = path.join(dir, "boxed");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(boxed);
    await sharp(img("original.jpg")).extend({ top: 160, bottom: 160, background: "#000" }).jpeg({ quality: 80 }).toFile(path.join(boxed, "letterbox.jpg"));
    await sharp(img("q1050.jpg")).extend({ left: 60, right: 60, top: 60, bottom: 60, background: "#fff" }).png().toFile(path.join(boxed, "frame.png"));
    await sharp(img("original.jpg")).extend({ left: 300, right: 300, background: "#303030" }).rotate(90).jpeg().toFile(path.join(boxed, "pillarbox-rotated.jpg"));

    let r = await run(["match", boxed, "--against", bank, "--format", "ndjson"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    r = await run(["match", boxed, "--against", bank, "--trim-borders", "--format", "ndjson"]);
    expect(r.code).toBe(0);
    expect(ndjson(r.stdout).map((x) => [path.basename(x.path), x.against.hash, x.transform])).toEqual([
      ["frame.png", Q1050, "trim"],
      ["letterbox.jpg", ORIG, "trim"],
    ]);
    r = await run(["match", boxed, "--against", bank, "--trim-borders", "--dihedral", "--format", "csv"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("path,line,metadata,hash,quality,against.hash,against.metadata,distance,transform,matched");
    expect(lines).toHaveLength(4);
    expect(lines.find((l) => l.includes("pillarbox-rotated.jpg"))).toMatch(new RegExp(`,${ORIG},case-17 bridge,\\d+,trim\\+rotate(90|270),true$`));
  });

  it("exit 1 when nothing matched, 2 on errors; low quality skipped with a warning", async () => {
    let r = await run(["match", img("q0746.jpg"), "--against", bank]);
    expect(r.code).toBe(1);
    r = await run(["match", img("q0003.jpg"), img("original.jpg"), "--against", bank, "--format", "ndjson"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: .*q0003\.jpg: quality \d+ is under 50: skipped/);
    expect(ndjson(r.stdout)).toHaveLength(1);
    r = await run(["match", img("original.jpg"), path.join(dir, "missing.jpg"), "--against", bank, "--format", "ndjson"]);
    expect(r.code).toBe(2);
    expect(ndjson(r.stdout)).toHaveLength(1); // the rest still ran
    expect(r.stderr).toMatch(/missing\.jpg: no such file/);
    const badList = path.join(dir, "queries.txt");
    await writeFile(badList, `${ORIG}\nnot-a-hash\n${"0".repeat(64)}\n`);
    r = await run(["match", badList, "--against", bank, "--format", "ndjson"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${badList}:2: wrong length: 10 characters`);
    expect(r.stderr).toContain(`${badList}:3: all-zero hash`);
    expect(ndjson(r.stdout)).toEqual([
      { path: badList, line: 1, hash: ORIG, against: { hash: ORIG, metadata: "case-17 bridge" }, distance: 0, transform: "original", matched: true },
    ]);
    r = await run(["match", img("original.jpg"), "--against", path.join(dir, "nobank.txt")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nobank\.txt: no such file/);
    r = await run(["match", img("original.jpg"), "--against", img("q1050.jpg")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/q1050\.jpg: this is an image, not a bank/);
    r = await run(["match", img("original.jpg")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--against <list\|bank\.idx> is required/);
    // usage errors are 2 as well (1 means "no match")
    r = await run(["match", img("original.jpg"), "--against", bank, "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--bogus'/);
    r = await run(["match", "--against", bank]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nothing to match/);
    r = await run(["compare", ORIG]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/compare takes exactly two images or hashes/);
    r = await run(["compare", "--frob", ORIG, ORIG]);
    expect(r.code).toBe(2);
  });

  it("text output: one line per match and a summary", async () => {
    const r = await run(["match", img("original.jpg"), Q1050, "--against", bank, "--format", "text"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      `${img("original.jpg")}  ${ORIG}  d=0  original  case-17 bridge`,
      `${Q1050}  ${Q1050}  d=0  original  case-18`,
    ]);
    expect(r.stderr).toMatch(/2 of 2 queries matched \(2 matches at distance <= 31\)/);
  });
});

describe("hashsafe index build", () => {
  it("builds an index that match loads (found by its magic bytes) with the same answers", async () => {
    const idx = path.join(dir, "bank.bin");
    let r = await run(["index", "build", bank, "-o", idx]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/bank\.bin: 3 hashes from 1 list/);
    const args = [...BRIDGES.map(img), "--dihedral", "--format", "ndjson"];
    const fromList = await run(["match", ...args, "--against", bank]);
    const fromIndex = await run(["match", ...args, "--against", idx]);
    expect(fromIndex.code).toBe(0);
    expect(fromIndex.stdout).toBe(fromList.stdout);
    expect(ndjson(fromIndex.stdout)[0].against.metadata).toBe("case-17 bridge");

    // a damaged index is an error, never a wrong answer
    const bytes = await readFile(idx);
    bytes[bytes.length >> 1] ^= 0x40;
    const bad = path.join(dir, "bad.idx");
    await writeFile(bad, bytes);
    r = await run(["match", img("original.jpg"), "--against", bad]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/bad\.idx: index file is damaged: checksum mismatch/);
    await writeFile(bad, bytes.subarray(0, bytes.length - 10));
    r = await run(["match", img("original.jpg"), "--against", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.idx: index file is damaged or truncated/);
  });

  it("skips bad lines with file:line messages (exit 2), or fails under --strict", async () => {
    const list = path.join(dir, "mixed.csv");
    await writeFile(list, `hash,name\n${ORIG},a\nzz,b\n${Q1050},c\n`);
    const idx = path.join(dir, "mixed.idx");
    let r = await run(["index", "build", list, "-o", idx]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${list}:3: wrong length: 2 characters`);
    expect(r.stderr).toMatch(/2 hashes from 1 list .*1 bad line skipped/);
    r = await run(["match", Q1050, "--against", idx, "--format", "ndjson"]);
    expect(ndjson(r.stdout)).toEqual([{ hash: Q1050, against: { hash: Q1050, metadata: "c" }, distance: 0, transform: "original", matched: true }]);
    r = await run(["index", "build", list, "-o", path.join(dir, "strict.idx"), "--strict"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${list}:3: wrong length`);
    r = await run(["index", "build", path.join(dir, "empty.txt"), "-o", idx]);
    expect(r.code).toBe(2);
    r = await run(["index", "build", bank]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--output <file> is required/);
  });
});
