/**
 * A throwaway PostgreSQL cluster for the tests: `initdb` in a temporary
 * folder, `pg_ctl start` with its unix socket in that folder and TCP on a
 * free loopback port, trust authentication, fsync off (the tests kill
 * processes, never the machine). Removed again by `stop()`.
 *
 * PostgreSQL refuses to run as root: as root (CI runs .ci/run as root) the
 * cluster runs as the `postgres` user the Debian package makes, else as
 * `nobody`, through `runuser`. The binaries are looked for in $PG_BIN, then
 * /usr/lib/postgresql/<version>/bin (newest first), then $PATH; without them
 * `startPg` throws, naming `apt-get install postgresql` (the tests fail,
 * they do not skip).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";

export interface PgCluster {
  /** superuser URL of the `postgres` database (TCP, loopback) */
  url: string;
  port: number;
  /** the folder holding the data directory and the unix socket */
  dir: string;
  socketDir: string;
  /** A new empty database; answers its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stop the server (fast shutdown) or, with `immediate`, as if it crashed; the data stays. */
  stopServer(immediate?: boolean): void;
  /** Start it again on the same port. */
  startServer(): void;
  /** Stop the server and remove everything. */
  stop(): void;
}

/** The folder of the PostgreSQL server binaries, or throws saying how to install them. */
export function pgBinDir(): string {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    for (const v of readdirSync(base).sort((a, b) => Number(b) - Number(a))) candidates.push(path.join(base, v, "bin"));
  }
  for (const d of (process.env.PATH ?? "").split(path.delimiter)) if (d) candidates.push(d);
  for (const d of candidates) if (existsSync(path.join(d, "initdb")) && existsSync(path.join(d, "pg_ctl"))) return d;
  throw new Error(
    "PostgreSQL's server binaries (initdb, pg_ctl) were not found in $PG_BIN, /usr/lib/postgresql/*/bin or $PATH: " +
      "the PostgreSQL store tests need them. Install them with `apt-get install postgresql` (Debian; .ci/run does this from .ci/apt-packages.txt)",
  );
}

/** The user to run the cluster as, when we are root; null when we are not. */
function runAs(): string | null {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return null;
  for (const user of ["postgres", "nobody"]) {
    if (spawnSync("id", ["-u", user]).status === 0) return user;
  }
  throw new Error("running as root, and neither the user postgres nor nobody exists to run PostgreSQL as (useradd one)");
}

function userIds(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
  return { uid, gid };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Start a throwaway cluster. */
export async function startPg(): Promise<PgCluster> {
  const bin = pgBinDir();
  const user = runAs();
  const dir = mkdtempSync(path.join(os.tmpdir(), "hashsafe-pg-"));
  const data = path.join(dir, "data");
  const socketDir = path.join(dir, "sock");
  const log = path.join(dir, "server.log");
  const as = (cmd: string, args: string[]) =>
    user ? execFileSync("runuser", ["-u", user, "--", path.join(bin, cmd), ...args], { stdio: "pipe" }) : execFileSync(path.join(bin, cmd), args, { stdio: "pipe" });
  if (user) {
    const { uid, gid } = userIds(user);
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  try {
    as("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]);
    execFileSync(user ? "runuser" : "mkdir", user ? ["-u", user, "--", "mkdir", socketDir] : [socketDir]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
  }
  let port = await freePort();
  const startServer = () => {
    const opts = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB`;
    try {
      as("pg_ctl", ["-D", data, "-l", log, "-o", opts, "-w", "-t", "60", "start"]);
    } catch (err) {
      throw new Error(`pg_ctl start failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
    }
  };
  const stopServer = (immediate = false) => {
    try {
      as("pg_ctl", ["-D", data, "-m", immediate ? "immediate" : "fast", "-w", "stop"]);
    } catch {
      // not running
    }
  };
  try {
    startServer();
  } catch (err) {
    // the port may have been taken between freePort and start: one more try
    port = await freePort();
    try {
      startServer();
    } catch {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let n = 0;
  return {
    url,
    port,
    dir,
    socketDir,
    async createDatabase(name = `hs_${process.pid}_${++n}_${Math.random().toString(36).slice(2, 8)}`) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name}"`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stopServer,
    startServer,
    stop() {
      stopServer(true);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One query on a fresh connection to `url`: its rows. */
export async function sqlAt<T>(url: string, q: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(q, params)).rows as T[];
  } finally {
    await c.end();
  }
}
