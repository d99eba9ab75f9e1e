/**
 * Real `hashsafe serve` processes (node bin/hashsafe.js, the built dist/) for
 * the PostgreSQL tests: start one with given options and wait for the URL it
 * prints; its stderr (the JSON log lines) is kept.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { BIN, ROOT } from "../helpers.ts";

export interface ServeProc {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
  alive(): boolean;
}

/** Start `hashsafe serve --db <db> --port 0 --format json <args>`; rejects with its stderr if it exits first. */
export function spawnServe(db: string, args: string[]): Promise<ServeProc> {
  const child = spawn(process.execPath, [BIN, "serve", "--db", db, "--port", "0", "--format", "json", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const alive = () => child.exitCode === null && child.signalCode === null;
  return new Promise<ServeProc>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in 30 s: ${err}`)), 30_000);
    createInterface({ input: child.stdout! }).once("line", (line) => {
      clearTimeout(timer);
      try {
        const { url } = JSON.parse(line) as { url: string };
        resolve({ child, url, stderr: () => err, exited, alive });
      } catch (e) {
        reject(new Error(`serve printed ${line}: ${String(e)} ${err}`));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`serve exited (${code}): ${err}`), { code, stderr: err }));
    });
  });
}

/** SIGKILL whatever still runs, and wait for it. */
export async function killAll(procs: ServeProc[]): Promise<void> {
  for (const p of procs) if (p.alive()) p.child.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exited));
}
