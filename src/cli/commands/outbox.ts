/**
 * `hashsafe outbox list|send`: submissions that could not be delivered yet.
 * `send` delivers each with its original idempotency keys (so a submission
 * the server did receive, before the answer was lost, is not made twice),
 * prints the case id and secret of each delivered one, and removes it.
 */
import { type Command, Option } from "commander";
import { parseServerUrl } from "../../client/client.ts";
import { isTransient, NetworkError } from "../../client/errors.ts";
import { Outbox, OutboxSaved } from "../../client/outbox.ts";
import { type Submission, submissionHashes } from "../../client/submission.ts";
import { addNetworkOptions, clientErrorText, makeClient, type NetworkOptions, printJson, say, SHARE_EXIT } from "../sharing.ts";
import { deliveredJson, printCaseBanner } from "./submit.ts";
import { canAsk, confirm } from "../secret-prompt.ts";
import { retell, tr } from "../lang.ts";

/**
 * `outbox remove ID` / `outbox clear`: forget waiting submissions (nothing is
 * sent). Asks on a terminal; --yes skips; without a terminal and without
 * --yes nothing is removed (exit 1).
 */
export async function runOutboxRemove(ids: string[] | "all", opts: { yes?: boolean }): Promise<number> {
  const outbox = new Outbox();
  const { items } = await outbox.list();
  const chosen = ids === "all" ? items : items.filter((i) => ids.some((id) => id.trim() === i.id));
  if (ids !== "all") {
    const missing = ids.filter((id) => !items.some((i) => i.id === id.trim()));
    if (missing.length > 0) {
      say(tr("cli.outbox.notFound", { id: missing.join(", ") }));
      return SHARE_EXIT.PARTIAL;
    }
  }
  if (chosen.length === 0) {
    process.stdout.write(`${tr("cli.outbox.empty")}
`);
    return SHARE_EXIT.OK;
  }
  if (!opts.yes) {
    if (!canAsk()) {
      say(tr("cli.outbox.needsYes", { count: chosen.length }));
      return 1;
    }
    process.stderr.write(`\n${tr("cli.outbox.confirm", { count: chosen.length, servers: [...new Set(chosen.map((c) => c.server))].join(", ") })}\n`);
    if (!(await confirm(tr("cli.outbox.ask", { count: chosen.length })))) {
      say(tr("cli.outbox.kept"));
      return 1;
    }
  }
  for (const c of chosen) await outbox.remove(c.id);
  process.stdout.write(`${tr("cli.outbox.removed", { count: chosen.length })}\n`);
  return SHARE_EXIT.OK;
}

function itemJson(sub: Submission, file: string): Record<string, unknown> {
  return {
    id: sub.id,
    file,
    server: sub.server,
    createdAt: sub.createdAt,
    hashes: submissionHashes(sub).length,
    requests: sub.requests.length,
    delivered: sub.delivered,
    caseId: sub.caseId ?? null,
    attempts: sub.attempts,
    lastAttemptAt: sub.lastAttemptAt ?? null,
    lastError: sub.lastError ?? null,
  };
}

export async function runOutboxList(opts: { format?: string }): Promise<number> {
  const outbox = new Outbox();
  const { items, problems } = await outbox.list();
  for (const p of problems) say(`${p.file}: ${retell("cli.outboxError.", p.message)}`);
  if (opts.format === "json") {
    printJson(items.map((i) => itemJson(i, outbox.file(i.id))));
  } else if (items.length === 0) {
    process.stdout.write(`${tr("cli.outbox.listEmpty", { dir: outbox.dir })}\n`);
  } else {
    process.stdout.write(`${tr("cli.outbox.listTitle", { count: items.length, dir: outbox.dir })}\n`);
    for (const i of items) {
      const state = i.caseId
        ? tr("cli.outbox.itemPartial", { caseId: i.caseId, left: i.requests.length - i.delivered, count: i.requests.length })
        : tr("cli.outbox.itemNotYet");
      const line = tr("cli.outbox.item", {
        id: i.id,
        hashes: tr("cli.outbox.itemHashes", { count: submissionHashes(i).length }),
        server: i.server,
        date: i.createdAt,
        state,
        attempts: tr("cli.outbox.itemAttempts", { count: i.attempts }),
      });
      process.stdout.write(`  ${line}${i.lastError ? `; ${tr("cli.outbox.itemLastError", { error: i.lastError })}` : ""}\n`);
    }
    process.stdout.write(`${tr("cli.outbox.sendHint")}\n`);
  }
  return problems.length > 0 ? SHARE_EXIT.PARTIAL : SHARE_EXIT.OK;
}

