// npm run bench:match — HashIndex against the C++ reference's benchmark method
// (pdq/cpp/bin/benchmark-query.cpp, extended to dihedral query sets):
// random hashes; each query is a set of 8 hashes (a dihedral set); for each
// query, 8 near-duplicates (1..d random bits flipped) of one of its hashes are
// added to the index; d = 31; index sizes 10k, 100k and 1M (near-duplicates
// included). A query answers all 8 of its hashes. Single thread.
//
// Needs the build: `npm run build` first (it imports ../dist/index.js).
// Options: --sizes 10000,100000,1000000  --queries 1000  --seed 41
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { HashIndex } from "../dist/index.js";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const SIZES = opt("sizes", "10000,100000,1000000").split(",").map(Number);
const QUERIES = Number(opt("queries", "1000"));
const SEED = Number(opt("seed", "41"));
const D = 31;
// The reference's figures on this kind of machine (queries/s).
const REF = {
  mih: { 10000: 1763, 100000: 295, 1000000: 84.5 },
  linear: { 10000: 1074, 100000: 105, 1000000: 10.8 },
};

function rng(seed) {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function workload(size, nq, seed) {
  const next = rng(seed + size);
  const queries = new Uint32Array(nq * 8 * 8); // nq sets of 8 hashes
  for (let i = 0; i < queries.length; i++) queries[i] = next();
  const noisy = nq * 8;
  if (size < noisy) throw new Error(`index size ${size} is below the ${noisy} near-duplicates`);
  const rows = new Uint32Array(size * 8);
  for (let i = 0; i < (size - noisy) * 8; i++) rows[i] = next();
  let at = size - noisy;
  for (let q = 0; q < nq; q++) {
    const src = (q * 8 + (next() % 8)) * 8; // one hash of the set
    for (let k = 0; k < 8; k++, at++) {
      const flips = 1 + (next() % D);
      for (let w = 0; w < 8; w++) rows[at * 8 + w] = queries[src + w];
      for (let f = 0; f < flips; f++) {
        const b = next() & 255;
        rows[at * 8 + (b >> 5)] ^= 1 << (b & 31);
      }
    }
  }
  // shuffle the rows (Fisher-Yates) so the near-duplicates are spread out
  const tmp = new Uint32Array(8);
  for (let i = size - 1; i > 0; i--) {
    const j = next() % (i + 1);
    tmp.set(rows.subarray(i * 8, i * 8 + 8));
    rows.copyWithin(i * 8, j * 8, j * 8 + 8);
    rows.set(tmp, j * 8);
  }
  return { queries, rows };
}

function runQueries(index, queries, nq, linear) {
  let matches = 0;
  const t = performance.now();
  for (let q = 0; q < nq; q++) {
    for (let h = 0; h < 8; h++) {
      const hash = queries.subarray((q * 8 + h) * 8, (q * 8 + h) * 8 + 8);
      matches += (linear ? index.searchLinear(hash, D) : index.search(hash, D)).length;
    }
  }
  const s = (performance.now() - t) / 1000;
  return { qps: nq / s, matches, seconds: s };
}

const fmt = (x, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const rows = [];
let loadSeconds = null;
let fileMB = null;
const started = performance.now();

for (const size of SIZES) {
  const nq = Math.min(QUERIES, Math.floor(size / 8));
  const { queries, rows: hashes } = workload(size, nq, SEED);
  const index = new HashIndex();
  const tb = performance.now();
  index.addMany(hashes);
  index.build();
  const buildS = (performance.now() - tb) / 1000;
  runQueries(index, queries, Math.min(nq, 50), false); // warm-up
  const mih = runQueries(index, queries, nq, false);
  if (mih.matches < nq * 8) throw new Error(`only ${mih.matches} of the ${nq * 8} near-duplicates found`);
  // Linear scans take long on big indexes: fewer queries there (a rate either way).
  const nLin = Math.max(5, Math.min(nq, Math.round(2e8 / (size * 8))));
  const lin = runQueries(index, queries, nLin, true);
  const check = runQueries(index, queries, nLin, false);
  if (check.matches !== lin.matches) throw new Error(`index and scan disagree: ${check.matches} vs ${lin.matches}`);
  const bytesPerHash = index.bytesUsed / index.size;
  rows.push({ size, nq, buildS, mih, lin, nLin, bytesPerHash });
  console.error(
    `${size}: index ${fmt(mih.qps, 1)} q/s (${mih.matches} matches), linear ${fmt(lin.qps, 1)} q/s, build ${fmt(buildS, 3)} s, ${fmt(bytesPerHash, 1)} B/hash`,
  );

  if (size === Math.max(...SIZES)) {
    const dir = await mkdtemp(path.join(tmpdir(), "hashsafe-bench-"));
    try {
      const file = path.join(dir, "bank.idx");
      await index.save(file);
      fileMB = (await stat(file)).size / 2 ** 20;
      const times = [];
      let loaded;
      for (let i = 0; i < 3; i++) {
        loaded = null;
        const t = performance.now();
        loaded = await HashIndex.load(file);
        times.push((performance.now() - t) / 1000);
      }
      loadSeconds = times.sort((a, b) => a - b)[1];
      const again = runQueries(loaded, queries, Math.min(nq, 100), false);
      const orig = runQueries(index, queries, Math.min(nq, 100), false);
      if (again.matches !== orig.matches) throw new Error("the loaded index answers differently");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

const ratio = (a, b) => (b ? `${fmt(a / b, 1)}x` : "—");
console.log(`\nHashIndex benchmark (reference method, d = ${D}, queries of 8 hashes, 1 thread, node ${process.version})\n`);
console.log("| index size | index q/s | vs C++ MIH | linear q/s | vs C++ linear | build (s) | index B/hash | linear B/hash |");
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
  console.log(
    `| ${fmt(r.size)} | ${fmt(r.mih.qps, 1)} | ${ratio(r.mih.qps, REF.mih[r.size])} | ${fmt(r.lin.qps, 1)} | ${ratio(r.lin.qps, REF.linear[r.size])} | ${fmt(r.buildS, 3)} | ${fmt(r.bytesPerHash, 1)} | 36 |`,
  );
}
console.log(
  `\nC++ reference on this kind of machine: MIH ${REF.mih[10000]} / ${REF.mih[100000]} / ${REF.mih[1000000]} q/s, linear ${REF.linear[10000]} / ${REF.linear[100000]} / ${REF.linear[1000000]} q/s at 10k / 100k / 1M.`,
);
if (loadSeconds !== null) {
  console.log(`Saved ${fmt(Math.max(...SIZES))}-hash index: ${fmt(fileMB, 1)} MiB, loads in ${fmt(loadSeconds, 3)} s (median of 3, checksum verified).`);
}
const big = rows.find((r) => r.size === 1000000);
if (big) {
  console.log(
    `Targets at 1M: >= 845 q/s -> ${fmt(big.mih.qps, 1)} (${big.mih.qps >= 845 ? "met" : "NOT met"}); <= 64 B/hash -> ${fmt(big.bytesPerHash, 1)} (${big.bytesPerHash <= 64 ? "met" : "NOT met"}); load < 1 s -> ${loadSeconds === null ? "—" : fmt(loadSeconds, 3)} (${loadSeconds !== null && loadSeconds < 1 ? "met" : "NOT met"}).`,
  );
}
console.log(`Total bench time ${fmt((performance.now() - started) / 1000, 1)} s.`);
