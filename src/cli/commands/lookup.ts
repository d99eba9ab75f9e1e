/**
 * `hashsafe lookup <images|hashes> --server URL --key KEY`: ask the server
 * whether images (hashed here) or hashes match shared hashes. Only hashes
 * are sent.
 */
import type { Command } from "commander";
import { Option } from "commander";
import { DEFAULT_MAX_PIXELS } from "../../image/limits.ts";
import type { PdqMode } from "../../pdq/index.ts";
import { DEFAULT_MAX_DISTANCE, type LookupMatch, MAX_LOOKUP_QUERIES, MAX_MAX_DISTANCE } from "../../protocol/index.ts";
import { defaultJobs } from "../hashing.ts";
import { gatherHashes } from "../hash-inputs.ts";
import { parsePositiveInt, UsageError } from "../output.ts";
import {
  addNetworkOptions,
  makeClient,
  type NetworkOptions,
  plural,
  printJson,
  reportError,
  requireKey,
  requireServer,
  say,
} from "../sharing.ts";

export interface LookupOptions extends NetworkOptions {
  key?: string;
  maxDistance?: number;
  mode: PdqMode;
  orient: boolean;
  maxPixels: number;
  jobs: number;
}

function parseDistance(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > MAX_MAX_DISTANCE) throw new UsageError(`--max-distance must be 0..${MAX_MAX_DISTANCE}, not "${v}"`);
  return n;
}

export async function runLookup(inputs: string[], opts: LookupOptions): Promise<number> {
  const server = requireServer(opts.server);
  const key = requireKey(opts.key);
  const client = makeClient(server, { timeout: opts.timeout, apiKey: key });
  try {
    const g = await gatherHashes(inputs, { ...opts, minQuality: 0 });
    for (const p of g.problems) say(`${p.source}: ${p.message}`);
    for (const h of g.hashes) {
      if (h.quality !== undefined && h.quality < 50) say(`warning: ${h.source}: quality ${h.quality} is under 50; matches of this weak hash are unreliable`);
    }
    if (g.hashes.length === 0) {
      say("nothing to look up: no image or hash was found in the given inputs");
      return 2;
    }
    const results: { source: string; type: string; value: string; matches: LookupMatch[] }[] = [];
    try {
      for (let i = 0; i < g.hashes.length; i += MAX_LOOKUP_QUERIES) {
        const batch = g.hashes.slice(i, i + MAX_LOOKUP_QUERIES);
        const res = await client.lookup({
          queries: batch.map(({ type, value }) => ({ type, value })),
          ...(opts.maxDistance !== undefined ? { maxDistance: opts.maxDistance } : {}),
        });
        for (const r of res.results) {
          const q = batch[r.index];
          if (q) results.push({ source: q.source, type: q.type, value: q.value, matches: r.matches });
        }
      }
    } catch (err) {
      return reportError(err, { doing: "looking up" });
    }
    const matched = results.filter((r) => r.matches.length > 0).length;
    if (opts.format === "json") {
      printJson({ maxDistance: opts.maxDistance ?? DEFAULT_MAX_DISTANCE, matched, results });
    } else {
      for (const r of results) {
        const label = r.source === "argument" ? r.value : r.source;
        if (r.matches.length === 0) process.stdout.write(`no match  ${label}\n`);
        else process.stdout.write(`MATCH     ${label}  ${r.matches.map((m) => `${m.id} (distance ${m.distance})`).join(", ")}\n`);
      }
      say(`${plural(matched, "input")} of ${results.length} matched a shared hash`);
    }
    return g.problems.length > 0 ? 2 : 0;
  } finally {
    await client.close();
  }
}

export function registerLookup(program: Command): void {
  const cmd = program
    .command("lookup")
    .description("platforms: check images (hashed here) or hashes against the shared hashes")
    .argument("<inputs...>", "image files, folders, hash lists, or hashes")
    .option("--key <key>", "platform API key with the lookup scope (or HASHSAFE_KEY)")
    .option("--max-distance <n>", `largest Hamming distance that counts as a PDQ match (0..${MAX_MAX_DISTANCE}; server default ${DEFAULT_MAX_DISTANCE})`, parseDistance)
    .addOption(new Option("--mode <mode>", "full or squash512, as for `hash`").choices(["full", "squash512"]).default("full"))
    .option("--no-orient", "ignore EXIF orientation (as for `hash`)")
    .option("--max-pixels <n>", "refuse images with more pixels than this", parsePositiveInt("--max-pixels"), DEFAULT_MAX_PIXELS)
    .option("--jobs <n>", "images decoded at once", parsePositiveInt("--jobs"), defaultJobs());
  addNetworkOptions(cmd).action(async (inputs: string[], opts: LookupOptions) => {
    process.exitCode = await runLookup(inputs, opts);
  });
}
