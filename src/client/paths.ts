/**
 * Where hashsafe keeps its local files (outbox, receipts).
 *
 * `HASHSAFE_HOME` when set (tests point it at a temporary folder), else
 * `$XDG_DATA_HOME/hashsafe`, else the platform's usual data folder:
 * `~/.local/share/hashsafe` on Linux and other Unix systems,
 * `~/Library/Application Support/hashsafe` on macOS,
 * `%LOCALAPPDATA%\hashsafe` on Windows.
 */
import path from "node:path";
import { dataDir } from "../data-dir.ts";

/** The rule lives in src/data-dir.ts (the server's default database uses it too). */
export { dataDir };

export function outboxDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(dataDir(env), "outbox");
}

export function receiptsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(dataDir(env), "receipts");
}
