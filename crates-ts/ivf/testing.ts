/** Seeded data and exact answers for the ivf tests and benchmarks. */
import type { DistanceMetric } from '../core/index.js';
import { distance } from '../query/index.js';
import { gaussian, type Random } from './random.js';

export { seededRandom } from './random.js';

/** n vectors of a Gaussian mixture: `centers` centres drawn from N(0, 1)^dims, each vector a random centre plus N(0, spread²) noise. */
export function mixture(n: number, dims: number, random: Random, centers = 64, spread = 0.35): Float32Array {
  const g = gaussian(random);
  const c = Float64Array.from({ length: centers * dims }, () => g());
  const out = new Float32Array(n * dims);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(random() * centers);
    for (let d = 0; d < dims; d++) out[i * dims + d] = c[k * dims + d]! + spread * g();
  }
  return out;
}

/**
 * The metric's distance from q to row r of data with the kernel of the exact scan (query/distance.ts): the
 * reference the index is tested against, so "the same as exact kNN" can be asserted bit for bit.
 */
export function exactDistance(metric: DistanceMetric, q: Float32Array, data: Float32Array, row: number, dims: number): number {
  return distance(metric, q, data.subarray(row * dims, (row + 1) * dims));
}

/** The exact top-k rows of q among rows [0, n) (ties: lower row first). */
export function exactTopK(metric: DistanceMetric, q: Float32Array, data: Float32Array, n: number, dims: number, k: number, live?: (row: number) => boolean): number[] {
  const all: [number, number][] = [];
  for (let r = 0; r < n; r++) if (!live || live(r)) all.push([exactDistance(metric, q, data, r, dims), r]);
  all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return all.slice(0, k).map((x) => x[1]);
}
