/**
 * The outbox: submissions that could not be delivered yet, one file each in
 * `<data dir>/outbox/<id>.json` (mode 0600, folder 0700, written
 * atomically). Each keeps its requests exactly as first built, with their
 * original idempotency keys, so a later delivery can never create a second
 * case. An item is removed only after the server confirmed every request and
 * the receipt (when wanted) was saved.
 */
import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import type { HashShareClient } from "./client.ts";
import { isTransient } from "./errors.ts";
import { ensurePrivateDir, safeFileStem, writeFileAtomic } from "./files.ts";
import { outboxDir, receiptsDir } from "./paths.ts";
import { saveReceipt } from "./receipts.ts";
import { deliverSubmission, isDelivered, receiptOf, type Submission } from "./submission.ts";

export interface OutboxProblem {
  file: string;
  message: string;
}

/** Thrown by {@link Outbox.deliver} when delivery failed and the submission is (still) in the outbox; `cause` is the error. */
export class OutboxSaved extends Error {
  readonly submission: Submission;
  readonly file: string;
  constructor(cause: unknown, submission: Submission, file: string) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "OutboxSaved";
    this.submission = submission;
    this.file = file;
  }
}

export class Outbox {
  readonly dir: string;
  private readonly receipts: string;

  constructor(dir = outboxDir(), receipts = receiptsDir()) {
    this.dir = dir;
    this.receipts = receipts;
  }

  file(id: string): string {
    return path.join(this.dir, `${safeFileStem(id)}.json`);
  }

  /** Save (or update) a submission. */
  async save(sub: Submission): Promise<string> {
    await ensurePrivateDir(this.dir);
    const file = this.file(sub.id);
    await writeFileAtomic(file, JSON.stringify(sub, null, 2) + "\n", { mode: 0o600 });
    return file;
  }

  async remove(id: string): Promise<void> {
    await rm(this.file(id), { force: true });
  }

  /** The waiting submissions, oldest first, and files that could not be read (left in place). */
  async list(): Promise<{ items: Submission[]; problems: OutboxProblem[] }> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { items: [], problems: [] };
      throw err;
    }
    const items: Submission[] = [];
    const problems: OutboxProblem[] = [];
    for (const name of names.sort()) {
      if (name.startsWith(".") || !name.endsWith(".json")) continue;
      const file = path.join(this.dir, name);
      try {
        const sub = JSON.parse(await readFile(file, "utf8")) as Submission;
        if (sub?.version !== 1 || !Array.isArray(sub.requests) || typeof sub.server !== "string" || typeof sub.id !== "string") {
          throw new Error("not an outbox item of this version of hashsafe");
        }
        items.push(sub);
      } catch (err) {
        problems.push({ file, message: `cannot read this outbox item (${err instanceof Error ? err.message : String(err)}); it was left in place` });
      }
    }
    items.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    return { items, problems };
  }

  /**
   * Deliver one submission with `client` (which must talk to `sub.server`),
   * saving progress and the receipt as it goes. On success the item is
   * removed (after the receipt is saved) and the submission is returned,
   * complete. On failure the error is thrown, and the item is saved (updated
   * with the error) when it may still go through later (a network error, a
   * 429 or 5xx), when the case already exists (its secret must not be lost),
   * or when it was in the outbox already. `saved` tells which happened.
   */
  async deliver(client: HashShareClient, sub: Submission, options: { inOutbox?: boolean } = {}): Promise<Submission> {
    const saveReceiptIfWanted = async (s: Submission) => {
      if (s.receipt && s.caseId) await saveReceipt(receiptOf(s), this.receipts);
    };
    try {
      await deliverSubmission(client, sub, {
        onProgress: async (s) => {
          await saveReceiptIfWanted(s);
          if (!isDelivered(s)) await this.save(s);
        },
      });
    } catch (err) {
      sub.lastError = err instanceof Error ? err.message : String(err);
      if (options.inOutbox || isTransient(err) || sub.caseId !== undefined) {
        await this.save(sub);
        throw new OutboxSaved(err, sub, this.file(sub.id));
      }
      throw err;
    }
    await this.remove(sub.id);
    return sub;
  }
}
