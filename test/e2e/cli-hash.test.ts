// `hashsafe hash` as a person runs it: the real binary, real files.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { crc32 } from "node:zlib";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, conformanceImage, FIXTURES } from "../helpers.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: "true" }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function ndjson(text: string): Record<string, any>[] {
  return text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

/** A PNG whose header claims `w` x `h` (valid signature, IHDR and CRC; no real pixels). */
function pngHeader(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "hashsafe-bad-"));
  await copyFile(path.join(FIXTURES, "images", "harbour.jpg"), path.join(dir, "good.jpg"));
  await writeFile(path.join(dir, "empty.jpg"), "");
  const jpeg = await readFile(conformanceImage("j000-photonoise-q90-420.jpg"));
  await writeFile(path.join(dir, "truncated.jpg"), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await writeFile(path.join(dir, "random.jpg"), randomBytes(4096));
  await writeFile(path.join(dir, "letter.txt"), "Dear friend,\nthis is a text file, not a picture.\n");
  await writeFile(path.join(dir, "bomb.png"), pngHeader(60000, 60000));
  await sharp({ create: { width: 3, height: 3, channels: 3, background: "#808080" } }).png().toFile(path.join(dir, "tiny.png"));
  await mkdir(path.join(dir, "loop"));
  await symlink("..", path.join(dir, "loop", "back-up"));
  await writeFile(path.join(dir, ".hidden.jpg"), "not even looked at");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("hashsafe hash on bad input", () => {
  it("gives each bad file its own error record and message, hashes the rest, exits 2", async () => {
    const r = await run(["hash", "--format", "ndjson", dir]);
    expect(r.code).toBe(2);
    const recs = ndjson(r.stdout);
    const byName = Object.fromEntries(recs.map((x) => [path.relative(dir, x.path), x]));
    const code = (name: string) => byName[name]?.error?.code;
    expect(byName["good.jpg"].hash).toMatch(/^[0-9a-f]{64}$/);
    expect(code("empty.jpg")).toBe("EMPTY_FILE");
    expect(code("truncated.jpg")).toBe("TRUNCATED");
    expect(code("random.jpg")).toBe("NOT_AN_IMAGE");
    // A text file inside a folder is not a picture: skipped unread, in one summary line (issue 10).
    expect(byName["letter.txt"]).toBeUndefined();
    expect(r.stderr).toMatch(/1 file skipped: not a picture \(1 text\)/);
    expect(code("bomb.png")).toBe("TOO_LARGE");
    expect(byName["bomb.png"].error.message).toBe(
      "too large: 60000x60000 is over the 100 MP limit; raise it with --max-pixels",
    );
    expect(code("tiny.png")).toBe("TOO_SMALL");
    expect(byName["tiny.png"].error.message).toMatch(/too small to hash: 3x3/);
    expect(code("loop/back-up")).toBe("SYMLINK_LOOP");
    expect(byName[".hidden.jpg"]).toBeUndefined();
    // No record is an all-zero hash, every record is one file.
    expect(recs.filter((x) => x.hash === "0".repeat(64))).toHaveLength(0);
    expect(recs).toHaveLength(7);
    // People get one line per problem on stderr.
    expect(r.stderr).toMatch(/truncated\.jpg: truncated JPEG: the file is damaged/);
    expect(r.stderr).toMatch(/empty\.jpg: empty file/);
    expect(r.stderr).toMatch(/1 of 7 files hashed, 6 could not be hashed/);
  });

  it("decides an over-limit file from its header: a lower --max-pixels refuses a real photo", async () => {
    const r = await run(["hash", "--format", "json", "--max-pixels", "1000000", conformanceImage("j003-photo-3000x2000-q80.jpg")]);
    expect(r.code).toBe(2);
    const [rec] = JSON.parse(r.stdout);
    expect(rec.error.message).toBe("too large: 3000x2000 is over the 1 MP limit; raise it with --max-pixels");
  });

  it("exits 2 on a usage error (as every command)", async () => {
    const r = await run(["hash", "--mode", "fast", FIXTURES]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/mode/);
    const r2 = await run(["hash"]);
    expect(r2.code).toBe(2);
  });
});

describe("hashsafe hash output", () => {
  it("exits 0 on the bundled images; ndjson has the documented fields", async () => {
    const r = await run(["hash", "--format", "ndjson", path.join(FIXTURES, "images")]);
    expect(r.code).toBe(0);
    const recs = ndjson(r.stdout);
    expect(recs).toHaveLength(5);
    for (const x of recs) {
      expect(Object.keys(x).sort()).toEqual(["hash", "height", "mode", "orientation", "path", "quality", "width"]);
      expect(x.mode).toBe("full");
    }
  });

  it("--dihedral adds the 8 named hashes; squash512 mode is recorded", async () => {
    const file = path.join(FIXTURES, "images", "harbour.jpg");
    const r = await run(["hash", "--format", "json", "--dihedral", "--mode", "squash512", "--no-orient", file]);
    expect(r.code).toBe(0);
    const [rec] = JSON.parse(r.stdout);
    expect(Object.keys(rec.dihedral)).toEqual([
      "original", "rotate90", "rotate180", "rotate270", "flipx", "flipy", "flipplus1", "flipminus1",
    ]);
    expect(rec.dihedral.original).toBe(rec.hash);
    expect(rec.mode).toBe("squash512");
  });

  it("csv has a header row and one row per file, errors included", async () => {
    const r = await run(["hash", "--format", "csv", path.join(FIXTURES, "images", "tower.png"), path.join(FIXTURES, "bad", "notes.txt")]);
    expect(r.code).toBe(2);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("path,hash,quality,width,height,mode,orientation,lowQuality,error.code,error.message");
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/tower\.png,[0-9a-f]{64},\d+,240,320,full,1,,,$/);
    expect(lines[2]).toMatch(/notes\.txt,,,,,,,,NOT_AN_IMAGE,not an image: this is a text file$/);
  });

  it("text output is `hash  path`; low quality is flagged with a warning", async () => {
    // nearly flat (quality 1); a picture of one colour is an error instead (test/e2e/cli-flat-alpha.test.ts)
    const weak = path.join(FIXTURES, "conformance", "images", "c032-nearflat2-97x131.png");
    const r = await run(["hash", "--format", "text", weak, path.join(FIXTURES, "images", "tower.png")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^[0-9a-f]{64}  ${weak.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\n`));
    expect(r.stderr).toMatch(/warning: .*c032-nearflat2-97x131\.png: quality 1 is under 50; this hash is weak/);
    const j = await run(["hash", "--format", "ndjson", weak]);
    expect(ndjson(j.stdout)[0].lowQuality).toBe(true);
  });

  it("-o writes the records to a file", async () => {
    const out = path.join(dir, "out.ndjson");
    const r = await run(["hash", "--format", "ndjson", "-o", out, path.join(FIXTURES, "images", "meadow.webp")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(ndjson(await readFile(out, "utf8"))[0].hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("progress bar", () => {
  function runOnTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
    // util-linux `script` gives the command a pseudo-terminal, as a person's shell would.
    const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    return new Promise((resolve) => {
      execFile("script", ["-qec", cmd, "/dev/null"], { env, maxBuffer: 16 << 20 }, (_err, stdout) => resolve(stdout));
    });
  }

  it("shows on a terminal with more than 5 files, never mixed into message lines, and not in CI or pipes", async () => {
    const env = { ...process.env };
    delete env.CI;
    const files = [path.join(FIXTURES, "images"), path.join(FIXTURES, "bad")];
    const tty = await runOnTerminal(["hash", ...files], env);
    expect(tty).toMatch(/hashing \[.*\] \d+\/6/);
    // What stays on screen of each line is what follows its last carriage
    // return: every message must stand alone there, the bar erased before it.
    const messages = tty.split("\n").filter((l) => l.includes("hashsafe:"));
    expect(messages.length).toBeGreaterThanOrEqual(3);
    for (const line of messages) {
      const visible = line.replace(/\x1b\[1G/g, "\r").replace(/\r+$/, "").split("\r").pop()!.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, "");
      expect(visible).toMatch(/^hashsafe: /);
    }
    const ci = await runOnTerminal(["hash", ...files], { ...env, CI: "true" });
    expect(ci).not.toMatch(/hashing \[/);
    const piped = await run(["hash", ...files]);
    expect(piped.stderr).not.toMatch(/hashing \[/);
  });
});

