/**
 * End to end, against the real server on 127.0.0.1 with a real SQLite file,
 * with the CLI as a real process (issue 4, acceptance 1 and 2):
 * submit -> status -> a platform pulls the feed and looks up (a re-encoded
 * copy too) -> feedback in status -> a second case shares a hash -> withdraw
 * -> withdrawal records, no more matches, the shared hash stays active.
 * Every request body the server received is then checked for privacy.
 */
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { encode as blurhashEncode } from "blurhash";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { HashShareClient } from "../../src/client/index.ts";
import { hashFile } from "../../src/image/hash.ts";
import {
  AddHashesRequestSchema,
  CreateCaseRequestSchema,
  FeedbackRequestSchema,
  LookupRequestSchema,
} from "../../src/protocol/index.ts";
import {
  type CliResult,
  countRows,
  ensureBuilt,
  findByteLeaks,
  findWordLeaks,
  json,
  platformKey,
  removeDir,
  runCli,
  show,
  startTestServer,
  tempDir,
  type TestServer,
  wireBytes,
} from "./e2e-support.ts";
import { FIXTURES, hexDistance } from "../helpers.ts";

/** The matches in `lookup --format json` records (docs/records.md): one record per match. */
function matchesOf(records: unknown): { id: string; distance: number }[] {
  return (records as { against: { id: string }; distance: number }[]).map((r) => ({ id: r.against.id, distance: r.distance }));
}

const EXIF = {
  Artist: "Jane Q Example-Victim",
  Copyright: "Private holiday 2024",
  ImageDescription: "bedroom mirror selfie for my partner",
  Make: "Examplecam",
  Model: "ZX-Secret-9000",
};

let work: string; // holds the person's pictures: its name must never reach the server
let home: string; // HASHSAFE_HOME
let server: TestServer;
let key: string;
let pictures: string; // the folder submitted
let submitted: { file: string; hash: string; quality: number; width: number; height: number }[] = [];
let reencoded: string;
let flat: string;
let listFile: string;

let caseA: { caseId: string; caseSecret: string; hashes: { id: string; value: string; status: string }[] };
let caseB: { caseId: string; caseSecret: string };
/** The feed's id of each hash value (a case sees its own entry ids, platforms the feed's: docs/protocol.md, "No oracle"). */
const feedIds = new Map<string, string>();
const bank = () => path.join(work, "platform", "bank.txt");

const cli = (args: string[], env: Record<string, string> = {}): Promise<CliResult> => runCli(args, { home, env });

beforeAll(async () => {
  await ensureBuilt();
  work = tempDir("victim-private-photos-");
  home = tempDir("hs-home-");
  pictures = path.join(work, "Pictures from Alex");
  mkdirSync(pictures, { recursive: true });
  mkdirSync(path.join(work, "platform"));
  for (const f of ["harbour.jpg", "tower.png", "meadow.webp"]) copyFileSync(path.join(FIXTURES, "images", f), path.join(pictures, `IMG_${f}`));
  // A JPEG with EXIF tags: none of them may leave the machine.
  await sharp(path.join(FIXTURES, "images", "tower.png"))
    .rotate(90)
    .withExif({ IFD0: EXIF })
    .jpeg({ quality: 90 })
    .toFile(path.join(pictures, "IMG_with_exif.jpg"));
  // A nearly flat picture (quality 1): its hash is too weak to send; it must be left out with a reason.
  // (A picture of one colour, quality 0, is an error record instead: test/e2e/cli-flat-alpha.test.ts.)
  flat = path.join(pictures, "IMG_flat.png");
  await sharp(path.join(FIXTURES, "conformance", "images", "c032-nearflat2-97x131.png")).png().toFile(flat);
  for (const name of ["IMG_harbour.jpg", "IMG_tower.png", "IMG_meadow.webp", "IMG_with_exif.jpg"]) {
    const file = path.join(pictures, name);
    const r = await hashFile(file);
    submitted.push({ file, hash: r.hash, quality: r.quality, width: r.width, height: r.height });
  }
  // What a platform sees: a smaller copy of harbour.jpg at a lower JPEG quality.
  reencoded = path.join(work, "platform", "upload-4411.jpg");
  await sharp(path.join(FIXTURES, "images", "harbour.jpg")).resize(416).jpeg({ quality: 45 }).toFile(reencoded);

  server = await startTestServer(path.join(work, "server", "hashsafe.db"));
  key = await platformKey(server, "platform-a");
}, 120_000);

