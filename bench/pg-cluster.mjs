// A throwaway PostgreSQL cluster for the benches (plain JavaScript, so that
// `node bench/server.mjs` needs no TypeScript loader): `initdb` in a temporary
// folder, `pg_ctl start` with its unix socket in that folder and TCP on a free
// loopback port, trust authentication. Unlike the tests' cluster
// (test/e2e/pg-support.ts) it keeps fsync on by default: the bench compares
// durable writes.
//
// PostgreSQL refuses to run as root: as root the cluster runs as the
// `postgres` user the Debian package makes (else `nobody`), through runuser.
// `stop()` is synchronous, so it can run from an exit or signal handler.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";

/** The folder of the PostgreSQL server binaries ($PG_BIN, /usr/lib/postgresql/<newest>/bin, $PATH), or throws. */
export function pgBinDir() {
  const candidates = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    for (const v of readdirSync(base).sort((a, b) => Number(b) - Number(a))) candidates.push(path.join(base, v, "bin"));
  }
  for (const d of (process.env.PATH ?? "").split(path.delimiter)) if (d) candidates.push(d);
  for (const d of candidates) if (existsSync(path.join(d, "initdb")) && existsSync(path.join(d, "pg_ctl"))) return d;
  throw new Error("PostgreSQL's server binaries (initdb, pg_ctl) were not found in $PG_BIN, /usr/lib/postgresql/*/bin or $PATH (Debian: apt-get install postgresql)");
}

function runAs() {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return null;
  for (const user of ["postgres", "nobody"]) if (spawnSync("id", ["-u", user]).status === 0) return user;
  throw new Error("running as root, and neither the user postgres nor nobody exists to run PostgreSQL as");
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Start a cluster. Options: `fsync` (default true), `settings` (extra `-c`
 * name=value pairs). Answers { url, port, dir, version, conf, stop(), pids(), cpuS() }.
 */
export async function startPgCluster({ fsync = true, settings = {} } = {}) {
  const bin = pgBinDir();
  const user = runAs();
  const dir = mkdtempSync(path.join(os.tmpdir(), "hashsafe-bench-pg-"));
  const data = path.join(dir, "data");
  const sock = path.join(dir, "sock");
  const log = path.join(dir, "server.log");
  const as = (cmd, args) =>
    user
      ? execFileSync("runuser", ["-u", user, "--", path.join(bin, cmd), ...args], { stdio: "pipe" })
      : execFileSync(path.join(bin, cmd), args, { stdio: "pipe" });
  let started = false;
  const stop = () => {
    if (started) {
      try {
        as("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } catch {
        // not running
      }
      started = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (user) {
      const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
      chownSync(dir, uid, gid);
    }
    chmodSync(dir, 0o700);
    as("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]);
    if (user) execFileSync("runuser", ["-u", user, "--", "mkdir", sock]);
    else execFileSync("mkdir", [sock]);
    const conf = {
      listen_addresses: "127.0.0.1",
      fsync: fsync ? "on" : "off",
      max_connections: "200",
      shared_buffers: "128MB",
      ...settings,
    };
    const opts = (port) => [`-p ${port}`, `-k ${sock}`, ...Object.entries(conf).map(([k, v]) => `-c ${k}=${v}`)].join(" ");
    let port = await freePort();
    try {
      as("pg_ctl", ["-D", data, "-l", log, "-o", opts(port), "-w", "-t", "60", "start"]);
    } catch {
      port = await freePort(); // the port may have been taken meanwhile: one more try
      as("pg_ctl", ["-D", data, "-l", log, "-o", opts(port), "-w", "-t", "60", "start"]);
    }
    started = true;
    const version = execFileSync(path.join(bin, "postgres"), ["--version"], { encoding: "utf8" }).trim();
    /** the postmaster and its children (backends, walwriter, ...), to read their CPU time */
    const pids = () => {
      let master;
      try {
        master = Number(readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
      } catch {
        return [];
      }
      const out = [master];
      for (const e of readdirSync("/proc")) {
        if (!/^\d+$/.test(e)) continue;
        try {
          const st = readFileSync(`/proc/${e}/stat`, "utf8");
          if (Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]) === master) out.push(Number(e));
        } catch {
          // gone
        }
      }
      return out;
    };
    /**
     * CPU seconds the cluster has used so far: the live children's own time plus the postmaster's own
     * and its reaped children's (so a backend that exits during a measurement still counts).
     */
    const cpuS = () => {
      const all = pids();
      let sum = 0;
      all.forEach((pid, i) => {
        try {
          const st = readFileSync(`/proc/${pid}/stat`, "utf8");
          const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
          sum += Number(f[11]) + Number(f[12]) + (i === 0 ? Number(f[13]) + Number(f[14]) : 0);
        } catch {
          // gone: its time is in the postmaster's reaped-children time by now, or soon
        }
      });
      return sum / 100;
    };
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, dir, version, conf, stop, pids, cpuS };
  } catch (err) {
    stop();
    throw new Error(`starting PostgreSQL failed: ${String(err?.stderr ?? err)}`);
  }
}
