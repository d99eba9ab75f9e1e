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
import { defaultJobs } from "../hashing.ts";
import { gatherHashes, type GatherResult } from "../hash-inputs.ts";
import { parsePositiveInt, UsageError } from "../output.ts";
import { canAsk, confirm } from "../secret-prompt.ts";
import {
  addNetworkOptions,
  makeClient,
  type NetworkOptions,
  plural,
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
}

function parseMinQuality(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 100) throw new UsageError(`--min-quality must be 0..100, not "${v}"`);
  return n;
}

/** Messages about the inputs: problems, weak hashes left out, repeats. */
function reportInputs(g: GatherResult, minQuality: number): void {
  for (const p of g.problems) say(`${p.source}: ${p.message}`);
  if (g.lowQuality.length > 0) {
    say(
      `left out ${plural(g.lowQuality.length, "image")} whose hash quality is under ${minQuality}: ` +
        `the picture has too little detail (flat, dark or blurred) for its hash to recognise copies reliably, ` +
        `and a weak hash can match unrelated pictures. (--min-quality 0 sends them anyway.)`,
    );
    for (const h of g.lowQuality) say(`  left out: ${h.source} (quality ${h.quality})`);
  }
  if (g.repeats > 0) say(`${plural(g.repeats, "repeated hash", "repeated hashes")} will be sent once`);
}

