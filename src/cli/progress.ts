/**
 * A progress bar on stderr, only for people: when stderr is a terminal, not
 * in CI, and there is more than a handful of items.
 */
import cliProgress from "cli-progress";

export interface Progress {
  tick(): void;
  stop(): void;
}

const NONE: Progress = { tick() {}, stop() {} };

export function shouldShowProgress(total: number): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.CI && total > 5;
}

export function startProgress(total: number, label: string): Progress {
  if (!shouldShowProgress(total)) return NONE;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {value}/{total} {eta_formatted} left`,
      hideCursor: true,
      clearOnComplete: true,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    tick: () => bar.increment(),
    stop: () => bar.stop(),
  };
}
