/**
 * The outbox is the person's: `outbox list` shows server and date, `outbox
 * remove ID` and `outbox clear` ask first (on a terminal, in their language),
 * refuse without a terminal and without --yes, and remove nothing when refused.
 */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { beforeAll, expect, test } from "vitest";
import { FIXTURES } from "../helpers.ts";
import { ensureBuilt, freePort, runCli, runCliInTerminal, show, tempDir } from "./e2e-support.ts";

let home: string;
let DEAD = ""; // nothing listens there: the submission waits in the outbox
const files = () => (existsSync(path.join(home, "outbox")) ? readdirSync(path.join(home, "outbox")).filter((f) => f.endsWith(".json")) : []);

beforeAll(async () => {
  await ensureBuilt();
  home = tempDir("hs-home-outbox-");
  DEAD = `http://127.0.0.1:${await freePort()}`;
  for (const f of ["harbour.jpg", "tower.png"]) {
    const r = await runCli(["submit", path.join(FIXTURES, "images", f), "--server", DEAD, "--yes"], { home });
    expect(r.code, show(r)).toBe(3);
  }
}, 120_000);

test("list shows each waiting submission with its server and date", async () => {
  expect(files()).toHaveLength(2);
  const r = await runCli(["outbox", "list", "--format", "json"], { home });
  const items = JSON.parse(r.stdout);
  expect(items).toHaveLength(2);
  for (const i of items) {
    expect(i.server).toBe(DEAD);
    expect(i.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  }
});

test("remove ID: refused without a terminal and without --yes; on a terminal, 'n' keeps it; --yes removes it", async () => {
  const id = JSON.parse((await runCli(["outbox", "list", "--format", "json"], { home })).stdout)[0].id;
  const noTty = await runCli(["outbox", "remove", id], { home });
  expect(noTty.code, show(noTty)).toBe(1);
  expect(noTty.stderr).toMatch(/--yes/);
  expect(files()).toHaveLength(2);
  const no = await runCliInTerminal(["outbox", "remove", id], { home, env: { LANG: "en_US.UTF-8" }, prompt: /Remove it\?/, answer: "n\n" });
  expect(no.answered, no.stdout).toBe(true);
  expect(no.stdout).toMatch(/will not be sent/);
  expect(files()).toHaveLength(2);
  const yes = await runCli(["outbox", "remove", ` ${id} `, "--yes"], { home });
  expect(yes.code, show(yes)).toBe(0);
  expect(files()).toHaveLength(1);
});

test("clear on a terminal in Spanish: asks, accepts 's', removes everything", async () => {
  const r = await runCliInTerminal(["outbox", "clear"], { home, env: { LANG: "es_DO.UTF-8" }, prompt: /¿Quitarlo\?/, answer: "s\n" });
  expect(r.answered, r.stdout).toBe(true);
  expect(r.stdout).toMatch(/Se quitó 1 envío/);
  expect(files()).toHaveLength(0);
});
