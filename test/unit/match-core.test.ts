/**
 * The matching core that browsers and workers load: HashIndex and what it
 * imports use nothing from Node (file I/O is in mih-file.ts), its JavaScript
 * CRC-32 gives zlib's values, and an index serialized on Node loads from bytes
 * with either checksum. Plus the one hex rule of hammingDistance.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { crc32 as zlibCrc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { crc32 } from "../../src/match/crc32.ts";
import { hammingDistance } from "../../src/match/distance.ts";
import { HashIndex, IndexFileError } from "../../src/match/mih.ts";
import { ROOT } from "../helpers.ts";

/** The relative modules `file` imports, transitively, with every bare or node: specifier met. */
function importGraph(file: string, seen = new Set<string>(), bare = new Set<string>()): { files: Set<string>; bare: Set<string> } {
  if (seen.has(file)) return { files: seen, bare };
  seen.add(file);
  const src = readFileSync(file, "utf8");
  for (const m of src.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)) {
    const spec = m[1];
    if (spec.startsWith(".")) importGraph(path.resolve(path.dirname(file), spec), seen, bare);
    else bare.add(spec);
  }
  return { files: seen, bare };
}

describe("the matching core", () => {
  it("imports nothing from Node or any package", () => {
    const g = importGraph(path.join(ROOT, "src", "match", "mih.ts"));
    expect([...g.bare]).toEqual([]);
    expect([...g.files].map((f) => path.relative(ROOT, f)).sort()).toEqual(
      ["src/match/crc32.ts", "src/match/hash256.ts", "src/match/mih.ts", "src/protocol/limits.ts"].map((p) => p.replaceAll("/", path.sep)),
    );
  });

  it("CRC-32 in JavaScript gives zlib's values, also when continued", () => {
    for (const n of [1, 3, 4, 5, 7, 8, 9, 1000, 65_537]) {
      const b = randomBytes(n);
      expect(crc32(b), String(n)).toBe(zlibCrc32(b));
      expect(crc32(b, 12_345)).toBe(zlibCrc32(b, 12_345));
    }
    const a = randomBytes(1001);
    const b = randomBytes(777);
    expect(crc32(b, crc32(a))).toBe(zlibCrc32(Buffer.concat([a, b])));
  });

  it("an index serialized with one checksum loads with the other; a flipped byte is refused", () => {
    const idx = new HashIndex();
    const hashes = Array.from({ length: 300 }, () => randomBytes(32).toString("hex"));
    hashes.forEach((h, i) => idx.add(h, i));
    const labels = (id: number) => (id % 3 ? `label ${id} ✓` : undefined);
    const js = idx.serialize({ labels });
    const z = idx.serialize({ labels, crc32: (d, p) => zlibCrc32(d, p) });
    expect(Buffer.from(js).equals(Buffer.from(z))).toBe(true);
    const back = HashIndex.deserialize(js);
    expect(back.size).toBe(300);
    expect(back.search(hashes[7], 0)).toEqual([{ id: 7, distance: 0 }]);
    expect(back.labelOf(8)).toBe("label 8 ✓");
    expect(HashIndex.deserialize(z, { crc32: (d, p) => zlibCrc32(d, p) }).hashOf(5)).toBe(hashes[5]);
    const bad = js.slice();
    bad[bad.length >> 1] ^= 1;
    expect(() => HashIndex.deserialize(bad)).toThrow(IndexFileError);
  });
});

describe("hammingDistance", () => {
  it("counts differing bits of hex hashes of either case, and refuses any non-hex digit", () => {
    expect(hammingDistance("00ff", "ff00")).toBe(16);
    expect(hammingDistance("0F", "f0")).toBe(8);
    // a bad digit in the second place of a pair used to slip through (5*16 - 1 >= 0)
    expect(() => hammingDistance("5g", "50")).toThrow(/not a hex hash: "g" at column 2/);
    expect(() => hammingDistance("50", "x0")).toThrow(/not a hex hash/);
    expect(() => hammingDistance("abc", "abd")).toThrow(/length/);
  });
});
