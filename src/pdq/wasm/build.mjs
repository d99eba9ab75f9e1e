// Compiles the .wat modules here to <name>-wasm.ts (the bytes as base64), so
// the PDQ core needs no build step of its own and no file I/O at run time.
// Run after editing a .wat: npm run build:wasm (a test checks they agree).
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import wabtInit from "wabt";

const here = path.dirname(fileURLToPath(import.meta.url));
export const MODULES = ["prefix", "exact"];

export async function compileWat(name) {
  const wabt = await wabtInit();
  const mod = wabt.parseWat(`${name}.wat`, readFileSync(path.join(here, `${name}.wat`), "utf8"));
  mod.validate();
  const { buffer } = mod.toBinary({});
  mod.destroy();
  return Buffer.from(buffer).toString("base64");
}

export function tsSource(name, base64) {
  return `// Generated from ${name}.wat by build.mjs (npm run build:wasm). Do not edit.\nexport const ${name.toUpperCase()}_WASM_BASE64 =\n  "${base64}";\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const name of MODULES) {
    writeFileSync(path.join(here, `${name}-wasm.ts`), tsSource(name, await compileWat(name)));
    console.log(`wrote src/pdq/wasm/${name}-wasm.ts`);
  }
}
