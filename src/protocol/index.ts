/**
 * API v1 of hash sharing: zod schemas of every request and answer (strict:
 * unknown fields are rejected), their inferred types, hash validation, limits,
 * routes and the problem+json error shape. Shared by the client and the
 * reference server. The prose contract is docs/protocol.md.
 */
export * from "./limits.ts";
export * from "./routes.ts";
export * from "./hashes.ts";
export * from "./ids.ts";
export * from "./problem.ts";
export * from "./cases.ts";
export * from "./platform.ts";
export * from "./health.ts";
