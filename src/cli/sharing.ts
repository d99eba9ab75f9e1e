/**
 * Shared pieces of the commands that talk to a hash-sharing server
 * (submit, status, withdraw, outbox, feed, lookup): server and key options,
 * the client, exit statuses and error messages.
 */
import { type Command, Option } from "commander";
import { HashShareClient, parseServerUrl, type RetryEvent } from "../client/client.ts";
import { ApiError, ClientError, formatSeconds, InsecureServerError, isTransient, NetworkError, ProtocolError } from "../client/errors.ts";
import { OutboxSaved } from "../client/outbox.ts";
import { type Receipt, readReceipt } from "../client/receipts.ts";
import { CaseIdSchema } from "../protocol/index.ts";
import { askSecret, canAsk } from "./secret-prompt.ts";
import { EXIT } from "./exit.ts";
import { invalidOption, UsageError } from "./output.ts";
import { normalizeCaseId, normalizeSecret } from "./ids.ts";
import { cliLang, retell, tr } from "./lang.ts";

/**
 * Exit statuses of the sharing commands, beyond 0 (ok), 1 (declined), 2
 * (usage error, or some input could not be processed; the rest was).
 */
export const SHARE_EXIT = {
  ...EXIT,
  /** The person answered no: nothing was sent. */
  DECLINED: 1,
  /** Not delivered now: the submission is saved in the outbox and will be sent by `outbox send` or the next `submit`. */
  QUEUED: 3,
  /** The server could not be reached (or kept failing); nothing was changed. */
  UNREACHABLE: 4,
  /** The server refused the request (wrong key or secret, unknown case, invalid request). */
  REFUSED: 5,
} as const;

/** Help text listing the exit statuses, for the sharing commands (in the CLI's language). */
export function exitHelp(): string {
  return `\n${tr("cli.help.exitShare")}`;
}

export interface NetworkOptions {
  server?: string;
  timeout: number;
  format?: string;
}

/** `--server`, `--timeout` and `--format` on a command (record commands pass all four formats, with no default). */
export function addNetworkOptions(
  cmd: Command,
  serverHelp = tr("cli.help.server"),
  formats: readonly string[] = ["text", "json"],
): Command {
  const format =
    formats.length > 2
      ? new Option("--format <format>", tr("cli.help.formatRecords")).choices(formats)
      : new Option("--format <format>", tr("cli.help.formatPeople")).choices(formats).default("text");
  return cmd
    .option("--server <url>", serverHelp)
    .option("--timeout <seconds>", tr("cli.help.timeout"), parseSeconds, 30)
    .addOption(format)
    .addHelpText("after", exitHelp());
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw invalidOption("--timeout", tr("cli.usage.expect.seconds"), v);
  return n;
}

/** The server address from `--server` or `HASHSAFE_SERVER` (then `fallback`). */
export function serverFrom(opt: string | undefined, fallback?: string): string | undefined {
  return opt ?? fallback ?? (process.env.HASHSAFE_SERVER || undefined);
}

export function requireServer(opt: string | undefined, fallback?: string): string {
  const s = serverFrom(opt, fallback);
  if (!s) throw new UsageError(tr("cli.whichServer"));
  return s;
}

export function requireKey(opt: string | undefined): string {
  const k = opt ?? (process.env.HASHSAFE_KEY || undefined);
  if (!k) throw new UsageError(tr("cli.usage.needsKey"));
  return k;
}

/** Write one line to stderr, prefixed like every hashsafe message. */
export function say(line: string): void {
  process.stderr.write(`hashsafe: ${line}\n`);
}

/** A client for `server`, with retry messages on stderr. Throws UsageError for an unusable address. */
export function makeClient(server: string, opts: { timeout: number; apiKey?: string; quiet?: boolean }): HashShareClient {
  try {
    return new HashShareClient({
      server,
      apiKey: opts.apiKey,
      timeoutMs: opts.timeout * 1000,
      // the server's problem details come back in the person's language
      lang: cliLang(),
      onRetry: opts.quiet ? undefined : (e: RetryEvent) => say(tr("cli.retry.note", { reason: retryReason(e.reason), delay: formatDelay(e.delayMs) })),
    });
  } catch (err) {
    if (err instanceof InsecureServerError) throw new UsageError(retell("cli.serverUrl.", err.message));
    throw err;
  }
}

