/**
 * hashsafe library for Node: PDQ hashes of images, computed locally.
 *
 * For browsers and workers import the sharp-free core from "hashsafe/pdq".
 */
export {
  DIHEDRAL_NAMES,
  type DihedralHashes,
  type DihedralName,
  HashError,
  type HashErrorCode,
  hashPixels,
  MIN_SIDE,
  PDQ_MODES,
  type PdqMode,
  type PdqOptions,
  type PdqResult,
  type PixelImage,
} from "./pdq/index.ts";
export {
  type FileHashOutcome,
  hashFile,
  hashFiles,
  hashImage,
  type HashOptions,
  type ImageHashResult,
} from "./image/hash.ts";
export { type DecodedImage, type DecodeOptions, decodeImage, setDecoderThreads } from "./image/node.ts";
export { DEFAULT_MAX_PIXELS } from "./image/limits.ts";
export { type ImageFormat, sniffFormat } from "./image/sniff.ts";
export { hammingDistance } from "./match/distance.ts";
export {
  bitsSet,
  formatHash,
  type Hash256,
  HashFormatError,
  hamming,
  hashProblem,
  parseHash,
} from "./match/hash256.ts";
export {
  detectFormat,
  formatHashList,
  formatListLine,
  formatProblem,
  HashListError,
  LIST_FORMATS,
  type ListEntry,
  type ListFormat,
  type ListProblem,
  type ListResult,
  readHashList,
  type ReadListOptions,
} from "./match/lists.ts";
export {
  type QueryVariant,
  type QueryVariants,
  queryVariants,
  type RobustHit,
  searchVariants,
  turnImage,
  type VariantOptions,
} from "./match/robust.ts";
export { type Bank, loadBank } from "./match/bank.ts";
export { type TrimOptions, type TrimResult, trimBorders, trimCandidates } from "./image/trim.ts";
export { HashIndex, IndexFileError, isIndexFile, type SaveOptions, type SearchHit } from "./match/mih.ts";
export { VERSION } from "./version.ts";
export {
  ApiError,
  type CallOptions,
  ClientError,
  dataDir,
  deliverSubmission,
  HashShareClient,
  type HashShareClientOptions,
  InsecureServerError,
  isTransient,
  NetworkError,
  newSubmission,
  Outbox,
  OutboxSaved,
  OutboxUnavailable,
  parseServerUrl,
  ProtocolError,
  type Receipt,
  readReceipt,
  type RetryPolicy,
  saveReceipt,
  type Submission,
} from "./client/index.ts";
export {
  createApiKey,
  createServer,
  type RunningServer,
  type ServerOptions,
  SqliteStore,
  type StartOptions,
  startServer,
  type Store,
  type TestHooks,
} from "./server/index.ts";
export {
  type Diagnosis,
  type SelfTestReport,
  selfTest,
  type VerifyRecord,
  type VerifySummary,
  verifyHashes,
} from "./conformance/index.ts";
