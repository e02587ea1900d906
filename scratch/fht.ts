import { rng } from '../bench/lib.js';
const n = 128, R = 4, N = 200000;
const r = rng(1);
const signs = new Int8Array(R * n).map(() => (r() < 0.5 ? -1 : 1));
const mult = Float64Array.from(signs);
const data = new Float32Array(N * n).map(() => r());
const out = new Float64Array(n);
function fwhtA(x: Float64Array, start: number, n: number) {
  for (let h = 1; h < n; h *= 2) for (let i = start; i < start + n; i += 2 * h) for (let j = i; j < i + h; j++) { const a = x[j]!, b = x[j + h]!; x[j] = a + b; x[j + h] = a - b; }
}
function fwhtB(x: Float64Array, start: number, n: number) {
  const end = start + n;
  // radix-4 first two stages fused
  for (let i = start; i < end; i += 4) {
    const a = x[i]!, b = x[i + 1]!, c = x[i + 2]!, d = x[i + 3]!;
    const s0 = a + b, d0 = a - b, s1 = c + d, d1 = c - d;
    x[i] = s0 + s1; x[i + 1] = d0 + d1; x[i + 2] = s0 - s1; x[i + 3] = d0 - d1;
  }
  for (let h = 4; h < n; h *= 2) for (let i = start; i < end; i += 2 * h) for (let j = i; j < i + h; j++) { const a = x[j]!, b = x[j + h]!; x[j] = a + b; x[j + h] = a - b; }
}
function runA() { const sc = 1 / Math.sqrt(n); for (let v = 0; v < N; v++) { const off = v * n; for (let i = 0; i < n; i++) out[i] = data[off + i]!; for (let k = 0; k < R; k++) { const so = k * n; for (let i = 0; i < n; i++) out[i] = out[i]! * signs[so + i]!; fwhtA(out, 0, n); for (let i = 0; i < n; i++) out[i] = out[i]! * sc; } } }
function runB() { const sc = Math.pow(1 / Math.sqrt(n), R); for (let v = 0; v < N; v++) { const off = v * n; for (let i = 0; i < n; i++) out[i] = data[off + i]! * mult[i]!; fwhtB(out, 0, n); for (let k = 1; k < R; k++) { const so = k * n; for (let i = 0; i < n; i++) out[i] = out[i]! * mult[so + i]!; fwhtB(out, 0, n); } for (let i = 0; i < n; i++) out[i] = out[i]! * sc; } }
for (let rep = 0; rep < 3; rep++) { let t = performance.now(); runA(); const a = performance.now() - t; t = performance.now(); runB(); const b = performance.now() - t; console.log('A', (a * 1e6 / N).toFixed(0), 'B', (b * 1e6 / N).toFixed(0)); }
