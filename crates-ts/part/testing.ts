/**
 * Test helpers for part/ (seeded data generators). Not exported from index.ts; used by this module's tests.
 */
import type { Doc } from '../core/index.js';

/** mulberry32 (ivf/random.ts): a tiny seeded PRNG, so every test is reproducible from its seed. */
import { seededRandom as rng } from '../ivf/index.js';
export { rng };

/** Standard normal by Box-Muller. */
export function gaussian(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** n points of a Gaussian mixture: `clusters` centres spread by 1, points at `spread` around them. */
export function clusteredVectors(n: number, dims: number, clusters: number, seed: number, spread = 0.15): Float32Array[] {
  const r = rng(seed);
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: dims }, () => gaussian(r)));
  return Array.from({ length: n }, () => {
    const c = centres[Math.floor(r() * clusters)]!;
    return Float32Array.from(c, (x) => x + spread * gaussian(r));
  });
}

export function vectorDocs(vectors: readonly Float32Array[]): Doc[] {
  return vectors.map((v, i) => ({ id: i, vector: v, attrs: { g: i % 10 } }));
}
