/**
 * `hashsafe submit <images|folders|hash lists> --server URL`: hash locally,
 * show what will be sent, send only the hashes, print the case id and secret
 * once and keep them in a private receipt. A submission that cannot be
 * delivered is kept in the outbox (exit status 3) and sent later with the
 * same idempotency keys.
 */
import type { Command } from "commander";
import { Option } from "commander";
import type { HashShareClient } from "../../client/client.ts";
import { NetworkError } from "../../client/errors.ts";
import { Outbox, OutboxSaved, OutboxUnavailable } from "../../client/outbox.ts";
import { newSubmission, type Submission, submissionHashes } from "../../client/submission.ts";
import { DEFAULT_MAX_PIXELS } from "../../image/limits.ts";
import type { PdqMode } from "../../pdq/index.ts";
import { VERSION } from "../../version.ts";
import { alphaOption, defaultJobs, transparencyWarning } from "../hashing.ts";
import type { AlphaMode } from "../../image/node.ts";
import { gatherHashes, type GatherResult } from "../hash-inputs.ts";
import { invalidOption, parsePositiveInt, UsageError } from "../output.ts";
import { canAsk, confirm } from "../secret-prompt.ts";
import { retell, tr } from "../lang.ts";
import { skippedSummary } from "../pictures.ts";
import { localNames } from "../thumb.ts";
import {
  addNetworkOptions,
  clientErrorText,
  makeClient,
  type NetworkOptions,
  printJson,
  reportError,
  say,
  SHARE_EXIT,
  serverFrom,
} from "../sharing.ts";

export interface SubmitOptions extends NetworkOptions {
  mode: PdqMode;
  orient: boolean;
  maxPixels: number;
  jobs: number;
  minQuality: number;
  yes?: boolean;
  dryRun?: boolean;
  receipt: boolean;
  list?: string[];
  alpha: AlphaMode;
}

function parseMinQuality(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 100) throw invalidOption("--min-quality", tr("cli.usage.expect.range", { min: 0, max: 100 }), v);
  return n;
}

/** Messages about the inputs: problems, skipped non-pictures, weak hashes left out, repeats. */
function reportInputs(g: GatherResult, minQuality: number, alpha: AlphaMode): void {
  for (const p of g.problems) say(`${p.source}: ${p.message}`);
  for (const h of [...g.hashes, ...g.lowQuality]) if (h.transparent) say(transparencyWarning(h.source, alpha));
  const skipped = skippedSummary(g.skipped);
  if (skipped) say(skipped);
  if (g.lowQuality.length > 0) {
    say(tr("cli.submit.lowQuality", { count: g.lowQuality.length, min: minQuality }));
    for (const h of g.lowQuality) say(`  ${tr("cli.submit.leftOut", { source: h.source, quality: h.quality ?? 0 })}`);
  }
  if (g.repeats > 0) say(tr("cli.submit.repeats", { count: g.repeats }));
}

/** The case id, secret and next steps, printed once and prominently. */
export function printCaseBanner(sub: Submission, options: { serverFromEnv: boolean }): void {
  const receiptFile = sub.receiptFile;
  const accepted = sub.results.filter((r) => r.status === "accepted").length;
  const rejected = sub.results.filter((r) => r.status === "rejected");
  // With a receipt, status and withdraw find the server and the secret in it.
  // The secret is never suggested on the command line (shell history, `ps`): without a receipt, it is asked for.
  const serverFlag = receiptFile || options.serverFromEnv ? "" : ` --server ${sub.server}`;
  const rule = "=".repeat(72);
  const lines = [
    "",
    rule,
    `  ${tr("cli.banner.submitted", { count: accepted, server: sub.server })}`,
    ...(rejected.length > 0 ? [`  ${tr("cli.banner.refused", { count: rejected.length })}`] : []),
    "",
    `    ${tr("cli.banner.caseId").padEnd(20)}${sub.caseId}`,
    `    ${tr("cli.banner.caseSecret").padEnd(20)}${sub.caseSecret}`,
    "",
    `  ${tr("cli.banner.keepSecret")}`,
    receiptFile
      ? `  ${tr("cli.banner.receiptSaved")}\n    ${receiptFile}`
      : sub.receipt
        ? `  ${tr("cli.banner.receiptFailed", { error: sub.receiptError ?? "?" })}`
        : `  ${tr("cli.banner.noReceipt")}`,
    "",
    `  ${tr("cli.banner.next")}`,
    `    ${tr("cli.banner.nextStatus").padEnd(34)}hashsafe status ${sub.caseId}${serverFlag}`,
    `    ${tr("cli.banner.nextWithdrawAll").padEnd(34)}hashsafe withdraw ${sub.caseId}${serverFlag}`,
    `    ${tr("cli.banner.nextWithdrawOne").padEnd(34)}hashsafe withdraw --file <${tr("cli.banner.pictureWord")}>${serverFlag}`,
    ...(receiptFile ? [] : [`  ${tr("cli.banner.secretHint")}`]),
    rule,
    "",
  ];
  process.stdout.write(lines.join("\n") + "\n");
  for (const r of rejected) {
    if (r.status === "rejected") say(tr("cli.banner.refusedHash", { value: r.value, reason: r.reason }));
  }
}

