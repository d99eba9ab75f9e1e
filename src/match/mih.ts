/**
 * HashIndex: exact Hamming-radius search over PDQ hashes by multi-index
 * hashing (MIH), in flat typed arrays.
 *
 * The 256 bits are cut into 16 slots of 16 bits. By pigeonhole, a hash within
 * distance d of the query agrees with it to within r = floor(d / 16) bits in at
 * least one slot, so a search probes, in every slot, each slot value within r
 * bits of the query's and verifies what it finds: the result is exactly a
 * linear scan's.
 *
 * Layout (n hashes in the built part):
 * - rows: n x 8 words (the hashes), ids: n x uint32, alive: n bytes;
 * - per slot, CSR buckets over the 65536 slot values: offsets (65537 uint32)
 *   and postings of 8 uint16 each: 6 "filter" slots of the hash (the 6 slots
 *   after this one, 96 bits) and the row number. The filter is a lower bound of
 *   the distance read from the posting itself, so almost every candidate is
 *   rejected without a random access to the rows; random reads of a 32 MB
 *   array cost ~100 ns on the target machine, and they dominate otherwise.
 * - hashes added after the last build sit in a pending tail that searches scan
 *   linearly; the postings are rebuilt (and removed rows dropped) when that
 *   tail or the removed share grows, or on {@link HashIndex.build}.
 * Where the probing would cost more than a scan (large distances, small
 * indexes) a search scans linearly instead.
 *
 * This module imports nothing from Node, so a browser or a worker can build,
 * search and load an index (`HashIndex.deserialize` of the bytes of a file);
 * reading and writing files is in ./mih-file.ts.
 */
import { type Crc32, crc32 as jsCrc32 } from "./crc32.ts";
import { formatHash, HASH_WORDS, type Hash256, HashFormatError, parseHash, POP16, popcount32, toHash } from "./hash256.ts";

export interface SearchHit {
  id: number;
  distance: number;
}

const SLOTS = 16;
const SLOT_VALUES = 65536;
const OFF_PER_SLOT = SLOT_VALUES + 1;
const FILTER_SLOTS = 6;
const STRIDE = FILTER_SLOTS + 2;
const MAX_ID = 0xffffffff;
/** Below this many hashes the index does not build postings: a scan is as fast. */
const MIN_BUILD = 1024;
/** Rows looked up by id with a plain scan before the ids get a sorted copy. */
const UNSORTED_SCAN = 4096;

/** 16-bit masks with at most r bits set, by r (0..3), fewest bits first. */
const MASKS: Uint16Array[] = (() => {
  const byBits: number[][] = [[], [], [], []];
  for (let m = 0; m < SLOT_VALUES; m++) {
    const b = POP16[m];
    if (b <= 3) byBits[b].push(m);
  }
  const out: Uint16Array[] = [];
  const acc: number[] = [];
  for (let r = 0; r <= 3; r++) {
    acc.push(...byBits[r]);
    out.push(Uint16Array.from(acc));
  }
  return out;
})();
const MAX_PROBE_RADIUS = MASKS.length - 1;

/** P(Binomial(96, 1/2) <= k): the share of random candidates the 96-bit filter lets through. */
const FILTER_PASS: Float64Array = (() => {
  const n = FILTER_SLOTS * 16;
  const t = new Float64Array(n + 1);
  let c = 1; // C(n, k)
  let acc = 0;
  for (let k = 0; k <= n; k++) {
    acc += c / 2 ** n;
    t[k] = Math.min(1, acc);
    c = (c * (n - k)) / (k + 1);
  }
  return t;
})();

/** Costs in arbitrary units (about ns on the target machine) for the search planner. */
const COST = { probe: 60, candidate: 6, randomRow: 110, scanRow: 12 };

function checkDistance(d: number): void {
  if (!Number.isInteger(d) || d < 0 || d > 256) {
    throw new RangeError(`maxDistance must be an integer 0..256, got ${d}`);
  }
}

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) {
    throw new RangeError(`id must be an integer 0..${MAX_ID}, got ${id}`);
  }
}

/** Damaged, truncated or foreign index file. */
export class IndexFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IndexFileError";
  }
}

