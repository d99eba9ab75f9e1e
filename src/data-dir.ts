/**
 * The hashsafe data directory, one rule for the client's files (outbox,
 * receipts) and the server's default database: `HASHSAFE_HOME` when set,
 * else `$XDG_DATA_HOME/hashsafe` (an absolute one), else the platform's usual
 * data folder: `~/.local/share/hashsafe` on Linux and other Unix systems,
 * `~/Library/Application Support/hashsafe` on macOS, `%LOCALAPPDATA%\hashsafe`
 * on Windows. Nothing is created here.
 */
import os from "node:os";
import path from "node:path";

export function dataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.HASHSAFE_HOME) return path.resolve(env.HASHSAFE_HOME);
  if (env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME)) return path.join(env.XDG_DATA_HOME, "hashsafe");
  const home = os.homedir();
  if (platform === "darwin") return path.join(home, "Library", "Application Support", "hashsafe");
  if (platform === "win32") return path.join(env.LOCALAPPDATA || path.join(home, "AppData", "Local"), "hashsafe");
  return path.join(home, ".local", "share", "hashsafe");
}
