// The WebAssembly row sums: built from the committed .wat, and the same
// hashes as the JavaScript loop.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeImage, hashPixels, type PdqMode } from "../../src/index.ts";
import { referenceBlock, useWasm } from "../../src/pdq/index.ts";
import { PREFIX_WASM_BASE64 } from "../../src/pdq/wasm/prefix-wasm.ts";
import { conformanceImage, FIXTURES, ROOT } from "../helpers.ts";

describe("WebAssembly row sums", () => {
  it("prefix-wasm.ts and exact-wasm.ts are the .wat files compiled (npm run build:wasm after editing one)", async () => {
    const build = await import(path.join(ROOT, "src", "pdq", "wasm", "build.mjs"));
    expect(build.MODULES).toEqual(["prefix", "exact"]);
    for (const name of build.MODULES) {
      const base64 = await build.compileWat(name);
      expect(readFileSync(path.join(ROOT, "src", "pdq", "wasm", `${name}-wasm.ts`), "utf8")).toBe(build.tsSource(name, base64));
    }
    expect(PREFIX_WASM_BASE64.length).toBeGreaterThan(100);
  });

  it("gives the same hashes and qualities as JavaScript, fast and exact paths (RGB, RGBA, grey; both modes)", async () => {
    const files = [
      conformanceImage("j001-photonoise-q75-444.jpg"),
      conformanceImage("j003-photo-3000x2000-q80.jpg"),
      conformanceImage("j008-grey.jpg"),
      conformanceImage("c000-photo-5x5.png"),
      conformanceImage("c001-photo-5x64.png"),
      path.join(FIXTURES, "images", "tower.png"),
      path.join(FIXTURES, "images", "harbour-small.jpg"),
    ];
    try {
      for (const f of files) {
        const img = await decodeImage(f, { orient: false });
        const n = img.width * img.height;
        const rgba = new Uint8Array(n * 4);
        const grey = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          rgba.set([img.data[i * 3], img.data[i * 3 + 1], img.data[i * 3 + 2], 200], i * 4);
          grey[i] = img.data[i * 3 + 1];
        }
        const inputs = [
          img,
          { data: rgba, width: img.width, height: img.height, channels: 4 as const },
          { data: grey, width: img.width, height: img.height, channels: 1 as const },
        ];
        for (const px of inputs) {
          for (const mode of ["full", "squash512"] as PdqMode[]) {
            for (const exact of [false, true]) {
              useWasm(true);
              const a = hashPixels(px, { mode, dihedral: true, exact });
              useWasm(false);
              const b = hashPixels(px, { mode, dihedral: true, exact });
              expect(a, `${f} ${px.channels} channels ${mode}${exact ? " exact" : ""}`).toEqual(b);
            }
          }
        }
      }
    } finally {
      useWasm(true);
    }
  });

  it("the exact 32-bit 64x64 block is bit-identical in WebAssembly and JavaScript, at many sizes", () => {
    let seed = 99;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const sizes = [[5, 5], [15, 182], [300, 300], [100, 257], [257, 100], [1000, 40], [64, 64], [513, 700]];
    try {
      for (const [width, height] of sizes) {
        for (const channels of [1, 3, 4] as const) {
          const data = new Uint8Array(width * height * channels).map(() => 90 + Math.floor(rnd() * 80));
          for (const squash of [false, true]) {
            useWasm(true);
            const a = referenceBlock({ data, width, height, channels }, squash);
            useWasm(false);
            const b = referenceBlock({ data, width, height, channels }, squash);
            expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)), `${width}x${height}x${channels} squash=${squash}`).toBe(true);
          }
        }
      }
    } finally {
      useWasm(true);
    }
  });
});
