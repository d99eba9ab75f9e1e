/**
 * The mistakes and failures people meet most, in each language (issue 10,
 * point 1): an unknown case and a wrong secret on `status`, no server, a bad
 * --timeout and other option values, a server that is down (retry notes,
 * then the outbox), a server that says "too many requests", and a picture
 * that is damaged. Against the real server on 127.0.0.1, with the CLI as a
 * real process. Each run is checked for its words in that language, and the
 * Spanish runs for the absence of every English sentence they used to print.
 * The exit statuses and the machine-readable output are the same in both.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FIXTURES } from "../helpers.ts";
import {
  type CliResult,
  ensureBuilt,
  freePort,
  json,
  removeDir,
  runCli,
  show,
  startTestServer,
  tempDir,
  type TestServer,
} from "./e2e-support.ts";

const HARBOUR = path.join(FIXTURES, "images", "harbour.jpg");
const TOWER = path.join(FIXTURES, "images", "tower.png");
const UNKNOWN_CASE = "c_AAAAAAAAAAAAAAAAAAAAAA";

/** Sentences the CLI printed in English only, before they came from the catalogue. */
const OLD_ENGLISH = [
  "trying again in",
  "the server is not answering",
  "connection refused",
  "nothing is answering",
  "no case with this id and secret",
  "check the case id",
  "which server?",
  "Give --server",
  "must be a number of seconds",
  "must be a positive whole number",
  "must be 0..100",
  "too many requests",
  "try again",
  "could not deliver",
  "is still in the outbox",
  "run with --help",
  "this needs a platform API key",
  "truncated JPEG",
  "not an image",
  "is not a server address",
  "the server did not accept",
  "unknown option",
  "did you mean",
  "argument missing",
];

type Lang = "es" | "en";

/** What each run must say, per language. */
const SAYS: Record<Lang, Record<string, RegExp[]>> = {
  es: {
    unknownCase: [/al consultar el caso c_A+: no hay ningún caso con este id y esta clave en este servidor/, /revisa el id del caso, la clave del caso y la dirección del servidor/],
    noServer: [/¿qué servidor\? Indica --server https:\/\/\.\.\. \(o define HASHSAFE_SERVER\)/, /\(usa --help para ver cómo se usa\)/],
    badTimeout: [/--timeout tiene que ser una cantidad de segundos mayor que 0, no "ya"/],
    badJobs: [/--jobs tiene que ser un número entero mayor que 0, no "0"/],
    badQuality: [/--min-quality tiene que ser un número entero de 0 a 100, no "200"/],
    noKey: [/esto necesita una clave de API de plataforma: indica --key CLAVE/],
    badAddress: [/"hashes punto org" no es una dirección de servidor/],
    typo: [/^hashsafe: opción desconocida '--alpa'$/m, /^\(¿quisiste decir --alpha\?\)$/m],
    noValue: [/^hashsafe: a la opción '--server <url>' le falta su valor$/m],
    down: [
      /el servidor no contesta \(conexión rechazada\); se vuelve a intentar en \d+,\d s/,
      /no se pudieron entregar las huellas ahora: nadie contesta en http:\/\/127\.0\.0\.1:\d+ \(conexión rechazada\): ¿está funcionando el servidor y es correcta la dirección\? \(se intentó 4 veces\)/,
      /quedaron guardadas en la bandeja de salida/,
    ],
    downSend: [/el envío \S+ \(.+\) sigue en la bandeja de salida: nadie contesta en http:\/\/127\.0\.0\.1:\d+/, /se entregaron 0 de 1; 1 siguen esperando/],
    busy: [/al consultar el caso c_A+: el servidor está recibiendo demasiados pedidos; vuelve a intentarlo en \d+ (s|min|h)/],
    damaged: [/cut\.jpg: JPEG incompleto: el archivo está dañado o no se copió completo/, /nota\.txt: no es una foto: es un archivo de texto/],
  },
  en: {
    unknownCase: [/checking case c_A+: no case with this id and secret on this server/, /check the case id, the secret and the server address/],
    noServer: [/which server\? Give --server https:\/\/\.\.\. \(or set HASHSAFE_SERVER\)/, /\(run with --help for usage\)/],
    badTimeout: [/--timeout must be a number of seconds above 0, not "ya"/],
    badJobs: [/--jobs must be a positive whole number, not "0"/],
    badQuality: [/--min-quality must be a whole number from 0 to 100, not "200"/],
    noKey: [/this needs a platform API key: give --key KEY/],
    badAddress: [/"hashes punto org" is not a server address/],
    typo: [/^hashsafe: unknown option '--alpa'$/m, /^\(Did you mean --alpha\?\)$/m],
    noValue: [/^hashsafe: option '--server <url>' argument missing$/m],
    down: [
      /the server is not answering \(connection refused\); trying again in \d+\.\d s/,
      /could not deliver the hashes now: nothing is answering at http:\/\/127\.0\.0\.1:\d+ \(connection refused\): is the server running, and is the address right\? \(tried 4 times\)/,
      /saved in the outbox/,
    ],
    downSend: [/submission \S+ \(.+\) is still in the outbox: nothing is answering at http:\/\/127\.0\.0\.1:\d+/, /delivered 0 of 1; 1 still waiting/],
    busy: [/checking case c_A+: the server is receiving too many requests; try again in \d+ (s|min|h)/],
    damaged: [/cut\.jpg: truncated JPEG: the file is damaged or was not copied completely/, /nota\.txt: not an image: this is a text file/],
  },
};

let work: string;
let server: TestServer;
let busy: TestServer;
let DEAD = "";
let caseId = "";
let cut = "";
let note = "";

