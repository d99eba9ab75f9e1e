/**
 * hashsafe library for Node: PDQ hashes of images, computed locally, and
 * matching them against banks of hashes. It loads no server, database or HTTP
 * client: those are "hashsafe/client" (sharing hashes with a server) and
 * "hashsafe/server" (the reference server). For browsers and workers import
 * the sharp-free core from "hashsafe/pdq".
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
export { HashIndex, IndexFileError, isIndexFile, type LoadOptions, type SaveOptions, type SearchHit } from "./match/mih.ts";
export { loadIndexFile, saveIndexFile } from "./match/mih-file.ts";
export {
  type ConformanceRow,
  type ConformanceSet,
  decoderVersions,
  type Diagnosis,
  loadConformanceSet,
  type SelfTestMismatch,
  type SelfTestOptions,
  type SelfTestReport,
  selfTest,
  type TheirHash,
  type VerifyRecord,
  type VerifyStatus,
  type VerifySummary,
  verifyHashes,
} from "./conformance/index.ts";
export { VERSION } from "./version.ts";