/** The first 8 bytes of an index file. */
export const INDEX_MAGIC = "HSAFEIDX";
export const INDEX_VERSION = 1;
const HEADER_BYTES = 32;

/** True when `head` (the first bytes of a file) starts with the index magic. */
export function isIndexFile(head: Uint8Array): boolean {
  if (head.length < 8) return false;
  for (let i = 0; i < 8; i++) if (head[i] !== INDEX_MAGIC.charCodeAt(i)) return false;
  return true;
}

export interface SaveOptions {
  /** A label (e.g. the list's metadata) per id, kept in the file. */
  labels?: (id: number) => string | undefined;
  /** the CRC-32 to use (default: plain JavaScript; Node's file module passes zlib's) */
  crc32?: Crc32;
}

/** Options of {@link HashIndex.deserialize}. */
export interface LoadOptions {
  /** the CRC-32 to check the file with (default: plain JavaScript) */
  crc32?: Crc32;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

export class HashIndex {
  #cap = 0;
  #rows = new Uint32Array(0);
  #slots = new Uint16Array(0);
  #ids = new Uint32Array(0);
  #alive = new Uint8Array(0);
  /** rows in use (built part + pending tail) */
  #n = 0;
  /** rows covered by the postings */
  #built = 0;
  #deadBuilt = 0;
  #deadPending = 0;
  #off: Uint32Array | null = null;
  #post: Uint16Array | null = null;
  /** the same postings as 4 words each: filter slots (3 words), row number */
  #post32: Uint32Array | null = null;
  /** labels per row, from a loaded file */
  #labelBytes: Uint8Array | null = null;
  #labelOff: Uint32Array | null = null;
  /** ids of rows [0, sortedCover) sorted, and their rows (see #rowsOf) */
  #sortedIds: Uint32Array | null = null;
  #sortedRows: Uint32Array | null = null;
  #sortedCover = 0;
  #q16 = new Uint16Array(16);
  #q32 = new Uint32Array(this.#q16.buffer);
  #hitIds: number[] = [];
  #range = new Uint32Array(2 * SLOTS * MASKS[MAX_PROBE_RADIUS].length);
  #touch = 0;
  #batchRange = new Uint32Array(0);
  /** How the last {@link search} ran: by probing the postings or by a linear scan. */
  lastPlan: "probe" | "scan" = "scan";
  #hitDist: number[] = [];

  constructor() {
    if (!LITTLE_ENDIAN) throw new Error("HashIndex needs a little-endian machine");
  }

  /** Live hashes in the index. */
  get size(): number {
    return this.#n - this.#deadBuilt - this.#deadPending;
  }

