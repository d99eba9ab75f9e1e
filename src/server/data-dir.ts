/**
 * Where the server keeps its database by default: the user's data directory
 * (XDG on Linux, Application Support on macOS, LocalAppData on Windows).
 */
import { mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** The hashsafe data directory, without creating it. */
export function dataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const home = os.homedir();
  if (platform === "win32") return path.join(env.LOCALAPPDATA || path.join(home, "AppData", "Local"), "hashsafe");
  if (platform === "darwin") return path.join(home, "Library", "Application Support", "hashsafe");
  const xdg = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(home, ".local", "share");
  return path.join(xdg, "hashsafe");
}

/** The default database file, `<data dir>/server.db`; creates the directory (owner-only) if needed. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = dataDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, "server.db");
}
