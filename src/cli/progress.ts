/**
 * A progress bar on stderr, only for people: when stderr is a terminal, not
 * in CI, and there is more than a handful of items. Lines written through
 * `print` (records for a terminal) and `say` (messages) clear the bar first
 * and redraw it after, so they never share a line with it.
 */
import { tr } from "./lang.ts";
import cliProgress from "cli-progress";

export interface Progress {
  tick(): void;
  /** Write a line to stderr without garbling the bar. */
  say(line: string): void;
  /** Run a write to stdout without garbling the bar. */
  around<T>(write: () => T): T;
  stop(): void;
}

const NONE: Progress = {
  tick() {},
  say(line) {
    process.stderr.write(line + "\n");
  },
  around: (write) => write(),
  stop() {},
};

export function shouldShowProgress(total: number): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.CI && total > 5;
}

/**
 * stderr as cli-progress sees it, minus "save/restore cursor": the bar saves
 * the cursor at start and restores it at stop, which would jump back above
 * the lines printed meanwhile. Without it, stop clears the bar's own line.
 */
function stderrWithoutCursorSave(): NodeJS.WriteStream {
  const err = process.stderr;
  return {
    isTTY: true,
    get columns() {
      return err.columns;
    },
    write(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
      if (chunk === "\x1B7" || chunk === "\x1B8") return true;
      return (err.write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    },
    on: err.on.bind(err),
    once: err.once.bind(err),
    removeListener: err.removeListener.bind(err),
  } as unknown as NodeJS.WriteStream;
}

export function startProgress(total: number, label: string): Progress {
  if (!shouldShowProgress(total)) return NONE;
  const bar = new cliProgress.SingleBar(
    {
      stream: stderrWithoutCursorSave(),
      // {bar}, {value}, {total} and {eta_formatted} are cli-progress's own placeholders, left as they are by tr
      format: tr("cli.progress.format", { label }),
      hideCursor: true,
      clearOnComplete: true,
      linewrap: true, // keep the terminal wrapping our long message lines
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  let value = 0;
  bar.start(total, 0);
  const clear = () => process.stderr.write("\r\x1b[2K");
  return {
    tick: () => {
      value++;
      bar.update(value);
    },
    say: (line) => {
      clear();
      process.stderr.write(line + "\n");
      bar.update(value);
    },
    around: (write) => {
      clear();
      const out = write();
      bar.update(value);
      return out;
    },
    stop: () => bar.stop(),
  };
}
