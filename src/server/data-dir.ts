/**
 * Where the server keeps its database by default: the hashsafe data directory,
 * by the same rule as the client's files: `HASHSAFE_HOME` when set, else
 * `$XDG_DATA_HOME/hashsafe`, else `~/.local/share/hashsafe` (Linux, Unix),
 * `~/Library/Application Support/hashsafe` (macOS), `%LOCALAPPDATA%\hashsafe`
 * (Windows). (The server does not import the client; the rule is repeated.)
 */
import { mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** The hashsafe data directory, without creating it. */
export function dataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.HASHSAFE_HOME) return path.resolve(env.HASHSAFE_HOME);
  if (env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME)) return path.join(env.XDG_DATA_HOME, "hashsafe");
  const home = os.homedir();
  if (platform === "darwin") return path.join(home, "Library", "Application Support", "hashsafe");
  if (platform === "win32") return path.join(env.LOCALAPPDATA || path.join(home, "AppData", "Local"), "hashsafe");
  return path.join(home, ".local", "share", "hashsafe");
}

/** The default database file, `<data dir>/server.db`; creates the directory (owner-only) if needed. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = dataDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, "server.db");
}
