function norm(data: Float32Array, out: Float32Array, dims: number) {
  for (let off = 0; off < data.length; off += dims) {
    let s = 0;
    for (let d = 0; d < dims; d++) s += data[off + d]! * data[off + d]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < dims; d++) out[off + d] = data[off + d]! * inv;
  }
}
for (const N of [100000, 1000000]) {
  const D = 128;
  const data = new Float32Array(N * D); for (let i = 0; i < data.length; i++) data[i] = (i % 97) - 48;
  const out = new Float32Array(N * D);
  for (let rep = 0; rep < 3; rep++) { const t = performance.now(); norm(data, out, D); console.log(N, 'ms', (performance.now() - t).toFixed(0)); }
}
