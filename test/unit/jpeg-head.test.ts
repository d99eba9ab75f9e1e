// The JPEG header reader that spares a libvips header pass: whatever it
// returns must agree with libvips, and anything unusual must give null.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { readJpegHead } from "../../src/image/jpeg-head.ts";
import { CONFORMANCE, FIXTURES } from "../helpers.ts";
import { agreesWithLibvips } from "../suites/jpeg-head.ts";

// The project's own JPEGs: the conformance set's 9 (4:2:0, 4:4:4, progressive,
// grey, 6 MP, qualities 60-95) and the fixtures'.
const jpegs = [
  ...readdirSync(path.join(CONFORMANCE, "images"))
    .filter((f) => f.endsWith(".jpg"))
    .map((f) => path.join(CONFORMANCE, "images", f)),
  path.join(FIXTURES, "images", "harbour.jpg"),
  path.join(FIXTURES, "images", "harbour-small.jpg"),
];

describe("readJpegHead", () => {
  agreesWithLibvips(jpegs);

  it("reads the orientation a camera writes (1, 3, 6, 8), as libvips does", async () => {
    const photo = readFileSync(path.join(FIXTURES, "images", "harbour-small.jpg"));
    for (const orientation of [1, 3, 6, 8]) {
      const jpeg = await sharp(photo).withMetadata({ orientation }).jpeg({ quality: 90 }).toBuffer();
      expect(readJpegHead(jpeg)?.orientation).toBe(orientation);
      expect((await sharp(jpeg).metadata()).orientation ?? 1).toBe(orientation);
    }
  });

  it("reads orientation written in either byte order", async () => {
    const pixels = { create: { width: 40, height: 30, channels: 3 as const, background: "#808080" } };
    for (const orientation of [2, 5, 7]) {
      const jpeg = await sharp(pixels).withMetadata({ orientation }).jpeg().toBuffer();
      expect(readJpegHead(jpeg)).toEqual({ width: 40, height: 30, components: 3, orientation });
      // The same EXIF turned big-endian by hand: "II" -> "MM" and every number swapped.
      const be = toBigEndianExif(jpeg);
      expect(be).not.toBeNull();
      expect(be!.toString("latin1").includes("Exif\0\0MM")).toBe(true);
      expect(readJpegHead(be!)?.orientation).toBe(orientation);
      expect((await sharp(be!).metadata()).orientation).toBe(orientation);
    }
  });

  it("gives up (null) on damaged or unusual headers instead of guessing", async () => {
    const good = readFileSync(path.join(FIXTURES, "images", "harbour.jpg"));
    expect(readJpegHead(good)).not.toBeNull();
    expect(readJpegHead(new Uint8Array(0))).toBeNull();
    expect(readJpegHead(good.subarray(0, 3))).toBeNull();
    expect(readJpegHead(good.subarray(0, 40))).toBeNull(); // cut before the frame header
    expect(readJpegHead(Buffer.from("not a jpeg at all"))).toBeNull();
    const noFrame = Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0xff, 0xd9]);
    expect(readJpegHead(noFrame)).toBeNull();
    const badLength = Buffer.from(good);
    badLength[4] = 0xff; // first segment claims ~65 KB
    badLength[5] = 0xff;
    expect(readJpegHead(badLength.subarray(0, 2000))).toBeNull();
    // A JPEG cut short after its header: the header is still read (decoding then fails).
    expect(readJpegHead(readFileSync(path.join(FIXTURES, "bad", "damaged.jpg")))).toEqual({
      width: 640,
      height: 480,
      components: 3,
      orientation: 1,
    });
  });
});

/** Rewrites a JPEG's little-endian EXIF block (IFD0 only) as big-endian; null when there is none. */
function toBigEndianExif(jpeg: Buffer): Buffer | null {
  const out = Buffer.from(jpeg);
  let pos = 2;
  while (pos + 4 <= out.length && out[pos] === 0xff) {
    const marker = out[pos + 1];
    const len = out.readUInt16BE(pos + 2);
    if (marker === 0xe1 && out.toString("latin1", pos + 4, pos + 8) === "Exif") {
      const t = pos + 10;
      if (out.toString("latin1", t, t + 2) !== "II") return null;
      out.write("MM", t, "latin1");
      out.writeUInt16BE(42, t + 2);
      const ifdOff = jpeg.readUInt32LE(t + 4);
      out.writeUInt32BE(ifdOff, t + 4);
      const ifd = t + ifdOff;
      const count = jpeg.readUInt16LE(ifd);
      out.writeUInt16BE(count, ifd);
      for (let i = 0; i < count; i++) {
        const e = ifd + 2 + i * 12;
        const tag = jpeg.readUInt16LE(e);
        const type = jpeg.readUInt16LE(e + 2);
        out.writeUInt16BE(tag, e);
        out.writeUInt16BE(type, e + 2);
        out.writeUInt32BE(jpeg.readUInt32LE(e + 4), e + 4);
        if (type === 3) {
          out.writeUInt16BE(jpeg.readUInt16LE(e + 8), e + 8);
          out.writeUInt16BE(0, e + 10);
        } else {
          out.writeUInt32BE(jpeg.readUInt32LE(e + 8), e + 8);
        }
      }
      return out;
    }
    pos += 2 + len;
  }
  return null;
}
