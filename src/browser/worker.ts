/**
 * The hashing worker: decodes and hashes off the page's main thread, so the
 * page never freezes. Messages: {@link WorkerRequest} in,
 * {@link WorkerResponse} out. The PDQ WebAssembly is inside this bundle
 * (base64): nothing is fetched.
 */
import { type BrowserHashFailure, type BrowserHashOptions, type BrowserHashResult, failureOf, hashBytes } from "./hash.ts";

export interface WorkerRequest {
  id: number;
  bytes: ArrayBuffer;
  options: BrowserHashOptions;
}

export type WorkerResponse =
  | { id: number; ok: true; result: BrowserHashResult; ms: number }
  | { id: number; ok: false; error: BrowserHashFailure; ms: number };

interface WorkerScope {
  onmessage: ((ev: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerResponse): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (ev) => {
  const { id, bytes, options } = ev.data;
  const t0 = performance.now();
  hashBytes(new Uint8Array(bytes), options).then(
    (result) => scope.postMessage({ id, ok: true, result, ms: performance.now() - t0 }),
    (err: unknown) => scope.postMessage({ id, ok: false, error: failureOf(err), ms: performance.now() - t0 }),
  );
};
