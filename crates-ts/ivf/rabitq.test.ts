import { describe, expect, it } from 'vitest';
import { encodeCluster, estimateCluster, QueryCodes, rotateCentroids } from './rabitq.js';
import { meanInto } from './kmeans.js';
import { allRows } from './random.js';
import { denseRotation, fhtRotation, FhtRotation, type Rotation } from './rotation.js';
import { seededRandom } from './testing.js';
import { centroidDistances } from './kernels.js';
import { euclideanSquared } from '../query/distance.js';

/**
 * Estimation errors (est − true) of squared euclidean distances and their bounds at ε0, for `queries` queries
 * against `n` uniform random vectors in one cluster (centroid = their mean). Queries are uniform random (all pairs
 * count), or with `near` a random data vector plus as much noise again, and only that pair counts: ⟨o, q⟩ ≈ 0.7,
 * where a wrongly scaled estimator shows (for random pairs ⟨o, q⟩ ≈ 0 hides any scale error).
 */
function errors(rotation: Rotation, seed: number, n: number, queries: number, eps0: number, near = false): { err: number[]; bound: number[] } {
  const dims = rotation.dims;
  const r = seededRandom(seed);
  const data = Float32Array.from({ length: n * dims }, () => r() - 0.5);
  const centroid = new Float32Array(dims);
  meanInto(data, dims, allRows(n), centroid, 0);
  const codes = encodeCluster(data, allRows(n), centroid, 0, rotation, 0);
  const { sums } = rotateCentroids(centroid, 1, rotation);
  const qc = new QueryCodes(rotation);
  const est = new Float64Array(n);
  const lower = new Float64Array(n);
  const err: number[] = [];
  const bound: number[] = [];
  for (let k = 0; k < queries; k++) {
    const base = Math.floor(r() * n) * dims;
    const q = Float32Array.from({ length: dims }, (_, d) => (near ? data[base + d]! : 0) + r() - 0.5);
    qc.set(q);
    let dc = 0;
    for (let d = 0; d < dims; d++) dc += (q[d]! - centroid[d]!) ** 2;
    estimateCluster(qc, codes, dc, sums[0]!, eps0, 1, est, lower);
    for (let i = 0; i < n; i++) {
      if (near && i * dims !== base) continue;
      let t = 0;
      for (let d = 0; d < dims; d++) t += (q[d]! - data[i * dims + d]!) ** 2;
      err.push(est[i]! - t);
      bound.push(est[i]! - lower[i]!);
    }
  }
  return { err, bound };
}

const coverage = (e: { err: number[]; bound: number[] }) => e.err.filter((x, i) => Math.abs(x) <= e.bound[i]!).length / e.err.length;

