/**
 * The row running sums (see prefix.wat) in WebAssembly: the same exact
 * integers as the JavaScript loop in pixels.ts, about twice as fast. Used
 * when WebAssembly is available (Node, browsers, workers); otherwise, or
 * after `useWasm(false)` (instance.ts), the JavaScript loop runs.
 *
 * No I/O and no Node APIs: this file runs in browsers and workers too.
 */
import { ensureMemory, wasmInstance } from "./instance.ts";
import { PREFIX_WASM_BASE64 } from "./prefix-wasm.ts";

interface Exports {
  memory: WebAssembly.Memory;
  prefixRow(src: number, n: number, step: number, goff: number, boff: number, cr: number, cg: number, cb: number, s2p: number): void;
  prefixSampled(src: number, offp: number, n: number, goff: number, boff: number, cr: number, cg: number, cb: number, s2p: number): void;
}

const cache: { value?: Exports | null } = {};

/** Fills S2 of one output row (see prefix.wat) and returns it. */
export type RowSums = (y: number) => Float64Array;

const align8 = (n: number) => (n + 7) & ~7;

/**
 * Row sums over 8-bit pixels in WebAssembly, or null when WebAssembly is off
 * or unavailable. `rowOf[y]` is the source row of output row y; `cols` the
 * source column of each output column (null: every column, in order).
 */
export function wasmRowSums(
  data: Uint8Array | Uint8ClampedArray,
  width: number,
  channels: number,
  rowOf: Int32Array | null,
  cols: Int32Array | null,
): RowSums | null {
  const w = wasmInstance<Exports>(PREFIX_WASM_BASE64, cache);
  if (!w) return null;
  const rowBytes = width * channels;
  const n = cols ? cols.length : width;
  const offp = align8(rowBytes);
  const s2p = offp + align8(cols ? 4 * n : 0);
  const need = s2p + 8 * (n + 2);
  if (!ensureMemory(w.memory, need)) return null;
  const buf = w.memory.buffer;
  const bytes = new Uint8Array(buf);
  if (cols) {
    const off = new Int32Array(buf, offp, n);
    for (let x = 0; x < n; x++) off[x] = cols[x] * channels;
  }
  const s2 = new Float64Array(buf, s2p, n + 2);
  const grey = channels < 3;
  const [goff, boff, cr, cg, cb] = grey ? [0, 0, 1000, 0, 0] : [1, 2, 299, 587, 114];
  return (y) => {
    const base = (rowOf ? rowOf[y] : y) * rowBytes;
    bytes.set(data.subarray(base, base + rowBytes), 0);
    if (cols) w.prefixSampled(0, offp, n, goff, boff, cr, cg, cb, s2p);
    else w.prefixRow(0, n, channels, goff, boff, cr, cg, cb, s2p);
    return s2;
  };
}