function formatDelay(ms: number): string {
  // "0.8 s" in English, "0,8 s" in Spanish
  return ms < 10_000 ? `${(ms / 1000).toLocaleString(cliLang(), { minimumFractionDigits: 1, maximumFractionDigits: 1 })} s` : formatSeconds(ms / 1000);
}

function retryReason(reason: string): string {
  if (reason === "HTTP 429") return tr("cli.retry.busy");
  if (reason === "HTTP 409") return tr("cli.retry.inFlight");
  if (/^HTTP 5/.test(reason)) return tr("cli.retry.unavailable", { reason });
  switch (reason) {
    case "ECONNREFUSED":
      return tr("cli.retry.refused");
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return tr("cli.retry.noAnswer");
    case "UND_ERR_CONNECT_TIMEOUT":
    case "ETIMEDOUT":
      return tr("cli.retry.connectTimeout");
    case "UND_ERR_SOCKET":
    case "ECONNRESET":
    case "EPIPE":
      return tr("cli.retry.cut");
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return tr("cli.retry.notFound");
    default:
      return tr("cli.retry.other", { reason });
  }
}

const TLS_CODES = /^(CERT_|ERR_TLS_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_SSL_)/;

/** A network failure (after every retry) in the person's words; `server` as the person gave it. */
export function networkErrorText(err: NetworkError, server: string | undefined): string {
  let where = server ?? "?";
  try {
    if (server) where = parseServerUrl(server).origin;
  } catch {
    // keep it as given
  }
  const code = err.code;
  let message: string;
  switch (code) {
    case "ECONNREFUSED":
      message = tr("cli.net.refused", { server: where });
      break;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      message = tr("cli.net.notFound", { server: where });
      break;
    case "UND_ERR_CONNECT_TIMEOUT":
    case "ETIMEDOUT":
      message = tr("cli.net.connectTimeout", { server: where });
      break;
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      message = tr("cli.net.noAnswer", { server: where });
      break;
    case "UND_ERR_SOCKET":
    case "ECONNRESET":
    case "EPIPE":
      message = tr("cli.net.cut", { server: where });
      break;
    case "ENETUNREACH":
    case "EHOSTUNREACH":
      message = tr("cli.net.unreachable", { server: where });
      break;
    default:
      message = code && TLS_CODES.test(code) ? tr("cli.net.tls", { server: where, code }) : tr("cli.net.other", { server: where, code: code ?? "?" });
  }
  return err.attempts > 1 ? tr("cli.net.tries", { message, count: err.attempts }) : message;
}

/**
 * Any error of the client in the person's words (the client's own messages
 * are English, for programs and logs).
 */
export function clientErrorText(err: unknown, ctx: Omit<ErrorContext, "doing"> = {}): string {
  if (err instanceof OutboxSaved) err = err.cause;
  if (err instanceof ApiError) return apiErrorMessage(err, ctx);
  if (err instanceof NetworkError) return networkErrorText(err, ctx.server);
  if (err instanceof ProtocolError) return tr("cli.net.notHashsafe", { server: ctx.server ?? "?", status: err.status });
  return err instanceof Error ? err.message : String(err);
}

/** Context that turns an API error into words for this command. */
export interface ErrorContext {
  /** What was being done: "checking the case", "pulling the feed". */
  doing: string;
  /** The call concerns a case (404 means wrong id or secret). */
  caseCall?: boolean;
  /** The call names one hash of the case (404 may also mean: no such hash in it). */
  hashCall?: boolean;
  /** The server the call went to (named in network errors). */
  server?: string;
}

/** Print `err` for a person and answer the exit status. */
export function reportError(err: unknown, ctx: ErrorContext): number {
  if (err instanceof OutboxSaved) err = err.cause;
  if (err instanceof UsageError) throw err;
  if (err instanceof ApiError) {
    say(`${ctx.doing}: ${apiErrorMessage(err, ctx)}`);
    // temporary (the client's one rule) or any other 5xx: try again later; the rest is a refusal
    if (isTransient(err) || err.status >= 500) return SHARE_EXIT.UNREACHABLE;
    return SHARE_EXIT.REFUSED;
  }
  if (err instanceof NetworkError || err instanceof ProtocolError) {
    say(`${ctx.doing}: ${clientErrorText(err, ctx)}`);
    return SHARE_EXIT.UNREACHABLE;
  }
  if (err instanceof ClientError) {
    say(`${ctx.doing}: ${err.message}`);
    return SHARE_EXIT.REFUSED;
  }
  throw err;
}

