// The JPEG header reader against libvips, on any list of JPEGs: shared by the
// unit tier (the project's own JPEGs) and the reference suite (upstream ones).
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { expect, it } from "vitest";
import { readJpegHead } from "../../src/image/jpeg-head.ts";

export function agreesWithLibvips(jpegs: string[]): void {
  it("agrees with libvips on size and orientation for every JPEG it reads", async () => {
    let read = 0;
    for (const file of jpegs) {
      const bytes = readFileSync(file);
      const head = readJpegHead(bytes);
      const meta = await sharp(bytes).metadata();
      if (head === null) continue;
      read++;
      expect({ file, width: head.width, height: head.height, orientation: head.orientation }).toEqual({
        file,
        width: meta.width,
        height: meta.height,
        orientation: meta.orientation ?? 1,
      });
      expect(head.components === 4).toBe(meta.space === "cmyk");
    }
    // Plain JPEGs are read, not left to libvips.
    expect(read).toBe(jpegs.length);
  });
}
