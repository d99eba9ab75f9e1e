// hashsafe match on the upstream matcher regression lists, through the real binary.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers.ts";
import { REF } from "./shared.ts";

const run = runCli;

const ndjson = (text: string) => text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
describe("hashsafe match on the reference lists", () => {
  it("the reference lists through the CLI: needles against haystack at 31 equal expected-d31.txt", async () => {
    const m = path.join(REF, "matching");
    const r = await run(["match", path.join(m, "needles.txt"), "--against", path.join(m, "haystack.txt"), "--format", "ndjson"]);
    expect(r.code).toBe(0);
    const needles = (await readFile(path.join(m, "needles.txt"), "utf8")).trim().split("\n");
    // The shared record vocabulary (docs/records.md): the list line and its hash, then the bank entry's hash.
    const got = ndjson(r.stdout).map((x) => {
      expect(x.hash).toBe(needles[x.line - 1]);
      return `${needles[x.line - 1]} ${x.against.hash} ${x.distance}`;
    });
    const want: string[] = [];
    let needle = "";
    for (const l of (await readFile(path.join(m, "expected-d31.txt"), "utf8")).trim().split("\n")) {
      if (l.startsWith("needle=")) needle = l.slice(7);
      else if (l.trim()) {
        const [, d, match] = /^d=(\d+),match=([0-9a-f]+),/.exec(l)!;
        want.push(`${needle} ${match} ${d}`);
      }
    }
    expect(got.sort()).toEqual(want.sort());
  });

});
