import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// `npm run test:reference`: the checks against the upstream reference data in
// ../shared/ (or --data DIR). Run through test/reference/run.mjs, which names
// what is missing before vitest starts.
export default defineConfig({
  root,
  test: {
    include: ["test/reference/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});