beforeAll(async () => {
  await ensureBuilt();
  work = tempDir("hs-lang-errors-");
  server = await startTestServer(path.join(work, "server.db"));
  // one request per address, then a wait far longer than the client waits on its own: the second request gets a 429
  busy = await startTestServer(path.join(work, "busy.db"), { rateLimit: { address: { burst: 1, perSecond: 0.001 } } });
  DEAD = `http://127.0.0.1:${await freePort()}`;
  const r = await runCli(["submit", HARBOUR, "--server", server.url, "--yes", "--format", "json"], { home: path.join(work, "home-submit") });
  expect(r.code, show(r)).toBe(0);
  caseId = json(r).caseId;
  cut = path.join(work, "cut.jpg");
  note = path.join(work, "nota.txt");
  const { readFileSync } = await import("node:fs");
  writeFileSync(cut, readFileSync(HARBOUR).subarray(0, 2000));
  writeFileSync(note, "una nota\n");
}, 120_000);

afterAll(async () => {
  await server?.close();
  await busy?.close();
  await removeDir(work);
});

function expectSays(r: CliResult, lang: Lang, what: keyof (typeof SAYS)["en"]): void {
  for (const re of SAYS[lang][what]) expect(r.stderr, show(r)).toMatch(re);
  if (lang === "es") {
    for (const old of OLD_ENGLISH) expect(r.stderr.toLowerCase(), `English "${old}" in the Spanish run:\n${show(r)}`).not.toContain(old.toLowerCase());
  }
}

describe.each(["es", "en"] as const)("--lang %s", (lang) => {
  let n = 0;
  const home = () => path.join(work, `home-${lang}-${++n}`);
  const cli = (args: string[], env: Record<string, string> = {}) => runCli(["--lang", lang, ...args], { home: home(), env });

  test("status of an unknown case, and of a real case with a wrong secret: the same refusal (exit 5), in the language", async () => {
    const unknown = await cli(["status", UNKNOWN_CASE, "--server", server.url], { HASHSAFE_SECRET: "not-the-secret" });
    expect(unknown.code, show(unknown)).toBe(5);
    expectSays(unknown, lang, "unknownCase");
    const wrong = await cli(["status", caseId, "--server", server.url], { HASHSAFE_SECRET: "not-the-secret" });
    expect(wrong.code, show(wrong)).toBe(5);
    expect(wrong.stderr.replace(caseId, UNKNOWN_CASE)).toBe(unknown.stderr);
    // the request asked for the person's language (the server's problem details come back in it)
    const asked = server.requests.filter((q) => q.path.includes(caseId)).at(-1);
    expect(asked?.headers["accept-language"]).toBe(lang);
  });

  test("no server, a bad --timeout, bad option values, no platform key, an address that is not one: usage errors (exit 2)", async () => {
    const noServer = await cli(["submit", HARBOUR, "--yes"]);
    expect(noServer.code, show(noServer)).toBe(2);
    expectSays(noServer, lang, "noServer");
    const timeout = await cli(["status", UNKNOWN_CASE, "--server", server.url, "--timeout", "ya"]);
    expect(timeout.code, show(timeout)).toBe(2);
    expectSays(timeout, lang, "badTimeout");
    const jobs = await cli(["hash", HARBOUR, "--jobs", "0"]);
    expect(jobs.code, show(jobs)).toBe(2);
    expectSays(jobs, lang, "badJobs");
    const quality = await cli(["submit", HARBOUR, "--server", server.url, "--min-quality", "200"]);
    expect(quality.code, show(quality)).toBe(2);
    expectSays(quality, lang, "badQuality");
    const key = await cli(["lookup", HARBOUR, "--server", server.url]);
    expect(key.code, show(key)).toBe(2);
    expectSays(key, lang, "noKey");
    const address = await cli(["submit", HARBOUR, "--server", "hashes punto org", "--yes"]);
    expect(address.code, show(address)).toBe(2);
    expectSays(address, lang, "badAddress");
    const typo = await cli(["hash", HARBOUR, "--alpa", "white"]);
    expect(typo.code, show(typo)).toBe(2);
    expectSays(typo, lang, "typo");
    const noValue = await cli(["submit", HARBOUR, "--server"]);
    expect(noValue.code, show(noValue)).toBe(2);
    expectSays(noValue, lang, "noValue");
  });

  test("server down: retry notes, then the outbox (exit 3); outbox send says it is still waiting (exit 3)", async () => {
    const h = home();
    const down = await runCli(["--lang", lang, "submit", TOWER, "--server", DEAD, "--yes"], { home: h });
    expect(down.code, show(down)).toBe(3);
    expectSays(down, lang, "down");
    const send = await runCli(["--lang", lang, "outbox", "send"], { home: h });
    expect(send.code, show(send)).toBe(3);
    expectSays(send, lang, "downSend");
  }, 60_000);

  test("too many requests (429 with a long Retry-After): refused at once, when to try again (exit 4)", async () => {
    // the first request of this address takes the one token; the second is refused
    await cli(["status", UNKNOWN_CASE, "--server", busy.url], { HASHSAFE_SECRET: "x" });
    const r = await cli(["status", UNKNOWN_CASE, "--server", busy.url], { HASHSAFE_SECRET: "x" });
    expect(r.code, show(r)).toBe(4);
    expectSays(r, lang, "busy");
  });

  test("damaged and non-picture files: the message in the language, the record (code and English message) the same", async () => {
    const r = await cli(["hash", cut, note, "--format", "ndjson"]);
    expect(r.code, show(r)).toBe(2);
    expectSays(r, lang, "damaged");
    const records = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(records.map((x) => x.error)).toEqual([
      { code: "TRUNCATED", message: "truncated JPEG: the file is damaged or was not copied completely" },
      { code: "NOT_AN_IMAGE", message: "not an image: this is a text file" },
    ]);
  });
});
