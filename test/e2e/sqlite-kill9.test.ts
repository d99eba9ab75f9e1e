/**
 * kill -9 of a real `hashsafe serve` on a SQLite file while creations are in
 * flight (issue 12, acceptance 4, the SQLite half; pg-processes has the
 * PostgreSQL one). What must hold: every creation answered 201 before the
 * kill is in the file afterwards, readable with its secret through a new
 * server on the same file, once (no partial case, no case twice), and a
 * creation that got no answer is retried with its Idempotency-Key to exactly
 * one case. Run for both ways of syncing (`--sqlite-sync thread`, the
 * default, and `inline`).
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { killAll, spawnServe, type ServeProc } from "./pg-serve.ts";
import { call, CLIENT, randomPdq, readDb, tempDir } from "./server-helpers.ts";

const tmp = tempDir();
const procs: ServeProc[] = [];
afterAll(async () => {
  await killAll(procs);
  tmp.remove();
});

const ARGS = ["--no-rate-limit", "--no-quotas", "--no-web", "--log-level", "warn", "--feed-batch", "0"];

describe.each(["thread", "inline"])("SQLite, --sqlite-sync %s: kill -9 under load", (mode) => {
  test("every 201 answered before the kill is in the file, once; an unanswered creation retried with its key makes one case", async () => {
    const db = path.join(tmp.dir, `kill-${mode}.db`);
    const args = [...ARGS, "--key-file", path.join(tmp.dir, `kill-${mode}.key`), "--sqlite-sync", mode];
    const victim = await spawnServe(db, args);
    procs.push(victim);
    // 12 at a time, like a loaded server; the kill lands after the 40th answer, with about 12 in flight
    const work = Array.from({ length: 200 }, (_, i) => ({ i, key: randomUUID(), value: randomPdq() }));
    const results: { key: string; value: string; status: number; json: any }[] = [];
    let answered = 0;
    let killed = false;
    let next = 0;
    const lane = async () => {
      while (next < work.length && !killed) {
        const w = work[next++];
        const r = await call(victim.url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: w.value }], client: CLIENT }, idem: w.key }).then(
          (x) => ({ status: x.status, json: x.json }),
          () => ({ status: 0, json: undefined }),
        );
        results.push({ key: w.key, value: w.value, ...r });
        if (r.status === 201 && ++answered === 40 && !killed) {
          killed = true;
          victim.child.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: 12 }, lane));
    expect(await victim.exited).toBe(null);
    expect(victim.child.signalCode).toBe("SIGKILL");
    const created = results.filter((r) => r.status === 201);
    const unanswered = results.filter((r) => r.status !== 201);
    expect(created.length).toBeGreaterThanOrEqual(40);
    expect(unanswered.length).toBeGreaterThan(0); // some were in flight when it died
    for (const r of unanswered) expect(r.status).toBe(0); // no other answer than none

    // a new server on the same file: every answered case is there, with its hash, readable with its secret
    const again = await spawnServe(db, args);
    procs.push(again);
    for (const r of created) {
      const got = await call(again.url, "GET", `/v1/cases/${r.json.caseId}`, { auth: `Case ${r.json.caseSecret}` });
      expect(got.status, got.text).toBe(200);
      expect(got.json.hashes.map((h: { value: string }) => h.value)).toEqual([r.value]);
    }
    // the unanswered ones, retried with their keys: one case each, whether or not the first try was committed
    for (const r of unanswered) {
      const retry = await call(again.url, "POST", "/v1/cases", { body: { hashes: [{ type: "pdq", value: r.value }], client: CLIENT }, idem: r.key });
      expect(retry.status, retry.text).toBe(201);
    }
    await killAll([again]);
    const sent = results.map((r) => r.value);
    const rows = readDb<{ value: string; n: number }>(db, "SELECT h.value AS value, count(*) AS n FROM case_hashes ch JOIN hashes h ON h.id = ch.hash_id GROUP BY h.value");
    const byValue = new Map(rows.map((x) => [x.value, x.n]));
    for (const v of sent) expect(byValue.get(v), v).toBe(1);
    expect(readDb<{ n: number }>(db, "SELECT count(*) AS n FROM cases")[0].n).toBe(results.length);
  }, 60_000);
});