/** The case id, secret and next steps, printed once and prominently. */
export function printCaseBanner(sub: Submission, options: { serverFromEnv: boolean }): void {
  const receiptFile = sub.receiptFile;
  const accepted = sub.results.filter((r) => r.status === "accepted").length;
  const rejected = sub.results.filter((r) => r.status === "rejected");
  // With a receipt, status and withdraw find the server and the secret in it.
  const serverFlag = receiptFile || options.serverFromEnv ? "" : ` --server ${sub.server}`;
  const secretFlag = receiptFile ? "" : " --secret <case secret>";
  const rule = "=".repeat(72);
  const lines = [
    "",
    rule,
    `  Submitted: ${plural(accepted, "hash", "hashes")} to ${sub.server}`,
    ...(rejected.length > 0 ? [`  (${rejected.length} refused by the server; see the messages above)`] : []),
    "",
    `    Case id:      ${sub.caseId}`,
    `    Case secret:  ${sub.caseSecret}`,
    "",
    "  Keep the secret private, like a password: with it anyone can see this",
    "  case and withdraw its hashes. The server cannot show it again.",
    receiptFile
      ? `  A copy is saved, readable only by you, in:\n    ${receiptFile}`
      : sub.receipt
        ? `  The receipt could NOT be saved (${sub.receiptError ?? "unknown error"}):\n  write the id and secret down now.`
        : "  No receipt was saved (--no-receipt): write the id and secret down now.",
    "",
    "  What next:",
    `    see what platforms report:  hashsafe status ${sub.caseId}${serverFlag}${secretFlag}`,
    `    withdraw every hash:        hashsafe withdraw ${sub.caseId}${serverFlag}${secretFlag}`,
    `    withdraw one hash:          hashsafe withdraw ${sub.caseId} --hash <hash id>${serverFlag}${secretFlag}`,
    rule,
    "",
  ];
  process.stdout.write(lines.join("\n") + "\n");
  for (const r of rejected) {
    if (r.status === "rejected") say(`the server refused hash ${r.value} (${r.reason})`);
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
 */
async function flushOutbox(outbox: Outbox, client: HashShareClient): Promise<Submission[]> {
  const { items, problems } = await outbox.list();
  for (const p of problems) say(`${p.file}: ${p.message}`);
  const done: Submission[] = [];
  const mine = items.filter((i) => i.server === client.serverUrl);
  if (mine.length > 0) say(`first sending ${plural(mine.length, "earlier submission")} waiting in the outbox`);
  for (const item of mine) {
    try {
      done.push(await outbox.deliver(client, item, { inOutbox: true }));
    } catch (err) {
      const cause = err instanceof OutboxSaved ? err.cause : err;
      say(`an earlier submission (${item.createdAt}) is still waiting in the outbox: ${cause instanceof Error ? cause.message : String(cause)}`);
      if (cause instanceof NetworkError) break;
    }
  }
  return done;
}

export async function runSubmit(args: string[], opts: SubmitOptions): Promise<number> {
  const json = opts.format === "json";
  const server = serverFrom(opts.server);
  if (!server && !opts.dryRun) throw new UsageError("which server? Give --server https://... (or set HASHSAFE_SERVER)");
  // Check the address before any work, so that a refused address costs nothing.
  const client = server ? makeClient(server, { timeout: opts.timeout }) : undefined;
  try {
    const g = await gatherHashes(args, opts);
    reportInputs(g, opts.minQuality);
    const inputTrouble = g.problems.length > 0;
    if (g.hashes.length === 0) {
      say(
        g.lowQuality.length > 0
          ? "nothing to send: every hash was left out for low quality (see above)"
          : "nothing to send: no image or hash was found in the given paths",
      );
      return SHARE_EXIT.PARTIAL;
    }
    const clientInfo = client?.clientInfo ?? { name: "hashsafe", version: VERSION };
    const sub = newSubmission(client?.serverUrl ?? "", g.hashes.map(({ type, value }) => ({ type, value })), clientInfo, {
      receipt: opts.receipt,
    });

    if (opts.dryRun) {
      for (const req of sub.requests) {
        process.stdout.write((json ? JSON.stringify(req.body) : JSON.stringify(req.body, null, 2)) + "\n");
      }
      const where = client ? `${client.serverUrl}/v1/cases` : "the server's /v1/cases";
      say(
        `dry run: nothing was sent. Above is exactly the request body that would be sent to ${where}` +
          (sub.requests.length > 1 ? ` (the first; the others add the rest to the new case, 500 hashes each)` : "") +
          `: ${plural(g.hashes.length, "hash", "hashes")} and the program's name and version, nothing else.`,
      );
      return inputTrouble ? SHARE_EXIT.PARTIAL : SHARE_EXIT.OK;
    }
    if (!client) throw new Error("internal: no client");

    const what = `${plural(g.hashes.length, "hash", "hashes")} to ${client.serverUrl}`;
    if (!opts.yes) {
      if (!canAsk()) {
        say(
          `not sending: ${what} need a confirmation, and there is no terminal to ask on. ` +
            `Check what would be sent with --dry-run, then run again with --yes.`,
        );
        return SHARE_EXIT.USAGE;
      }
      process.stderr.write(
        `\nAbout to send ${what}.\n` +
          `Only the hashes are sent: no image, file name, size, date or other detail leaves this machine.\n`,
      );
      if (!(await confirm("Send them?"))) {
        say("nothing was sent.");
        return SHARE_EXIT.DECLINED;
      }
    } else if (!json) {
      say(`sending ${what} (only the hashes)`);
    }

    const outbox = new Outbox();
    const earlier = await flushOutbox(outbox, client);
    const serverFromEnv = !opts.server && Boolean(process.env.HASHSAFE_SERVER);
    try {
      await outbox.deliver(client, sub);
    } catch (err) {
      if (err instanceof OutboxSaved) {
        const cause = err.cause instanceof Error ? err.cause.message : String(err.cause);
        say(`could not deliver the hashes now: ${cause}`);
        say(
          `nothing is lost: the submission is saved in the outbox (${err.file}) and will be sent, ` +
            `as the same request, by \`hashsafe outbox send\` or the next \`hashsafe submit\`.`,
        );
        if (json) printJson({ ...queuedJson(sub, err.file), ...(earlier.length ? { outbox: earlier.map(deliveredJson) } : {}) });
        else {
          for (const e of earlier) printCaseBanner(e, { serverFromEnv });
          if (sub.caseId) printCaseBanner(sub, { serverFromEnv });
        }
        return SHARE_EXIT.QUEUED;
      }
      if (err instanceof OutboxUnavailable) {
        say(`could not deliver the hashes now: ${err.message}.`);
        if (sub.caseId) {
          say("the case was created, but not every hash reached it: keep the id and secret below, and run the same submit again later");
          if (json) printJson({ ...deliveredJson(sub), error: err.message });
          else printCaseBanner(sub, { serverFromEnv });
        } else {
          say("nothing was kept on this machine: run the same command again later.");
        }
        return SHARE_EXIT.UNREACHABLE;
      }
      return reportError(err, { doing: "submitting" });
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
    .description("hash images here and send only the hashes to a hash-sharing server; prints a case id and secret")
    .argument("<inputs...>", "image files, folders (walked recursively), hash lists, or hashes")
    .addOption(new Option("--mode <mode>", "full or squash512, as for `hash`").choices(["full", "squash512"]).default("full"))
    .option("--no-orient", "ignore EXIF orientation (as for `hash`)")
    .option("--max-pixels <n>", "refuse images with more pixels than this", parsePositiveInt("--max-pixels"), DEFAULT_MAX_PIXELS)
    .option("--jobs <n>", "images decoded at once", parsePositiveInt("--jobs"), defaultJobs())
    .option("--min-quality <n>", "leave out hashes under this quality (0..100)", parseMinQuality, 50)
    .option("-y, --yes", "send without asking for confirmation")
    .option("--dry-run", "print exactly the request body that would be sent, and send nothing")
    .option("--no-receipt", "do not save the case id and secret in a receipt file");
  addNetworkOptions(cmd).action(async (inputs: string[], opts: SubmitOptions) => {
    process.exitCode = await runSubmit(inputs, opts);
  });
}
