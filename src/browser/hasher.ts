/**
 * A pool of hashing workers for a page: `hash(file)` sends the bytes to a
 * worker (transferred, not copied) and resolves with its result. Files are
 * read here, on the page, and only their bytes go to the worker; nothing
 * leaves the device.
 */
import type { BrowserHashFailure, BrowserHashOptions, BrowserHashResult } from "./hash.ts";
import type { WorkerRequest, WorkerResponse } from "./worker.ts";

export interface HasherOptions {
  /** Where the worker script is (default: worker.js beside this module). */
  workerUrl?: string | URL;
  /** Workers in the pool (default: the cores, 1..4). */
  workers?: number;
}

/** A file that could not be hashed: the code says why (the CLI's codes). */
export class BrowserHashError extends Error {
  readonly code: string;
  constructor(f: BrowserHashFailure) {
    super(f.message);
    this.name = "BrowserHashError";
    this.code = f.code;
  }
}

interface Slot {
  worker: Worker;
  busy: number;
}

export class Hasher {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, { resolve(r: BrowserHashResult): void; reject(e: Error): void; slot: Slot }>();
  private nextId = 1;

  constructor(options: HasherOptions = {}) {
    const url = options.workerUrl ?? new URL("./worker.js", import.meta.url);
    const cores = typeof navigator !== "undefined" ? navigator.hardwareConcurrency || 2 : 2;
    const n = Math.max(1, Math.min(4, options.workers ?? cores));
    for (let i = 0; i < n; i++) {
      const worker = new Worker(url, { type: "module", name: `hashsafe-hash-${i}` });
      const slot: Slot = { worker, busy: 0 };
      worker.onmessage = (ev: MessageEvent<WorkerResponse>) => this.settle(ev.data);
      worker.onerror = (ev) => this.failAll(slot, ev.message || "the hashing worker stopped");
      this.slots.push(slot);
    }
  }

  /** How many workers the pool has: a caller that queues its own pictures keeps this many in flight. */
  get size(): number {
    return this.slots.length;
  }

  /** Hash one picture (a File, Blob or bytes). Rejects with {@link BrowserHashError}. */
  async hash(input: Blob | ArrayBuffer | Uint8Array, options: BrowserHashOptions = {}): Promise<BrowserHashResult> {
    let bytes: ArrayBuffer;
    if (input instanceof Blob) bytes = await input.arrayBuffer();
    else if (input instanceof Uint8Array) bytes = input.slice().buffer as ArrayBuffer;
    else bytes = input.slice(0);
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    slot.busy++;
    return new Promise<BrowserHashResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, slot });
      const msg: WorkerRequest = { id, bytes, options };
      slot.worker.postMessage(msg, [bytes]);
    });
  }

  /** Stop the workers (pending hashes are rejected). */
  close(): void {
    for (const s of this.slots) {
      s.worker.terminate();
      this.failAll(s, "the hasher was closed");
    }
  }

  private settle(r: WorkerResponse): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    p.slot.busy--;
    if (r.ok) p.resolve(r.result);
    else p.reject(new BrowserHashError(r.error));
  }

  private failAll(slot: Slot, message: string): void {
    for (const [id, p] of this.pending) {
      if (p.slot !== slot) continue;
      this.pending.delete(id);
      p.reject(new BrowserHashError({ code: "CORRUPT", message }));
    }
    slot.busy = 0;
  }
}
