/**
 * Several processes making the server key file on one fresh path at the same
 * moment (as several `serve` processes on one PostgreSQL database do at their
 * first start) end with ONE key: every process answers the key that is in the
 * file, exactly one of them made it, and no temporary file is left. Each round
 * starts 6 real node processes (the built dist/) that spin until one agreed
 * instant and then call loadOrCreateKeyFile.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ROOT } from "../helpers.ts";
import { ensureBuilt } from "./e2e-support.ts";
import { tempDir } from "./server-helpers.ts";

let tmp: ReturnType<typeof tempDir>;
beforeAll(async () => {
  await ensureBuilt();
  tmp = tempDir();
}, 60_000);
afterAll(() => tmp?.remove());

const PATHS = 300;
const SCRIPT = `
import { loadOrCreateKeyFile } from ${JSON.stringify(pathToFileURL(path.join(ROOT, "dist", "server", "index.js")).href)};
const [at, dir, n] = process.argv.slice(1);
while (Date.now() < Number(at));
const out = [];
for (let i = 0; i < Number(n); i++) {
  try {
    const r = loadOrCreateKeyFile(dir + "/k" + i + ".key");
    out.push((r.created ? "+" : "") + r.key.toString("hex"));
  } catch (e) {
    out.push("error: " + e.message);
  }
}
process.stdout.write(JSON.stringify(out));
`;

describe("the server key file, made by several processes at once", () => {
  test(`6 processes at one instant, each through the same ${PATHS} fresh paths in turn: one key per path, made once, what the file holds`, async () => {
    const dir = tmp.dir;
    const at = Date.now() + 2_500;
    const runs = await Promise.all(
      Array.from({ length: 6 }, () =>
        promisify(execFile)(process.execPath, ["--input-type=module", "-e", SCRIPT, String(at), dir, String(PATHS)], { cwd: ROOT }).then(
          (r) => JSON.parse(r.stdout) as string[],
        ),
      ),
    );
    const errors = runs.flat().filter((x) => x.startsWith("error"));
    let split = 0;
    for (let i = 0; i < PATHS; i++) {
      const seen = runs.map((r) => r[i]).filter((x) => !x.startsWith("error"));
      const keys = new Set(seen.map((x) => x.replace(/^\+/, "")));
      const file = readFileSync(path.join(dir, `k${i}.key`)).toString("hex");
      if (keys.size !== 1 || !keys.has(file) || seen.filter((x) => x.startsWith("+")).length !== 1) split++;
    }
    console.log(`server-key-race: ${errors.length} errors (${[...new Set(errors)].slice(0, 3).join("; ")}), ${split} of ${PATHS} paths without one agreed key`);
    expect(errors).toEqual([]);
    expect(split).toBe(0);
    // no temporary file left
    expect(readdirSync(dir).filter((f) => !/^k\d+\.key$/.test(f))).toEqual([]);
  }, 60_000);
});
