/**
 * The server's in-memory view of the active hashes, for lookups: PDQ values in
 * the matching engine's multi-index hashing index (src/match/mih.ts), MD5
 * values by equality. Kept in step with the store (every committed change is
 * applied) and rebuilt from it at start.
 */
import { HashIndex } from "../match/mih.ts";
import type { HashType } from "../protocol/index.ts";
import type { HashChange, Store } from "./store.ts";

/** What the server needs of a PDQ index (the matching engine's `HashIndex` has it). */
export interface PdqIndex {
  add(hash: string, id: number): void;
  remove(id: number): void;
  /** in this thread (the matching engine's `HashIndex`) or in another (`ThreadPdqIndex`) */
  search(hash: string, maxDistance: number): { id: number; distance: number }[] | Promise<{ id: number; distance: number }[]>;
  /** build search structures now rather than at the first search */
  build?(): void;
  /** release what it holds (a worker thread) */
  close?(): Promise<void>;
}

export interface IndexMatch {
  id: string;
  distance: number;
}

export class MatchIndex {
  private readonly pdq: PdqIndex;
  private readonly md5 = new Map<string, number>();
  private readonly publicIds = new Map<number, string>();

  constructor(pdq: PdqIndex = new HashIndex()) {
    this.pdq = pdq;
  }

  /** Number of active hashes held. */
  get size(): number {
    return this.publicIds.size;
  }

  /** Apply committed changes. */
  apply(changes: readonly HashChange[]): void {
    for (const c of changes) {
      if (c.active) this.add(c.rowId, c.id, c.type, c.value);
      else this.remove(c.rowId, c.type, c.value);
    }
  }

  private add(rowId: number, id: string, type: HashType, value: string): void {
    if (this.publicIds.has(rowId)) return;
    this.publicIds.set(rowId, id);
    if (type === "pdq") this.pdq.add(value, rowId);
    else this.md5.set(value, rowId);
  }

  private remove(rowId: number, type: HashType, value: string): void {
    if (!this.publicIds.delete(rowId)) return;
    if (type === "pdq") this.pdq.remove(rowId);
    else this.md5.delete(value);
  }

  /** Active matches of one canonical hash, nearest first (then by id). */
  async search(type: HashType, value: string, maxDistance: number): Promise<IndexMatch[]> {
    if (type === "md5") {
      const rowId = this.md5.get(value);
      return rowId === undefined ? [] : [{ id: this.publicIds.get(rowId)!, distance: 0 }];
    }
    return (await this.pdq.search(value, maxDistance))
      .map((m) => ({ id: this.publicIds.get(m.id)!, distance: m.distance }))
      .filter((m) => m.id !== undefined)
      .sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Release the PDQ index's resources (its worker thread, if it has one). */
  async close(): Promise<void> {
    await this.pdq.close?.();
  }

  /** Load every active hash from the store, a page at a time, yielding to the event loop between pages. */
  async load(store: Store, pageSize = 5000): Promise<void> {
    let after = 0;
    for (;;) {
      const page = await store.activeHashes(after, pageSize);
      for (const h of page) this.add(h.rowId, h.id, h.type, h.value);
      if (page.length < pageSize) {
        this.pdq.build?.();
        return;
      }
      after = page[page.length - 1].rowId;
      await new Promise<void>((r) => setImmediate(r));
    }
  }
}
