// Robust matching (acceptance 3): dihedral variants find rotated and mirrored
// copies; border trimming finds letterboxed, pillarboxed and framed copies.
// The bordered copies are made here with sharp, in memory, from the reference images.
import path from "node:path";
import { robustMatchingSuite } from "../suites/robust.ts";
import { REF } from "./shared.ts";

const img = (f: string) => path.join(REF, "images", f);
robustMatchingSuite({
  img,
  bordered: ["original.jpg", "pen-and-coaster.png", "q1050.jpg", "c.png"],
  borderless: ["original.jpg", "q0746.jpg", "q2821.jpg", "exif-rotn-1.jpg"],
  exactDiagonals: true,
});
