/**
 * `hashsafe status <caseId>`: the case's hashes, whether each is active, and
 * what platforms reported about it; each hash named by its picture when this
 * device has the receipt. The secret comes from the receipt, HASHSAFE_SECRET,
 * `--secret-stdin`, or a hidden prompt.
 */
import type { Command } from "commander";
import type { Receipt } from "../../client/receipts.ts";
import type { CaseStatusResponse } from "../../protocol/index.ts";
import { cliLang, tr } from "../lang.ts";
import {
  addNetworkOptions,
  addSecretOptions,
  makeClient,
  type NetworkOptions,
  printJson,
  reportError,
  resolveCase,
  type SecretOptions,
  shortHash,
} from "../sharing.ts";

export interface StatusOptions extends NetworkOptions, SecretOptions {}

/** The picture a hash came from, as the receipt on this device knows it. */
export function pictureOf(receipt: Receipt | undefined, id: string, value?: string): string | undefined {
  const h = receipt?.hashes.find((x) => x.id === id || (value !== undefined && x.value === value));
  return h?.file;
}

/** A server time (ISO 8601) as a person reads it, in the CLI's language and this device's time zone. */
export function readableTime(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  return new Intl.DateTimeFormat(cliLang(), { year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" }).format(t);
}

export function formatCaseStatus(server: string, c: CaseStatusResponse, receipt?: Receipt): string {
  const active = c.hashes.filter((h) => h.status === "active").length;
  const statusWord = (s: string) => (s === "active" ? tr("cli.status.active") : tr("cli.status.withdrawn"));
  const caseWord = c.status === "active" ? tr("cli.status.caseActive") : `${tr("cli.status.caseWithdrawn")} ${tr("cli.status.allWithdrawn")}`;
  const labels = [tr("cli.status.state"), tr("cli.status.created"), tr("cli.status.hashes")];
  const width = Math.max(...labels.map((l) => l.length)) + 1;
  const lines = [
    tr("cli.status.title", { caseId: c.caseId, server }),
    `  ${labels[0].padEnd(width)} ${caseWord}`,
    `  ${labels[1].padEnd(width)} ${readableTime(c.createdAt)}`,
    `  ${labels[2].padEnd(width)} ${tr("cli.status.counts", { count: c.hashes.length, active, withdrawn: c.hashes.length - active })}`,
    "",
    `  ${tr("cli.status.col.picture").padEnd(24)} ${tr("cli.status.col.id").padEnd(18)} ${tr("cli.status.col.hash").padEnd(17)} ${tr("cli.status.col.status").padEnd(9)} ${tr("cli.status.col.blocked").padStart(9)} ${tr("cli.status.col.notBlocked").padStart(11)} ${tr("cli.status.col.pending").padStart(9)}`,
  ];
  for (const h of c.hashes) {
    const pic = pictureOf(receipt, h.id, h.value) ?? tr("cli.status.unknownPicture");
    lines.push(
      `  ${pic.padEnd(24)} ${h.id.padEnd(18)} ${shortHash(h.value).padEnd(17)} ${statusWord(h.status).padEnd(9)} ${String(h.feedback.blocked).padStart(9)} ${String(h.feedback.notBlocked).padStart(11)} ${String(h.feedback.pendingReview).padStart(9)}`,
    );
  }
  const blocked = c.hashes.reduce((n, h) => n + h.feedback.blocked, 0);
  lines.push("", blocked > 0 ? `  ${tr("cli.status.blocked", { count: blocked })}` : `  ${tr("cli.status.noneBlocked")}`);
  if (!receipt) lines.push(`  ${tr("cli.status.noReceipt")}`);
  return lines.join("\n") + "\n";
}

export async function runStatus(caseIdInput: string, opts: StatusOptions): Promise<number> {
  const { caseId, server, secret, receipt } = await resolveCase(caseIdInput, opts);
  const client = makeClient(server, { timeout: opts.timeout });
  try {
    const c = await client.getCase(caseId, secret);
    if (opts.format === "json") printJson(c);
    else process.stdout.write(formatCaseStatus(client.serverUrl, c, receipt));
    return 0;
  } catch (err) {
    return reportError(err, { doing: tr("cli.status.doing", { caseId }), caseCall: true, server });
  } finally {
    await client.close();
  }
}

export function registerStatus(program: Command): void {
  const cmd = program
    .command("status")
    .description(tr("cli.help.status"))
    .argument("<caseId>", tr("cli.help.caseIdArg"));
  addSecretOptions(cmd);
  addNetworkOptions(cmd, tr("cli.help.serverFromReceipt")).action(async (caseId: string, opts: StatusOptions) => {
    process.exitCode = await runStatus(caseId, opts);
  });
}
