#!/usr/bin/env node
// npm run bench: hashing throughput on ../shared/bench-corpus (200 photos).
//
// Each measurement runs in its own child process (so peak memory is its own):
//   floor      sharp decoding to raw RGB pixels only, same concurrency
//   squash512  decode + PDQ squash512 (hashFiles, the pipeline of `hashsafe hash`)
//   full       decode + PDQ on the full-resolution pixels (hashFiles)
// then a single-threaded breakdown of where the time goes.
// Usage: node bench/hash.mjs [--jobs N] [--runs N] [--corpus DIR]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const corpus = path.resolve(opt("--corpus", path.join(root, "..", "shared", "bench-corpus")));
const jobs = Number(opt("--jobs", os.availableParallelism()));
const runs = Number(opt("--runs", 3));
const files = readdirSync(corpus).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort().map((f) => path.join(corpus, f));

// ---- child: one measurement -------------------------------------------------
if (args[0] === "--child") {
  const kind = args[1];
  const sharp = (await import("sharp")).default;
  const { hashFiles, decodeImage, setDecoderThreads } = await import(path.join(root, "dist", "index.js"));
  sharp.cache(false);
  // As `hashsafe hash` does when the jobs fill the cores (src/cli/hashing.ts): floor and hashing alike.
  if (jobs >= os.availableParallelism()) setDecoderThreads(1);
  let failed = 0;
  const t0 = performance.now();
  if (kind === "floor") {
    // Bare decode to RGB pixels, `jobs` decodes in flight: the floor.
    let next = 0;
    await Promise.all(
      Array.from({ length: jobs }, async () => {
        while (next < files.length) await decodeImage(files[next++], { orient: false });
      }),
    );
  } else {
    // What `hashsafe hash --jobs N` runs: the same number of decodes in flight.
    await hashFiles(files, { mode: kind, orient: false, jobs }, (o) => {
      if (o.error) failed++;
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  if (failed) throw new Error(`${failed} files failed`);
  process.stdout.write(JSON.stringify({ seconds, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

if (args[0] === "--breakdown") {
  const sharp = (await import("sharp")).default;
  const pdq = await import(path.join(root, "dist", "pdq", "index.js"));
  const { decodeImage } = await import(path.join(root, "dist", "index.js"));
  const t = { decode: 0, squashLuma: 0, squashBlur: 0, fullLuma: 0, fullBlur: 0, dct: 0 };
  const now = () => performance.now();
  sharp.cache(false);
  for (const f of files) {
    let a = now();
    const img = await decodeImage(f, { orient: false });
    t.decode += now() - a;
    for (const squash of [true, false]) {
      const src = pdq.lumaSource(img, squash);
      // luminance (and the squash's sampling) alone:
      a = now();
      for (let y = 0; y < src.height; y++) src.sums(y);
      const luma = now() - a;
      a = now();
      const block = pdq.blurDecimate(src);
      const blur = now() - a - luma; // blurDecimate reads the rows itself
      if (squash) {
        t.squashLuma += luma;
        t.squashBlur += Math.max(0, blur);
      } else {
        t.fullLuma += luma;
        t.fullBlur += Math.max(0, blur);
      }
      a = now();
      pdq.wordsToHex(pdq.threshold(pdq.dct16(block)));
      pdq.qualityWithMargin(block);
      t.dct += (now() - a) / 2;
    }
  }
  const per = (ms) => (ms / files.length).toFixed(2);
  process.stdout.write(
    JSON.stringify(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Number(per(v))]))),
  );
  process.exit(0);
}

// ---- parent ------------------------------------------------------------------
function runChild(kind) {
  const json = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--child", kind, "--jobs", String(jobs), "--corpus", corpus], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  return JSON.parse(json);
}

/**
 * Bare libjpeg-turbo decoding (bench/native-decode.c), `jobs` processes side by
 * side as the C++ reference was run: what this machine's native decoder does
 * without libvips. Null when there is no C compiler or no libjpeg headers.
 */
const native = (() => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "hashsafe-bench-"));
  const bin = path.join(dir, "native-decode");
  try {
    execFileSync("cc", ["-O2", "-o", bin, path.join(here, "native-decode.c"), "-ljpeg"], { stdio: "ignore" });
  } catch {
    return null;
  }
  const lists = Array.from({ length: jobs }, (_, j) => {
    const list = path.join(dir, `files-${j}`);
    writeFileSync(list, files.filter((_, i) => i % jobs === j).join("\n") + "\n");
    return list;
  });
  const script = lists.map((l) => `xargs -d '\\n' -a '${l}' '${bin}' >/dev/null &`).join(" ") + " wait";
  return () => {
    const t0 = performance.now();
    execFileSync("sh", ["-c", script]);
    return { seconds: (performance.now() - t0) / 1000, maxRssMB: 0 };
  };
})();

/** Runs the kinds in turn, `runs` rounds (so drifts in machine speed hit all alike); medians. */
function measureAll(kinds) {
  const all = Object.fromEntries(kinds.map((k) => [k, []]));
  for (let r = 0; r < runs; r++) for (const k of kinds) all[k].push(k === "native" ? native() : runChild(k));
  return Object.fromEntries(
    kinds.map((k) => {
      const out = all[k].sort((a, b) => a.seconds - b.seconds);
      const med = out[Math.floor(out.length / 2)];
      return [k, { seconds: med.seconds, ips: files.length / med.seconds, maxRssMB: Math.max(...out.map((o) => o.maxRssMB)), all: out.map((o) => files.length / o.seconds) }];
    }),
  );
}

console.log(`hashsafe hashing benchmark: ${files.length} images from ${corpus}`);
console.log(`${os.cpus().length} CPUs (${os.cpus()[0].model}), node ${process.version}, --jobs ${jobs}, median of ${runs} interleaved rounds\n`);
const m = measureAll(["floor", "squash512", "full", ...(native ? ["native"] : [])]);
const floor = m.floor;
const squash = m.squash512;
const full = m.full;
const REF = { squash512: 123, full: 36.7 }; // C++ reference, two processes (bench-corpus/README.md)
const row = (name, m, ref) =>
  `| ${name} | ${m.seconds.toFixed(2)} s | ${m.ips.toFixed(1)} | ${(m.ips / floor.ips).toFixed(2)}x | ${ref ? (m.ips / ref).toFixed(2) + "x" : "-"} | ${m.maxRssMB.toFixed(0)} MB |`;
console.log("| run | wall | images/s | vs bare decode | vs C++ reference (2 procs) | peak RSS |");
console.log("|---|---|---|---|---|---|");
console.log(row("bare decode (floor)", floor));
console.log(row("hash squash512", squash, REF.squash512));
console.log(row("hash full", full, REF.full));
if (m.native) console.log(`| (libjpeg-turbo alone, no libvips: bench/native-decode.c, ${jobs} processes) | ${m.native.seconds.toFixed(2)} s | ${m.native.ips.toFixed(1)} | ${(m.native.ips / floor.ips).toFixed(2)}x | ${(m.native.ips / REF.squash512).toFixed(2)}x of squash512 | - |`);
const spread = (x) => x.all.map((v) => v.toFixed(1)).join(", ");
console.log(`\nimages/s of each run (rounds interleaved): floor ${spread(floor)}; squash512 ${spread(squash)}; full ${spread(full)}${m.native ? `; libjpeg-turbo alone ${spread(m.native)}` : ""}`);

const b = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--breakdown", "--corpus", corpus], { encoding: "utf8" }));
console.log("\nWhere the time goes, single-threaded, ms per image (mean):");
console.log("| stage | squash512 | full |");
console.log("|---|---|---|");
console.log(`| decode (sharp, to RGB) | ${b.decode} | ${b.decode} |`);
console.log(`| squash + luminance | ${b.squashLuma} | ${b.fullLuma} |`);
console.log(`| blur + decimate | ${b.squashBlur} | ${b.fullBlur} |`);
console.log(`| quality + DCT + threshold | ${b.dct} | ${b.dct} |`);

const targets = [
  [`squash512 >= 123 images/s`, squash.ips >= 123],
  [`full >= 37 images/s`, full.ips >= 37],
  [`squash512 >= 0.8x bare decode`, squash.ips / floor.ips >= 0.8],
  [`peak memory < 400 MB`, Math.max(squash.maxRssMB, full.maxRssMB) < 400],
];
console.log("\nTargets:");
for (const [name, ok] of targets) console.log(`  ${ok ? "met    " : "NOT met"}  ${name}`);
