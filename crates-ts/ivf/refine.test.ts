import { describe, expect, it } from 'vitest';
import { sqDistAt } from './kernels.js';
import { indexSpace } from './metric.js';
import { encodeRefine, RefineQuery, refinedLower, refinedUpper } from './refine.js';
import { mixture, seededRandom } from './testing.js';

describe('refine codes', () => {
  it('should bound every exact distance between the refined lower and upper bounds (random clusters and queries)', () => {
    const r = seededRandom(11);
    for (const dims of [7, 64, 128]) {
      const n = 300;
      const data = mixture(n, dims, r, 3);
      const centroid = new Float32Array(dims);
      for (let d = 0; d < dims; d++) centroid[d] = data[d]! + 0.1;
      const rows = Array.from({ length: n }, (_, i) => i);
      const rc = encodeRefine(data, rows, centroid, 0, dims, false);
      const rq = new RefineQuery(dims);
      for (let t = 0; t < 20; t++) {
        const q = Float64Array.from({ length: dims }, (_, d) => data[(t * 13) % n * dims + d]! + (r() - 0.5));
        rq.setCluster(q, rc, centroid, 0);
        for (let i = 0; i < n; i++) {
          const exact = sqDistAt(Float32Array.from(q), 0, data, i * dims, dims);
          const dr = rq.distance(rc, i);
          expect(refinedLower(dr, rc.radius[i]!, 1)).toBeLessThanOrEqual(exact);
          expect(refinedUpper(dr, rc.radius[i]!, 1)).toBeGreaterThanOrEqual(exact);
        }
      }
      // The bounds are tight: 8 bits per dimension leave a small radius next to the distances.
      const meanRadius = rc.radius.reduce((a, b) => a + b, 0) / n;
      expect(meanRadius).toBeLessThan(0.02 * Math.sqrt(dims));
    }
  });

  it('should keep the bounds sure through the f32 SIMD kernel as through the f64 loop (far and near queries, odd dims, batches over capacity)', () => {
    const r = seededRandom(12);
    for (const dims of [5, 16, 100, 128]) {
      const n = 200;
      const data = mixture(n, dims, r, 4);
      const centroid = Float32Array.from({ length: dims }, (_, d) => data[d]!);
      const rows = Array.from({ length: n }, (_, i) => i);
      const rc = encodeRefine(data, rows, centroid, 0, dims, false);
      const simd = new RefineQuery(dims, 64); // a kernel of capacity 64 < 200: the batches wrap
      const js = new RefineQuery(dims, false);
      expect(simd.simd).toBe(true);
      const pos = Uint32Array.from(rows).reverse();
      const lo = [new Float64Array(n), new Float64Array(n)];
      const hi = [new Float64Array(n), new Float64Array(n)];
      for (const far of [0.01, 1, 1000]) {
        const q = Float64Array.from({ length: dims }, (_, d) => data[(7 % n) * dims + d]! + far * (r() - 0.5));
        [simd, js].forEach((rq, t) => {
          rq.setCluster(q, rc, centroid, 0);
          rq.bounds(rc, pos, n, 0.5, lo[t]!, hi[t]!);
        });
        for (let j = 0; j < n; j++) {
          const exact = 0.5 * sqDistAt(Float32Array.from(q), 0, data, pos[j]! * dims, dims);
          for (let t = 0; t < 2; t++) {
            expect(lo[t]![j]).toBeLessThanOrEqual(exact);
            expect(hi[t]![j]).toBeGreaterThanOrEqual(exact);
          }
          // The kernel's widening is small next to the quantisation radius.
          expect(Math.abs(lo[0]![j]! - lo[1]![j]!)).toBeLessThanOrEqual(1e-3 * exact + 1e-6);
        }
      }
    }
  });

  it('should give a zero vector under cosine an infinite radius (its distance is 1, not ‖q‖²/2)', () => {
    const dims = 8;
    const raw = Float32Array.from([...Array(dims).fill(0), ...Array.from({ length: dims }, (_, d) => d + 1)]);
    const unit = indexSpace('cosine_distance', raw, dims);
    const rc = encodeRefine(unit, [0, 1], new Float32Array(dims), 0, dims, true);
    expect(rc.radius[0]).toBe(Infinity);
    expect(Number.isFinite(rc.radius[1]!)).toBe(true);
  });

  it('should handle a flat dimension and a one-vector cluster (step 0, exact reconstruction)', () => {
    const dims = 4;
    const data = Float32Array.from([1, 2, 3, 4]);
    const rc = encodeRefine(data, [0], Float32Array.from([0, 0, 0, 0]), 0, dims, false);
    expect(Array.from(rc.step)).toEqual([0, 0, 0, 0]);
    expect(rc.radius[0]).toBe(0);
    const rq = new RefineQuery(dims);
    const q = Float64Array.from([1, 2, 3, 5]);
    rq.setCluster(q, rc, Float32Array.from([0, 0, 0, 0]), 0);
    expect(rq.distance(rc, 0)).toBe(1);
  });

  it('should encode exactly as the straightforward per-element loop does (codes, radii: part bytes depend on them)', () => {
    const r = seededRandom(5);
    for (const dims of [7, 64, 128]) {
      const n = 257;
      const data = mixture(n, dims, r, 4);
      data.fill(0, 3 * dims, 4 * dims); // a zero vector (cosine: radius +∞)
      for (let d = 0; d < dims; d++) data[5 * dims + d] = data[6 * dims + d]!; // a flat dimension pair
      const centroid = Float32Array.from({ length: dims }, (_, d) => data[d]! * 0.5 + 0.01);
      const rows = Array.from({ length: n }, (_, i) => (i * 7) % n);
      for (const zeroIsFar of [false, true]) {
        const want = referenceRefine(data, rows, centroid, dims, zeroIsFar);
        // The SIMD kernel (even dims) and the JS loop.
        for (const simd of [true, false]) {
          const got = encodeRefine(data, rows, centroid, 0, dims, zeroIsFar, simd);
          expect(got.lo).toEqual(want.lo);
          expect(got.step).toEqual(want.step);
          expect(got.codes).toEqual(want.codes);
          expect(got.radius).toEqual(want.radius);
        }
      }
    }
  });

  it('should encode alike with the SIMD kernel and the JS loop over clusters larger than a kernel call (768-d)', () => {
    const dims = 768; // 85 rows a kernel call
    const n = 300;
    const data = mixture(n, dims, seededRandom(9), 3);
    data.fill(0, 10 * dims, 11 * dims);
    const centroid = data.slice(dims, 2 * dims);
    const rows = Array.from({ length: n }, (_, i) => (i * 11) % n);
    for (const zeroIsFar of [false, true]) {
      const a = encodeRefine(data, rows, centroid, 0, dims, zeroIsFar, true);
      const b = encodeRefine(data, rows, centroid, 0, dims, zeroIsFar, false);
      expect(a.codes).toEqual(b.codes);
      expect(a.radius).toEqual(b.radius);
      expect(a.radius.includes(Infinity)).toBe(zeroIsFar);
    }
  });

  it('should round exact ties of the quotient as the division does (codes from q·(1/step) are checked near half-integers)', () => {
    // Dimension d has step (1001 + 124d)·2⁻¹⁴ (1/step inexact), lo 0 and centroid 0, and rows at every (k + ½)·step
    // (exact in f32): the quotient is exactly k + ½, which Math.round takes up, while q·(1/step) lands an ulp below it
    // for ≈ 1 in 7 of them. Plus rows an f32 ulp either side of each tie.
    const dims = 16;
    const step = Array.from({ length: dims }, (_, d) => (1001 + 124 * d) * 2 ** -14);
    const rowsOf: number[][] = [step.map(() => 0), step.map((s) => 255 * s)];
    const ulp = (x: number, dir: number) => {
      const b = new Float32Array([x]);
      new Int32Array(b.buffer)[0]! += dir;
      return b[0]!;
    };
    for (let k = 0; k < 255; k++) {
      const tie = step.map((s) => (k + 0.5) * s);
      rowsOf.push(tie, tie.map((x) => ulp(x, 1)), tie.map((x) => ulp(x, -1)));
    }
    const n = rowsOf.length;
    const data = Float32Array.from(rowsOf.flat());
    expect(data[2 * dims + 3]).toBe(0.5 * step[3]!); // ties are exact
    const rows = [...Array(n).keys()];
    const centroid = new Float32Array(dims);
    const want = referenceRefine(data, rows, centroid, dims, false);
    for (const simd of [true, false]) {
      const got = encodeRefine(data, rows, centroid, 0, dims, false, simd);
      expect(got.step).toEqual(want.step);
      expect(got.codes).toEqual(want.codes);
      expect(got.radius).toEqual(want.radius);
    }
  });
});

