/**
 * A PDQ index in a worker thread (`hashsafe serve --index-thread`): lookups
 * search off the request thread, so HTTP and the index's memory-bound bucket
 * reads run on two cores at once, and the request thread's caches stay its
 * own. Same answers as the in-thread `HashIndex` (the worker runs one).
 *
 * Adds are buffered and sent in batches; every message goes through one
 * port, in order, so a search sees every add and remove made before it (the
 * feed's "lookups follow the feed" holds). If the worker fails or stops,
 * every waiting and later search rejects (a lookup then answers 500): a
 * wrong "no match" is never given.
 *
 * Needs the built package (dist/server/pdq-worker.js beside this code).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { PdqIndex } from "./match-index.ts";
import type { PdqWorkerIn, PdqWorkerOut } from "./pdq-worker.ts";

const ADD_BATCH = 20_000;

/** Where the bundled worker is, from the chunk this code was bundled into (dist/ or dist/server/). */
function workerFile(): URL {
  for (const rel of ["./pdq-worker.js", "./server/pdq-worker.js"]) {
    const u = new URL(rel, import.meta.url);
    if (u.protocol === "file:" && existsSync(fileURLToPath(u))) return u;
  }
  throw new Error("the index thread needs the built package (dist/server/pdq-worker.js was not found); run `npm run build`");
}

export class ThreadPdqIndex implements PdqIndex {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (hits: { id: number; distance: number }[]) => void; reject: (err: Error) => void }>();
  private seq = 0;
  private addHashes: string[] = [];
  private addIds: number[] = [];
  private failure: Error | null = null;

  constructor() {
    this.worker = new Worker(workerFile());
    this.worker.unref();
    this.worker.on("message", (m: PdqWorkerOut) => {
      if (m.t === "hits") {
        const w = this.waiting.get(m.seq);
        if (!w) return;
        this.waiting.delete(m.seq);
        const hits = new Array<{ id: number; distance: number }>(m.ids.length);
        for (let i = 0; i < m.ids.length; i++) hits[i] = { id: m.ids[i], distance: m.dist[i] };
        w.resolve(hits);
      } else {
        this.fail(new Error(`match index thread: ${m.message}`));
      }
    });
    this.worker.on("error", (err) => this.fail(new Error(`match index thread failed: ${err.message}`)));
    this.worker.on("exit", (code) => this.fail(new Error(`match index thread stopped (exit code ${code})`)));
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    for (const w of this.waiting.values()) w.reject(this.failure);
    this.waiting.clear();
  }

  private post(m: PdqWorkerIn): void {
    this.worker.postMessage(m);
  }

  private flush(): void {
    if (this.addIds.length === 0) return;
    this.post({ t: "add", hashes: this.addHashes, ids: this.addIds });
    this.addHashes = [];
    this.addIds = [];
  }

  add(hash: string, id: number): void {
    this.addHashes.push(hash);
    this.addIds.push(id);
    if (this.addIds.length >= ADD_BATCH) this.flush();
  }

  remove(id: number): void {
    this.flush();
    this.post({ t: "remove", ids: [id] });
  }

  build(): void {
    this.flush();
    this.post({ t: "build" });
  }

  search(hash: string, maxDistance: number): Promise<{ id: number; distance: number }[]> {
    if (this.failure) return Promise.reject(this.failure);
    this.flush();
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.post({ t: "search", seq, hash, d: maxDistance });
    });
  }

  /** Stop the worker (waiting searches reject). */
  async close(): Promise<void> {
    this.failure ??= new Error("match index thread closed");
    await this.worker.terminate();
  }
}