export function apiErrorMessage(err: ApiError, ctx: Omit<ErrorContext, "doing">): string {
  switch (err.status) {
    case 401:
      return ctx.caseCall ? tr("cli.api.secret") : tr("cli.api.key");
    case 403:
      return tr("cli.api.scope");
    case 404:
      if (ctx.hashCall) return tr("cli.api.noHash");
      return ctx.caseCall ? tr("cli.api.noCase") : tr("cli.api.notFound");
    case 429:
      return err.retryAfter !== undefined ? tr("cli.api.busyWait", { wait: formatSeconds(err.retryAfter) }) : tr("cli.api.busy");
    default: {
      // title and detail come from the server, in the person's language (Accept-Language)
      let what = err.title;
      if (err.detail && err.detail !== err.title) what += ` (${err.detail})`;
      const items = err.errors.slice(0, 5).map((e) => (e.index === undefined ? e.message : tr("cli.api.item", { n: e.index + 1, message: e.message })));
      if (err.errors.length > 5) items.push(tr("cli.api.more", { count: err.errors.length - 5 }));
      if (items.length > 0) what += `; ${items.join("; ")}`;
      return tr("cli.api.refused", { what, status: err.status });
    }
  }
}

/** A short, readable hash for tables: first and last 8 hex digits. */
export function shortHash(value: string): string {
  return value.length > 20 ? `${value.slice(0, 8)}…${value.slice(-8)}` : value;
}

/** "1 hash", "2 hashes". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/** How a command may be given a case secret (besides the receipt and a hidden prompt). */
export interface SecretOptions {
  /** `--secret`: works, but shows the secret in shell history and `ps`; never suggested. */
  secret?: string;
  /** `--secret-stdin`: read the secret from standard input (first line). */
  secretStdin?: boolean;
}

async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) {
    chunks.push(c as Buffer);
    if (Buffer.concat(chunks).includes(10)) break;
  }
  return Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0] ?? "";
}

/** `--secret-stdin` and the (discouraged, hidden) `--secret` on a command. */
export function addSecretOptions(cmd: Command): Command {
  return cmd
    .option("--secret-stdin", tr("cli.help.secretStdin"))
    .addOption(new Option("--secret <secret>", tr("cli.help.secret")).hideHelp());
}

/**
 * Where a case lives and its secret: `--server` / receipt / HASHSAFE_SERVER;
 * the secret from `--secret-stdin`, `--secret`, HASHSAFE_SECRET, the receipt,
 * or a hidden prompt. Ids and secrets are read leniently (src/cli/ids.ts).
 */
export async function resolveCase(
  caseIdInput: string,
  opts: { server?: string } & SecretOptions,
): Promise<{ caseId: string; server: string; secret: string; receipt: Receipt | undefined }> {
  const caseId = normalizeCaseId(caseIdInput);
  if (!CaseIdSchema.safeParse(caseId).success) {
    throw new UsageError(tr("cli.case.badId", { id: caseIdInput.trim() }));
  }
  const receipt = await readReceipt(caseId);
  const server = opts.server ?? receipt?.server ?? (process.env.HASHSAFE_SERVER || undefined);
  if (!server) throw new UsageError(tr("cli.case.whichServer", { caseId }));
  let secret: string | undefined;
  if (opts.secretStdin) {
    secret = (await readStdinLine()).trim();
    if (!secret) throw new UsageError(tr("cli.secret.emptyStdin"));
  }
  secret ??= opts.secret ?? (process.env.HASHSAFE_SECRET || undefined);
  secret ??= receipt && sameServer(receipt.server, server) ? receipt.caseSecret : undefined;
  if (!secret) {
    if (!canAsk()) throw new UsageError(tr("cli.secret.noTerminal", { caseId }));
    secret = await askSecret(tr("cli.secret.prompt", { caseId }));
    if (!secret) throw new UsageError(tr("cli.secret.none"));
  }
  return { caseId, server, secret: normalizeSecret(secret), receipt };
}

function sameServer(a: string, b: string): boolean {
  try {
    return parseServerUrl(a).href === parseServerUrl(b).href;
  } catch {
    return a === b;
  }
}
