/**
 * Exit statuses shared by every command (docs/records.md has the table).
 *
 * Like grep: 0 success (for match, compare and lookup: something matched),
 * 1 only ever means "no" (nothing matched; or the person declined to send),
 * 2 an error: a usage mistake (unknown option, an option without its value,
 * a bad value) or an input that could not be used (the rest was processed).
 * The sharing commands add 3, 4 and 5 (see SHARE_EXIT in sharing.ts).
 */
export const EXIT = {
  OK: 0,
  /** nothing matched (match, compare, lookup), or the person answered no */
  NONE: 1,
  /** a usage error (bad option, missing value, bad argument) */
  USAGE: 2,
  /** some input could not be processed; the rest was */
  PARTIAL: 2,
} as const;
