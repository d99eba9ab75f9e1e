/**
 * Helpers for the server tests: a real server on loopback over a real SQLite
 * file in a temporary directory, and a small undici caller.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { request } from "undici";
import Database from "better-sqlite3";
import { expect } from "vitest";
import { createApiKey, type RunningServer, SqliteStore, startServer, type StartOptions } from "../../src/server/index.ts";
import { ProblemSchema, type Scope } from "../../src/protocol/index.ts";

/** A fresh temporary directory; removed by the returned function. */
export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "hashsafe-server-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Start a server on a free loopback port over `db` (quiet logs). Unless
 * given: the feed is published after every write ("immediate") and the daily
 * quotas are off, so a test sees its writes in the feed at once; the tests of
 * batching and quotas set their own.
 */
export function start(db: string, options: StartOptions = {}): Promise<RunningServer> {
  return startServer({ host: "127.0.0.1", port: 0, db, logLevel: "silent", feedBatch: "immediate", quotas: false, ...options });
}

/** Create a platform key directly in a server's store. */
export async function platformKey(server: RunningServer, scopes: Scope[], name = `p-${randomUUID().slice(0, 8)}`): Promise<string> {
  return (await createApiKey(server.store, name, scopes)).key;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface CallOptions {
  body?: unknown;
  /** a raw body, sent as is */
  raw?: string | Buffer;
  contentType?: string | null;
  auth?: string;
  /** Idempotency-Key; a fresh UUID by default on POST and DELETE, null for none */
  idem?: string | null;
  headers?: Record<string, string>;
}

/** One HTTP call; the answer's body read in full and parsed as JSON when it is JSON. */
export async function call(base: string, method: string, p: string, o: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...o.headers };
  let body: string | Buffer | undefined;
  if (o.raw !== undefined) body = o.raw;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined && o.contentType !== null) headers["content-type"] = o.contentType ?? "application/json";
  if (o.auth) headers.authorization = o.auth;
  const idem = o.idem === undefined ? (method === "POST" || method === "DELETE" ? randomUUID() : null) : o.idem;
  if (idem) headers["idempotency-key"] = idem;
  const res = await request(`${base}${p}`, { method: method as "GET", headers, body });
  const text = await res.body.text();
  const ct = String(res.headers["content-type"] ?? "");
  return { status: res.statusCode, headers: res.headers, text, json: ct.includes("json") && text ? JSON.parse(text) : undefined };
}

/** A random valid PDQ value (about half the bits set). */
export function randomPdq(): string {
  return randomBytes(32).toString("hex");
}

/** `pdq` with `bits` bits flipped (the first ones). */
export function flipBits(pdq: string, bits: number): string {
  const b = Buffer.from(pdq, "hex");
  for (let i = 0; i < bits; i++) b[i >> 3] ^= 1 << (i & 7);
  return b.toString("hex");
}

export const CLIENT = { name: "hashsafe-test", version: "0.0.0" };

/**
 * Rows of a query on the database at `db`: through the store that holds it
 * open in this process (the server holds the file exclusively, so no second
 * connection can read it), else through a read-only connection of its own.
 */
export function readDb<T = Record<string, unknown>>(db: string, sql: string, ...params: unknown[]): T[] {
  const open = SqliteStore.openAt(db);
  if (open) return open.readQuery<T>(sql, ...params);
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return d.prepare(sql).all(...params) as T[];
  } finally {
    d.close();
  }
}

/** The feed id of a hash value (case answers carry the case's own entry ids, never the feed id). */
export function feedId(db: string, value: string): string {
  const r = readDb<{ public_id: string }>(db, "SELECT public_id FROM hashes WHERE value = ?", value.toLowerCase());
  if (!r.length) throw new Error(`no hash ${value}`);
  return r[0].public_id;
}

/** Row counts of the tables that requests write, read from the database file beside the server. */
export function counts(db: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of ["cases", "hashes", "case_hashes", "feedback", "idempotency", "api_keys"]) {
    out[t] = readDb<{ n: number }>(db, `SELECT count(*) AS n FROM ${t}`)[0].n;
  }
  return out;
}

/** Assert a problem+json answer with this status (and problem code, when given). */
export function expectProblem(r: Reply, status: number, code?: string): void {
  expect(r.status, r.text).toBe(status);
  expect(String(r.headers["content-type"])).toMatch(/^application\/problem\+json/);
  const p = ProblemSchema.parse(r.json);
  expect(p.status).toBe(status);
  if (code) expect(p.type).toBe(`urn:hashsafe:problem:${code}`);
}
