/**
 * `hashsafe withdraw <caseId> [--hash ID] [--file PICTURE] [--yes]`: withdraw
 * every hash of a case, or some of them. Platforms see a withdrawal record at
 * their next feed update and stop blocking. It cannot be undone, so on a
 * terminal it asks first (how many hashes, which case, what it means);
 * without a terminal it needs --yes.
 */
import type { Command } from "commander";
import { listReceipts, type Receipt, readReceipt, saveReceipt } from "../../client/receipts.ts";
import type { WithdrawResponse } from "../../protocol/index.ts";
import { HashIdSchema } from "../../protocol/index.ts";
import { EXIT } from "../exit.ts";
import { errorText, hashEntries } from "../hashing.ts";
import { ALPHA_MODES } from "../../image/node.ts";
import { normalizeCaseId, normalizeHashId } from "../ids.ts";
import { tr } from "../lang.ts";
import { UsageError } from "../output.ts";
import { canAsk, confirm } from "../secret-prompt.ts";
import {
  addNetworkOptions,
  addSecretOptions,
  makeClient,
  type NetworkOptions,
  printJson,
  reportError,
  resolveCase,
  say,
  type SecretOptions,
} from "../sharing.ts";
import { formatCaseStatus } from "./status.ts";

export interface WithdrawOptions extends NetworkOptions, SecretOptions {
  hash?: string[];
  file?: string[];
  yes?: boolean;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * The PDQ hashes a picture may have been submitted under, hashed here
 * (nothing is sent): one, or for a picture with transparent parts one per
 * `--alpha` (drop, white, black), since submit may have used any.
 */
async function pictureHashes(file: string): Promise<string[]> {
  const out: string[] = [];
  let problem: string | undefined;
  for (const alpha of ALPHA_MODES) {
    let more = false;
    await hashEntries([{ path: file }], { mode: "full", orient: true, jobs: 1, alpha }, (rec) => {
      if (rec.error) {
        problem ??= errorText(rec.error);
        // a transparent picture can be flat with its alpha dropped, and not on a background
        more = rec.error.code === "FLAT";
      } else {
        out.push(rec.result.hash);
        more = rec.result.transparent;
      }
    });
    if (alpha === "drop" && !more) break;
  }
  if (out.length === 0) throw new UsageError(`${file}: ${problem ?? "?"}`);
  return out;
}

/** The hash ids of `files` in the receipts of this device: of `caseId`, or of any case when none is given. */
async function idsOfFiles(files: string[], caseId: string | undefined): Promise<{ caseId: string; ids: string[] }> {
  const receipts: Receipt[] = caseId ? [await readReceipt(caseId)].filter((r): r is Receipt => Boolean(r)) : await listReceipts();
  if (receipts.length === 0) throw new UsageError(caseId ? tr("cli.withdraw.file.noReceipt", { caseId }) : tr("cli.withdraw.file.noReceipts"));
  let found: string | undefined;
  const ids: string[] = [];
  for (const file of files) {
    const values = await pictureHashes(file);
    const hits = receipts.flatMap((r) => r.hashes.filter((h) => values.includes(h.value)).map((h) => ({ r, h })));
    const open = hits.filter((x) => !x.r.withdrawnAt);
    const hit = open[0] ?? hits[0];
    if (!hit) throw new UsageError(tr("cli.withdraw.file.notFound", { file }));
    if (found && found !== hit.r.caseId) throw new UsageError(tr("cli.withdraw.file.twoCases"));
    found = hit.r.caseId;
    ids.push(hit.h.id);
  }
  return { caseId: found!, ids };
}

export async function runWithdraw(caseIdInput: string | undefined, opts: WithdrawOptions): Promise<number> {
  let hashIds = (opts.hash ?? []).map(normalizeHashId);
  for (const id of hashIds) {
    if (!HashIdSchema.safeParse(id).success) throw new UsageError(tr("cli.withdraw.badHashId", { id, caseId: caseIdInput ?? "" }));
  }
  let caseArg = caseIdInput === undefined ? undefined : normalizeCaseId(caseIdInput);
  if (opts.file?.length) {
    const got = await idsOfFiles(opts.file, caseArg);
    caseArg = got.caseId;
    hashIds = [...new Set([...hashIds, ...got.ids])];
  }
  if (!caseArg) throw new UsageError(tr("cli.withdraw.whichCase"));
  const { caseId, server, secret, receipt } = await resolveCase(caseArg, opts);
  const client = makeClient(server, { timeout: opts.timeout });
  try {
    if (!opts.yes) {
      if (!canAsk()) {
        say(tr("cli.withdraw.needsYes"));
        return EXIT.NONE;
      }
      const count = hashIds.length > 0 ? hashIds.length : (receipt?.hashes.length ?? (await client.getCase(caseId, secret)).hashes.filter((h) => h.status === "active").length);
      const names = hashIds.map((id) => receipt?.hashes.find((h) => h.id === id)?.file ?? id);
      process.stderr.write(
        `\n${hashIds.length > 0 ? tr("cli.withdraw.confirmSome", { count, caseId, which: names.join(", ") }) : tr("cli.withdraw.confirmAll", { count, caseId })}\n` +
          `${tr("cli.withdraw.meaning", { count })}\n`,
      );
      if (!(await confirm(tr("cli.withdraw.ask")))) {
        say(tr("cli.withdraw.declined"));
        return EXIT.NONE;
      }
    }
    let res: WithdrawResponse | undefined;
    if (hashIds.length === 0) {
      res = await client.withdrawCase(caseId, secret);
      if (receipt) {
        receipt.withdrawnAt = new Date().toISOString();
        try {
          await saveReceipt(receipt);
        } catch (err) {
          say(tr("cli.withdraw.receiptNotUpdated", { error: err instanceof Error ? err.message : String(err) }));
        }
      }
    } else {
      for (const id of hashIds) res = await client.withdrawHash(caseId, secret, id);
    }
    if (!res) throw new Error("internal: no answer");
    if (opts.format === "json") printJson(res);
    else {
      process.stdout.write(
        `${hashIds.length === 0 ? tr("cli.withdraw.doneAll", { caseId }) : tr("cli.withdraw.doneSome", { count: hashIds.length, caseId })}\n` +
          `${tr("cli.withdraw.doneNext", { count: hashIds.length === 0 ? 2 : hashIds.length })}\n` +
          `${tr("cli.withdraw.shared")}\n\n`,
      );
      process.stdout.write(formatCaseStatus(client.serverUrl, res, receipt));
    }
    return 0;
  } catch (err) {
    return reportError(err, { doing: tr("cli.withdraw.doing", { caseId }), caseCall: true, hashCall: hashIds.length > 0, server });
  } finally {
    await client.close();
  }
}

export function registerWithdraw(program: Command): void {
  const cmd = program
    .command("withdraw")
    .description(tr("cli.help.withdraw"))
    .argument("[caseId]", tr("cli.help.caseIdArgWithdraw"))
    .option("--hash <id>", tr("cli.help.withdrawHash"), collect)
    .option("--file <picture>", tr("cli.help.withdrawFile"), collect)
    .option("-y, --yes", tr("cli.help.withdrawYes"));
  addSecretOptions(cmd);
  addNetworkOptions(cmd, tr("cli.help.serverFromReceipt")).action(async (caseId: string | undefined, opts: WithdrawOptions) => {
    process.exitCode = await runWithdraw(caseId, opts);
  });
}
