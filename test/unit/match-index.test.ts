// Acceptance 2: the index answers exactly what a linear scan answers, for
// every distance 0..63, after adds and removes; and its file format.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { formatHash, hamming, hashProblem, parseHash } from "../../src/match/hash256.ts";
import { HashIndex, IndexFileError } from "../../src/match/mih.ts";
import { loadIndexFile, saveIndexFile } from "../../src/match/mih-file.ts";
import { hexDistance } from "../helpers.ts";

/** xorshift32: reproducible random words from a seed. */
function rng(seed: number) {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function randomHex(next: () => number): string {
  let s = "";
  for (let i = 0; i < 8; i++) s += next().toString(16).padStart(8, "0");
  return s;
}

/** `hex` with `k` distinct random bits flipped. */
function flip(hex: string, k: number, next: () => number): string {
  const w = parseHash(hex);
  const done = new Set<number>();
  while (done.size < k) {
    const b = next() & 255;
    if (done.has(b)) continue;
    done.add(b);
    w[b >> 5] ^= 1 << (b & 31);
  }
  return formatHash(w);
}

/** The obvious linear scan, on hex strings, independent of the index code. */
function naive(entries: Map<number, string[]>, q: string, d: number): { id: number; distance: number }[] {
  const out: { id: number; distance: number }[] = [];
  for (const [id, hs] of entries) for (const h of hs) {
    const dist = hexDistance(h, q);
    if (dist <= d) out.push({ id, distance: dist });
  }
  return out.sort((a, b) => a.distance - b.distance || a.id - b.id);
}

describe("hash256", () => {
  it("round-trips hex and agrees with a string Hamming distance", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer(), (s1, s2) => {
        const a = randomHex(rng(s1));
        const b = randomHex(rng(s2));
        expect(formatHash(parseHash(a))).toBe(a);
        expect(formatHash(parseHash(a.toUpperCase()))).toBe(a);
        expect(hamming(parseHash(a), parseHash(b))).toBe(hexDistance(a, b));
      }),
      { numRuns: 200 },
    );
  });

  it("names what is wrong with a bad hash", () => {
    expect(hashProblem("ab")).toMatch(/wrong length: 2/);
    expect(hashProblem("g".repeat(64))).toMatch(/not hex: "g" at column 1/);
    expect(hashProblem("0".repeat(64))).toMatch(/all-zero/);
    expect(hashProblem("0".repeat(60) + "ffff")).toBe(null);
    expect(hashProblem("0".repeat(61) + "fff")).toMatch(/degenerate hash: 12 of 256/);
    expect(hashProblem("f".repeat(61) + "000")).toMatch(/degenerate hash: 244 of 256/);
    expect(() => parseHash("xyz")).toThrow(/wrong length/);
  });
});

