/** Conformance with Meta's reference PDQ: the bundled set, self-test and verify. */
export { type ConformanceRow, type ConformanceSet, conformanceDir, loadConformanceSet } from "./data.ts";
export { decoderVersions, type SelfTestMismatch, type SelfTestOptions, type SelfTestReport, selfTest } from "./self-test.ts";
export {
  type Diagnosis,
  diagnose,
  type OurHash,
  summarize,
  type TheirHash,
  type VerifyRecord,
  type VerifyStatus,
  type VerifySummary,
  verifyHashes,
} from "./verify.ts";