  /** Bytes of typed arrays held for the hashes in use (capacity slack excluded). */
  get bytesUsed(): number {
    const n = this.#n;
    let b = n * (HASH_WORDS * 4 + 4 + 1);
    if (this.#off) b += this.#off.byteLength;
    if (this.#post) b += this.#built * SLOTS * STRIDE * 2;
    if (this.#labelBytes && this.#labelOff) b += this.#labelBytes.byteLength + this.#labelOff.byteLength;
    if (this.#sortedIds && this.#sortedRows) b += this.#sortedIds.byteLength + this.#sortedRows.byteLength;
    return b;
  }

  #grow(need: number): void {
    if (need <= this.#cap) return;
    const cap = Math.max(need, Math.ceil(this.#cap * 1.5), 1024);
    const rows = new Uint32Array(cap * HASH_WORDS);
    rows.set(this.#rows.subarray(0, this.#n * HASH_WORDS));
    const ids = new Uint32Array(cap);
    ids.set(this.#ids.subarray(0, this.#n));
    const alive = new Uint8Array(cap);
    alive.set(this.#alive.subarray(0, this.#n));
    this.#rows = rows;
    this.#slots = new Uint16Array(rows.buffer);
    this.#ids = ids;
    this.#alive = alive;
    this.#cap = cap;
  }

  /** Add a hash (64 hex digits or 8 words) under `id` (uint32; an id may hold several hashes). */
  add(hash: string | Hash256, id: number): void {
    checkId(id);
    this.#grow(this.#n + 1);
    if (typeof hash === "string") parseHash(hash, this.#rows, this.#n * HASH_WORDS);
    else this.#rows.set(toHash(hash), this.#n * HASH_WORDS);
    this.#ids[this.#n] = id;
    this.#alive[this.#n] = 1;
    this.#n++;
    this.#dropLabels();
  }

  /**
   * Add many hashes at once: `words` holds count x 8 words, `ids` the ids
   * (default: firstId, firstId + 1, ...).
   */
  addMany(words: Uint32Array, ids?: Uint32Array | number[], firstId = 0): void {
    if (words.length % HASH_WORDS !== 0) throw new HashFormatError("addMany: words.length must be a multiple of 8");
    const count = words.length / HASH_WORDS;
    if (ids && ids.length !== count) throw new RangeError("addMany: one id per hash");
    if (!ids) {
      checkId(firstId);
      checkId(firstId + Math.max(0, count - 1));
    } else for (let i = 0; i < count; i++) checkId(ids[i]);
    this.#grow(this.#n + count);
    this.#rows.set(words, this.#n * HASH_WORDS);
    for (let i = 0; i < count; i++) {
      this.#ids[this.#n + i] = ids ? ids[i] : firstId + i;
      this.#alive[this.#n + i] = 1;
    }
    this.#n += count;
    this.#dropLabels();
  }

  /** Remove every hash held under `id`; returns how many were removed. */
  remove(id: number): number {
    checkId(id);
    const rows = this.#rowsOf(id, false);
    for (const p of rows) {
      this.#alive[p] = 0;
      if (p < this.#built) this.#deadBuilt++;
      else this.#deadPending++;
    }
    return rows.length;
  }

  /** True when some live hash is held under `id`. */
  has(id: number): boolean {
    return this.#rowsOf(id, true).length > 0;
  }

  /** The hashes held under `id`. */
  hashesOf(id: number): Hash256[] {
    return this.#rowsOf(id, false).map((p) => this.#rows.slice(p * HASH_WORDS, (p + 1) * HASH_WORDS));
  }

  #dropLabels(): void {
    this.#labelBytes = null;
    this.#labelOff = null;
  }

  /**
   * The live rows held under `id`, lowest first (only the first when `first`).
   * Rows are found through a copy of the ids sorted by id (radix sort, made
   * when needed: 8 bytes a hash), plus a scan of the rows added since.
   */
  #rowsOf(id: number, first: boolean): number[] {
    const n = this.#n;
    const ids = this.#ids;
    const alive = this.#alive;
    const out: number[] = [];
    if (n - this.#sortedCover > UNSORTED_SCAN) this.#sortById();
    const sk = this.#sortedIds;
    const sv = this.#sortedRows;
    let from = 0;
    if (sk && sv) {
      let lo = 0;
      let hi = this.#sortedCover;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (sk[mid] < id) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < this.#sortedCover && sk[i] === id; i++) {
        if (alive[sv[i]]) {
          out.push(sv[i]);
          if (first) return out;
        }
      }
      from = this.#sortedCover;
    }
    for (let p = from; p < n; p++) {
      if (ids[p] === id && alive[p]) {
        out.push(p);
        if (first) return out;
      }
    }
    return out;
  }

  /** Sort (id, row) pairs by id: 4 stable byte passes. */
  #sortById(): void {
    const n = this.#n;
    let k = this.#ids.slice(0, n);
    let v = new Uint32Array(n);
    for (let i = 0; i < n; i++) v[i] = i;
    let k2 = new Uint32Array(n);
    let v2 = new Uint32Array(n);
    const count = new Uint32Array(256);
    for (let shift = 0; shift < 32; shift += 8) {
      count.fill(0);
      for (let i = 0; i < n; i++) count[(k[i] >>> shift) & 255]++;
      if (count[(k[0] >>> shift) & 255] === n) continue; // one bucket: nothing moves
      let sum = 0;
      for (let b = 0; b < 256; b++) {
        const c = count[b];
        count[b] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) {
        const d = count[(k[i] >>> shift) & 255]++;
        k2[d] = k[i];
        v2[d] = v[i];
      }
      [k, k2] = [k2, k];
      [v, v2] = [v2, v];
    }
    this.#sortedIds = k;
    this.#sortedRows = v;
    this.#sortedCover = n;
  }

  /** The row of the first live hash held under `id` (undefined when none). */
  #rowOf(id: number): number | undefined {
    return this.#rowsOf(id, true)[0];
  }

  /** The (first) hash held under `id`, as hex; undefined when none. */
  hashOf(id: number): string | undefined {
    const row = this.#rowOf(id);
    return row === undefined ? undefined : formatHash(this.#rows, row * HASH_WORDS);
  }

  /** The label stored with `id` in a loaded index file (undefined when none). */
  labelOf(id: number): string | undefined {
    const lb = this.#labelBytes;
    const lo = this.#labelOff;
    if (!lb || !lo) return undefined;
    const row = this.#rowOf(id);
    if (row === undefined || lo[row] === lo[row + 1]) return undefined;
    return utf8Decoder.decode(lb.subarray(lo[row], lo[row + 1]));
  }

  /** Drop removed hashes and (re)build the postings now rather than at the next search. */
  build(): void {
    const clean = this.#deadBuilt + this.#deadPending === 0;
    if (clean && (this.#post ? this.#built === this.#n : this.#n < MIN_BUILD)) return;
    this.#compact();
    const n = this.#n;
    if (n < MIN_BUILD) {
      this.#off = null;
      this.#post = null;
      this.#post32 = null;
      this.#built = 0;
      return;
    }
    const slots = this.#slots;
    const off = new Uint32Array(SLOTS * OFF_PER_SLOT);
    const post = new Uint16Array(SLOTS * n * STRIDE);
    const cursor = new Uint32Array(SLOT_VALUES);
    for (let s = 0; s < SLOTS; s++) {
      const ob = s * OFF_PER_SLOT;
      for (let p = 0, i = s; p < n; p++, i += 16) off[ob + slots[i] + 1]++;
      for (let v = 0; v < SLOT_VALUES; v++) off[ob + v + 1] += off[ob + v];
      cursor.set(off.subarray(ob, ob + SLOT_VALUES));
      const pb = s * n * STRIDE;
      const t0 = (s + 1) & 15;
      const t1 = (s + 2) & 15;
      const t2 = (s + 3) & 15;
      const t3 = (s + 4) & 15;
      const t4 = (s + 5) & 15;
      const t5 = (s + 6) & 15;
      for (let p = 0, r = 0; p < n; p++, r += 16) {
        const k = pb + cursor[slots[r + s]]++ * STRIDE;
        post[k] = slots[r + t0];
        post[k + 1] = slots[r + t1];
        post[k + 2] = slots[r + t2];
        post[k + 3] = slots[r + t3];
        post[k + 4] = slots[r + t4];
        post[k + 5] = slots[r + t5];
        post[k + 6] = p & 0xffff;
        post[k + 7] = p >>> 16;
      }
    }
    this.#off = off;
    this.#post = post;
    this.#post32 = new Uint32Array(post.buffer, post.byteOffset, post.length >> 1);
    this.#built = n;
  }

  /** Move live rows down over removed ones. */
  #compact(): void {
    if (this.#deadBuilt + this.#deadPending === 0) return;
    const rows = this.#rows;
    const ids = this.#ids;
    const alive = this.#alive;
    let w = 0;
    for (let p = 0; p < this.#n; p++) {
      if (!alive[p]) continue;
      if (w !== p) {
        rows.copyWithin(w * HASH_WORDS, p * HASH_WORDS, (p + 1) * HASH_WORDS);
        ids[w] = ids[p];
        alive[w] = 1;
      }
      w++;
    }
    alive.fill(0, w, this.#n);
    this.#n = w;
    this.#sortedIds = null;
    this.#sortedRows = null;
    this.#sortedCover = 0;
    this.#deadBuilt = 0;
    this.#deadPending = 0;
    this.#built = 0;
    this.#off = null;
    this.#post = null;
    this.#post32 = null;
    this.#dropLabels();
  }

  #maybeRebuild(): void {
    const pending = this.#n - this.#built;
    const threshold = Math.max(MIN_BUILD, Math.min(65536, this.#built >> 5));
    if (pending > threshold || (this.#built > 0 && this.#deadBuilt > this.#built / 4)) this.build();
  }

  /** Load the query into the 16-slot scratch buffer. */
  #setQuery(hash: string | Hash256): void {
    this.#q32.set(toHash(hash));
  }

  /** Whether probing beats a linear scan for distance d (and the radius to probe). */
  #useProbe(d: number): boolean {
    if (!this.#post || this.#built === 0) return false;
    const r = d >> 4;
    if (r > MAX_PROBE_RADIUS) return false;
    const probes = SLOTS * MASKS[r].length;
    const cand = (probes * this.#built) / SLOT_VALUES;
    const pass = FILTER_PASS[Math.min(d, FILTER_PASS.length - 1)];
    const probeCost = probes * COST.probe + cand * (COST.candidate + pass * COST.randomRow);
    return probeCost < this.#built * COST.scanRow;
  }

  /**
   * Every live hash within `maxDistance` bits of `hash`, nearest first (ties
   * by id). Exactly what a linear scan returns.
   */
  search(hash: string | Hash256, maxDistance: number): SearchHit[] {
    checkDistance(maxDistance);
    this.#setQuery(hash);
    this.#maybeRebuild();
    this.#hitIds.length = 0;
    this.#hitDist.length = 0;
    this.lastPlan = this.#useProbe(maxDistance) ? "probe" : "scan";
    if (this.lastPlan === "probe") {
      this.#ranges(maxDistance, this.#range);
      this.#process(maxDistance, this.#range);
      this.#scan(this.#built, this.#n, maxDistance);
    } else {
      this.#scan(0, this.#n, maxDistance);
    }
    return this.#collect();
  }

  /** The same as {@link search} by a linear scan (for checks and benchmarks). */
  searchLinear(hash: string | Hash256, maxDistance: number): SearchHit[] {
    checkDistance(maxDistance);
    this.#setQuery(hash);
    this.#hitIds.length = 0;
    this.#hitDist.length = 0;
    this.#scan(0, this.#n, maxDistance);
    return this.#collect();
  }

  /**
   * {@link search} for each hash. Faster than one by one: the bucket look-ups
   * of up to 8 hashes are issued together, so their memory latency overlaps.
   */
  searchBatch(hashes: readonly (string | Hash256)[], maxDistance: number): SearchHit[][] {
    checkDistance(maxDistance);
    const hs = hashes.map((h) => toHash(h));
    this.#maybeRebuild();
    if (hs.length < 2 || !this.#useProbe(maxDistance)) return hs.map((h) => this.search(h, maxDistance));
    const per = 2 * SLOTS * MASKS[maxDistance >> 4].length;
    const group = 8;
    if (this.#batchRange.length < group * per) this.#batchRange = new Uint32Array(group * per);
    const out: SearchHit[][] = [];
    for (let g = 0; g < hs.length; g += group) {
      const end = Math.min(hs.length, g + group);
      for (let i = g; i < end; i++) {
        this.#q32.set(hs[i]);
        this.#ranges(maxDistance, this.#batchRange.subarray((i - g) * per, (i - g + 1) * per));
      }
      for (let i = g; i < end; i++) {
        this.#q32.set(hs[i]);
        this.#hitIds.length = 0;
        this.#hitDist.length = 0;
        this.#process(maxDistance, this.#batchRange.subarray((i - g) * per, (i - g + 1) * per));
        this.#scan(this.#built, this.#n, maxDistance);
        out.push(this.#collect());
      }
    }
    this.lastPlan = "probe";
    return out;
  }

  #collect(): SearchHit[] {
    const ids = this.#hitIds;
    const dist = this.#hitDist;
    const out: SearchHit[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) out[i] = { id: ids[i], distance: dist[i] };
    if (out.length > 1) out.sort((a, b) => a.distance - b.distance || a.id - b.id);
    return out;
  }

  #scan(from: number, to: number, d: number): void {
    const rows = this.#rows;
    const alive = this.#alive;
    const ids = this.#ids;
    const q = this.#q32;
    const q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3], q4 = q[4], q5 = q[5], q6 = q[6], q7 = q[7];
    for (let p = from, r = from * HASH_WORDS; p < to; p++, r += HASH_WORDS) {
      let dist =
        popcount32(rows[r] ^ q0) + popcount32(rows[r + 1] ^ q1) + popcount32(rows[r + 2] ^ q2) + popcount32(rows[r + 3] ^ q3);
      if (dist > d) continue;
      dist +=
        popcount32(rows[r + 4] ^ q4) + popcount32(rows[r + 5] ^ q5) + popcount32(rows[r + 6] ^ q6) + popcount32(rows[r + 7] ^ q7);
      if (dist > d || !alive[p]) continue;
      this.#hitIds.push(ids[p]);
      this.#hitDist.push(dist);
    }
  }

  /**
   * The bucket bounds of every probe for the current query, into `range`,
   * touching each bucket's first posting: these loads do not depend on each
   * other, so their cache and TLB misses overlap instead of stalling the
   * verification loop one by one.
   */
  #ranges(d: number, range: Uint32Array): void {
    const off = this.#off!;
    const post = this.#post!;
    const n = this.#built;
    const q16 = this.#q16;
    const masks = MASKS[d >> 4];
    const nm = masks.length;
    let touch = 0;
    for (let s = 0, j = 0; s < SLOTS; s++) {
      const qs = q16[s];
      const ob = s * OFF_PER_SLOT;
      const pb = s * n * STRIDE;
      for (let mi = 0; mi < nm; mi++, j += 2) {
        const v = qs ^ masks[mi];
        const a = off[ob + v];
        const b = off[ob + v + 1];
        range[j] = a;
        range[j + 1] = b;
        if (a !== b) touch += post[pb + a * STRIDE];
      }
    }
    this.#touch += touch;
  }

  /** Verify the candidates of the buckets in `range` (from {@link #ranges}) for the current query. */
  #process(d: number, range: Uint32Array): void {
    const post32 = this.#post32!;
    const n = this.#built;
    const rows = this.#rows;
    const slots = this.#slots;
    const alive = this.#alive;
    const ids = this.#ids;
    const q16 = this.#q16;
    const q = this.#q32;
    const r = d >> 4;
    const masks = MASKS[r];
    const nm = masks.length;
    for (let s = 0, j = 0; s < SLOTS; s++) {
      const pb = s * n * STRIDE;
      const f0 = q16[(s + 1) & 15];
      const f1 = q16[(s + 2) & 15];
      const f2 = q16[(s + 3) & 15];
      const f3 = q16[(s + 4) & 15];
      const f4 = q16[(s + 5) & 15];
      const f5 = q16[(s + 6) & 15];
      const g0 = (f0 | (f1 << 16)) >>> 0;
      const g1 = (f2 | (f3 << 16)) >>> 0;
      const g2 = (f4 | (f5 << 16)) >>> 0;
      for (let mi = 0; mi < nm; mi++, j += 2) {
        const a = range[j];
        const b = range[j + 1];
        if (a === b) continue;
        const limit = d - POP16[masks[mi]];
        for (let k = (pb + a * STRIDE) >> 1, e = (pb + b * STRIDE) >> 1; k < e; k += 4) {
          // popcount(a) + popcount(b) + popcount(c) as popcount(a ^ b ^ c) + 2 popcount(majority)
          const x0 = post32[k] ^ g0;
          const x1 = post32[k + 1] ^ g1;
          const x2 = post32[k + 2] ^ g2;
          const u = x0 ^ x1;
          const fd = popcount32(u ^ x2) + 2 * popcount32((x0 & x1) | (u & x2));
          if (fd > limit) continue;
          const p = post32[k + 3];
          if (!alive[p]) continue;
          const w = p * HASH_WORDS;
          const dist =
            popcount32(rows[w] ^ q[0]) +
            popcount32(rows[w + 1] ^ q[1]) +
            popcount32(rows[w + 2] ^ q[2]) +
            popcount32(rows[w + 3] ^ q[3]) +
            popcount32(rows[w + 4] ^ q[4]) +
            popcount32(rows[w + 5] ^ q[5]) +
            popcount32(rows[w + 6] ^ q[6]) +
            popcount32(rows[w + 7] ^ q[7]);
          if (dist > d) continue;
          // Reported from the first slot where it is within r bits.
          let first = true;
          for (let t = 0, sp = p * 16; t < s; t++) {
            if (POP16[slots[sp + t] ^ q16[t]] <= r) {
              first = false;
              break;
            }
          }
          if (!first) continue;
          this.#hitIds.push(ids[p]);
          this.#hitDist.push(dist);
        }
      }
    }
  }

  // ---------------------------------------------------------------- files

  /**
   * The index as bytes: header (magic, version, counts), hashes, ids, the
   * built postings, optional labels, and a CRC-32 of all that. Removed hashes
   * are dropped and the postings built first.
   */
  serialize(options: SaveOptions = {}): Uint8Array {
    const { parts, total } = this.serializeParts(options);
    const buf = new Uint8Array(total);
    let at = 0;
    for (const c of parts) {
      buf.set(c, at);
      at += c.length;
    }
    return buf;
  }

  /**
   * The bytes of {@link serialize} as a list of parts, in order, without
   * copying the big arrays (to write them to a file or a stream one by one);
   * the last part is the CRC-32.
   */
  serializeParts(options: SaveOptions = {}): { parts: Uint8Array[]; total: number } {
    const { chunks, total } = this.#fileChunks(options);
    const crcOf = options.crc32 ?? jsCrc32;
    let crc = 0;
    for (const c of chunks) crc = crcOf(c, crc);
    const tail = new Uint8Array(4);
    new DataView(tail.buffer).setUint32(0, crc, true);
    return { parts: [...chunks, tail], total };
  }

  /** The file's parts in order (all but the trailing CRC-32), without copying the big arrays. */
  #fileChunks(options: SaveOptions): { chunks: Uint8Array[]; total: number } {
    this.build();
    const n = this.#n;
    const hasPost = this.#post !== null;
    let labelBytes: Uint8Array | null = null;
    let labelOff: Uint32Array | null = null;
    if (options.labels) {
      const labels: (Uint8Array | undefined)[] = new Array(n);
      labelOff = new Uint32Array(n + 1);
      let total = 0;
      for (let p = 0; p < n; p++) {
        const l = options.labels(this.#ids[p]);
        const b = l ? utf8Encoder.encode(l) : undefined;
        labels[p] = b;
        if (b) total += b.length;
        labelOff[p + 1] = total;
      }
      labelBytes = new Uint8Array(total);
      for (let p = 0; p < n; p++) {
        const b = labels[p];
        if (b) labelBytes.set(b, labelOff[p]);
      }
    }
    const layout = fileLayout(n, hasPost, labelBytes ? labelBytes.length : -1);
    const head = new Uint8Array(HEADER_BYTES);
    const dv = new DataView(head.buffer);
    for (let i = 0; i < 8; i++) head[i] = INDEX_MAGIC.charCodeAt(i);
    dv.setUint32(8, INDEX_VERSION, true);
    dv.setUint32(12, (hasPost ? 1 : 0) | (labelBytes ? 2 : 0), true);
    dv.setUint32(16, n, true);
    dv.setUint16(20, SLOTS, true);
    dv.setUint16(22, STRIDE, true);
    dv.setUint32(24, labelBytes ? labelBytes.length : 0, true);
    dv.setUint32(28, 0, true);
    const u8 = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const chunks: Uint8Array[] = [head, u8(this.#rows.subarray(0, n * HASH_WORDS)), u8(this.#ids.subarray(0, n))];
    let at = layout.off;
    const pad = (to: number) => {
      if (to > at) chunks.push(new Uint8Array(to - at));
      at = to;
    };
    if (hasPost) {
      chunks.push(u8(this.#off!), u8(this.#post!));
      at = layout.post + this.#post!.byteLength;
    }
    pad(layout.labelOff);
    if (labelBytes && labelOff) {
      chunks.push(u8(labelOff), labelBytes);
      at = layout.labels + labelBytes.length;
    }
    pad(layout.total - 4);
    return { chunks, total: layout.total };
  }

  /** The inverse of {@link serialize}. The bytes are used in place (not copied) when aligned. */
  static deserialize(input: Uint8Array, options: LoadOptions = {}): HashIndex {
    let bytes = input;
    if (bytes.length < HEADER_BYTES + 4 || !isIndexFile(bytes)) {
      throw new IndexFileError("not a hashsafe index file (bad magic bytes)");
    }
    if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = dv.getUint32(8, true);
    if (version !== INDEX_VERSION) {
      throw new IndexFileError(`index file version ${version} is not supported (this hashsafe reads version ${INDEX_VERSION})`);
    }
    const flags = dv.getUint32(12, true);
    const n = dv.getUint32(16, true);
    if (dv.getUint16(20, true) !== SLOTS || dv.getUint16(22, true) !== STRIDE || flags > 3) {
      throw new IndexFileError("index file layout is not supported (damaged header?)");
    }
    const hasPost = (flags & 1) !== 0;
    const labelLen = flags & 2 ? dv.getUint32(24, true) : -1;
    const layout = fileLayout(n, hasPost, labelLen);
    if (layout.total !== bytes.length) {
      throw new IndexFileError(
        `index file is damaged or truncated: ${bytes.length} bytes, the header says ${layout.total}`,
      );
    }
    const stored = dv.getUint32(layout.total - 4, true);
    if ((options.crc32 ?? jsCrc32)(bytes.subarray(0, layout.total - 4)) !== stored) {
      throw new IndexFileError("index file is damaged: checksum mismatch");
    }
    const idx = new HashIndex();
    const base = bytes.byteOffset;
    const buffer = bytes.buffer as ArrayBuffer;
    idx.#rows = new Uint32Array(buffer, base + layout.rows, n * HASH_WORDS);
    idx.#slots = new Uint16Array(buffer, base + layout.rows, n * 16);
    idx.#ids = new Uint32Array(buffer, base + layout.ids, n);
    idx.#alive = new Uint8Array(n).fill(1);
    idx.#cap = n;
    idx.#n = n;
    if (hasPost) {
      const off = new Uint32Array(buffer, base + layout.off, SLOTS * OFF_PER_SLOT);
      const post = new Uint16Array(buffer, base + layout.post, SLOTS * n * STRIDE);
      // Cheap structural checks beyond the checksum: offsets run 0..n, pointers < n.
      for (let s = 0; s < SLOTS; s++) {
        const ob = s * OFF_PER_SLOT;
        if (off[ob] !== 0 || off[ob + SLOT_VALUES] !== n) throw new IndexFileError("index file is damaged: bad offsets");
        for (let v = 0; v < SLOT_VALUES; v++) {
          if (off[ob + v] > off[ob + v + 1]) throw new IndexFileError("index file is damaged: bad offsets");
        }
      }
      for (let k = FILTER_SLOTS; k < post.length; k += STRIDE) {
        if ((post[k] | (post[k + 1] << 16)) >>> 0 >= n) throw new IndexFileError("index file is damaged: bad postings");
      }
      idx.#off = off;
      idx.#post = post;
      idx.#post32 = new Uint32Array(buffer, base + layout.post, post.length >> 1);
      idx.#built = n;
    }
    if (labelLen >= 0) {
      const lo = new Uint32Array(buffer, base + layout.labelOff, n + 1);
      if (lo[0] !== 0 || lo[n] !== labelLen) throw new IndexFileError("index file is damaged: bad labels");
      for (let p = 0; p < n; p++) if (lo[p] > lo[p + 1]) throw new IndexFileError("index file is damaged: bad labels");
      idx.#labelOff = lo;
      idx.#labelBytes = new Uint8Array(buffer, base + layout.labels, labelLen);
    }
    return idx;
  }
}

function fileLayout(n: number, hasPost: boolean, labelLen: number) {
  const align4 = (x: number) => Math.ceil(x / 4) * 4;
  let at = HEADER_BYTES;
  const rows = at;
  at += n * HASH_WORDS * 4;
  const ids = at;
  at += n * 4;
  const off = at;
  if (hasPost) at += SLOTS * OFF_PER_SLOT * 4;
  const post = at;
  if (hasPost) at += align4(SLOTS * n * STRIDE * 2);
  const labelOff = at;
  if (labelLen >= 0) at += (n + 1) * 4;
  const labels = at;
  if (labelLen >= 0) at += align4(labelLen);
  return { rows, ids, off, post, labelOff, labels, total: at + 4 };
}
