// Compiles prefix.wat to prefix-wasm.ts (the module's bytes as base64), so the
// PDQ core needs no build step of its own and no file I/O at run time.
// Run after editing prefix.wat: npm run build:wasm (a test checks they agree).
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import wabtInit from "wabt";

const here = path.dirname(fileURLToPath(import.meta.url));

export async function compileWat() {
  const wabt = await wabtInit();
  const mod = wabt.parseWat("prefix.wat", readFileSync(path.join(here, "prefix.wat"), "utf8"));
  mod.validate();
  const { buffer } = mod.toBinary({});
  mod.destroy();
  return Buffer.from(buffer).toString("base64");
}

export function tsSource(base64) {
  return `// Generated from prefix.wat by build.mjs (npm run build:wasm). Do not edit.\nexport const PREFIX_WASM_BASE64 =\n  "${base64}";\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(path.join(here, "prefix-wasm.ts"), tsSource(await compileWat()));
  console.log("wrote src/pdq/wasm/prefix-wasm.ts");
}
