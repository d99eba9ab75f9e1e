// Random-read latency of typed arrays of 4, 32 and 256 MB: independent reads (the CPU can overlap
// them) and a dependent chain. `node bench/probes/memory-latency.mjs`
for (const mb of [4, 32, 256]) {
  const a = new Uint32Array(mb * 262144);
  for (let i = 0; i < a.length; i += 1024) a[i] = i;
  const idx = new Uint32Array(1 << 20);
  for (let i = 0; i < idx.length; i++) idx[i] = Math.floor(Math.random() * a.length);
  let s = 0;
  for (let rep = 0; rep < 3; rep++) {
    let t = performance.now();
    for (let i = 0; i < idx.length; i++) s += a[idx[i]];
    const ind = (performance.now() - t) * 1e6 / idx.length;
    // dependent chain
    t = performance.now(); let p = 0;
    for (let i = 0; i < 200000; i++) { p = (a[(p + idx[i]) % a.length] + idx[i]) % a.length; }
    const dep = (performance.now() - t) * 1e6 / 200000;
    console.log(mb, "MB independent ns/read", ind.toFixed(1), "dependent", dep.toFixed(1));
  }
  if (s === 1) console.log(s);
}
