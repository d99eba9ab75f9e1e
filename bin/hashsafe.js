#!/usr/bin/env node
// hashsafe command-line entry: runs the prebuilt bundle (no TypeScript at run time).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write("hashsafe: the build is missing. Run `npm install` (or `npm run build`) in the hashsafe folder first.\n");
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
