/**
 * Hash many files with bounded concurrency (the library's hashFiles). Results
 * come back in input order; a file that fails becomes an error record and the
 * others go on.
 */
import { availableParallelism } from "node:os";
import { Option } from "commander";
import { type HashOptions, hashFiles, type ImageHashResult } from "../image/hash.ts";
import { type AlphaMode, ALPHA_MODES, setDecoderThreads } from "../image/node.ts";
import { HashError } from "../pdq/errors.ts";
import { retell, tr } from "./lang.ts";
import type { WalkEntry } from "./walk.ts";

export type FileRecord =
  | { path: string; result: ImageHashResult; error?: undefined }
  | { path: string; result?: undefined; error: HashError };

/**
 * The message of a file's error for a person, in their language; machine
 * output (records' `error.message`) keeps `code` and the library's English
 * message. A message the catalogue does not know is shown as the library
 * gives it.
 */
export function errorText(err: HashError): string {
  if (err.code === "FLAT") return tr("cli.hash.flat");
  return retell("cli.hashError.", err.message);
}

/**
 * The warning for a picture with transparent parts (`alpha` as given): copies
 * shared flattened onto a background may not match its hash.
 */
export function transparencyWarning(path: string, alpha: AlphaMode | undefined): string {
  if (!alpha || alpha === "drop") return tr("cli.hash.transparent", { path });
  return tr("cli.hash.transparentFlattened", { path, background: tr(alpha === "white" ? "cli.hash.onWhite" : "cli.hash.onBlack") });
}

/** `--alpha drop|white|black`, for every command that hashes pictures. */
export function alphaOption(): Option {
  return new Option("--alpha <mode>", tr("cli.help.alpha")).choices([...ALPHA_MODES]).default("drop");
}

export function defaultJobs(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

function asHashError(err: unknown): HashError {
  if (err instanceof HashError) return err;
  return new HashError("READ_ERROR", `unexpected error: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}

/**
 * Hash `entries` (from walkInputs), `jobs` at a time, calling `onRecord` for
 * each in input order. Resolves when all are done.
 */
export async function hashEntries(
  entries: readonly WalkEntry[],
  options: HashOptions & { jobs?: number },
  onRecord: (rec: FileRecord, index: number) => void | Promise<void>,
): Promise<void> {
  const jobs = Math.max(1, options.jobs ?? defaultJobs());
  // Images in parallel, one decoder thread each, once the jobs fill the cores.
  if (jobs >= availableParallelism()) setDecoderThreads(1);
  const done: (FileRecord | undefined)[] = new Array(entries.length);
  let next = 0;
  let emitted = 0;
  let emitting: Promise<void> = Promise.resolve();

  const flush = async () => {
    while (emitted < entries.length && done[emitted]) {
      const rec = done[emitted]!;
      done[emitted] = undefined;
      await onRecord(rec, emitted);
      emitted++;
    }
  };

  // Walk errors are records already; the files are hashed by hashFiles.
  const files: number[] = [];
  entries.forEach((e, i) => {
    if (e.error) {
      done[i] = { path: e.path, error: e.error };
    } else files.push(i);
  });
  emitting = emitting.then(flush);
  await hashFiles(
    files.map((i) => entries[i].path),
    { ...options, jobs },
    (outcome, k) => {
      const i = files[k];
      done[i] = outcome.result
        ? { path: outcome.path, result: outcome.result }
        : { path: outcome.path, error: asHashError(outcome.error) };
      emitting = emitting.then(flush);
    },
  );
  await emitting;
}
