/**
 * What the receipt keeps, on this device only, to name each hash: the
 * picture's file name and a blurhash (a ~30-character blurred preview that
 * shows colours and layout, not a recognisable picture). Never sent: the
 * submission's request bodies are built from the hashes alone.
 */
import path from "node:path";
import sharp from "sharp";
import { encode } from "blurhash";
import type { InputHash } from "./hash-inputs.ts";

/** A blurhash of the picture at `file`, or undefined when it cannot be made (videos, odd formats). */
export async function blurhashOf(file: string): Promise<string | undefined> {
  try {
    const { data, info } = await sharp(file, { failOn: "none" })
      .rotate()
      .resize(32, 32, { fit: "inside" })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return encode(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height, 4, 3);
  } catch {
    return undefined;
  }
}

/** For "type:value": the file name (base name) and blurhash of the picture each hash came from. */
export async function localNames(hashes: readonly InputHash[]): Promise<Record<string, { file?: string; blurhash?: string }>> {
  const out: Record<string, { file?: string; blurhash?: string }> = {};
  for (const h of hashes) {
    if (!h.path || h.line !== undefined) continue; // typed hashes and hash lists name no picture
    const entry: { file?: string; blurhash?: string } = { file: path.basename(h.path) };
    if (h.type === "pdq") {
      const b = await blurhashOf(h.path);
      if (b) entry.blurhash = b;
    }
    out[`${h.type}:${h.value}`] = entry;
  }
  return out;
}
