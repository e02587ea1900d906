// Code-scan kernels at 128-d: byte LUT (f32 / f64 tables) vs 4-bit query quantisation + popcount (the paper's).
import { seededRandom } from '../crates-ts/ivf/testing.js';
const N = 1000, D = 128, BYTES = 16, REPS = 400;
const r = seededRandom(9);
const codes = Uint8Array.from({ length: N * BYTES }, () => Math.floor(r() * 256));
const words = new Uint32Array(codes.buffer);
const add = Float32Array.from({ length: N }, () => r()), resc = Float32Array.from({ length: N }, () => r()), err = Float32Array.from({ length: N }, () => r());
const q = Float64Array.from({ length: D }, () => r() - 0.5);
const est = new Float64Array(N), lo = new Float64Array(N);
function lut32() { const l = new Float32Array(BYTES * 256); for (let j = 0; j < BYTES; j++) for (let b = 1; b < 256; b++) { const low = b & -b; l[j * 256 + b] = l[j * 256 + (b ^ low)]! + q[j * 8 + 31 - Math.clz32(low)]!; } return l; }
const L32 = lut32(); const L64 = Float64Array.from(L32);
function scanLut(lut: Float32Array | Float64Array) {
  for (let i = 0, o = 0; i < N; i++, o += 16) {
    const a = lut[codes[o]!]! + lut[256 + codes[o + 1]!]! + lut[512 + codes[o + 2]!]! + lut[768 + codes[o + 3]!]! + lut[1024 + codes[o + 4]!]! + lut[1280 + codes[o + 5]!]! + lut[1536 + codes[o + 6]!]! + lut[1792 + codes[o + 7]!]!;
    const b = lut[2048 + codes[o + 8]!]! + lut[2304 + codes[o + 9]!]! + lut[2560 + codes[o + 10]!]! + lut[2816 + codes[o + 11]!]! + lut[3072 + codes[o + 12]!]! + lut[3328 + codes[o + 13]!]! + lut[3584 + codes[o + 14]!]! + lut[3840 + codes[o + 15]!]!;
    const e = add[i]! + 1 + resc[i]! * (2 * (a + b) - 0.3);
    est[i] = e; lo[i] = e - 1.9 * err[i]!;
  }
}
// 4-bit query: q_u = round((q - vmin)/delta) in 0..15, bit planes P[j][w]; <b, q> ≈ delta·Σ_j 2^j popcount(b & P_j) + vmin·popcount(b)
const vmin = Math.min(...q), vmax = Math.max(...q), delta = (vmax - vmin) / 15;
const planes = new Uint32Array(4 * 4);
for (let i = 0; i < D; i++) { const u = Math.round((q[i]! - vmin) / delta); for (let j = 0; j < 4; j++) if (u & (1 << j)) planes[j * 4 + (i >> 5)] |= 1 << (i & 31); }
function pc(x: number) { x = x - ((x >>> 1) & 0x55555555); x = (x & 0x33333333) + ((x >>> 2) & 0x33333333); x = (x + (x >>> 4)) & 0x0f0f0f0f; return Math.imul(x, 0x01010101) >>> 24; }
const ones = Uint16Array.from({ length: N }, (_, i) => pc(words[i * 4]!) + pc(words[i * 4 + 1]!) + pc(words[i * 4 + 2]!) + pc(words[i * 4 + 3]!)); // could be stored per vector
function scanPop() {
  const p0 = planes[0]!, p1 = planes[1]!, p2 = planes[2]!, p3 = planes[3]!, p4 = planes[4]!, p5 = planes[5]!, p6 = planes[6]!, p7 = planes[7]!, p8 = planes[8]!, p9 = planes[9]!, p10 = planes[10]!, p11 = planes[11]!, p12 = planes[12]!, p13 = planes[13]!, p14 = planes[14]!, p15 = planes[15]!;
  for (let i = 0, o = 0; i < N; i++, o += 4) {
    const w0 = words[o]!, w1 = words[o + 1]!, w2 = words[o + 2]!, w3 = words[o + 3]!;
    const s0 = pc(w0 & p0) + pc(w1 & p1) + pc(w2 & p2) + pc(w3 & p3);
    const s1 = pc(w0 & p4) + pc(w1 & p5) + pc(w2 & p6) + pc(w3 & p7);
    const s2 = pc(w0 & p8) + pc(w1 & p9) + pc(w2 & p10) + pc(w3 & p11);
    const s3 = pc(w0 & p12) + pc(w1 & p13) + pc(w2 & p14) + pc(w3 & p15);
    const dotb = delta * (s0 + 2 * s1 + 4 * s2 + 8 * s3) + vmin * ones[i]!;
    const e = add[i]! + 1 + resc[i]! * (2 * dotb - 0.3);
    est[i] = e; lo[i] = e - 1.9 * err[i]!;
  }
}
// Plain 1-bit hamming distance (the notes' 26 ns figure): 4 popcounts of xor.
const qb = Uint32Array.from({ length: 4 }, () => (r() * 2 ** 32) >>> 0);
function scanHamming() { let s = 0; for (let i = 0, o = 0; i < N; i++, o += 4) { est[i] = pc(words[o]! ^ qb[0]!) + pc(words[o + 1]! ^ qb[1]!) + pc(words[o + 2]! ^ qb[2]!) + pc(words[o + 3]! ^ qb[3]!); } return s; }
const res: Record<string, number[]> = { lut32: [], lut64: [], pop4bit: [], hamming1bit: [] };
for (let round = 0; round < 7; round++) {
  for (const [name, f] of [['lut32', () => scanLut(L32)], ['lut64', () => scanLut(L64)], ['pop4bit', scanPop], ['hamming1bit', scanHamming]] as const) {
    const t = performance.now(); for (let k = 0; k < REPS; k++) f(); res[name]!.push((performance.now() - t) * 1e6 / (N * REPS));
  }
}
for (const [k, v] of Object.entries(res)) { v.sort((a, b) => a - b); console.log(k, 'ns/code min', v[0]!.toFixed(1), 'median', v[3]!.toFixed(1)); }
