/**
 * `hashsafe status <caseId>`: the case's hashes, whether each is active, and
 * what platforms reported about it. The secret comes from the receipt,
 * `--secret`, or a prompt.
 */
import type { Command } from "commander";
import type { CaseStatusResponse } from "../../protocol/index.ts";
import { addNetworkOptions, makeClient, type NetworkOptions, plural, printJson, reportError, resolveCase, shortHash } from "../sharing.ts";

export interface StatusOptions extends NetworkOptions {
  secret?: string;
}

export function formatCaseStatus(server: string, c: CaseStatusResponse): string {
  const active = c.hashes.filter((h) => h.status === "active").length;
  const lines = [
    `Case ${c.caseId} on ${server}`,
    `  status:  ${c.status}${c.status === "withdrawn" ? " (every hash withdrawn)" : ""}`,
    `  created: ${c.createdAt}`,
    `  hashes:  ${c.hashes.length} (${active} active, ${c.hashes.length - active} withdrawn)`,
    "",
    `  ${"hash id".padEnd(18)} ${"hash".padEnd(17)} ${"status".padEnd(9)} ${"blocked".padStart(7)} ${"not blocked".padStart(11)} ${"pending".padStart(7)}`,
  ];
  for (const h of c.hashes) {
    lines.push(
      `  ${h.id.padEnd(18)} ${shortHash(h.value).padEnd(17)} ${h.status.padEnd(9)} ${String(h.feedback.blocked).padStart(7)} ${String(h.feedback.notBlocked).padStart(11)} ${String(h.feedback.pendingReview).padStart(7)}`,
    );
  }
  const blocked = c.hashes.reduce((n, h) => n + h.feedback.blocked, 0);
  lines.push(
    "",
    blocked > 0
      ? `  Platforms reported blocking matching content ${plural(blocked, "time")}.`
      : "  No platform has reported blocking anything yet (they report as they find matches).",
  );
  return lines.join("\n") + "\n";
}

export async function runStatus(caseId: string, opts: StatusOptions): Promise<number> {
  const { server, secret } = await resolveCase(caseId, opts);
  const client = makeClient(server, { timeout: opts.timeout });
  try {
    const c = await client.getCase(caseId, secret);
    if (opts.format === "json") printJson(c);
    else process.stdout.write(formatCaseStatus(client.serverUrl, c));
    return 0;
  } catch (err) {
    return reportError(err, { doing: `checking case ${caseId}`, caseCall: true });
  } finally {
    await client.close();
  }
}

export function registerStatus(program: Command): void {
  const cmd = program
    .command("status")
    .description("show a submitted case: its hashes, whether each is active, and what platforms reported")
    .argument("<caseId>", "the case id printed by submit")
    .option("--secret <secret>", "the case secret (default: from the receipt on this machine, or asked for)");
  addNetworkOptions(cmd, "server address (default: from the receipt, or HASHSAFE_SERVER)").action(
    async (caseId: string, opts: StatusOptions) => {
      process.exitCode = await runStatus(caseId, opts);
    },
  );
}
