/**
 * The victim's commands on a terminal (`script` gives a pseudo-terminal), in
 * Spanish and in English: submit asks and takes "s"/"y", the receipt names
 * each picture, `cases` lists the case, `status` names the pictures, withdraw
 * asks (how many, which case, platforms stop blocking) and withdraws nothing
 * when refused, and refuses without a terminal and without --yes.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FIXTURES } from "../helpers.ts";
import { ensureBuilt, removeDir, runCli, runCliInTerminal, show, startTestServer, tempDir, type TestServer } from "./e2e-support.ts";

let server: TestServer;
let work: string;

beforeAll(async () => {
  await ensureBuilt();
  work = tempDir("hs-victim-");
  server = await startTestServer(path.join(work, "server.db"));
}, 120_000);

afterAll(async () => {
  await server?.close();
  removeDir(work);
});

const words = {
  es: { yes: "s\n", askSend: /¿Las envío\?.*\[s\/N\]/s, accepts: /responde/, id: /Id del caso:\s+(c_\S+)/, sent: /Enviadas: 2 huellas/, cases: /1 caso con recibo/, hashes: /2 huellas/, statusCol: /foto/, head: /^ {2}estado: +activo\n {2}creado: +\d{1,2} de [a-z]+ de 20\d\d.*\n {2}huellas: +2 \(activas: 2; retiradas: 0\)$/m, withdrawQ: /Esto retira 2 huellas: todo el caso/, stop: /dejarán de bloquear/, askW: /¿Retirar\?/, declined: /No se retiró nada/, done: /Retiradas: todas las huellas/, later: /dejan de bloquearlas cuando el servidor les pasa el cambio.*hasta una hora/s },
  en: { yes: "y\n", askSend: /Send them\?.*\[y\/N\]/s, accepts: /answer/, id: /Case id:\s+(c_\S+)/, sent: /Submitted: 2 hashes/, cases: /1 case with a receipt/, hashes: /2 hashes/, statusCol: /picture/, head: /^ {2}status: +active\n {2}created: +[A-Z][a-z]+ \d{1,2}, 20\d\d.*\n {2}hashes: +2 \(2 active, 0 withdrawn\)$/m, withdrawQ: /This withdraws 2 hashes: all of case/, stop: /stop blocking/, askW: /Withdraw\?/, declined: /Nothing was withdrawn/, done: /Withdrawn: every hash of case/, later: /stop blocking them once the server passes the change on.*up to an hour/s },
} as const;

describe.each(["es", "en"] as const)("victim flow on a terminal, LANG=%s", (lang) => {
  const w = words[lang];
  const env = { LANG: lang === "es" ? "es_DO.UTF-8" : "en_US.UTF-8", HASHSAFE_SERVER: "" };
  let home: string;
  let pictures: string;
  let caseId: string;
  let secret: string;

  beforeAll(() => {
    home = tempDir(`hs-home-${lang}-`);
    pictures = path.join(work, `fotos-${lang}`);
    mkdirSync(pictures, { recursive: true });
    copyFileSync(path.join(FIXTURES, "images", "harbour.jpg"), path.join(pictures, "playa.jpg"));
    copyFileSync(path.join(FIXTURES, "images", "tower.png"), path.join(pictures, "torre.png"));
  });

  test("submit asks, accepts the language's yes, prints the case, keeps a receipt that names each picture", async () => {
    const r = await runCliInTerminal(["submit", pictures, "--server", server.url], { home, env, prompt: w.askSend, answer: w.yes });
    expect(r.answered, r.stdout).toBe(true);
    expect(r.stdout).toMatch(w.accepts);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(w.sent);
    expect(r.stdout).not.toMatch(/--secret(?!-stdin)/);
    caseId = w.id.exec(r.stdout)![1];
    secret = /((?:[0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4})/.exec(r.stdout)![1];
    const files = readdirSync(path.join(home, "receipts"));
    expect(files).toEqual([`${caseId}.json`]);
    const receipt = JSON.parse(readFileSync(path.join(home, "receipts", files[0]), "utf8"));
    expect(receipt.hashes.map((h: { file: string }) => h.file).sort()).toEqual(["playa.jpg", "torre.png"]);
    for (const h of receipt.hashes) expect(h.blurhash).toMatch(/^[0-9A-Za-z#$%*+,\-.:;=?@[\]^_{|}~]{10,}$/);
  });

  test("cases lists the case; status names each picture", async () => {
    const c = await runCli(["cases"], { home, env });
    expect(c.code, show(c)).toBe(0);
    expect(c.stdout).toMatch(w.cases);
    expect(c.stdout).toContain(caseId);
    expect(c.stdout).toMatch(w.hashes);
    const s = await runCli(["status", caseId], { home, env });
    expect(s.code, show(s)).toBe(0);
    expect(s.stdout).toMatch(w.statusCol);
    // the case's state, when it was made (in words, not a server timestamp) and its hashes, the values in one column
    expect(s.stdout).toMatch(w.head);
    expect(s.stdout).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:/);
    const head = s.stdout.split("\n").slice(1, 4);
    expect(new Set(head.map((l) => /^ {2}\S+ +/.exec(l)![0].length)).size, head.join("\n")).toBe(1);
    expect(s.stdout).toContain("playa.jpg");
    expect(s.stdout).toContain("torre.png");
  });

  test("a pasted id with spaces and a trailing dot, and a secret from HASHSAFE_SECRET in lower case with spaces, work on another device", async () => {
    const other = tempDir(`hs-other-${lang}-`);
    const typed = secret.toLowerCase().replace(/-/g, " ").replace(/0/g, "o");
    const r = await runCli(["status", ` ${caseId}. `, "--server", server.url, "--format", "json"], { home: other, env: { ...env, HASHSAFE_SECRET: ` ${typed} ` } });
    expect(r.code, show(r)).toBe(0);
    expect(JSON.parse(r.stdout).caseId).toBe(caseId);
    // Hints never put the secret on the command line.
    expect(r.stderr).not.toMatch(/--secret\s/);
  });

  test("withdraw without a terminal and without --yes refuses (exit 1) and withdraws nothing", async () => {
    const r = await runCli(["withdraw", caseId], { home, env });
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toMatch(/--yes/);
    const s = await runCli(["status", caseId, "--format", "json"], { home, env });
    expect(JSON.parse(s.stdout).hashes.every((h: { status: string }) => h.status === "active")).toBe(true);
  });

  test("withdraw on a terminal says how many, which case and what it means; refused, nothing is withdrawn", async () => {
    const r = await runCliInTerminal(["withdraw", caseId], { home, env, prompt: w.askW, answer: "n\n" });
    expect(r.answered, r.stdout).toBe(true);
    expect(r.stdout).toMatch(w.withdrawQ);
    expect(r.stdout).toContain(caseId);
    expect(r.stdout).toMatch(w.stop);
    expect(r.stdout).toMatch(w.declined);
    const s = await runCli(["status", caseId, "--format", "json"], { home, env });
    expect(JSON.parse(s.stdout).hashes.every((h: { status: string }) => h.status === "active")).toBe(true);
  });

  test("withdraw --file PICTURE withdraws the hash of that picture only", async () => {
    const r = await runCliInTerminal(["withdraw", "--file", path.join(pictures, "playa.jpg")], { home, env, prompt: w.askW, answer: w.yes });
    expect(r.answered, r.stdout).toBe(true);
    expect(r.code, r.stdout).toBe(0);
    const s = await runCli(["status", caseId, "--format", "json"], { home, env });
    const st = JSON.parse(s.stdout).hashes.map((h: { status: string }) => h.status).sort();
    expect(st).toEqual(["active", "withdrawn"]);
  });

  test("withdraw on a terminal, answered yes: the rest is withdrawn", async () => {
    const r = await runCliInTerminal(["withdraw", caseId], { home, env, prompt: w.askW, answer: w.yes });
    expect(r.answered, r.stdout).toBe(true);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(w.done);
    // when platforms stop: the server may hold a withdrawal back so it cannot be tied to the person
    expect(r.stdout).toMatch(w.later);
    const s = await runCli(["status", caseId, "--format", "json"], { home, env });
    expect(JSON.parse(s.stdout).hashes.every((h: { status: string }) => h.status === "withdrawn")).toBe(true);
  });

  test("--format json is the same in both languages (keys, shape)", async () => {
    const a = await runCli(["status", caseId, "--format", "json"], { home, env: { ...env, LANG: "es_MX.UTF-8" } });
    const b = await runCli(["status", caseId, "--format", "json"], { home, env: { ...env, LANG: "en_US.UTF-8" } });
    expect(a.stdout).toBe(b.stdout);
  });
});