/** JSON of a delivered submission: `{caseId, caseSecret, hashes, server, receipt}`. */
export function deliveredJson(sub: Submission): Record<string, unknown> {
  return {
    caseId: sub.caseId,
    caseSecret: sub.caseSecret,
    hashes: sub.results,
    server: sub.server,
    receipt: sub.receiptFile ?? null,
    ...(sub.receiptError ? { receiptError: sub.receiptError } : {}),
  };
}

/** JSON of a submission waiting in the outbox. */
export function queuedJson(sub: Submission, file: string): Record<string, unknown> {
  return {
    queued: true,
    outboxId: sub.id,
    outboxFile: file,
    server: sub.server,
    hashes: submissionHashes(sub),
    ...(sub.caseId ? { caseId: sub.caseId, caseSecret: sub.caseSecret } : {}),
    error: sub.lastError,
  };
}

/**
 * Deliver what waits in the outbox for this server; answers what went
 * through. Stops at the first connection failure (the server is down: the
 * new submission will be queued too).
 *
 * Submissions waiting for ANOTHER server are sent only when the person says
 * so on a terminal (asked per server, in their language); with --yes or
 * without a terminal they are never sent to it by submit, only mentioned
 * (`hashsafe outbox send` sends them, `outbox remove` drops them).
 */
async function flushOutbox(outbox: Outbox, client: HashShareClient, ask: boolean, timeout: number): Promise<Submission[]> {
  const { items, problems } = await outbox.list();
  for (const p of problems) say(`${p.file}: ${retell("cli.outboxError.", p.message)}`);
  const done: Submission[] = [];
  const mine = items.filter((i) => i.server === client.serverUrl);
  const others = items.filter((i) => i.server !== client.serverUrl);
  const when = (s: Submission) => s.createdAt.slice(0, 16).replace("T", " ");
  if (others.length > 0 && !ask) say(tr("cli.submit.otherQueued", { count: others.length }));
  if (mine.length > 0 && ask) {
    process.stderr.write(`${tr("cli.submit.earlierWaiting", { count: mine.length, server: client.serverUrl, date: when(mine[0]) })}\n`);
    if (!(await confirm(tr("cli.submit.earlierAsk", { count: mine.length })))) {
      say(tr("cli.submit.earlierKept", { count: mine.length }));
      mine.length = 0;
    }
  } else if (mine.length > 0) say(tr("cli.submit.earlierSending", { count: mine.length }));
  await deliverAll(outbox, client, mine, done);
  if (!ask) return done;
  for (const server of [...new Set(others.map((o) => o.server))]) {
    const waiting = others.filter((o) => o.server === server);
    const what = { count: waiting.length, server };
    process.stderr.write(`${tr("cli.submit.otherServerWaiting", { ...what, date: when(waiting[0]) })}\n`);
    if (!(await confirm(tr("cli.submit.otherServerAsk", what)))) {
      say(tr("cli.submit.otherServerKept", what));
      continue;
    }
    say(tr("cli.submit.otherServerSending", what));
    let other: HashShareClient;
    try {
      other = makeClient(server, { timeout });
    } catch (err) {
      say(tr("cli.submit.earlierStillWaiting", { date: waiting[0].createdAt, error: err instanceof Error ? err.message : String(err) }));
      continue;
    }
    try {
      await deliverAll(outbox, other, waiting, done);
    } finally {
      await other.close();
    }
  }
  return done;
}

/** Deliver `items` (from the outbox) to `client`'s server, stopping when it cannot be reached. */
async function deliverAll(outbox: Outbox, client: HashShareClient, items: readonly Submission[], done: Submission[]): Promise<void> {
  for (const item of items) {
    try {
      done.push(await outbox.deliver(client, item, { inOutbox: true }));
    } catch (err) {
      const cause = err instanceof OutboxSaved ? err.cause : err;
      say(tr("cli.submit.earlierStillWaiting", { date: item.createdAt, error: clientErrorText(cause, { server: client.serverUrl }) }));
      if (cause instanceof NetworkError) break;
    }
  }
}

