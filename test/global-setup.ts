// Builds dist/ once before the tests, so CLI tests run the real bin/hashsafe.js.
import { execFileSync } from "node:child_process";
import { ROOT } from "./helpers.ts";

export default function setup(): void {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
}