describe('RaBitQ estimator', () => {
  it('should be unbiased: the mean error over rotations is within three standard errors of 0', () => {
    let sum = 0;
    let sq = 0;
    let count = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const { err } = errors(fhtRotation(128, seededRandom(100 + seed)), seed, 300, 300, 1.9, true);
      for (const e of err) (sum += e), (sq += e * e), count++;
    }
    const mean = sum / count;
    const rms = Math.sqrt(sq / count);
    expect(rms).toBeGreaterThan(0.1); // 1-bit codes do err: the test would be vacuous otherwise
    // Within three standard errors of 0 (a 3 % scale error in the estimator gives ≈ 12 standard errors).
    expect(Math.abs(mean)).toBeLessThan((3 * rms) / Math.sqrt(count));
  });

  // The paper's bound at ε0 is ε0 standard deviations of the estimator (for ⟨o, q⟩ ≈ 0): at ε0 = 1.9 the true
  // distance is inside ±bound ≈ 94 % of the time (P(|Z| ≤ 1.9) = 0.943), not 99 %; 99 % takes ε0 ≈ 2.6. Recall
  // needs only the lower side, and true neighbours (⟨o, q⟩ near 1) have smaller errors than random pairs.
  for (const [name, rot] of [
    ['fast (FHT) rotation', () => fhtRotation(128, seededRandom(11))],
    ['dense Haar rotation', () => denseRotation(128, seededRandom(11))],
  ] as const) {
    it(`should cover the true distance at the Gaussian rate of ε0 (${name})`, () => {
      const at19 = coverage(errors(rot(), 3, 500, 20, 1.9));
      expect(at19).toBeGreaterThan(0.93);
      expect(at19).toBeLessThan(0.96);
      expect(coverage(errors(rot(), 3, 500, 20, 2.6))).toBeGreaterThanOrEqual(0.99);
    });
  }

  it('should estimate exactly a query equal to a data vector, and a vector equal to its centroid', () => {
    const dims = 96;
    const rot = fhtRotation(dims, seededRandom(2));
    const r = seededRandom(4);
    const data = Float32Array.from({ length: 50 * dims }, () => r() - 0.5);
    const centroid = data.slice(7 * dims, 8 * dims); // row 7 is its own centroid: zero residual
    const codes = encodeCluster(data, allRows(50), centroid, 0, rot, 0);
    expect([codes.add[7], codes.rescale[7], codes.err[7]]).toEqual([0, 0, 0]);
    const qc = new QueryCodes(rot);
    const est = new Float64Array(50);
    const lower = new Float64Array(50);
    const q = data.slice(3 * dims, 4 * dims);
    qc.set(q);
    let dc = 0;
    for (let d = 0; d < dims; d++) dc += (q[d]! - centroid[d]!) ** 2;
    estimateCluster(qc, codes, dc, rotateCentroids(centroid, 1, rot).sums[0]!, 1.9, 1, est, lower);
    expect(est[3]).toBeCloseTo(0, 4); // ⟨o, q⟩ = 1: the estimator has no error left
    expect(est[7]).toBeCloseTo(dc, 4);
    expect(lower[3]).toBeLessThanOrEqual(est[3]!);
  });

  it('should keep the lower bound of an exactly estimated code at or below the exact distance, despite rounding', () => {
    // A vector equal to its centroid has err 0: its lower bound is its estimate, ‖q − c‖² as the search computes it
    // (‖q‖² + ‖c‖² − 2⟨q, c⟩), while the rerank computes ‖x − q‖² directly. The two round differently; without the
    // rounding slack about half of these queries had a lower bound a few ulps above the exact distance, and a row
    // tying the k-th distance could be left out.
    const dims = 64;
    const rot = fhtRotation(dims, seededRandom(8));
    const r = seededRandom(9);
    const data = Float32Array.from({ length: 8 * dims }, () => r() * 3 - 1);
    const centroid = data.slice(0, dims);
    const codes = encodeCluster(data, allRows(8), centroid, 0, rot, 0);
    expect(codes.err[0]).toBe(0);
    const cSq = Float64Array.of(centroid.reduce((a, v) => a + v * v, 0));
    const sum = rotateCentroids(centroid, 1, rot).sums[0]!;
    const qc = new QueryCodes(rot);
    const est = new Float64Array(8);
    const lower = new Float64Array(8);
    const dc = new Float64Array(1);
    let above = 0;
    for (let t = 0; t < 500; t++) {
      const q = Float32Array.from({ length: dims }, () => r() * 3 - 1);
      qc.set(q);
      centroidDistances(q, dims, centroid, cSq, 1, dc);
      estimateCluster(qc, codes, dc[0]!, sum, 1.9, 1, est, lower);
      const exact = euclideanSquared(q, data.subarray(0, dims));
      if (lower[0]! > exact) above++;
      expect(lower[0]).toBeGreaterThan(exact * (1 - 1e-5)); // the slack stays a rounding slack
    }
    expect(above).toBe(0);
  });

  it('should give every code a lower bound of −∞ at ε0 = ∞ (rerank all), also where ∞ · 0 would be NaN', () => {
    const dims = 64;
    const rot = fhtRotation(dims, seededRandom(6));
    const r = seededRandom(7);
    const data = Float32Array.from({ length: 20 * dims }, () => r() - 0.5);
    const centroid = data.slice(0, dims); // row 0 has err 0
    const codes = encodeCluster(data, allRows(20), centroid, 0, rot, 0);
    const qc = new QueryCodes(rot);
    const est = new Float64Array(20);
    const lower = new Float64Array(20);
    const sum = rotateCentroids(centroid, 1, rot).sums[0]!;
    qc.set(centroid); // the query sits on the centroid: ‖q − c‖ = 0
    estimateCluster(qc, codes, 0, sum, Infinity, 1, est, lower);
    expect(Array.from(lower)).toEqual(new Array(20).fill(-Infinity));
    qc.set(data.subarray(dims, 2 * dims));
    estimateCluster(qc, codes, 1, sum, Infinity, 0.5, est, lower);
    expect(Array.from(lower)).toEqual(new Array(20).fill(-Infinity));
    expect(est.every(Number.isFinite)).toBe(true);
  });

  it('should encode bit for bit alike in the rotation kernel and the JS loop (any dims, clusters over a kernel call)', () => {
    for (const dims of [7, 100, 128, 192, 768]) {
      const n = 300; // over the applies before the kernel, and over one call's rows at 768-d
      const r = seededRandom(dims);
      const data = Float32Array.from({ length: (n + 1) * dims }, () => r() - 0.5);
      const centroid = data.slice(5 * dims, 6 * dims); // row 5 equals its centroid: a zero residual
      data.fill(0, 9 * dims, 10 * dims); // and a zero vector
      const signs = fhtRotation(dims, seededRandom(dims + 1)).signs;
      const rows = Array.from({ length: n }, (_, i) => (i * 13) % (n + 1));
      const simd = new FhtRotation(dims, signs);
      const js = new FhtRotation(dims, signs, false);
      for (const cluster of [rows.slice(0, 10), rows, rows.slice(100)]) {
        const a = encodeCluster(data, cluster, centroid, 0, simd, 0);
        const b = encodeCluster(data, cluster, centroid, 0, js, 0);
        const bytes = (c: typeof a) => [c.codes, c.add, c.rescale, c.err].map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex'));
        expect(bytes(a)).toEqual(bytes(b));
        expect(a.radius).toBe(b.radius);
      }
    }
  });

  it('should pack bit t of byte j as the sign of rotated dimension 8j + t', () => {
    const dims = 64;
    const rot = fhtRotation(dims, seededRandom(5));
    const v = Float32Array.from({ length: dims }, (_, i) => Math.sin(i + 1));
    const codes = encodeCluster(v, [0], new Float32Array(dims), 0, rot, 0);
    const rv = new Float64Array(64);
    rot.apply(v, 0, rv);
    for (let i = 0; i < 64; i++) expect((codes.codes[i >> 3]! >> (i & 7)) & 1).toBe(rv[i]! > 0 ? 1 : 0);
    expect(codes.radius).toBeCloseTo(Math.hypot(...v), 5);
  });
});
