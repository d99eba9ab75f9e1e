// The JPEG header reader against libvips on the upstream reference JPEGs and
// 20 corpus photos (the unit tier checks the project's own JPEGs).
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readJpegHead } from "../../src/image/jpeg-head.ts";
import { readTsv } from "../helpers.ts";
import { agreesWithLibvips } from "../suites/jpeg-head.ts";
import { CORPUS, REF } from "./shared.ts";

const refImages = readTsv(readFileSync(path.join(REF, "images.tsv"), "utf8"));
const jpegs = [
  ...refImages.filter((r) => r.fmt === "JPEG").map((r) => path.join(REF, "images", r.file)),
  ...readdirSync(CORPUS)
    .filter((f) => f.endsWith(".jpg"))
    .slice(0, 20)
    .map((f) => path.join(CORPUS, f)),
];

describe("readJpegHead", () => {
  agreesWithLibvips(jpegs);

  it("reads the orientation of the exif-rotn photos (1, 3, 6, 8)", () => {
    const rot = refImages.filter((r) => r.file.startsWith("exif-rotn"));
    expect(rot.length).toBe(4);
    for (const r of rot) {
      const head = readJpegHead(readFileSync(path.join(REF, "images", r.file)));
      expect(head?.orientation).toBe(Number(r.exif_orientation));
    }
  });

});
