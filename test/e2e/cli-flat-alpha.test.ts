/**
 * Honest flat and transparent pictures, through the real CLI:
 * - flat black, flat grey and fully transparent pictures are error records
 *   (code FLAT, never an all-zero hash) and exit 2, in hash (text and json),
 *   submit, match, compare and lookup, with the message in the person's
 *   language;
 * - a picture with transparent parts gets a warning and a hash; `--alpha
 *   white` / `black` hash it exactly like the same picture flattened onto
 *   that background by sharp and saved as PNG;
 * - the help of hash, match and outbox is in Spanish with --lang es.
 */
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FIXTURES, hexDistance } from "../helpers.ts";
import { ensureBuilt, json, removeDir, runCli, show, startTestServer, tempDir } from "./e2e-support.ts";

let dir: string;
let home: string;
const pic = (n: string) => path.join(dir, n);
const HARBOUR = path.join(FIXTURES, "images", "harbour.jpg");
const FLAT = ["black.png", "grey.png", "clear.png"];
const ZERO = "0".repeat(64);

beforeAll(async () => {
  await ensureBuilt();
  dir = tempDir("hs-flat-alpha-");
  home = tempDir("hs-home-flat-");
  await sharp({ create: { width: 64, height: 64, channels: 3, background: "#000000" } }).png().toFile(pic("black.png"));
  await sharp({ create: { width: 120, height: 90, channels: 3, background: "#808080" } }).png().toFile(pic("grey.png"));
  await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toFile(pic("clear.png"));
  // A sticker: the harbour photo in a circle, transparent (stored as black) around it, with a soft half-transparent rim.
  const { data, info } = await sharp(HARBOUR).resize(320, 240).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const [cx, cy, r] = [info.width / 2, info.height / 2, 100];
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const d = Math.hypot(x - cx, y - cy);
      const a = d < r ? 255 : d < r + 10 ? 128 : 0;
      const p = (y * info.width + x) * 4;
      data[p + 3] = a;
      if (a === 0) data[p] = data[p + 1] = data[p + 2] = 0;
    }
  }
  await sharp(data, { raw: info }).png().toFile(pic("sticker.png"));
  // an alpha channel that is 255 everywhere: not transparency
  await sharp(HARBOUR).resize(320, 240).ensureAlpha().png().toFile(pic("opaque-rgba.png"));
  await sharp(pic("sticker.png")).flatten({ background: "#ffffff" }).png().toFile(pic("sticker-on-white.png"));
  await sharp(pic("sticker.png")).flatten({ background: "#000000" }).png().toFile(pic("sticker-on-black.png"));
}, 120_000);

afterAll(async () => {
  await removeDir(dir);
  await removeDir(home);
});

const cli = (args: string[], lang = "en") => runCli(args, { home, env: { LANG: lang === "es" ? "es_DO.UTF-8" : "en_US.UTF-8" } });
type HashRec = { path: string; hash?: string; quality?: number; transparent?: boolean; error?: { code: string; message: string } };

