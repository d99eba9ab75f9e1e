// Bare node:http POST floor on this machine: a server that reads a lookup-sized JSON body and answers
// a small JSON, driven by autocannon (12 connections, 6 s). `node bench/probes/http-floor.mjs`
import http from "node:http";
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { fork } from "node:child_process";
if (process.argv[2] === "server") {
  const s = http.createServer((req, res) => {
    const chunks = []; req.on("data", (c) => chunks.push(c)); req.on("end", () => {
      const b = JSON.parse(Buffer.concat(chunks).toString());
      const out = JSON.stringify({ results: [{ index: 0, matches: [{ id: "h_abcdefghijklmnop", distance: 8 }] }], n: b.queries.length });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) }); res.end(out);
    });
  });
  s.keepAliveTimeout = 15000;
  s.listen(0, "127.0.0.1", () => process.send(s.address().port));
} else {
  const child = fork(new URL(import.meta.url).pathname, ["server"]);
  const port = await new Promise((r) => child.once("message", r));
  const stat = () => { const f = readFileSync(`/proc/${child.pid}/stat`, "utf8"); const x = f.slice(f.lastIndexOf(")") + 2).split(" "); return (Number(x[11]) + Number(x[12])) / 100; };
  const body = JSON.stringify({ queries: [{ type: "pdq", value: "f".repeat(64) }], maxDistance: 31 });
  const c0 = stat(); const t0 = performance.now();
  const res = await autocannon({ url: `http://127.0.0.1:${port}`, connections: 12, duration: 6, method: "POST", headers: { "content-type": "application/json", authorization: "Bearer x".repeat(8), "idempotency-key": "0123456789abcdef0123" }, body });
  const sc = (stat() - c0) / ((performance.now() - t0) / 1000);
  console.log("bare node POST rps", res.requests.average, "p99", res.latency.p99, "server cores", sc.toFixed(2), "ms/req", (sc * 1000 / res.requests.average).toFixed(3));
  child.kill();
}
