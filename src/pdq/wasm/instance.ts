/**
 * Instantiates a small WebAssembly module from its base64 bytes, once,
 * synchronously; null where WebAssembly is unavailable or turned off.
 *
 * No I/O and no Node APIs: this file runs in browsers and workers too.
 */
let enabled = true;

/** Turn the WebAssembly paths on or off (tests and benchmarks compare both). */
export function useWasm(on: boolean): void {
  enabled = on;
}

export function wasmInstance<T>(base64: string, cache: { value?: T | null }): T | null {
  if (!enabled) return null;
  if (cache.value === undefined) {
    try {
      const bin = atob(base64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      cache.value = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as T;
    } catch {
      cache.value = null;
    }
  }
  return cache.value;
}

/** Grows `memory` to at least `bytes`; false when it cannot. */
export function ensureMemory(memory: WebAssembly.Memory, bytes: number): boolean {
  const have = memory.buffer.byteLength;
  if (bytes <= have) return true;
  try {
    memory.grow(Math.ceil((bytes - have) / 65536));
    return true;
  } catch {
    return false;
  }
}
