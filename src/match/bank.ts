/**
 * A bank to match against: hash lists read into a {@link HashIndex} (ids are
 * the entries' order, labels their metadata), or a saved index file (found by
 * its magic bytes, whatever its name).
 */
import { open } from "node:fs/promises";
import { type ListProblem, readHashList } from "./lists.ts";
import { HashIndex, IndexFileError, isIndexFile } from "./mih.ts";
import { loadIndexFile } from "./mih-file.ts";

export interface Bank {
  index: HashIndex;
  /** The metadata of entry `id` (list metadata, or the label saved in the index file). */
  label(id: number): string | undefined;
  /** The hash of entry `id`, hex. */
  hash(id: number): string;
  /** "index" when loaded from an index file. */
  kind: "index" | "lists";
  /** Bad lines in the lists (the first `maxErrors` of them). */
  problems: ListProblem[];
  problemCount: number;
}

export interface LoadBankOptions {
  strict?: boolean;
  maxErrors?: number;
}

/** True when the file starts with the index file magic bytes. */
export async function isIndexPath(path: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, "r");
  } catch {
    return false;
  }
  try {
    const head = new Uint8Array(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    return isIndexFile(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/**
 * Read hash lists into a fresh index: ids 0, 1, 2... in file and line order,
 * metadata kept as labels. Throws HashListError (unreadable, or bad lines
 * under `strict`).
 */
export async function readListsIntoIndex(
  paths: readonly string[],
  options: LoadBankOptions = {},
): Promise<{ index: HashIndex; labels: (string | undefined)[]; problems: ListProblem[]; problemCount: number; count: number }> {
  const index = new HashIndex();
  const labels: (string | undefined)[] = [];
  const problems: ListProblem[] = [];
  let problemCount = 0;
  const maxErrors = options.maxErrors ?? 20;
  for (const p of paths) {
    const r = await readHashList(p, {
      strict: options.strict,
      maxErrors,
      onEntry: (e) => {
        index.add(e.hash, labels.length);
        labels.push(e.metadata);
      },
    });
    problemCount += r.problemCount;
    for (const x of r.problems) if (problems.length < maxErrors) problems.push(x);
  }
  return { index, labels, problems, problemCount, count: labels.length };
}

/** Load a bank from an index file or from hash lists. */
export async function loadBank(paths: readonly string[], options: LoadBankOptions = {}): Promise<Bank> {
  if (paths.length === 1 && (await isIndexPath(paths[0]))) {
    const index = await loadIndexFile(paths[0]);
    return {
      index,
      label: (id) => index.labelOf(id),
      hash: (id) => index.hashOf(id) ?? "",
      kind: "index",
      problems: [],
      problemCount: 0,
    };
  }
  for (const p of paths) {
    if (paths.length > 1 && (await isIndexPath(p))) {
      throw new IndexFileError(`${p}: an index file must be the only bank given`);
    }
  }
  const { index, labels, problems, problemCount } = await readListsIntoIndex(paths, options);
  index.build();
  return {
    index,
    label: (id) => labels[id],
    hash: (id) => index.hashOf(id) ?? "",
    kind: "lists",
    problems,
    problemCount,
  };
}
