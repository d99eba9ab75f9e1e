/**
 * A linear-scan PDQ index with the interface of the matching engine's
 * `HashIndex` (src/match): correct for any size, fast enough for small ones.
 * The server uses it only until the multi-index hashing index is available.
 */

/** What the server needs of a PDQ index. */
export interface PdqIndex {
  add(hash: string, id: number): void;
  remove(id: number): void;
  search(hash: string, maxDistance: number): { id: number; distance: number }[];
}

function words(hex: string): Uint32Array {
  const w = new Uint32Array(8);
  for (let i = 0; i < 8; i++) w[i] = parseInt(hex.slice(i * 8, i * 8 + 8), 16) >>> 0;
  return w;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export class LinearIndex implements PdqIndex {
  private ids: number[] = [];
  private data = new Uint32Array(8 * 1024);
  private slot = new Map<number, number>();

  get size(): number {
    return this.ids.length;
  }

  add(hash: string, id: number): void {
    if (this.slot.has(id)) this.remove(id);
    const n = this.ids.length;
    if ((n + 1) * 8 > this.data.length) {
      const bigger = new Uint32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data.set(words(hash), n * 8);
    this.ids.push(id);
    this.slot.set(id, n);
  }

  remove(id: number): void {
    const at = this.slot.get(id);
    if (at === undefined) return;
    const last = this.ids.length - 1;
    if (at !== last) {
      this.data.copyWithin(at * 8, last * 8, last * 8 + 8);
      const moved = this.ids[last];
      this.ids[at] = moved;
      this.slot.set(moved, at);
    }
    this.ids.pop();
    this.slot.delete(id);
  }

  search(hash: string, maxDistance: number): { id: number; distance: number }[] {
    const q = words(hash);
    const out: { id: number; distance: number }[] = [];
    const d = this.data;
    for (let i = 0, n = this.ids.length; i < n; i++) {
      const o = i * 8;
      let dist = 0;
      for (let k = 0; k < 8 && dist <= maxDistance; k++) dist += popcount((d[o + k] ^ q[k]) >>> 0);
      if (dist <= maxDistance) out.push({ id: this.ids[i], distance: dist });
    }
    return out;
  }
}
