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

/**
 * Thrown by {@link Outbox.deliver} when delivery failed and the submission
 * could not be saved in the outbox either (e.g. the data folder is not
 * writable): nothing is kept on this machine; `cause` is the delivery error.
 */
export class OutboxUnavailable extends Error {
  readonly submission: Submission;
  constructor(cause: unknown, submission: Submission, saveError: unknown) {
    const why = (e: unknown) => (e instanceof Error ? e.message : String(e));
    super(`${why(cause)}; and it could not be saved in the outbox (${why(saveError)})`, { cause });
    this.name = "OutboxUnavailable";
    this.submission = submission;
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
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return { items: [], problems: [] };
      return { items: [], problems: [{ file: this.dir, message: `cannot read the outbox folder (${code ?? String(err)})` }] };
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
    try {
      await deliverSubmission(client, sub, {
        onProgress: async (s) => {
          if (s.receipt && s.caseId) {
            // A receipt that cannot be written must not stop the delivery: the
            // caller prints the id and secret and says the receipt is missing.
            try {
              s.receiptFile = await saveReceipt(receiptOf(s), this.receipts);
              s.receiptError = undefined;
            } catch (err) {
              s.receiptError = err instanceof Error ? err.message : String(err);
            }
          }
          if (!isDelivered(s)) await this.save(s).catch(() => {}); // progress; saved again below on failure
        },
      });
    } catch (err) {
      sub.lastError = err instanceof Error ? err.message : String(err);
      if (options.inOutbox || isTransient(err) || sub.caseId !== undefined) {
        try {
          await this.save(sub);
        } catch (saveErr) {
          throw new OutboxUnavailable(err, sub, saveErr);
        }
        throw new OutboxSaved(err, sub, this.file(sub.id));
      }
      throw err;
    }
    // Delivered: a file that cannot be removed is only delivered again later
    // under the same keys, which the server answers with the same case.
    await this.remove(sub.id).catch(() => {});
    return sub;
  }
}
