/**
 * The worker thread behind {@link ThreadPdqIndex} (./pdq-thread.ts): it owns
 * a `HashIndex` and answers its messages in the order they come (one port,
 * so an add or remove posted before a search is seen by that search).
 *
 *   in:  {t: "add", hashes, ids} | {t: "remove", ids} | {t: "build"} | {t: "search", seq, hash, d}
 *   out: {t: "hits", seq, ids, dist} | {t: "error", seq, message}
 *
 * Bundled as its own entry (dist/server/pdq-worker.js); it imports only the
 * matching engine.
 */
import { parentPort } from "node:worker_threads";
import { HashIndex } from "../match/mih.ts";

export type PdqWorkerIn =
  | { t: "add"; hashes: string[]; ids: number[] }
  | { t: "remove"; ids: number[] }
  | { t: "build" }
  | { t: "search"; seq: number; hash: string; d: number };

export type PdqWorkerOut = { t: "hits"; seq: number; ids: number[]; dist: number[] } | { t: "error"; seq: number; message: string };

if (parentPort) {
  const port = parentPort;
  const index = new HashIndex();
  port.on("message", (m: PdqWorkerIn) => {
    try {
      if (m.t === "add") for (let i = 0; i < m.ids.length; i++) index.add(m.hashes[i], m.ids[i]);
      else if (m.t === "remove") for (const id of m.ids) index.remove(id);
      else if (m.t === "build") index.build();
      else {
        const hits = index.search(m.hash, m.d);
        const out: PdqWorkerOut = { t: "hits", seq: m.seq, ids: hits.map((h) => h.id), dist: hits.map((h) => h.distance) };
        port.postMessage(out);
      }
    } catch (err) {
      // an add or remove that fails is reported with the next search's answer (seq 0: to whoever waits first)
      port.postMessage({ t: "error", seq: m.t === "search" ? m.seq : 0, message: err instanceof Error ? err.message : String(err) } satisfies PdqWorkerOut);
    }
  });
}
