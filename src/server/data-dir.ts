/**
 * Where the server keeps its database by default: the hashsafe data directory,
 * by the same rule as the client's files: `HASHSAFE_HOME` when set, else
 * `$XDG_DATA_HOME/hashsafe`, else `~/.local/share/hashsafe` (Linux, Unix),
 * `~/Library/Application Support/hashsafe` (macOS), `%LOCALAPPDATA%\hashsafe`
 * (Windows): the one rule in src/data-dir.ts, shared with the client.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { dataDir } from "../data-dir.ts";

export { dataDir };

/** The default database file, `<data dir>/server.db`; creates the directory (owner-only) if needed. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = dataDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, "server.db");
}