describe("flat pictures are error records, never a hash", () => {
  test("hash --format json: each is a FLAT record, exit 2; a good picture beside them is still hashed", async () => {
    const r = await cli(["hash", "--format", "json", ...FLAT.map(pic), HARBOUR]);
    expect(r.code, show(r)).toBe(2);
    const recs = json<HashRec[]>(r);
    expect(recs.map((x) => path.basename(x.path))).toEqual([...FLAT, "harbour.jpg"]);
    for (const x of recs.slice(0, 3)) {
      expect(x.error?.code, x.path).toBe("FLAT");
      expect(x.hash, x.path).toBeUndefined();
      expect(x.error?.message).toMatch(/single colour/);
    }
    expect(recs[3].hash).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stdout).not.toContain(ZERO);
    expect(r.stderr).toMatch(/3 could not be hashed/);
  });

  test("hash text: no hash line for them, one message each on stderr, exit 2 (English and Spanish)", async () => {
    for (const lang of ["en", "es"]) {
      const r = await cli(["hash", "--format", "text", ...FLAT.map(pic)], lang);
      expect(r.code, show(r)).toBe(2);
      expect(r.stdout).toBe("");
      const said = lang === "es" ? /esta foto es de un solo color \(o casi\): no tiene nada que una huella pueda reconocer/ : /this picture is a single colour \(or almost\): it has nothing a hash could recognise/;
      for (const f of FLAT) expect(r.stderr, show(r)).toMatch(new RegExp(`${f}: ${said.source}`));
      if (lang === "es") expect(r.stderr).toMatch(/0 de 3 archivos con huella, 3 sin huella/);
    }
    // machine output is the same in every language
    const en = await cli(["hash", "--format", "ndjson", pic("black.png")], "en");
    const es = await cli(["hash", "--format", "ndjson", pic("black.png")], "es");
    expect(es.stdout).toBe(en.stdout);
    expect(JSON.parse(es.stdout).error.code).toBe("FLAT");
  });

  test("--alpha white on the fully transparent picture: flat white, still FLAT", async () => {
    const r = await cli(["hash", "--format", "ndjson", "--alpha", "white", pic("clear.png")]);
    expect(r.code, show(r)).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe("FLAT");
  });

  test("submit --dry-run: the flat picture is a problem (exit 2), its hash is not in the request", async () => {
    const r = await cli(["submit", "--dry-run", "--min-quality", "0", pic("black.png"), HARBOUR], "es");
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toMatch(/black\.png: esta foto es de un solo color/);
    const body = JSON.parse(r.stdout);
    expect(body.hashes).toHaveLength(1);
    expect(r.stdout).not.toContain(ZERO);
    const only = await cli(["submit", "--dry-run", pic("grey.png")]);
    expect(only.code, show(only)).toBe(2);
    expect(only.stderr).toMatch(/grey\.png: this picture is a single colour/);
    expect(only.stderr).toMatch(/nothing to send/);
  });

  test("match, compare and lookup: an error, exit 2", async () => {
    const bank = pic("bank.txt");
    const h = json<HashRec[]>(await cli(["hash", "--format", "json", HARBOUR]))[0].hash!;
    await import("node:fs/promises").then((fs) => fs.writeFile(bank, `${h},harbour\n`));
    const m = await cli(["match", pic("grey.png"), HARBOUR, "--against", bank, "--format", "ndjson"]);
    expect(m.code, show(m)).toBe(2);
    expect(m.stderr).toMatch(/grey\.png: this picture is a single colour/);
    expect(m.stdout.trim().split("\n")).toHaveLength(1); // the harbour still matched
    const c = await cli(["compare", pic("black.png"), HARBOUR], "es");
    expect(c.code, show(c)).toBe(2);
    expect(c.stderr).toMatch(/black\.png: esta foto es de un solo color/);
    // nothing left to send: lookup stops before asking the server anything
    const l = await cli(["lookup", pic("clear.png"), "--server", "http://127.0.0.1:9", "--key", "hs_test", "--format", "ndjson"]);
    expect(l.code, show(l)).toBe(2);
    expect(l.stderr).toMatch(/clear\.png: this picture is a single colour/);
  });
});

