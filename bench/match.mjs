// npm run bench:match — HashIndex against the C++ reference's benchmark method
// (pdq/cpp/bin/benchmark-query.cpp, extended to dihedral query sets):
// random hashes; each query is a set of 8 hashes (a dihedral set); for each
// query, 8 near-duplicates (1..d random bits flipped) of one of its hashes are
// added to the index; d = 31; index sizes 10k, 100k and 1M (near-duplicates
// included). A query answers all 8 of its hashes (one searchBatch call). Single thread.
//
// Needs the build: `npm run build` first (it imports ../dist/index.js).
// Options: --sizes 10000,100000,1000000  --queries 1000  --seed 41
//
// `npm run bench:match -- --robust` instead measures robust matching: recall
// at distance 31 of transformed copies of the reference images (made here
// with sharp, in a temporary folder) with and without --dihedral and
// --trim-borders, and false matches among unrelated pictures
// (`--only caption` limits it to the transforms whose name has that text).
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { decodeImage, HashIndex, hashPixels, loadIndexFile, queryVariants, saveIndexFile, searchVariants } from "../dist/index.js";

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

function runQueries(index, queries, nq, linear, reps = 1) {
  let matches = 0;
  const c0 = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < nq * reps; i++) {
    const q = i % nq;
    const set = [];
    for (let h = 0; h < 8; h++) set.push(queries.subarray((q * 8 + h) * 8, (q * 8 + h) * 8 + 8));
    if (linear) for (const hash of set) matches += index.searchLinear(hash, D).length;
    else for (const hits of index.searchBatch(set, D)) matches += hits.length;
  }
  const s = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(c0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return { qps: (nq * reps) / s, cpuQps: (nq * reps) / cpuS, matches: matches / reps, seconds: s };
}

if (args.includes("--robust")) {
  await robust();
  process.exit(0);
}

