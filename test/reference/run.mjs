#!/usr/bin/env node
// npm run test:reference [-- --data DIR] [vitest args...]
// Checks that the upstream reference data is there (and says what is missing
// when it is not), then runs the reference suite with vitest.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = process.argv.slice(2);
let data = process.env.HASHSAFE_REFERENCE_DATA ?? path.join(root, "..", "shared");
const i = args.indexOf("--data");
if (i >= 0) {
  if (!args[i + 1]) {
    console.error("test:reference: --data needs a folder (the one that holds pdq-reference/ and bench-corpus/)");
    process.exit(2);
  }
  data = args[i + 1];
  args.splice(i, 2);
}
data = path.resolve(data);
const need = [
  ["pdq-reference/expected.tsv", "the reference's expected hashes"],
  ["pdq-reference/dihedral.tsv", "the reference's dihedral hashes"],
  ["pdq-reference/images.tsv", "the list of upstream images"],
  ["pdq-reference/images", "the 49 upstream images"],
  ["pdq-reference/vectors/expected.tsv", "the 73 bit-exact pixel vectors"],
  ["pdq-reference/matching", "the matcher regression lists"],
  ["bench-corpus", "the 200 corpus photos"],
];
const missing = need.filter(([p]) => !existsSync(path.join(data, p)));
if (missing.length) {
  console.error(`test:reference: the upstream reference data is missing from ${data}:`);
  for (const [p, what] of missing) console.error(`  ${path.join(data, p)}  (${what})`);
  console.error("Put ../shared beside the checkout, or give its place with: npm run test:reference -- --data DIR");
  process.exit(1);
}
const vitest = path.join(root, "node_modules", "vitest", "vitest.mjs");
const r = spawnSync(process.execPath, [vitest, "run", "--config", "test/vitest.reference.config.ts", ...args], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, HASHSAFE_REFERENCE_DATA: data },
});
process.exit(r.status ?? 1);
