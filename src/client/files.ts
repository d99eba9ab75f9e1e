/**
 * Small file helpers for owner-only local state: atomic writes (temporary
 * file in the same folder, flushed, then renamed over the target) so that a
 * crash or a full disk never leaves a half-written outbox item or receipt.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";

/** Create `dir` (and its parents) and make it owner-only (0700). */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (process.platform !== "win32") await chmod(dir, 0o700);
}

export interface AtomicWriteOptions {
  /** File mode of the result; default 0600 (owner read/write only). */
  mode?: number;
}

/**
 * Write `data` to `file` atomically: readers see either the old content or
 * the new one, never a part. The file gets `mode` (default 0600) whatever
 * the umask.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o600;
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "wx", mode);
  try {
    try {
      await fh.writeFile(data);
      if (process.platform !== "win32") await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  // Make the rename itself durable where the platform allows it.
  if (process.platform !== "win32") {
    try {
      const dh = await open(dir, "r");
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch {
      // Some file systems refuse fsync on a folder; the rename is still atomic.
    }
  }
}

/** A name that is safe as one path component (case ids come from a server). */
export function safeFileStem(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 120);
  return cleaned.length > 0 ? cleaned : "_";
}