describe("HashIndex equals a linear scan", () => {
  it("for random indexes, distances 0..63, near duplicates, adds and removes", () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 0, max: 63 }),
        fc.integer({ min: 0, max: 2500 }),
        fc.boolean(),
        (seed, d, size, rebuild) => {
          const next = rng(seed);
          const index = new HashIndex();
          const entries = new Map<number, string[]>();
          const put = (h: string, id: number) => {
            index.add(h, id);
            entries.set(id, [...(entries.get(id) ?? []), h]);
          };
          const queries: string[] = [];
          for (let i = 0; i < 8; i++) queries.push(randomHex(next));
          for (let i = 0; i < size; i++) put(randomHex(next), i);
          // near duplicates of the queries at 0..70 bits, some ids holding two hashes
          for (let i = 0; i < 40; i++) {
            const q = queries[next() % queries.length];
            put(flip(q, next() % 71, next), next() % 3 === 0 ? next() % (size + 1) : 10_000 + i);
          }
          if (rebuild) index.build();
          // removes, then more adds that land in the pending tail
          for (let i = 0; i < 10; i++) {
            const id = next() % 3 === 0 ? 10_000 + (next() % 40) : next() % (size + 1);
            expect(index.remove(id)).toBe(entries.get(id)?.length ?? 0);
            entries.delete(id);
          }
          for (let i = 0; i < 20; i++) put(flip(queries[i % 8], next() % 64, next), 20_000 + i);
          expect(index.size).toBe([...entries.values()].reduce((a, h) => a + h.length, 0));
          const wants = queries.map((q) => naive(entries, q, d));
          expect(index.searchBatch(queries, d)).toEqual(wants);
          queries.forEach((q, i) => {
            expect(index.search(q, d)).toEqual(wants[i]);
            expect(index.searchLinear(q, d)).toEqual(wants[i]);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it("for every distance 0..63 on one built index of 20,000 hashes", () => {
    const next = rng(7);
    const index = new HashIndex();
    const entries = new Map<number, string[]>();
    const queries: string[] = [];
    for (let i = 0; i < 16; i++) queries.push(randomHex(next));
    for (let i = 0; i < 20_000; i++) {
      const h = i % 20 === 0 ? flip(queries[i % 16], next() % 64, next) : randomHex(next);
      index.add(h, i);
      entries.set(i, [h]);
    }
    index.build();
    const plans = new Set<string>();
    for (const q of queries) {
      const all = naive(entries, q, 63);
      for (let d = 0; d <= 63; d++) {
        expect(index.search(q, d)).toEqual(all.filter((h) => h.distance <= d));
        plans.add(`${d >> 4}:${index.lastPlan}`);
      }
    }
    const alls = queries.map((q) => naive(entries, q, 63));
    for (const d of [0, 15, 16, 31, 40, 47, 48, 63]) {
      expect(index.searchBatch(queries, d)).toEqual(alls.map((a) => a.filter((h) => h.distance <= d)));
    }
    // radius 0, 1 and 2 probe the postings; 3 (d >= 48) falls back to a scan
    expect([...plans].sort()).toEqual(["0:probe", "1:probe", "2:probe", "3:scan"]);
  });

  it("removes by id in a big index (ids sorted for look-up), before and after more adds", () => {
    const next = rng(12);
    const index = new HashIndex();
    const entries = new Map<number, string[]>();
    const put = (h: string, id: number) => {
      index.add(h, id);
      entries.set(id, [...(entries.get(id) ?? []), h]);
    };
    const queries = Array.from({ length: 6 }, () => randomHex(next));
    // 12,000 hashes under scattered ids (some ids hold 2 or 3), near duplicates of the queries among them
    for (let i = 0; i < 12_000; i++) {
      const id = (next() % 5000) * 7919 + 3;
      put(i % 50 === 0 ? flip(queries[i % 6], next() % 40, next) : randomHex(next), id);
    }
    index.build();
    const ids = [...entries.keys()];
    for (let k = 0; k < 300; k++) {
      const id = ids[next() % ids.length];
      expect(index.has(id)).toBe(entries.has(id));
      expect(index.hashesOf(id).map((w) => formatHash(w)).sort()).toEqual([...(entries.get(id) ?? [])].sort());
      expect(index.remove(id)).toBe(entries.get(id)?.length ?? 0);
      entries.delete(id);
      expect(index.has(id)).toBe(false);
    }
    for (let i = 0; i < 6000; i++) put(i % 30 === 0 ? flip(queries[i % 6], next() % 40, next) : randomHex(next), 4_000_000_000 + (i % 3000));
    for (let k = 0; k < 100; k++) {
      const id = k % 2 ? 4_000_000_000 + (next() % 3000) : ids[next() % ids.length];
      expect(index.remove(id)).toBe(entries.get(id)?.length ?? 0);
      entries.delete(id);
    }
    expect(index.size).toBe([...entries.values()].reduce((a, h) => a + h.length, 0));
    for (const q of queries) expect(index.search(q, 40)).toEqual(naive(entries, q, 40));
  });

  it("rejects bad ids, hashes and distances with clear errors", () => {
    const index = new HashIndex();
    expect(() => index.add("12", 1)).toThrow(/wrong length/);
    expect(() => index.add("a".repeat(64), -1)).toThrow(/id must be an integer/);
    expect(() => index.add("a".repeat(64), 2 ** 32)).toThrow(/id must be an integer/);
    expect(() => index.search("a".repeat(64), -1)).toThrow(/maxDistance/);
    expect(index.search("a".repeat(64), 31)).toEqual([]);
  });
});

describe("index files", () => {
  let dir = "";
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("save and load give the same answers and labels; damage is an error, never a wrong answer", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hashsafe-idx-"));
    const next = rng(99);
    const index = new HashIndex();
    const hashes: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const h = i % 10 === 0 && i > 0 ? flip(hashes[i - 1], 5, next) : randomHex(next);
      hashes.push(h);
      index.add(h, i);
    }
    const file = path.join(dir, "bank.idx");
    await saveIndexFile(index, file, { labels: (id) => (id % 2 ? `label ${id} ✓` : undefined) });
    const loaded = await loadIndexFile(file);
    expect(loaded.size).toBe(3000);
    expect(loaded.labelOf(7)).toBe("label 7 ✓");
    expect(loaded.labelOf(8)).toBe(undefined);
    for (let i = 0; i < 3000; i += 97) expect(loaded.search(hashes[i], 31)).toEqual(index.search(hashes[i], 31));
    // the loaded index stays usable: add and remove
    loaded.add(hashes[1], 5000);
    expect(loaded.search(hashes[1], 0).map((h) => h.id)).toEqual([1, 5000]);
    expect(loaded.remove(5000)).toBe(1);

    const bytes = await readFile(file);
    const cases: [string, Uint8Array][] = [
      ["truncated", bytes.subarray(0, bytes.length - 100)],
      ["header only", bytes.subarray(0, 40)],
      ["empty", new Uint8Array(0)],
      ["not an index", Buffer.from("a".repeat(64) + "\n")],
    ];
    for (const at of [12, 16, 40, 1000, 50_000, Math.floor(bytes.length / 2), bytes.length - 2]) {
      const b = Buffer.from(bytes);
      b[at] ^= 0x10;
      cases.push([`bit flipped at ${at}`, b]);
    }
    for (const [name, b] of cases) {
      const f = path.join(dir, "bad.idx");
      await writeFile(f, b);
      await expect(loadIndexFile(f), name).rejects.toThrow(IndexFileError);
      await expect(loadIndexFile(f), name).rejects.toThrow(/bad\.idx: /);
    }
  });
});