afterAll(async () => {
  await server?.close();
  await removeDir(work);
  await removeDir(home);
});

describe("sharing hashes end to end", { timeout: 60_000 }, () => {
  test("submit: hashes made here, low quality left out, case id and secret printed and kept in a private receipt", async () => {
    const r = await cli(["submit", pictures, "--server", server.url, "--yes", "--format", "json"]);
    expect(r.code, show(r)).toBe(0);
    const out = json(r);
    expect(out.caseId).toMatch(/^c_[A-Za-z0-9_-]{22}$/);
    expect(out.caseSecret).toMatch(/^(?:[0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4}$/);
    caseA = { caseId: out.caseId, caseSecret: out.caseSecret, hashes: out.hashes };
    expect(out.hashes.map((h: { value: string }) => h.value).sort()).toEqual(submitted.map((s) => s.hash).sort());
    expect(out.hashes.every((h: { status: string; id: string }) => h.status === "accepted" && /^h_/.test(h.id))).toBe(true);
    // The flat picture was left out, with a reason a person understands.
    expect(r.stderr).toContain("IMG_flat.png");
    expect(r.stderr).toMatch(/left out 1 image whose hash quality is under 50/);
    // The receipt: owner-only file in an owner-only folder, with what is needed later.
    const receiptFile = path.join(home, "receipts", `${out.caseId}.json`);
    expect(out.receipt).toBe(receiptFile);
    expect(statSync(receiptFile).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(receiptFile)).mode & 0o777).toBe(0o700);
    const receipt = JSON.parse(readFileSync(receiptFile, "utf8"));
    expect(receipt).toMatchObject({ server: server.url, caseId: out.caseId, caseSecret: out.caseSecret });
    expect(receipt.hashes.map((h: { value: string }) => h.value).sort()).toEqual(submitted.map((s) => s.hash).sort());
    expect(Date.parse(receipt.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(countRows(server.db, "cases")).toBe(1);
  });

  test("status shows every hash active (secret and server from the receipt)", async () => {
    const r = await cli(["status", caseA.caseId, "--format", "json"]);
    expect(r.code, show(r)).toBe(0);
    const st = json(r);
    expect(st.caseId).toBe(caseA.caseId);
    expect(st.status).toBe("active");
    expect(st.hashes).toHaveLength(submitted.length);
    for (const h of st.hashes) {
      expect(h.status).toBe("active");
      expect(h.feedback).toEqual({ blocked: 0, notBlocked: 0, pendingReview: 0 });
    }
    const text = await cli(["status", caseA.caseId]);
    expect(text.code, show(text)).toBe(0);
    expect(text.stdout).toContain(`Case ${caseA.caseId}`);
    expect(text.stdout).toContain("4 active, 0 withdrawn");
  });

  test("a platform pulls the hashes from the feed and finds them, and a re-encoded copy, by lookup", async () => {
    const f = await cli(["feed", "--server", server.url, "--key", key, "-o", bank(), "--format", "json"]);
    expect(f.code, show(f)).toBe(0);
    expect(json(f)).toMatchObject({ active: 4, added: 4, removed: 0 });
    const lines = readFileSync(bank(), "utf8").trim().split("\n");
    const rows = lines.map((l) => l.split(","));
    expect(rows.map(([hex]) => hex).sort()).toEqual(caseA.hashes.map((h) => h.value).sort());
    for (const [hex, id] of rows) feedIds.set(hex, id);
    // The feed's ids are not the case's own entry ids: nothing in the feed names a case's entries.
    for (const h of caseA.hashes) expect(feedIds.get(h.value)).not.toBe(h.id);
    expect(JSON.parse(readFileSync(`${bank()}.cursor`, "utf8")).cursor).toEqual(expect.any(String));

    // Feed again: nothing new, the cursor resumes (no record twice).
    const again = await cli(["feed", "--server", server.url, "--key", key, "-o", bank(), "--format", "json"]);
    expect(json(again)).toMatchObject({ active: 4, records: 0 });

    const entry = caseA.hashes.find((h) => h.value === submitted[0].hash)!;
    const harbour = { id: feedIds.get(entry.value)!, value: entry.value };
    const exact = await cli(["lookup", submitted[0].file, "--server", server.url, "--key", key, "--format", "json"]);
    expect(exact.code, show(exact)).toBe(0);
    expect(matchesOf(json(exact))).toEqual([{ id: harbour.id, distance: 0 }]);

    const copy = await cli(["lookup", reencoded, "--server", server.url, "--key", key, "--format", "json"], { HASHSAFE_KEY: key });
    expect(copy.code, show(copy)).toBe(0);
    const m = matchesOf(json(copy));
    expect(m.map((x: { id: string }) => x.id)).toContain(harbour.id);
    const d = m.find((x: { id: string }) => x.id === harbour.id)!.distance;
    const copyHash = (await hashFile(reencoded)).hash;
    expect(d).toBe(hexDistance(copyHash, harbour.value));
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThanOrEqual(31);
    // A tighter threshold than the distance: no match.
    const strict = await cli(["lookup", reencoded, "--max-distance", String(d - 1), "--format", "json"], { HASHSAFE_SERVER: server.url, HASHSAFE_KEY: key });
    expect(matchesOf(json(strict)).some((x: { id: string }) => x.id === harbour.id)).toBe(false);
  });

  test("feedback from a platform shows up in status", async () => {
    const platform = new HashShareClient({ server: server.url, apiKey: key });
    try {
      const res = await platform.feedback({
        items: [
          { id: feedIds.get(caseA.hashes[0].value)!, verdict: "blocked", tags: ["upload"] },
          { id: feedIds.get(caseA.hashes[1].value)!, verdict: "pending_review" },
        ],
      });
      expect(res.results.map((x) => x.status)).toEqual(["recorded", "recorded"]);
    } finally {
      await platform.close();
    }
    const st = json(await cli(["status", caseA.caseId, "--format", "json"]));
    const fb = new Map(st.hashes.map((h: { id: string; feedback: unknown }) => [h.id, h.feedback]));
    expect(fb.get(caseA.hashes[0].id)).toEqual({ blocked: 1, notBlocked: 0, pendingReview: 0 });
    expect(fb.get(caseA.hashes[1].id)).toEqual({ blocked: 0, notBlocked: 0, pendingReview: 1 });
    const text = await cli(["status", caseA.caseId]);
    expect(text.stdout).toMatch(/blocking matching content 1 time/);
  });

  test("a second case (a hash list, text output, no receipt) shares a hash with the first", async () => {
    listFile = path.join(work, "hashes-of-my-photos.txt");
    const extra = (await hashFile(path.join(FIXTURES, "images", "square.gif"))).hash;
    writeFileSync(listFile, `# my hashes\n${submitted[0].hash}\n${extra.toUpperCase()}\n`);
    const r = await cli(["submit", listFile, "--server", server.url, "--yes", "--no-receipt"]);
    expect(r.code, show(r)).toBe(0);
    // Printed once, prominently, with what to do next.
    const id = /Case id:\s+(c_[A-Za-z0-9_-]{22})/.exec(r.stdout)?.[1];
    const secret = /Case secret:\s+((?:[0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4})/.exec(r.stdout)?.[1];
    expect(id, r.stdout).toBeDefined();
    expect(secret).toBeDefined();
    caseB = { caseId: id!, caseSecret: secret! };
    expect(r.stdout).toContain("Keep the secret private");
    expect(r.stdout).toContain(`hashsafe status ${id}`);
    expect(r.stdout).toContain(`hashsafe withdraw ${id}`);
    expect(r.stdout).toContain("No receipt was saved");
    expect(statSync(path.join(home, "receipts")).isDirectory()).toBe(true);
    expect(() => statSync(path.join(home, "receipts", `${id}.json`))).toThrow();
    // The same hash value: case B sees its own entry (its own id), never case A's, and no feedback from before it joined.
    const st = json(await cli(["status", caseB.caseId, "--secret", caseB.caseSecret, "--server", server.url, "--format", "json"]));
    const bHarbour = st.hashes.find((h: { value: string }) => h.value === submitted[0].hash);
    expect(bHarbour).toBeDefined();
    expect(bHarbour.id).not.toBe(caseA.hashes.find((h) => h.value === submitted[0].hash)!.id);
    expect(bHarbour.feedback).toEqual({ blocked: 0, notBlocked: 0, pendingReview: 0 });
    // Without the secret and without a terminal: a clear refusal.
    const noSecret = await cli(["status", caseB.caseId, "--server", server.url]);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/--secret/);
    // A wrong secret: the generic answer, exit status 5.
    const wrong = await cli(["status", caseB.caseId, "--server", server.url, "--secret", "A".repeat(43)]);
    expect(wrong.code, show(wrong)).toBe(5);
    expect(wrong.stderr).toMatch(/no case with this id and secret/);
  });

  test("withdraw: the feed carries withdrawal records, lookup stops matching, the shared hash stays active", async () => {
    const w = await cli(["withdraw", caseA.caseId, "--format", "json", "--yes"]);
    expect(w.code, show(w)).toBe(0);
    expect(json(w).hashes.every((h: { status: string }) => h.status === "withdrawn")).toBe(true);
    expect(JSON.parse(readFileSync(path.join(home, "receipts", `${caseA.caseId}.json`), "utf8")).withdrawnAt).toEqual(expect.any(String));

    const shared = { id: feedIds.get(submitted[0].hash)!, value: submitted[0].hash };
    const onlyA = caseA.hashes.filter((h) => h.value !== shared.value).map((h) => ({ id: feedIds.get(h.value)!, value: h.value }));

    // The raw feed: explicit withdrawn records for the hashes only case A held.
    const platform = new HashShareClient({ server: server.url, apiKey: key });
    try {
      const all = await platform.feed({ limit: 1000 });
      const latest = new Map(all.records.map((rec) => [rec.id, rec.status]));
      for (const h of onlyA) expect(latest.get(h.id)).toBe("withdrawn");
      expect(latest.get(shared.id)).toBe("active");
    } finally {
      await platform.close();
    }

    // The platform's list, resumed from its cursor, drops them.
    const f = await cli(["feed", "--server", server.url, "--key", key, "-o", bank(), "--format", "json"]);
    expect(f.code, show(f)).toBe(0);
    expect(json(f)).toMatchObject({ removed: 3, active: 2 });
    const ids = readFileSync(bank(), "utf8").trim().split("\n").map((l) => l.split(",")[1]);
    expect(ids).toContain(shared.id);
    for (const h of onlyA) expect(ids).not.toContain(h.id);

    // Lookup: withdrawn hashes no longer match; the shared one still does (case B holds it).
    const look = await cli(["lookup", ...submitted.map((s) => s.file), "--server", server.url, "--key", key, "--format", "json", "--max-distance", "0"]);
    expect(look.code, show(look)).toBe(0);
    const res = json(look) as { hash: string; against: { id: string } }[];
    for (const s of submitted) {
      expect(res.filter((x) => x.hash === s.hash).length, s.file).toBe(s.hash === shared.value ? 1 : 0);
    }

    // Status: case A withdrawn, case B still active.
    expect(json(await cli(["status", caseA.caseId, "--format", "json"])).status).toBe("withdrawn");
    const b = json(await cli(["status", caseB.caseId, "--secret", caseB.caseSecret, "--server", server.url, "--format", "json"]));
    expect(b.status).toBe("active");
    expect(b.hashes.every((h: { status: string }) => h.status === "active")).toBe(true);

    // Withdrawing one hash of case B (--hash) makes the shared hash withdrawn everywhere.
    const bShared = b.hashes.find((h: { value: string }) => h.value === shared.value).id;
    const one = await cli(["withdraw", caseB.caseId, "--hash", bShared, "--secret", caseB.caseSecret, "--server", server.url, "--yes"]);
    expect(one.code, show(one)).toBe(0);
    expect(one.stdout).toContain("Withdrawn: 1 hash");
    const gone = await cli(["lookup", submitted[0].hash, "--server", server.url, "--key", key, "--format", "json", "--max-distance", "0"]);
    expect(json(gone)).toEqual([]);
    expect(gone.code).toBe(1); // like grep: nothing matched
  });

  test("privacy: every request the server received holds only protocol fields, and nothing of the files", async () => {
    const bodies = server.requests.filter((r) => r.body.length > 0);
    expect(server.requests.length).toBeGreaterThan(15);
    expect(bodies.length).toBeGreaterThan(5);

    // 1. Only protocol fields: each body parses with the strict schema of its route.
    const allowedHashes = new Set([...submitted.map((s) => s.hash), (await hashFile(path.join(FIXTURES, "images", "square.gif"))).hash, (await hashFile(reencoded)).hash]);
    for (const r of bodies) {
      const body = JSON.parse(r.body.toString("utf8"));
      const schema =
        r.method === "POST" && r.path === "/v1/cases"
          ? CreateCaseRequestSchema
          : r.method === "POST" && /^\/v1\/cases\/[^/]+\/hashes$/.test(r.path)
            ? AddHashesRequestSchema
            : r.method === "POST" && r.path === "/v1/lookup"
              ? LookupRequestSchema
              : r.method === "POST" && r.path === "/v1/feedback"
                ? FeedbackRequestSchema
                : null;
      expect(schema, `${r.method} ${r.path} should carry no body`).not.toBeNull();
      expect(schema!.safeParse(body).success, r.body.toString()).toBe(true);
      // Hash values are exactly the PDQ hashes of the pictures, nothing else encoded in them.
      for (const h of body.hashes ?? body.queries ?? []) expect(allowedHashes.has(h.value.toLowerCase()), h.value).toBe(true);
      if (body.client) expect(body.client).toEqual({ name: "hashsafe", version: expect.any(String) });
    }

    // 2. Nothing of the files: names, folders, sizes, dimensions, quality, EXIF, blurhash, bytes.
    const wire = server.requests.map(wireBytes);
    const files = [...submitted.map((s) => s.file), flat, reencoded, listFile];
    const words = new Set<string>([work, path.basename(work), path.basename(pictures), "Pictures from Alex", "Alex", path.basename(listFile)]);
    for (const f of files) {
      words.add(path.basename(f));
      words.add(path.parse(f).name);
    }
    for (const v of Object.values(EXIF)) words.add(v);
    // Blurhash of each picture.
    for (const s of submitted) {
      const { data, info } = await sharp(s.file).resize(32, 32, { fit: "inside" }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      words.add(blurhashEncode(new Uint8ClampedArray(data), info.width, info.height, 4, 3));
    }
    expect(findWordLeaks(wire, words)).toEqual([]);

    // Numbers only as hex inside hashes: no decimal number of a file's size, dimensions or quality in any string value.
    const numbers = new Set<string>();
    for (const s of submitted) {
      numbers.add(String(statSync(s.file).size));
      numbers.add(`${s.width}x${s.height}`);
    }
    for (const r of bodies) {
      const strings: string[] = [];
      JSON.parse(r.body.toString("utf8"), (k, v) => {
        if (typeof v === "string" && k !== "value") strings.push(v);
        if (typeof v === "number") expect(["maxDistance", "index"], `a number in ${r.path}: ${k}=${v}`).toContain(k);
        return v;
      });
      for (const s of strings) for (const n of numbers) expect(s.includes(n)).toBe(false);
    }

    // Every 16-byte run of every submitted file, raw, in hex and in base64.
    const sentFiles = [...submitted.map((s) => s.file), flat].map((f) => ({ name: f, bytes: readFileSync(f) }));
    for (const f of sentFiles) expect(f.bytes.length).toBeGreaterThan(100);
    expect(findByteLeaks(wire, sentFiles)).toEqual([]);
  });

  test("the leak checks above do find leaks (raw, hex, base64 at any alignment, names)", () => {
    const bytes = readFileSync(submitted[0].file);
    const piece = bytes.subarray(1001, 1001 + 17);
    const leaky = [
      Buffer.concat([Buffer.from('{"x":"'), piece, Buffer.from('"}')]),
      Buffer.from(`{"x":"${piece.toString("hex").toUpperCase()}"}`),
      Buffer.from(`{"x":"${bytes.subarray(2001, 2030).toString("base64")}"}`),
      Buffer.from(`{"x":"${bytes.subarray(3002, 3030).toString("base64url")}"}`),
    ];
    for (const b of leaky) expect(findByteLeaks([b], [{ name: "f", bytes }]).length, b.toString("latin1")).toBeGreaterThan(0);
    expect(findByteLeaks([Buffer.from(JSON.stringify({ hashes: submitted.map((s) => ({ type: "pdq", value: s.hash })) }))], [{ name: "f", bytes }])).toEqual([]);
    expect(findWordLeaks([Buffer.from(`{"client":{"name":"IMG_tower.png"}}`)], ["IMG_tower.png", "Alex"])).toEqual(["IMG_tower.png"]);
  });
});