/** encodeRefine as first written (Math.round/min/max per element, the next-f32-up through a fresh typed array). */
function referenceRefine(data: Float32Array, rows: number[], centroids: Float32Array, dims: number, zeroIsFar: boolean) {
  const n = rows.length;
  const lo = new Float32Array(dims).fill(Infinity);
  const hi = new Float32Array(dims).fill(-Infinity);
  for (const row of rows) {
    for (let d = 0; d < dims; d++) {
      const o = Math.fround(data[row * dims + d]! - centroids[d]!);
      if (o < lo[d]!) lo[d] = o;
      if (o > hi[d]!) hi[d] = o;
    }
  }
  const step = new Float32Array(dims);
  for (let d = 0; d < dims; d++) step[d] = (hi[d]! - lo[d]!) / 255;
  const codes = new Uint8Array(n * dims);
  const radius = new Float32Array(n);
  rows.forEach((row, j) => {
    let err2 = 0;
    let norm2 = 0;
    for (let d = 0; d < dims; d++) {
      const x = data[row * dims + d]!;
      norm2 += x * x;
      const s = step[d]!;
      const code = s > 0 ? Math.min(255, Math.max(0, Math.round((x - centroids[d]! - lo[d]!) / s))) : 0;
      codes[j * dims + d] = code;
      const e = x - (centroids[d]! + lo[d]! + s * code);
      err2 += e * e;
    }
    const e = Math.sqrt(err2);
    let up = Math.fround(e);
    if (up < e) {
      const b = new Float32Array([up]);
      new Uint32Array(b.buffer)[0]! += 1;
      up = b[0]!;
    }
    radius[j] = zeroIsFar && norm2 === 0 ? Infinity : up;
  });
  return { lo, step, codes, radius };
}
