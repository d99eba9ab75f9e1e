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
import { alphaOption, defaultJobs, transparencyWarning } from "../hashing.ts";
import type { AlphaMode } from "../../image/node.ts";
import { tr } from "../lang.ts";
import { gatherHashes } from "../hash-inputs.ts";
import {
  type ComparisonRecord,
  defaultFormat,
  INPUT_COLUMNS,
  inputFields,
  parseFormat,
  invalidOption,
  parsePositiveInt,
  RECORD_FORMATS,
  RecordWriter,
  Sink,
  UsageError,
} from "../output.ts";
import { comparisonText, MATCH_EXIT } from "./match.ts";
import {
  addNetworkOptions,
  makeClient,
  type NetworkOptions,
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
  alpha: AlphaMode;
}

/** CSV columns of `lookup`. */
export const LOOKUP_COLUMNS = [...INPUT_COLUMNS, "type", "against.id", "distance", "transform", "matched"];

function parseDistance(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > MAX_MAX_DISTANCE) throw invalidOption("--max-distance", tr("cli.usage.expect.range", { min: 0, max: MAX_MAX_DISTANCE }), v);
  return n;
}

/**
 * Like grep: one record per match (docs/records.md), exit 0 when something
 * matched, 1 when nothing did, 2 when an input could not be used (4 and 5:
 * the server could not be reached, or refused).
 */
export async function runLookup(inputs: string[], opts: LookupOptions): Promise<number> {
  const format = parseFormat(opts.format, RECORD_FORMATS);
  const server = requireServer(opts.server);
  const key = requireKey(opts.key);
  const client = makeClient(server, { timeout: opts.timeout, apiKey: key });
  try {
    const g = await gatherHashes(inputs, { ...opts, minQuality: 0 });
    for (const p of g.problems) say(`${p.source}: ${p.message}`);
    for (const h of g.hashes) if (h.transparent) say(transparencyWarning(h.source, opts.alpha));
    for (const h of g.hashes) {
      if (h.quality !== undefined && h.quality < 50) say(tr("cli.lookup.weak", { source: h.source, quality: h.quality }));
    }
    if (g.hashes.length === 0) {
      say(tr("cli.lookup.nothing"));
      return MATCH_EXIT.ERROR;
    }
    const results: { query: (typeof g.hashes)[number]; matches: LookupMatch[] }[] = [];
    try {
      for (let i = 0; i < g.hashes.length; i += MAX_LOOKUP_QUERIES) {
        const batch = g.hashes.slice(i, i + MAX_LOOKUP_QUERIES);
        const res = await client.lookup({
          queries: batch.map(({ type, value }) => ({ type, value })),
          ...(opts.maxDistance !== undefined ? { maxDistance: opts.maxDistance } : {}),
        });
        for (const r of res.results) {
          const q = batch[r.index];
          if (q) results.push({ query: q, matches: r.matches });
        }
      }
    } catch (err) {
      return reportError(err, { doing: tr("cli.doing.lookup"), server });
    }
    const matched = results.filter((r) => r.matches.length > 0).length;
    const sink = new Sink();
    const fmt = format ?? defaultFormat(sink.isTerminal);
    const writer = new RecordWriter<ComparisonRecord>(sink, fmt, LOOKUP_COLUMNS, comparisonText);
    for (const { query: q, matches } of results) {
      const input = inputFields({ path: q.path, line: q.line, metadata: q.metadata, hash: q.value, quality: q.quality });
      for (const m of matches) {
        await writer.write({ ...input, type: q.type, against: { id: m.id }, distance: m.distance, transform: "original", matched: true });
      }
    }
    await writer.end();
    if (fmt === "text" || g.problems.length > 0) {
      say(tr("cli.lookup.summary", { count: matched, total: results.length, max: opts.maxDistance ?? DEFAULT_MAX_DISTANCE }));
    }
    if (g.problems.length > 0) return MATCH_EXIT.ERROR;
    return matched > 0 ? MATCH_EXIT.MATCH : MATCH_EXIT.NO_MATCH;
  } finally {
    await client.close();
  }
}

export function registerLookup(program: Command): void {
  const cmd = program
    .command("lookup")
    .description(tr("cli.help.lookup"))
    .argument("<inputs...>", tr("cli.help.lookupInputs"))
    .option("--key <key>", tr("cli.help.lookupKey"))
    .option("--max-distance <n>", tr("cli.help.maxDistance", { max: MAX_MAX_DISTANCE, dflt: DEFAULT_MAX_DISTANCE }), parseDistance)
    .addOption(new Option("--mode <mode>", tr("cli.help.mode")).choices(["full", "squash512"]).default("full"))
    .option("--no-orient", tr("cli.help.noOrient"))
    .addOption(alphaOption())
    .option("--max-pixels <n>", tr("cli.help.maxPixels"), parsePositiveInt("--max-pixels"), DEFAULT_MAX_PIXELS)
    .option("--jobs <n>", tr("cli.help.jobs"), parsePositiveInt("--jobs"), defaultJobs());
  addNetworkOptions(cmd, undefined, RECORD_FORMATS).action(async (inputs: string[], opts: LookupOptions) => {
    process.exitCode = await runLookup(inputs, opts);
  });
}
