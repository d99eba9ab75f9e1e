/**
 * Index files on Node: write a {@link HashIndex} to a file atomically and read
 * one back, with zlib's CRC-32. The index itself (./mih.ts) has no Node
 * imports; in a browser or a worker, fetch the file's bytes and call
 * `HashIndex.deserialize(bytes)`.
 */
import { open, readFile, rename, rm } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { HashIndex, IndexFileError, type SaveOptions } from "./mih.ts";

/** Write the index to `path` atomically (a temporary file beside it, then a rename), section by section. */
export async function saveIndexFile(index: HashIndex, path: string, options: Omit<SaveOptions, "crc32"> = {}): Promise<void> {
  const { parts } = index.serializeParts({ ...options, crc32 });
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, "w");
  try {
    for (const c of parts) {
      // large sections in pieces: one write call is limited to 2 GiB
      for (let i = 0; i < c.length; i += 1 << 30) await fh.write(c.subarray(i, Math.min(c.length, i + (1 << 30))));
    }
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await rename(tmp, path);
}

/** Read an index file; throws {@link IndexFileError} (naming the file) when it is damaged, truncated or not an index. */
export async function loadIndexFile(path: string): Promise<HashIndex> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    throw new IndexFileError(`${path}: cannot read the index file (${code ?? String(err)})`);
  }
  try {
    return HashIndex.deserialize(bytes, { crc32 });
  } catch (err) {
    if (err instanceof IndexFileError) throw new IndexFileError(`${path}: ${err.message}`);
    throw err;
  }
}
