/**
 * What the page keeps on the device, in IndexedDB, and only when the person
 * asks for it:
 *
 * - the outbox: a submission that could not be delivered (its exact body and
 *   its original Idempotency-Key), delivered later with that key, so a retry
 *   never creates a second case;
 * - remembered cases ("remember this case on this device"): case id and
 *   secret, and the small thumbnails of that case's pictures.
 *
 * Nothing is written until one of the `put`/`remember` calls: the database
 * is not even created by reading (`hasLocalData` asks `indexedDB.databases()`).
 * `forgetEverything` deletes the database. No Node APIs.
 */
import type { CreateCaseRequest, CreateCaseResponse } from "../protocol/index.ts";
import { type BrowserClient, isTransient } from "./client.ts";

export const DB_NAME = "hashsafe";
const VERSION = 1;

export interface OutboxEntry {
  /** The Idempotency-Key of the first attempt; every later delivery reuses it. */
  idempotencyKey: string;
  /** The server it was meant for. */
  server: string;
  /** Exactly the body that was (and will be) sent. */
  body: CreateCaseRequest;
  /** When it was saved (ms since the epoch). Never sent. */
  savedAt: number;
}

export interface RememberedCase {
  caseId: string;
  caseSecret: string;
  server: string;
  savedAt: number;
  /** Hash value -> a small data: URL thumbnail made on this device. Never sent. */
  thumbnails?: Record<string, string>;
}

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function open(): Promise<IDBDatabase> {
  const r = indexedDB.open(DB_NAME, VERSION);
  r.onupgradeneeded = () => {
    const db = r.result;
    if (!db.objectStoreNames.contains("outbox")) db.createObjectStore("outbox", { keyPath: "idempotencyKey" });
    if (!db.objectStoreNames.contains("cases")) db.createObjectStore("cases", { keyPath: "caseId" });
  };
  return req(r);
}

async function withStore<T>(name: "outbox" | "cases", mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    const tx = db.transaction(name, mode);
    const result = await req(fn(tx.objectStore(name)));
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
    return result;
  } finally {
    db.close();
  }
}

/** True when this device holds anything of ours (without creating the database). */
export async function hasLocalData(): Promise<boolean> {
  if (typeof indexedDB === "undefined") return false;
  if (typeof indexedDB.databases !== "function") return false;
  const list = await indexedDB.databases();
  return list.some((d) => d.name === DB_NAME);
}

export const outbox = {
  async put(entry: OutboxEntry): Promise<void> {
    await withStore("outbox", "readwrite", (s) => s.put(entry));
  },
  async list(): Promise<OutboxEntry[]> {
    if (!(await hasLocalData())) return [];
    return withStore("outbox", "readonly", (s) => s.getAll() as IDBRequest<OutboxEntry[]>);
  },
  async remove(idempotencyKey: string): Promise<void> {
    if (!(await hasLocalData())) return;
    await withStore("outbox", "readwrite", (s) => s.delete(idempotencyKey));
  },
};

export const cases = {
  async remember(c: RememberedCase): Promise<void> {
    await withStore("cases", "readwrite", (s) => s.put(c));
  },
  async list(): Promise<RememberedCase[]> {
    if (!(await hasLocalData())) return [];
    return withStore("cases", "readonly", (s) => s.getAll() as IDBRequest<RememberedCase[]>);
  },
  async get(caseId: string): Promise<RememberedCase | undefined> {
    if (!(await hasLocalData())) return undefined;
    return withStore("cases", "readonly", (s) => s.get(caseId) as IDBRequest<RememberedCase | undefined>);
  },
  async forget(caseId: string): Promise<void> {
    if (!(await hasLocalData())) return;
    await withStore("cases", "readwrite", (s) => s.delete(caseId));
  },
};

/** Delete everything this page ever stored on the device. */
export async function forgetEverything(): Promise<void> {
  if (!(await hasLocalData())) return;
  await req(indexedDB.deleteDatabase(DB_NAME) as unknown as IDBRequest<unknown>);
}

export interface DeliveryResult {
  entry: OutboxEntry;
  response?: CreateCaseResponse;
  error?: unknown;
}

/**
 * Deliver every saved submission for this client's server, each with its
 * original Idempotency-Key. A delivered one (or one the server refuses for
 * good) leaves the outbox; one that fails for a passing reason stays.
 */
export async function deliverOutbox(client: BrowserClient): Promise<DeliveryResult[]> {
  const out: DeliveryResult[] = [];
  for (const entry of await outbox.list()) {
    if (entry.server !== client.serverUrl) continue;
    try {
      const response = await client.createCase(entry.body, { idempotencyKey: entry.idempotencyKey });
      await outbox.remove(entry.idempotencyKey);
      out.push({ entry, response });
    } catch (error) {
      if (!isTransient(error)) await outbox.remove(entry.idempotencyKey);
      out.push({ entry, error });
    }
  }
  return out;
}
