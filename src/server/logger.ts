/**
 * Structured logs: one JSON object per line. At the default level ("info")
 * a request is logged as method, route pattern, status and duration only: no
 * paths (they hold case ids), hashes, secrets, keys or client addresses.
 * "debug" adds the path and the client address.
 */

export const LOG_LEVELS = ["silent", "error", "warn", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  readonly level: LogLevel;
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  enabled(level: LogLevel): boolean;
}

/** A logger writing JSON lines to `write` (stderr by default). */
export function createLogger(level: LogLevel = "info", write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const rank = LOG_LEVELS.indexOf(level);
  const enabled = (l: LogLevel): boolean => l !== "silent" && LOG_LEVELS.indexOf(l) <= rank;
  const log = (l: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (enabled(l)) write(`${JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...fields })}\n`);
  };
  return { level, enabled, error: log("error"), warn: log("warn"), info: log("info"), debug: log("debug") };
}
