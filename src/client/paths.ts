/**
 * Where hashsafe keeps its local files (outbox, receipts).
 *
 * `HASHSAFE_HOME` when set (tests point it at a temporary folder), else
 * `$XDG_DATA_HOME/hashsafe`, else the platform's usual data folder:
 * `~/.local/share/hashsafe` on Linux and other Unix systems,
 * `~/Library/Application Support/hashsafe` on macOS,
 * `%LOCALAPPDATA%\hashsafe` on Windows.
 */
import os from "node:os";
import path from "node:path";

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HASHSAFE_HOME) return path.resolve(env.HASHSAFE_HOME);
  if (env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME)) return path.join(env.XDG_DATA_HOME, "hashsafe");
  const home = os.homedir();
  if (process.platform === "darwin") return path.join(home, "Library", "Application Support", "hashsafe");
  if (process.platform === "win32") {
    return path.join(env.LOCALAPPDATA ?? path.join(home, "AppData", "Local"), "hashsafe");
  }
  return path.join(home, ".local", "share", "hashsafe");
}

export function outboxDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(dataDir(env), "outbox");
}

export function receiptsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(dataDir(env), "receipts");
}
