/**
 * `hashsafe withdraw <caseId> [--hash ID]`: withdraw every hash of a case, or
 * some of them. Platforms see a withdrawal record at their next feed update.
 */
import type { Command } from "commander";
import { saveReceipt } from "../../client/receipts.ts";
import type { WithdrawResponse } from "../../protocol/index.ts";
import { HashIdSchema } from "../../protocol/index.ts";
import { UsageError } from "../output.ts";
import { addNetworkOptions, makeClient, type NetworkOptions, plural, printJson, reportError, resolveCase, say } from "../sharing.ts";
import { formatCaseStatus } from "./status.ts";

export interface WithdrawOptions extends NetworkOptions {
  secret?: string;
  hash?: string[];
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export async function runWithdraw(caseId: string, opts: WithdrawOptions): Promise<number> {
  const hashIds = opts.hash ?? [];
  for (const id of hashIds) {
    if (!HashIdSchema.safeParse(id).success) {
      throw new UsageError(`"${id}" is not a hash id (hash ids look like h_ followed by 16 letters, digits, - or _; \`hashsafe status ${caseId}\` lists them)`);
    }
  }
  const { server, secret, receipt } = await resolveCase(caseId, opts);
  const client = makeClient(server, { timeout: opts.timeout });
  try {
    let res: WithdrawResponse | undefined;
    if (hashIds.length === 0) {
      res = await client.withdrawCase(caseId, secret);
      if (receipt) {
        receipt.withdrawnAt = new Date().toISOString();
        try {
          await saveReceipt(receipt);
        } catch (err) {
          say(`the case was withdrawn, but its receipt could not be updated (${err instanceof Error ? err.message : String(err)})`);
        }
      }
    } else {
      for (const id of hashIds) res = await client.withdrawHash(caseId, secret, id);
    }
    if (!res) throw new Error("internal: no answer");
    if (opts.format === "json") printJson(res);
    else {
      const what = hashIds.length === 0 ? `every hash of case ${caseId}` : plural(hashIds.length, "hash", "hashes") + ` of case ${caseId}`;
      process.stdout.write(
        `Withdrawn: ${what}.\n` +
          `Platforms receive the withdrawal at their next feed update and stop matching against ${hashIds.length === 1 ? "it" : "them"}.\n` +
          `(A hash that someone else submitted too stays active for them.)\n\n`,
      );
      process.stdout.write(formatCaseStatus(client.serverUrl, res));
    }
    return 0;
  } catch (err) {
    return reportError(err, { doing: `withdrawing from case ${caseId}`, caseCall: true, hashCall: hashIds.length > 0 });
  } finally {
    await client.close();
  }
}

export function registerWithdraw(program: Command): void {
  const cmd = program
    .command("withdraw")
    .description("withdraw the hashes of a case (all of them, or one with --hash)")
    .argument("<caseId>", "the case id printed by submit")
    .option("--hash <id>", "withdraw only this hash (repeat for several; ids are listed by `status`)", collect)
    .option("--secret <secret>", "the case secret (default: from the receipt on this machine, or asked for)");
  addNetworkOptions(cmd, "server address (default: from the receipt, or HASHSAFE_SERVER)").action(
    async (caseId: string, opts: WithdrawOptions) => {
      process.exitCode = await runWithdraw(caseId, opts);
    },
  );
}
