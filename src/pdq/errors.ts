/** Error codes a caller can branch on. */
export type HashErrorCode =
  | "EMPTY_FILE"
  | "NOT_AN_IMAGE"
  | "UNSUPPORTED_FORMAT"
  | "TRUNCATED"
  | "CORRUPT"
  | "TOO_LARGE"
  | "TOO_SMALL"
  | "BAD_PIXELS"
  | "READ_ERROR"
  | "NOT_FOUND"
  | "SYMLINK_LOOP"
  /** A picture of one colour (PDQ quality 0): nothing a hash could recognise. Given by the file-level APIs, never by hashPixels. */
  | "FLAT";

/** An error about one input, with a message a person can act on. */
export class HashError extends Error {
  readonly code: HashErrorCode;
  constructor(code: HashErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HashError";
    this.code = code;
  }
}
