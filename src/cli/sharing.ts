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
import { UsageError } from "./output.ts";
import { normalizeCaseId, normalizeSecret } from "./ids.ts";
import { tr } from "./lang.ts";

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
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--timeout must be a number of seconds above 0, not "${v}"`);
  return n;
}

/** The server address from `--server` or `HASHSAFE_SERVER` (then `fallback`). */
export function serverFrom(opt: string | undefined, fallback?: string): string | undefined {
  return opt ?? fallback ?? (process.env.HASHSAFE_SERVER || undefined);
}

export function requireServer(opt: string | undefined, fallback?: string): string {
  const s = serverFrom(opt, fallback);
  if (!s) throw new UsageError("which server? Give --server https://... (or set HASHSAFE_SERVER)");
  return s;
}

export function requireKey(opt: string | undefined): string {
  const k = opt ?? (process.env.HASHSAFE_KEY || undefined);
  if (!k) throw new UsageError("this needs a platform API key: give --key KEY (or set HASHSAFE_KEY)");
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
      onRetry: opts.quiet ? undefined : (e: RetryEvent) => say(`${retryReason(e.reason)}; trying again in ${formatDelay(e.delayMs)}`),
    });
  } catch (err) {
    if (err instanceof InsecureServerError) throw new UsageError(err.message);
    throw err;
  }
}

function formatDelay(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : formatSeconds(ms / 1000);
}

function retryReason(reason: string): string {
  if (reason === "HTTP 429") return "the server is busy (too many requests)";
  if (reason === "HTTP 409") return "the server is still working on the first try of this request";
  if (/^HTTP 5/.test(reason)) return `the server is unavailable for now (${reason})`;
  switch (reason) {
    case "ECONNREFUSED":
      return "the server is not answering (connection refused)";
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return "the server did not answer in time";
    case "UND_ERR_CONNECT_TIMEOUT":
    case "ETIMEDOUT":
      return "could not connect to the server in time";
    case "UND_ERR_SOCKET":
    case "ECONNRESET":
    case "EPIPE":
      return "the connection was cut before the answer arrived";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the server name could not be found";
    default:
      return `the connection failed (${reason})`;
  }
}

/** Context that turns an API error into words for this command. */
export interface ErrorContext {
  /** What was being done: "checking the case", "pulling the feed". */
  doing: string;
  /** The call concerns a case (404 means wrong id or secret). */
  caseCall?: boolean;
  /** The call names one hash of the case (404 may also mean: no such hash in it). */
  hashCall?: boolean;
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
  if (err instanceof NetworkError) {
    say(`${ctx.doing}: ${err.message}`);
    return SHARE_EXIT.UNREACHABLE;
  }
  if (err instanceof ProtocolError) {
    say(`${ctx.doing}: ${err.message}`);
    return SHARE_EXIT.UNREACHABLE;
  }
  if (err instanceof ClientError) {
    say(`${ctx.doing}: ${err.message}`);
    return SHARE_EXIT.REFUSED;
  }
  throw err;
}

export function apiErrorMessage(err: ApiError, ctx: ErrorContext): string {
  switch (err.status) {
    case 401:
      return ctx.caseCall
        ? "the server did not accept the case secret"
        : "the server did not accept the API key (check --key or HASHSAFE_KEY; it may have been revoked)";
    case 403:
      return "this API key is not allowed to do that (it lacks the scope; ask the server's operator)";
    case 404:
      if (ctx.hashCall) {
        return "no such hash in this case, or no case with this id and secret on this server: check the hash id (`hashsafe status` lists them), the case id and the secret";
      }
      return ctx.caseCall
        ? "no case with this id and secret on this server (a wrong secret and an unknown case look the same, on purpose): check the case id, the secret and the server address"
        : "the server does not know this (404): check the address and the id";
    case 429:
      return `the server is receiving too many requests${err.retryAfter !== undefined ? `; try again in ${formatSeconds(err.retryAfter)}` : "; try again later"}`;
    default:
      return err.message;
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
