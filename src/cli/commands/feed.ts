/**
 * `hashsafe feed --server URL --key KEY -o bank.txt`: pull the platform feed
 * into a local hash list, one `hex,id` line per active PDQ hash (MD5 video
 * hashes, if any, in FILE.md5 in the same form). The cursor is
 * kept next to the list (`bank.txt.cursor`), so the next run fetches only
 * what changed; withdrawn hashes are removed from the list. Both files are
 * rewritten atomically (list first, then cursor: a run cut in between only
 * re-applies records, which is harmless because each is a full snapshot).
 */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../../client/files.ts";
import { MAX_FEED_LIMIT } from "../../protocol/index.ts";
import { invalidOption, UsageError } from "../output.ts";
import {
  addNetworkOptions,
  makeClient,
  type NetworkOptions,
  printJson,
  reportError,
  requireKey,
  requireServer,
  say,
  SHARE_EXIT,
} from "../sharing.ts";
import { tr } from "../lang.ts";

export interface FeedOptions extends NetworkOptions {
  key?: string;
  output: string;
  limit: number;
  restart?: boolean;
}

interface CursorFile {
  version: 1;
  server: string;
  cursor: string;
  updatedAt: string;
}

export function cursorPath(output: string): string {
  return `${output}.cursor`;
}

/** MD5 (video) hashes go to their own list beside the PDQ one, so that the PDQ list stays a valid PDQ hash list. */
export function md5Path(output: string): string {
  return `${output}.md5`;
}

/** id -> hex of a bank file (lines `hex,id`; blank lines and # comments skipped), added to `bank`. */
async function readBank(file: string, bank = new Map<string, string>()): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return bank;
    throw new UsageError(tr("cli.feed.cannotRead", { file, error: (err as NodeJS.ErrnoException).code ?? String(err) }));
  }
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^([0-9a-f]{32}|[0-9a-f]{64}),(\S+)$/.exec(line);
    if (!m) throw new UsageError(tr("cli.feed.badLine", { file, line: i + 1 }));
    bank.set(m[2], m[1]);
  }
  return bank;
}

async function readCursor(file: string): Promise<CursorFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const c = JSON.parse(text) as CursorFile;
    if (typeof c.cursor !== "string" || typeof c.server !== "string") throw new Error("fields missing");
    return c;
  } catch {
    throw new UsageError(tr("cli.feed.badCursor", { file }));
  }
}

async function fileMode(file: string): Promise<number> {
  try {
    return (await stat(file)).mode & 0o777;
  } catch {
    return 0o600;
  }
}

export async function runFeed(opts: FeedOptions): Promise<number> {
  const server = requireServer(opts.server);
  const key = requireKey(opts.key);
  const output = path.resolve(opts.output);
  const cursorFile = cursorPath(output);
  if (!existsSync(path.dirname(output))) throw new UsageError(tr("cli.feed.noFolder", { dir: path.dirname(output) }));
  const client = makeClient(server, { timeout: opts.timeout, apiKey: key });
  const bank = opts.restart ? new Map<string, string>() : await readBank(md5Path(output), await readBank(output));
  const saved = opts.restart ? undefined : await readCursor(cursorFile);
  if (saved && saved.server !== client.serverUrl) {
    throw new UsageError(tr("cli.feed.otherServer", { file: cursorFile, saved: saved.server, server: client.serverUrl }));
  }
  let cursor = saved?.cursor;
  const stats = { records: 0, added: 0, updated: 0, removed: 0, pages: 0 };
  const mode = await fileMode(output);

  const save = async () => {
    const pdq: string[] = [];
    const md5: string[] = [];
    for (const [id, hex] of bank) (hex.length === 64 ? pdq : md5).push(`${hex},${id}\n`);
    await writeFileAtomic(output, pdq.join(""), { mode });
    if (md5.length > 0 || existsSync(md5Path(output))) await writeFileAtomic(md5Path(output), md5.join(""), { mode });
    if (cursor !== undefined) {
      const c: CursorFile = { version: 1, server: client.serverUrl, cursor, updatedAt: new Date().toISOString() };
      await writeFileAtomic(cursorFile, JSON.stringify(c) + "\n", { mode });
    }
  };

  let code = 0;
  try {
    for (;;) {
      const page = await client.feed({ cursor, limit: opts.limit });
      for (const r of page.records) {
        stats.records++;
        if (r.status === "active") {
          const before = bank.get(r.id);
          if (before === undefined) stats.added++;
          else if (before !== r.value) stats.updated++;
          bank.set(r.id, r.value);
        } else if (bank.delete(r.id)) {
          stats.removed++;
        }
      }
      cursor = page.nextCursor;
      stats.pages++;
      if (!page.hasMore) break;
      if (stats.pages % 20 === 0) await save();
    }
  } catch (err) {
    code = reportError(err, { doing: tr("cli.doing.feed"), server });
    if (stats.pages > 0) say(tr("cli.feed.keptPart", { count: stats.records }));
  } finally {
    await client.close();
  }
  try {
    await save();
  } catch (err) {
    say(tr("cli.feed.cannotWrite", { file: output, error: (err as NodeJS.ErrnoException).code ?? String(err) }));
    return SHARE_EXIT.PARTIAL;
  }
  const md5Count = [...bank.values()].filter((h) => h.length === 32).length;
  const summary = { output, cursorFile, active: bank.size, ...(md5Count > 0 ? { md5Output: md5Path(output), md5: md5Count } : {}), ...stats };
  if (opts.format === "json") printJson(summary);
  else if (code === 0) {
    process.stdout.write(
      `${tr("cli.feed.done", { file: output, count: bank.size, added: stats.added, updated: stats.updated, removed: stats.removed, server: client.serverUrl })}\n`,
    );
  }
  return code;
}

function parseLimit(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_FEED_LIMIT) throw invalidOption("--limit", tr("cli.usage.expect.range", { min: 1, max: MAX_FEED_LIMIT }), v);
  return n;
}

export function registerFeed(program: Command): void {
  const cmd = program
    .command("feed")
    .description(tr("cli.help.feed"))
    .requiredOption("-o, --output <file>", tr("cli.help.feedOutput"))
    .option("--key <key>", tr("cli.help.feedKey"))
    .option("--limit <n>", tr("cli.help.feedLimit", { max: MAX_FEED_LIMIT }), parseLimit, MAX_FEED_LIMIT)
    .option("--restart", tr("cli.help.feedRestart"));
  addNetworkOptions(cmd).action(async (opts: FeedOptions) => {
    process.exitCode = await runFeed(opts);
  });
}
