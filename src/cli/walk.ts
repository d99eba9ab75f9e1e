/**
 * Turn command-line paths (files and folders) into the list of files to
 * process. Folders are walked recursively in name order; hidden files and
 * folders inside them are skipped; symbolic links are followed, but a link
 * that leads back into a folder already being walked (a loop) is reported
 * and skipped. Problems are records, never exceptions: the rest goes on.
 */
import { readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { HashError } from "../pdq/errors.ts";

/** `inFolder`: found by walking a folder (not named on the command line). */
export type WalkEntry = { path: string; error?: undefined; inFolder?: boolean } | { path: string; error: HashError; inFolder?: boolean };

function errorFor(err: unknown, p: string): HashError {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") return new HashError("NOT_FOUND", "no such file or folder (or a broken link)");
  if (code === "ELOOP") return new HashError("SYMLINK_LOOP", "symbolic link loop: skipped");
  if (code === "EACCES" || code === "EPERM") return new HashError("READ_ERROR", "permission denied");
  return new HashError("READ_ERROR", `cannot read ${p} (${code ?? String(err)})`);
}

async function* walkDir(dir: string, ancestors: Set<string>): AsyncGenerator<WalkEntry> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    yield { path: dir, error: errorFor(err, dir) };
    return;
  }
  for (const name of names) {
    if (name.startsWith(".")) continue;
    const p = path.join(dir, name);
    let st;
    try {
      st = await stat(p);
    } catch (err) {
      yield { path: p, error: errorFor(err, p) };
      continue;
    }
    if (st.isDirectory()) {
      let real: string;
      try {
        real = await realpath(p);
      } catch (err) {
        yield { path: p, error: errorFor(err, p) };
        continue;
      }
      if (ancestors.has(real)) {
        yield { path: p, error: new HashError("SYMLINK_LOOP", "symbolic link loop: this folder links back to one above it; skipped") };
        continue;
      }
      ancestors.add(real);
      yield* walkDir(p, ancestors);
      ancestors.delete(real);
    } else if (st.isFile()) {
      yield { path: p, inFolder: true };
    }
    // sockets, fifos and devices are not images: ignored silently.
  }
}

/** Files (and per-path problems) under `paths`, in a stable order. */
export async function* walkInputs(paths: readonly string[]): AsyncGenerator<WalkEntry> {
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch (err) {
      yield { path: p, error: errorFor(err, p) };
      continue;
    }
    if (st.isDirectory()) {
      let real = p;
      try {
        real = await realpath(p);
      } catch {
        // keep p
      }
      yield* walkDir(p, new Set([real]));
    } else {
      yield { path: p };
    }
  }
}

/** All of {@link walkInputs} at once. */
export async function collectInputs(paths: readonly string[]): Promise<WalkEntry[]> {
  const out: WalkEntry[] = [];
  for await (const e of walkInputs(paths)) out.push(e);
  return out;
}