async function robust() {
  const sharp = (await import("sharp")).default;
  const REFIMG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "shared", "pdq-reference", "images");
  // Distinct pictures of the reference set (quality >= 50; one file per picture).
  const BASES = ["original.jpg", "c.png", "exif-rotn-1.jpg", "pen-and-coaster.png", "q0122.jpg", "q0291.jpg", "q0746.jpg", "q1050.jpg", "q2821.jpg"];
  const caption = (w, h, text) =>
    Buffer.from(`<svg width="${w}" height="${h}"><rect width="100%" height="100%" fill="white"/><text x="50%" y="65%" font-size="${Math.round(h * 0.5)}" text-anchor="middle" font-family="sans-serif" fill="black">${text}</text></svg>`);
  const border = (t, b, l, r, background) => async (s, m) =>
    s.extend({ top: Math.round(m.height * t), bottom: Math.round(m.height * b), left: Math.round(m.width * l), right: Math.round(m.width * r), background });
  // [group, name, sharp pipeline]
  const T = [
    ["rotation / mirror", "rotate 90", async (s) => s.rotate(90)],
    ["rotation / mirror", "rotate 180", async (s) => s.rotate(180)],
    ["rotation / mirror", "rotate 270", async (s) => s.rotate(270)],
    ["rotation / mirror", "mirror left-right", async (s) => s.flop()],
    ["rotation / mirror", "mirror top-bottom", async (s) => s.flip()],
    ["rotation / mirror", "transpose", async (s) => s.rotate(90).flop()],
    ["border", "black letterbox 12%", border(0.12, 0.12, 0, 0, "#000")],
    ["border", "black letterbox 25%", border(0.25, 0.25, 0, 0, "#000")],
    ["border", "white pillarbox 15%", border(0, 0, 0.15, 0.15, "#fff")],
    ["border", "grey frame 5%", border(0.05, 0.05, 0.05, 0.05, "#777")],
    ["border", "red frame 10%", border(0.1, 0.1, 0.1, 0.1, "#c8102e")],
    ["border", "white bar at the bottom 20%", border(0, 0.2, 0, 0, "#fff")],
    ["border + rotation", "letterbox 15% + rotate 90", async (s, m) => sharp(await (await border(0.15, 0.15, 0, 0, "#000")(s, m)).png().toBuffer()).rotate(90)],
    ["border + rotation", "frame 8% + mirror", async (s, m) => sharp(await (await border(0.08, 0.08, 0.08, 0.08, "#fff")(s, m)).png().toBuffer()).flop()],
    ["caption", "caption bar (text) 15%", async (s, m) => {
      const h = Math.round(m.height * 0.15);
      const ext = await s.extend({ bottom: h, background: "#fff" }).png().toBuffer();
      return sharp(ext).composite([{ input: caption(m.width, h, "lol look at this"), top: m.height, left: 0 }]);
    }],
    ["caption", "caption over the picture", async (s, m) => {
      const h = Math.round(m.height * 0.12);
      return s.composite([{ input: caption(m.width, h, "SHARE THIS"), top: m.height - h, left: 0 }]);
    }],
    ["recompression / resize", "JPEG quality 20", async (s) => s.jpeg({ quality: 20 })],
    ["recompression / resize", "resize 50%", async (s, m) => s.resize(Math.round(m.width / 2))],
    ["recompression / resize", "resize 25% + JPEG 50", async (s, m) => s.resize(Math.round(m.width / 4)).jpeg({ quality: 50 })],
  ];
  const only = opt("only", "");
  if (only) T.splice(0, T.length, ...T.filter(([g, n]) => `${g} ${n}`.includes(only)));
  const CONFIGS = [
    ["plain", {}],
    ["--dihedral", { dihedral: true }],
    ["--trim-borders", { trimBorders: true }],
    ["both", { dihedral: true, trimBorders: true }],
  ];
  const dir = await mkdtemp(path.join(tmpdir(), "hashsafe-robust-"));
  const t0 = performance.now();
  try {
    const bank = new HashIndex();
    const meta = [];
    for (let i = 0; i < BASES.length; i++) {
      const img = await decodeImage(path.join(REFIMG, BASES[i]));
      bank.add(hashPixels(img).hash, i);
      meta.push({ width: img.width, height: img.height });
    }
    const groups = new Map(); // group -> config -> [found, total]
    const falses = CONFIGS.map(() => 0);
    let pairs = 0;
    const perTransform = [];
    for (const [group, name, make] of T) {
      const found = CONFIGS.map(() => 0);
      for (let i = 0; i < BASES.length; i++) {
        // Work on an upright, EXIF-free copy so every transform starts from the displayed picture.
        const upright = await sharp(path.join(REFIMG, BASES[i])).rotate().png().toBuffer();
        const s = await make(sharp(upright), meta[i]);
        const file = path.join(dir, `${i}-${name.replace(/[^a-z0-9]+/gi, "-")}.${name.startsWith("JPEG") || name.includes("JPEG") ? "jpg" : "png"}`);
        await (file.endsWith(".jpg") ? s.jpeg() : s.png()).toFile(file);
        const img = await decodeImage(file);
        CONFIGS.forEach(([, opts], c) => {
          const hits = searchVariants(bank, queryVariants(img, opts).variants, 31);
          if (hits.some((h) => h.id === i)) found[c]++;
          falses[c] += hits.filter((h) => h.id !== i).length;
        });
        pairs += BASES.length - 1;
      }
      perTransform.push([group, name, found]);
      const g = groups.get(group) ?? { found: CONFIGS.map(() => 0), total: 0 };
      found.forEach((f, c) => (g.found[c] += f));
      g.total += BASES.length;
      groups.set(group, g);
    }
    // The unmodified pictures against each other, with every option.
    for (let i = 0; i < BASES.length; i++) {
      const img = await decodeImage(path.join(REFIMG, BASES[i]));
      CONFIGS.forEach(([, opts], c) => {
        falses[c] += searchVariants(bank, queryVariants(img, opts).variants, 31).filter((h) => h.id !== i).length;
      });
      pairs += BASES.length - 1;
    }
    const pct = (f, t) => `${f}/${t} (${Math.round((100 * f) / t)}%)`;
    console.log(`\nRobust matching: recall at distance <= 31 (${BASES.length} reference pictures, each transformed copy queried against a bank of the ${BASES.length} originals)\n`);
    console.log(`| transform | ${CONFIGS.map(([n]) => n).join(" | ")} |`);
    console.log(`|---|${CONFIGS.map(() => "---:").join("|")}|`);
    for (const [, name, found] of perTransform) console.log(`| ${name} | ${found.map((f) => pct(f, BASES.length)).join(" | ")} |`);
    for (const [group, g] of groups) console.log(`| **all ${group}** | ${g.found.map((f) => `**${pct(f, g.total)}**`).join(" | ")} |`);
    console.log(`| false matches (query x unrelated bank picture pairs) | ${falses.map((f) => `${f}/${pairs}`).join(" | ")} |`);
    console.log(`\n${T.length * BASES.length} transformed images, ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
  runQueries(index, queries, nq, false); // warm-up (JIT, caches)
  // median of 3 runs (the machine is shared: single runs are noisy)
  // small indexes answer fast: repeat the query set so that a run lasts ~1 s
  const reps = Math.max(1, Math.round(100_000 / size));
  const runs = [0, 1, 2].map(() => runQueries(index, queries, nq, false, reps)).sort((a, b) => a.qps - b.qps);
  const mih = runs[1];
  if (mih.matches < nq * 8) throw new Error(`only ${mih.matches} of the ${nq * 8} near-duplicates found`);
  // Linear scans take long on big indexes: fewer queries there (a rate either way).
  const nLin = Math.max(5, Math.min(nq, Math.round(2e8 / (size * 8))));
  const lin = runQueries(index, queries, nLin, true);
  const check = runQueries(index, queries, nLin, false);
  if (check.matches !== lin.matches) throw new Error(`index and scan disagree: ${check.matches} vs ${lin.matches}`);
  const bytesPerHash = index.bytesUsed / index.size;
  rows.push({ size, nq, buildS, mih, lin, nLin, bytesPerHash });
  console.error(
    `${size}: index ${fmt(mih.qps, 1)} q/s (CPU time ${fmt(mih.cpuQps, 1)} q/s; ${mih.matches} matches), linear ${fmt(lin.qps, 1)} q/s, build ${fmt(buildS, 3)} s, ${fmt(bytesPerHash, 1)} B/hash`,
  );

  if (size === Math.max(...SIZES)) {
    const dir = await mkdtemp(path.join(tmpdir(), "hashsafe-bench-"));
    try {
      const file = path.join(dir, "bank.idx");
      await saveIndexFile(index, file);
      fileMB = (await stat(file)).size / 2 ** 20;
      const times = [];
      let loaded;
      for (let i = 0; i < 3; i++) {
        loaded = null;
        const t = performance.now();
        loaded = await loadIndexFile(file);
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
console.log(`\nHashIndex benchmark (reference method, d = ${D}, ${QUERIES} queries of 8 hashes, index q/s the median of 3 runs, 1 thread, node ${process.version})\n`);
console.log("| index size | index q/s | (by CPU time) | vs C++ MIH | linear q/s | vs C++ linear | build (s) | index B/hash | linear B/hash |");
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
  console.log(
    `| ${fmt(r.size)} | ${fmt(r.mih.qps, 1)} | ${fmt(r.mih.cpuQps, 1)} | ${ratio(r.mih.qps, REF.mih[r.size])} | ${fmt(r.lin.qps, 1)} | ${ratio(r.lin.qps, REF.linear[r.size])} | ${fmt(r.buildS, 3)} | ${fmt(r.bytesPerHash, 1)} | 36 |`,
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
