// Robust matching (acceptance 3): dihedral variants find rotated and mirrored
// copies; border trimming finds letterboxed, pillarboxed and framed copies.
// The turned and bordered copies are made here with sharp from the project's own pictures.
import path from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import sharp, { type Sharp } from "sharp";
import { afterAll, beforeAll } from "vitest";
import { conformanceImage, FIXTURES } from "../helpers.ts";
import { robustMatchingSuite } from "../suites/robust.ts";

// The project's own pictures, turned and mirrored by sharp (the reference
// suite runs the same checks on the upstream bridge images).
const dir = mkdtempSync(path.join(tmpdir(), "hashsafe-robust-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SOURCES: Record<string, string> = {
  "original.jpg": path.join(FIXTURES, "images", "harbour.jpg"),
  "tower.png": path.join(FIXTURES, "images", "tower.png"),
  "meadow.webp": path.join(FIXTURES, "images", "meadow.webp"),
  "photo.png": conformanceImage("c017-photo-640x480.png"),
};
const img = (f: string) => SOURCES[f] ?? path.join(dir, f);
const TURNS: Record<string, (s: Sharp) => Sharp> = {
  "bridge-1-original.jpg": (s) => s,
  "bridge-2-rotate-90.jpg": (s) => s.rotate(90),
  "bridge-3-rotate-180.jpg": (s) => s.rotate(180),
  "bridge-4-rotate-270.jpg": (s) => s.rotate(270),
  "bridge-5-flipx.jpg": (s) => s.flip(),
  "bridge-6-flipy.jpg": (s) => s.flop(),
  "bridge-7-flip-plus-1.jpg": (s) => s.rotate(90).flop(),
  "bridge-8-flip-minus-1.jpg": (s) => s.rotate(90).flip(),
};
beforeAll(async () => {
  for (const [name, turn] of Object.entries(TURNS)) {
    await turn(sharp(SOURCES["original.jpg"])).jpeg({ quality: 90 }).toFile(path.join(dir, name));
  }
  for (const [name, src] of [["q0122.jpg", "tower.png"], ["q1050.jpg", "meadow.webp"], ["q2821.jpg", "photo.png"]]) {
    await sharp(SOURCES[src]).resize(256, 256, { fit: "fill" }).jpeg({ quality: 90 }).toFile(path.join(dir, name));
  }
});
robustMatchingSuite({
  img,
  bordered: ["original.jpg", "tower.png", "q1050.jpg", "photo.png"],
  borderless: ["original.jpg", "q0122.jpg", "q2821.jpg", "meadow.webp"],
  exactDiagonals: false,
});
