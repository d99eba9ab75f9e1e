import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const FIXTURES = path.join(ROOT, "fixtures");
export const BIN = path.join(ROOT, "bin", "hashsafe.js");
/** The conformance set bundled in the repository (62 images, the reference's hashes). */
export const CONFORMANCE = path.join(FIXTURES, "conformance");
export const conformanceImage = (f: string) => path.join(CONFORMANCE, "images", f);

/** Rows of a TSV file with a header line, as objects. */
export function readTsv(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split("\n");
  const cols = head.split("\t");
  return lines.map((l) => {
    const cells = l.split("\t");
    return Object.fromEntries(cols.map((c, i) => [c, cells[i]]));
  });
}

export function hexDistance(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < a.length; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) {
      x &= x - 1;
      d++;
    }
  }
  return d;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `hashsafe` binary as CI would (CI=true, no terminal). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, CI: "true", ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
