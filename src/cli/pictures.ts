/**
 * Folders contribute pictures only, the same way for every command (`hash`,
 * `submit`, `match`, `lookup`): a file found inside a folder that is not a
 * picture (a PDF, an SVG, a text file, a video for commands that do not take
 * videos, anything else) is skipped without being read as anything, and all
 * of them make one summary line. Files named on the command line are left
 * to the command (it reports what they are).
 */
import { open } from "node:fs/promises";
import { describeNonPicture, type NonPictureKind } from "../image/sniff.ts";
import { tr } from "./lang.ts";
import type { WalkEntry } from "./walk.ts";

const PICTURE_NAME = /\.(jpe?g|png|webp|gif|avif|heic|heif|tiff?|bmp)$/i;

export interface Skipped {
  path: string;
  kind: NonPictureKind;
}

async function head(path: string, bytes = 512): Promise<Uint8Array | null> {
  try {
    const fh = await open(path, "r");
    try {
      const buf = new Uint8Array(bytes);
      const { bytesRead } = await fh.read(buf, 0, bytes, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
}

/**
 * Entries to process, and the files skipped from folders. `keep` lists
 * non-picture kinds the command takes from folders too (submit: video).
 * Empty files found in folders are kept (the command names them).
 */
export async function picturesOnly(
  entries: readonly WalkEntry[],
  keep: readonly NonPictureKind[] = [],
): Promise<{ entries: WalkEntry[]; skipped: Skipped[]; kinds: Map<number, NonPictureKind> }> {
  const out: WalkEntry[] = [];
  const skipped: Skipped[] = [];
  const kinds = new Map<number, NonPictureKind>();
  for (const e of entries) {
    if (e.error || !e.inFolder) {
      out.push(e);
      continue;
    }
    const h = await head(e.path);
    let kind = h && h.length > 0 ? describeNonPicture(h) : null;
    // A file named like a picture but not one (damaged, renamed) gets its own error record: the person expects a picture there.
    if (kind === "other" && PICTURE_NAME.test(e.path)) kind = null;
    if (kind === null) out.push(e);
    else if (keep.includes(kind)) {
      kinds.set(out.length, kind);
      out.push(e);
    } else skipped.push({ path: e.path, kind });
  }
  return { entries: out, skipped, kinds };
}

/** "3 files skipped: not pictures (2 PDF, 1 text)", or "" when none. */
export function skippedSummary(skipped: readonly Skipped[]): string {
  if (skipped.length === 0) return "";
  const order: NonPictureKind[] = ["pdf", "svg", "text", "video", "other"];
  const parts = order
    .map((k) => ({ k, n: skipped.filter((s) => s.kind === k).length }))
    .filter((x) => x.n > 0)
    .map((x) => tr(`cli.skipped.kind.${x.k}`, { count: x.n }));
  return tr("cli.skipped.summary", { count: skipped.length, kinds: parts.join(", ") });
}
