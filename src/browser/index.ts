/**
 * hashsafe in the browser (`hashsafe/browser`): decode and PDQ-hash pictures
 * on the device, in Web Workers, and talk to a hash-sharing server (API v1)
 * with `fetch`. Nothing but hashes ever leaves the device; nothing is
 * fetched from anywhere (the PDQ WebAssembly is inside the bundle).
 *
 *     import { Hasher, BrowserClient } from "hashsafe/browser";
 *     const hasher = new Hasher();                 // worker.js beside this file
 *     const r = await hasher.hash(file);           // { hash, quality, ... }
 *
 * No Node APIs (a test checks the bundle). docs/browser.md has the details.
 */
export { Hasher, BrowserHashError, type HasherOptions } from "./hasher.ts";
export { hashBytes, failureOf, type BrowserHashOptions, type BrowserHashResult, type BrowserHashFailure } from "./hash.ts";
export { decodeInBrowser, setHeicDecoder, type BrowserDecodeOptions, type BrowserDecodedImage, type HeicDecoder } from "./decode.ts";
export { readImageHead, type ImageHead } from "./header.ts";
export {
  ApiError,
  BrowserClient,
  type BrowserCallOptions,
  type BrowserClientOptions,
  ClientError,
  InsecureServerError,
  isLoopbackHost,
  isTransient,
  NetworkError,
  newIdempotencyKey,
  parseServerUrl,
  ProtocolError,
} from "./client.ts";
export { cases, DB_NAME, deliverOutbox, type DeliveryResult, forgetEverything, hasLocalData, outbox, type OutboxEntry, type RememberedCase } from "./outbox.ts";
export { hashPixels, DIHEDRAL_NAMES, HashError, type PdqMode, type DihedralHashes } from "../pdq/index.ts";
