/**
 * Receipts: after a case is created, its id and secret (and what was sent)
 * are kept in an owner-only file, `<data dir>/receipts/<caseId>.json`
 * (mode 0600, folder 0700), so that `status` and `withdraw` work later
 * without typing the secret. The secret is the only way to withdraw: the
 * receipt is as private as the images themselves. It also names the picture
 * of each hash (file name and a blurhash), for this device's eyes only.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { ensurePrivateDir, safeFileStem, writeFileAtomic } from "./files.ts";
import { receiptsDir } from "./paths.ts";

export interface ReceiptHash {
  id: string;
  type: string;
  value: string;
  /** The picture it came from, on this device (never sent). */
  file?: string;
  /** A tiny blurred preview of that picture (blurhash, never sent). */
  blurhash?: string;
}

export interface Receipt {
  version: 1;
  /** The server address the case lives on. */
  server: string;
  caseId: string;
  caseSecret: string;
  /** When the case was created (as far as this machine knows), ISO 8601. */
  createdAt: string;
  /** The accepted hashes with their ids. */
  hashes: ReceiptHash[];
  /** Hashes the server refused, with its reason. */
  rejected?: { type: string; value: string; reason: string }[];
  /** Set by `withdraw` once the whole case was withdrawn. */
  withdrawnAt?: string;
}

export function receiptPath(caseId: string, dir = receiptsDir()): string {
  return path.join(dir, `${safeFileStem(caseId)}.json`);
}

/** Save (or replace) the receipt of a case; answers its path. */
export async function saveReceipt(receipt: Receipt, dir = receiptsDir()): Promise<string> {
  await ensurePrivateDir(dir);
  const file = receiptPath(receipt.caseId, dir);
  await writeFileAtomic(file, JSON.stringify(receipt, null, 2) + "\n", { mode: 0o600 });
  return file;
}

function isReceipt(x: unknown): x is Receipt {
  const r = x as Receipt;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.caseId === "string" &&
    typeof r.caseSecret === "string" &&
    typeof r.server === "string" &&
    Array.isArray(r.hashes)
  );
}

/** The receipt of `caseId`, or undefined when there is none (or it is unreadable). */
export async function readReceipt(caseId: string, dir = receiptsDir()): Promise<Receipt | undefined> {
  let text: string;
  try {
    text = await readFile(receiptPath(caseId, dir), "utf8");
  } catch {
    return undefined;
  }
  try {
    const r: unknown = JSON.parse(text);
    return isReceipt(r) && r.caseId === caseId ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Every readable receipt, oldest first. */
export async function listReceipts(dir = receiptsDir()): Promise<Receipt[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: Receipt[] = [];
  for (const name of names) {
    if (name.startsWith(".") || !name.endsWith(".json")) continue;
    try {
      const r: unknown = JSON.parse(await readFile(path.join(dir, name), "utf8"));
      if (isReceipt(r)) out.push(r);
    } catch {
      // an unreadable receipt is left alone
    }
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}