describe("pictures with transparency", () => {
  test("a warning (English and Spanish) and a hash; `transparent: true` in the record", async () => {
    const en = await cli(["hash", "--format", "ndjson", pic("sticker.png")]);
    expect(en.code, show(en)).toBe(0);
    const rec = JSON.parse(en.stdout) as HashRec;
    expect(rec.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rec.transparent).toBe(true);
    expect(en.stderr).toMatch(/warning: .*sticker\.png: this picture has transparent parts.*may not match.*--alpha white/s);
    const es = await cli(["hash", "--format", "ndjson", pic("sticker.png")], "es");
    expect(es.stderr).toMatch(/aviso: .*sticker\.png: esta foto tiene partes transparentes.*podría no coincidir/s);
    expect(es.stdout).toBe(en.stdout);
    // an opaque picture gets no such warning, also with an alpha channel that is 255 everywhere
    for (const opaque of [HARBOUR, pic("opaque-rgba.png")]) {
      const plain = await cli(["hash", "--format", "ndjson", opaque]);
      expect(plain.code, show(plain)).toBe(0);
      expect(plain.stderr).not.toMatch(/transparent/);
      expect(JSON.parse(plain.stdout).transparent).toBeUndefined();
    }
  });

  test("--alpha white / black hash it exactly like the picture flattened onto that background by sharp (PNG)", async () => {
    const hashOf = async (args: string[]) => {
      const r = await cli(["hash", "--format", "ndjson", ...args]);
      expect(r.code, show(r)).toBe(0);
      return JSON.parse(r.stdout).hash as string;
    };
    const drop = await hashOf([pic("sticker.png")]);
    const dropExplicit = await hashOf(["--alpha", "drop", pic("sticker.png")]);
    const white = await hashOf(["--alpha", "white", pic("sticker.png")]);
    const black = await hashOf(["--alpha", "black", pic("sticker.png")]);
    const onWhite = await hashOf([pic("sticker-on-white.png")]);
    const onBlack = await hashOf([pic("sticker-on-black.png")]);
    expect(dropExplicit).toBe(drop);
    expect(hexDistance(white, onWhite)).toBe(0);
    expect(hexDistance(black, onBlack)).toBe(0);
    const dropWhite = hexDistance(drop, white);
    console.log(`sticker.png: distance drop-white ${dropWhite}, drop-black ${hexDistance(drop, black)}, white-black ${hexDistance(white, black)} (of 256)`);
    expect(dropWhite).toBeGreaterThan(0);
    const r = await cli(["hash", "--format", "ndjson", "--alpha", "white", pic("sticker.png")], "es");
    expect(r.stderr).toMatch(/sticker\.png: esta foto tiene partes transparentes; su huella se calculó tal como se ve sobre fondo blanco/);
    const bad = await cli(["hash", "--alpha", "grey", pic("sticker.png")]);
    expect(bad.code, show(bad)).toBe(2);
  });

  test("compare --alpha white: the transparent picture matches its copy flattened on white at distance 0", async () => {
    const r = await cli(["compare", pic("sticker.png"), pic("sticker-on-white.png"), "--alpha", "white", "--format", "json"]);
    expect(r.code, show(r)).toBe(0);
    expect(json<{ distance: number }[]>(r)[0].distance).toBe(0);
    expect(r.stderr).toMatch(/sticker\.png: this picture has transparent parts, hashed as it looks on white/);
  });
});

