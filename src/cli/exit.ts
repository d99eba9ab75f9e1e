/** Exit statuses shared by every command. */
export const EXIT = {
  OK: 0,
  /** a usage error (bad flag or argument) */
  USAGE: 1,
  /** some input could not be processed; the rest was */
  PARTIAL: 2,
} as const;
