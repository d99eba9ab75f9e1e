// The fast path alone (fallback forbidden) against the exact 32-bit path on
// the upstream reference images and 30 corpus photos, both modes; and the
// default path, which must equal the exact path everywhere.
import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/node.ts";
import { computePdq, type PdqMode } from "../../src/pdq/index.ts";
import { CORPUS, REF } from "./shared.ts";

describe("fast path == exact 32-bit path on upstream images and corpus photos", () => {
  const files = [
    ...readdirSync(path.join(REF, "images")).map((f) => path.join(REF, "images", f)),
    ...readdirSync(CORPUS).filter((f) => f.endsWith(".jpg")).slice(0, 30).map((f) => path.join(CORPUS, f)),
  ];

  it("both modes, all 8 dihedral hashes and quality; fallbacks counted", async () => {
    let kept = 0;
    let total = 0;
    for (const file of files) {
      const px = await decodeImage(file, { orient: false });
      for (const mode of ["full", "squash512"] as PdqMode[]) {
        const key = (p: "auto" | "fast" | "exact") => {
          const r = computePdq(px, { mode, dihedral: true, path: p });
          return { path: r.path, bits: [r.result.quality, r.result.dihedral] };
        };
        const exact = key("exact").bits;
        const auto = key("auto");
        expect(auto.bits, `${path.basename(file)} ${mode} default`).toEqual(exact);
        total++;
        if (auto.path === "fast") {
          kept++;
          expect(key("fast").bits, `${path.basename(file)} ${mode} fast alone`).toEqual(exact);
        }
      }
    }
    console.log(`fast path kept on ${kept} of ${total} (image, mode) pairs`);
    expect(kept / total).toBeGreaterThan(0.6);
  }, 300_000);
});
