/** The Store contract (test/suites/store-contract.ts) on the SQLite store, over a real file. */
import { afterAll } from "vitest";
import { SqliteStore } from "../../src/server/sqlite-store.ts";
import { storeContract } from "../suites/store-contract.ts";
import { tempDir } from "./server-helpers.ts";

const t = tempDir();
let n = 0;
afterAll(() => t.remove());

storeContract("sqlite", {
  open: async () => SqliteStore.open(`${t.dir}/contract-${++n}.db`),
});