describe("help in Spanish", () => {
  const help = async (args: string[]) => {
    const r = await cli([...args, "--help", "--lang", "es"]);
    expect(r.code, show(r)).toBe(0);
    return r.stdout.replace(/\s+/g, " "); // commander wraps the lines
  };

  test("hash --help --lang es", async () => {
    const out = await help(["hash"]);
    expect(out).toMatch(/calcula las huellas PDQ de fotos/);
    expect(out).toMatch(/--mode <mode>\s+full \(por defecto\): usa los píxeles a resolución completa/);
    expect(out).toMatch(/--min-quality <n>\s+marca como débiles/);
    expect(out).toMatch(/--alpha <mode>\s+fotos con transparencia: drop \(por defecto/);
    expect(out).toMatch(/--max-pixels <n>\s+rechaza las fotos/);
    expect(out).toMatch(/Opciones:.*\(por defecto: 50\)/);
    expect(out).not.toMatch(/images decoded at once|flag hashes under|hash the full-resolution|default:|Options:/);
  });

  test("match --help --lang es", async () => {
    const out = await help(["match"]);
    expect(out).toMatch(/compara fotos, carpetas o listas de huellas con un banco/);
    expect(out).toMatch(/--min-quality <n>\s+omite, con un aviso/);
    expect(out).toMatch(/--mode <mode>\s+full \(por defecto\)/);
    expect(out).toMatch(/--against <bank>\s+el banco/);
    expect(out).not.toMatch(/skip query images|how images are hashed|the bank: a hash list/);
  });

  test("outbox, outbox list and outbox send --help --lang es", async () => {
    const out = await help(["outbox"]);
    expect(out).toMatch(/list \[opciones\] lista los envíos que esperan en la bandeja de salida/);
    expect(out).toMatch(/send \[opciones\] entrega los envíos pendientes/);
    expect(out).toMatch(/Comandos:/);
    expect(out).toMatch(/-h, --help muestra la ayuda del comando/);
    const list = await help(["outbox", "list"]);
    expect(list).toMatch(/text para personas, json para programas/);
    const send = await help(["outbox", "send"]);
    expect(send).toMatch(/envía solo los envíos para este servidor/);
    expect(send).toMatch(/Código de salida: 0 listo/);
    expect(send).not.toMatch(/deliver the waiting|longest wait|Exit status/);
    const submit = await help(["submit"]);
    expect(submit).toMatch(/--min-quality <n>\s+deja fuera las huellas/);
    expect(submit).toMatch(/--alpha <mode>\s+fotos con transparencia/);
  }, 60_000);

  test("every command: Spanish layout and words, no English help line left", async () => {
    const commands = [["hash"], ["submit"], ["status"], ["withdraw"], ["cases"], ["outbox", "remove"], ["feed"], ["lookup"], ["compare"], ["match"], ["index", "build"], ["self-test"], ["verify"], ["serve"], ["serve", "keys", "create"], ["serve", "keys", "list"], ["serve", "keys", "revoke"]];
    for (const c of commands) {
      const es = await help(c);
      const en = (await cli([...c, "--help", "--lang", "en"])).stdout.replace(/\s+/g, " ");
      expect(es, c.join(" ")).toMatch(/^Uso: /);
      expect(es, c.join(" ")).toMatch(/ Opciones: /);
      expect(es, c.join(" ")).not.toMatch(/display help for command|Options:|default:|\[options\]|\[command\]/);
      expect(es, c.join(" ")).toMatch(new RegExp(`^Uso: hashsafe ${c.join(" ")} \\[opciones\\]`));
      expect(en, c.join(" ")).toMatch(new RegExp(`^Usage: hashsafe ${c.join(" ")} \\[options\\]`));
      // each option's description differs from the English one (flags and choices stay as they are)
      const described = (h: string) => [...h.matchAll(/ (--?[a-z][\w-]*)(?: <\w+>)? ([^-(][^(]*?)(?= --?[a-z]| -h,|$)/g)].map((m) => [m[1], m[2].trim()] as const);
      const esByFlag = new Map(described(es));
      for (const [flag, text] of described(en)) {
        if (esByFlag.has(flag) && text.length > 12) expect(esByFlag.get(flag), `${c.join(" ")} ${flag}`).not.toBe(text);
      }
    }
  }, 240_000);
});

describe("withdraw --file", () => {
  test("finds a transparent picture submitted with --alpha white; a flat picture is named as such (exit 2)", async () => {
    const server = await startTestServer(path.join(dir, "server.db"));
    try {
      const sub = await cli(["submit", pic("sticker.png"), HARBOUR, "--alpha", "white", "--server", server.url, "--yes", "--format", "json"]);
      expect(sub.code, show(sub)).toBe(0);
      expect(sub.stderr).toMatch(/sticker\.png: this picture has transparent parts, hashed as it looks on white/);
      const sent = json(sub).hashes as { value: string }[];
      const white = JSON.parse((await cli(["hash", "--format", "ndjson", "--alpha", "white", pic("sticker.png")])).stdout).hash;
      expect(sent.map((h) => h.value)).toContain(white);
      const flat = await cli(["withdraw", "--file", pic("grey.png"), "--yes"], "es");
      expect(flat.code, show(flat)).toBe(2);
      expect(flat.stderr).toMatch(/grey\.png: esta foto es de un solo color/);
      const w = await cli(["withdraw", "--file", pic("sticker.png"), "--yes", "--format", "json"]);
      expect(w.code, show(w)).toBe(0);
      expect(w.stdout).toMatch(/withdrawn/i);
    } finally {
      await server.close();
    }
  });
});