export async function runSubmit(args: string[], opts: SubmitOptions): Promise<number> {
  const json = opts.format === "json";
  const server = serverFrom(opts.server);
  if (!server && !opts.dryRun) throw new UsageError(tr("cli.whichServer"));
  // Check the address before any work, so that a refused address costs nothing.
  const client = server ? makeClient(server, { timeout: opts.timeout }) : undefined;
  try {
    const g = await gatherHashes(args, { ...opts, lists: opts.list ?? [] });
    reportInputs(g, opts.minQuality, opts.alpha);
    const inputTrouble = g.problems.length > 0;
    if (g.hashes.length === 0) {
      say(g.lowQuality.length > 0 ? tr("cli.submit.nothingLowQuality") : tr("cli.submit.nothing"));
      return SHARE_EXIT.PARTIAL;
    }
    const clientInfo = client?.clientInfo ?? { name: "hashsafe", version: VERSION };
    const sub = newSubmission(client?.serverUrl ?? "", g.hashes.map(({ type, value }) => ({ type, value })), clientInfo, {
      receipt: opts.receipt,
    });
    if (opts.receipt) sub.local = await localNames(g.hashes);

    if (opts.dryRun) {
      for (const req of sub.requests) {
        process.stdout.write((json ? JSON.stringify(req.body) : JSON.stringify(req.body, null, 2)) + "\n");
      }
      const where = client ? `${client.serverUrl}/v1/cases` : "/v1/cases";
      say(tr("cli.submit.dryRun", { where, count: g.hashes.length }) + (sub.requests.length > 1 ? ` ${tr("cli.submit.dryRunMore")}` : ""));
      return inputTrouble ? SHARE_EXIT.PARTIAL : SHARE_EXIT.OK;
    }
    if (!client) throw new Error("internal: no client");

    const what = { count: g.hashes.length, server: client.serverUrl };
    if (!opts.yes) {
      if (!canAsk()) {
        say(tr("cli.submit.needsYes", what));
        return SHARE_EXIT.USAGE;
      }
      process.stderr.write(`\n${tr("cli.submit.about", what)}\n${tr("cli.submit.onlyHashes")}\n${tr("common.hash.explain")}\n`);
      if (!(await confirm(tr("cli.submit.ask", { count: g.hashes.length })))) {
        say(tr("cli.submit.declined"));
        return SHARE_EXIT.DECLINED;
      }
    } else if (!json) {
      say(tr("cli.submit.sending", what));
    }

    const outbox = new Outbox();
    const earlier = await flushOutbox(outbox, client, !opts.yes && canAsk(), opts.timeout);
    const serverFromEnv = !opts.server && Boolean(process.env.HASHSAFE_SERVER);
    try {
      await outbox.deliver(client, sub);
    } catch (err) {
      if (err instanceof OutboxSaved) {
        say(tr("cli.submit.notNow", { error: clientErrorText(err.cause, { server: client.serverUrl }) }));
        say(tr("cli.submit.queued", { file: err.file }));
        if (json) printJson({ ...queuedJson(sub, err.file), ...(earlier.length ? { outbox: earlier.map(deliveredJson) } : {}) });
        else {
          for (const e of earlier) printCaseBanner(e, { serverFromEnv });
          if (sub.caseId) printCaseBanner(sub, { serverFromEnv });
        }
        return SHARE_EXIT.QUEUED;
      }
      if (err instanceof OutboxUnavailable) {
        const why = /; and it could not be saved in the outbox \((.*)\)$/s.exec(err.message)?.[1] ?? "?";
        say(tr("cli.submit.undeliverable", { error: tr("cli.submit.notSaved", { error: clientErrorText(err.cause, { server: client.serverUrl }), why }) }));
        if (sub.caseId) {
          say(tr("cli.submit.partCreated"));
          if (json) printJson({ ...deliveredJson(sub), error: err.message });
          else printCaseBanner(sub, { serverFromEnv });
        } else {
          say(tr("cli.submit.nothingKept"));
        }
        return SHARE_EXIT.UNREACHABLE;
      }
      return reportError(err, { doing: tr("cli.doing.submitting"), server: client.serverUrl });
    }

    const rejected = sub.results.some((r) => r.status === "rejected");
    if (json) {
      printJson({ ...deliveredJson(sub), ...(earlier.length ? { outbox: earlier.map(deliveredJson) } : {}) });
    } else {
      for (const e of earlier) printCaseBanner(e, { serverFromEnv });
      printCaseBanner(sub, { serverFromEnv });
    }
    return inputTrouble || rejected ? SHARE_EXIT.PARTIAL : SHARE_EXIT.OK;
  } finally {
    await client?.close();
  }
}

export function registerSubmit(program: Command): void {
  const cmd = program
    .command("submit")
    .description(tr("cli.help.submit"))
    .argument("[inputs...]", tr("cli.help.submitInputs"))
    .option("--list <file>", tr("cli.help.list"), (v: string, prev: string[] = []) => [...prev, v])
    .addOption(new Option("--mode <mode>", tr("cli.help.mode")).choices(["full", "squash512"]).default("full"))
    .option("--no-orient", tr("cli.help.noOrient"))
    .addOption(alphaOption())
    .option("--max-pixels <n>", tr("cli.help.maxPixels"), parsePositiveInt("--max-pixels"), DEFAULT_MAX_PIXELS)
    .option("--jobs <n>", tr("cli.help.jobs"), parsePositiveInt("--jobs"), defaultJobs())
    .option("--min-quality <n>", tr("cli.help.minQualitySubmit"), parseMinQuality, 50)
    .option("-y, --yes", tr("cli.help.submitYes"))
    .option("--dry-run", tr("cli.help.dryRun"))
    .option("--no-receipt", tr("cli.help.noReceipt"));
  addNetworkOptions(cmd).action(async (inputs: string[], opts: SubmitOptions) => {
    process.exitCode = await runSubmit(inputs, opts);
  });
}