export async function runOutboxSend(opts: NetworkOptions): Promise<number> {
  const outbox = new Outbox();
  const { items, problems } = await outbox.list();
  for (const p of problems) say(`${p.file}: ${retell("cli.outboxError.", p.message)}`);
  const chosen = opts.server ? items.filter((i) => sameOrigin(i.server, opts.server!)) : items;
  const delivered: Submission[] = [];
  const waiting: { sub: Submission; error: string }[] = [];
  const down = new Set<string>();
  let refused = false;
  for (const sub of chosen) {
    if (down.has(sub.server)) {
      waiting.push({ sub, error: tr("cli.outbox.serverDown") });
      continue;
    }
    const client = makeClient(sub.server, { timeout: opts.timeout });
    try {
      delivered.push(await outbox.deliver(client, sub, { inOutbox: true }));
    } catch (err) {
      const cause = err instanceof OutboxSaved ? err.cause : err;
      const msg = cause instanceof Error ? cause.message : String(cause);
      const text = clientErrorText(cause, { server: sub.server });
      if (cause instanceof NetworkError) down.add(sub.server);
      if (!isTransient(cause)) refused = true;
      say(tr("cli.outbox.stillWaiting", { id: sub.id, date: sub.createdAt, error: text }));
      waiting.push({ sub, error: msg });
    } finally {
      await client.close();
    }
  }
  if (opts.format === "json") {
    printJson({
      delivered: delivered.map(deliveredJson),
      waiting: waiting.map((w) => itemJson(w.sub, outbox.file(w.sub.id))),
    });
  } else {
    for (const d of delivered) printCaseBanner(d, { serverFromEnv: false });
    if (chosen.length === 0) process.stdout.write(`${tr("cli.outbox.nothingToSend")}\n`);
    else if (waiting.length === 0) say(tr("cli.outbox.deliveredAll", { count: delivered.length }));
    else say(tr("cli.outbox.deliveredSome", { delivered: delivered.length, count: chosen.length, waiting: waiting.length }));
  }
  if (waiting.length > 0) {
    if (refused) say(tr("cli.outbox.refusedStays"));
    return SHARE_EXIT.QUEUED;
  }
  return problems.length > 0 ? SHARE_EXIT.PARTIAL : SHARE_EXIT.OK;
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return parseServerUrl(a).href === parseServerUrl(b).href;
  } catch {
    return a === b;
  }
}

export function registerOutbox(program: Command): void {
  const outbox = program
    .command("outbox")
    .description(tr("cli.help.outbox"));
  outbox
    .command("list")
    .description(tr("cli.help.outboxList"))
    .addOption(new Option("--format <format>", tr("cli.help.formatPeople")).choices(["text", "json"]).default("text"))
    .action(async (opts: { format?: string }) => {
      process.exitCode = await runOutboxList(opts);
    });
  outbox
    .command("remove")
    .description(tr("cli.help.outboxRemove"))
    .argument("<ids...>", tr("cli.help.outboxIds"))
    .option("-y, --yes", tr("cli.help.outboxYes"))
    .action(async (ids: string[], opts: { yes?: boolean }) => {
      process.exitCode = await runOutboxRemove(ids, opts);
    });
  outbox
    .command("clear")
    .description(tr("cli.help.outboxClear"))
    .option("-y, --yes", tr("cli.help.outboxYes"))
    .action(async (opts: { yes?: boolean }) => {
      process.exitCode = await runOutboxRemove("all", opts);
    });
  addNetworkOptions(
    outbox.command("send").description(tr("cli.help.outboxSend")),
    tr("cli.help.outboxSendServer"),
  ).action(async (opts: NetworkOptions) => {
    process.exitCode = await runOutboxSend(opts);
  });
}
