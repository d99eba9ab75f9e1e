// Acceptance 1: the reference MIH regression lists, at distance 31 and 63.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { HashIndex } from "../../src/match/mih.ts";

import { REF } from "./shared.ts";

const dir = path.join(REF, "matching");
const lines = (f: string) => readFileSync(path.join(dir, f), "utf8").split("\n").map((l) => l.trim()).filter(Boolean);
const haystack = lines("haystack.txt");
const needles = lines("needles.txt");

/** The expected (needle, idx, d) triples; idx is 1-based in haystack.txt. */
function expected(file: string): Set<string> {
  const out = new Set<string>();
  let needle = "";
  for (const l of lines(file)) {
    if (l.startsWith("needle=")) needle = l.slice(7);
    else {
      const m = /^d=(\d+),match=([0-9a-f]{64}),idx=(\d+)$/.exec(l);
      if (!m) throw new Error(`unexpected line in ${file}: ${l}`);
      expect(haystack[Number(m[3]) - 1]).toBe(m[2]);
      out.add(`${needle} ${m[3]} ${m[1]}`);
    }
  }
  return out;
}

describe("reference matching lists", () => {
  const index = new HashIndex();
  haystack.forEach((h, i) => index.add(h, i + 1));

  for (const d of [31, 63]) {
    it(`finds exactly expected-d${d}.txt`, () => {
      const want = expected(`expected-d${d}.txt`);
      expect(want.size).toBeGreaterThan(needles.length);
      const got = new Set<string>();
      for (const n of needles) for (const hit of index.search(n, d)) got.add(`${n} ${hit.id} ${hit.distance}`);
      expect([...got].sort()).toEqual([...want].sort());
    });
  }

  it("gives the same answers when the postings are built (probing, not scanning)", () => {
    // 1,350 hashes: grow the index past the scan-only size with far-away copies
    // (every bit flipped: 256 bits from the original, never a match) so it builds.
    const big = new HashIndex();
    haystack.forEach((h, i) => big.add(h, i + 1));
    for (let k = 0; k < 3; k++) {
      haystack.forEach((h, i) => {
        const flipped = h.replace(/[0-9a-f]/g, (c) => (15 - parseInt(c, 16)).toString(16));
        big.add(flipped, 100000 * (k + 1) + i);
      });
    }
    big.build();
    const want = expected("expected-d31.txt");
    const got = new Set<string>();
    for (const n of needles) {
      for (const hit of big.search(n, 31)) got.add(`${n} ${hit.id} ${hit.distance}`);
      expect(big.lastPlan).toBe("probe");
    }
    expect([...got].sort()).toEqual([...want].sort());
  });
});
