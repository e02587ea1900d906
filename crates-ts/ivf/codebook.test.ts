import { describe, expect, it } from 'vitest';
import { assignToCodebook, codebookProblem, codebookRotation, extendCodebook, trainCodebook, type Codebook } from './codebook.js';
import { sqDistAt } from './kernels.js';
import { indexSpace } from './metric.js';
import { mixture, seededRandom } from './testing.js';

const DIMS = 24;
const OPTS = { targetSize: 50, minSize: 20, maxSize: 80 };

function bruteNearest(cb: Codebook, data: Float32Array, r: number): number {
  let best = -1;
  let bestD = Infinity;
  for (let c = 0; c < cb.k; c++) {
    if (cb.retired[c]) continue;
    const d = sqDistAt(data, r * cb.dims, cb.centroids, c * cb.dims, cb.dims);
    if (d < bestD) (bestD = d), (best = c);
  }
  return best;
}

describe('trainCodebook', () => {
  it('should make version 1 whose assignment is balanced and whose radii bound every assigned vector', () => {
    const n = 700;
    const v = mixture(n, DIMS, seededRandom(1), 8);
    const { codebook: cb, clusterOf } = trainCodebook(v, DIMS, n, 'euclidean_squared', { random: seededRandom(2), ...OPTS });
    expect(codebookProblem(cb)).toBeNull();
    expect(cb.version).toBe(1);
    expect(cb.k).toBeGreaterThan(5);
    expect(cb.retired.every((x) => x === 0)).toBe(true);
    const sizes = new Array<number>(cb.k).fill(0);
    const maxD = new Array<number>(cb.k).fill(0);
    for (let r = 0; r < n; r++) {
      const c = clusterOf[r]!;
      sizes[c]++;
      maxD[c] = Math.max(maxD[c]!, Math.sqrt(sqDistAt(v, r * DIMS, cb.centroids, c * DIMS, DIMS)));
    }
    for (let c = 0; c < cb.k; c++) {
      expect(sizes[c]).toBeGreaterThanOrEqual(OPTS.minSize);
      expect(sizes[c]).toBeLessThanOrEqual(OPTS.maxSize);
      expect(cb.radii[c]).toBeCloseTo(maxD[c]!, 4);
    }
    expect(codebookRotation(cb).padded).toBe(64);
  });

  it('should be deterministic given the random source, and train cosine codebooks on unit vectors', () => {
    const n = 300;
    const v = mixture(n, DIMS, seededRandom(3), 4);
    const a = trainCodebook(v, DIMS, n, 'cosine_distance', { random: seededRandom(4), ...OPTS });
    const b = trainCodebook(v, DIMS, n, 'cosine_distance', { random: seededRandom(4), ...OPTS });
    expect(a).toEqual(b);
    // Centroids of unit vectors have norm ≤ 1 (a centroid of the raw mixture would not).
    for (let c = 0; c < a.codebook.k; c++) expect(Math.sqrt(sqDistAt(a.codebook.centroids, c * DIMS, new Float32Array(DIMS), 0, DIMS))).toBeLessThanOrEqual(1 + 1e-6);
  });
});

describe('assignToCodebook', () => {
  it('should pick the nearest live centroid of every vector, never a retired one', () => {
    const v = mixture(400, DIMS, seededRandom(5), 6);
    const { codebook } = trainCodebook(v, DIMS, 400, 'euclidean_squared', { random: seededRandom(6), ...OPTS });
    const fresh = mixture(200, DIMS, seededRandom(7), 6);
    const got = assignToCodebook(codebook, fresh, 200);
    for (let r = 0; r < 200; r++) expect(got[r]).toBe(bruteNearest(codebook, fresh, r));
    const retired = { ...codebook, retired: codebook.retired.map((_, c) => (c % 2 === 0 ? 1 : 0)) };
    const got2 = assignToCodebook(retired, fresh, 200);
    for (let r = 0; r < 200; r++) {
      expect(got2[r]! % 2).toBe(1);
      expect(got2[r]).toBe(bruteNearest(retired, fresh, r));
    }
    expect(() => assignToCodebook({ ...codebook, retired: codebook.retired.map(() => 1) }, fresh, 1)).toThrow(/no live centroid/);
  });
});

describe('extendCodebook', () => {
  const base = mixture(400, DIMS, seededRandom(8), 6);
  const { codebook } = trainCodebook(base, DIMS, 400, 'euclidean_squared', { random: seededRandom(9), ...OPTS });

  it('should return the codebook unchanged when no cluster of the part is too big', () => {
    const part = mixture(100, DIMS, seededRandom(10), 6);
    const clusterOf = assignToCodebook(codebook, part, 100);
    const out = extendCodebook(codebook, part, 100, clusterOf, { random: seededRandom(11), ...OPTS });
    expect(out.codebook).toBe(codebook);
    expect(out.clusterOf).toBe(clusterOf);
  });

  it('should split a cluster over maxSize into appended centroids (version + 1), keeping every old centroid', () => {
    // 300 vectors around centroid 0: one cluster of the part far above maxSize.
    const n = 300;
    const g = seededRandom(12);
    const part = new Float32Array(n * DIMS);
    for (let r = 0; r < n; r++) for (let d = 0; d < DIMS; d++) part[r * DIMS + d] = codebook.centroids[d]! + (g() - 0.5) * 0.4;
    const clusterOf = assignToCodebook(codebook, part, n);
    const out = extendCodebook(codebook, part, n, clusterOf, { random: seededRandom(13), ...OPTS });
    const cb = out.codebook;
    expect(codebookProblem(cb)).toBeNull();
    expect(cb.version).toBe(codebook.version + 1);
    expect(cb.k).toBeGreaterThanOrEqual(codebook.k + 2);
    // Append-only: the old centroids, radii and flags are a prefix of the new ones.
    expect(cb.centroids.subarray(0, codebook.k * DIMS)).toEqual(codebook.centroids);
    expect(cb.radii.subarray(0, codebook.k)).toEqual(codebook.radii);
    expect(Array.from(cb.rotationSigns)).toEqual(Array.from(codebook.rotationSigns));
    const sizes = new Map<number, number>();
    for (let r = 0; r < n; r++) sizes.set(out.clusterOf[r]!, (sizes.get(out.clusterOf[r]!) ?? 0) + 1);
    for (const [c, size] of sizes) {
      expect(size).toBeLessThanOrEqual(OPTS.maxSize);
      expect(c).toBeLessThan(cb.k);
    }
    // Every appended centroid holds vectors of the part, and its radius bounds them.
    for (let c = codebook.k; c < cb.k; c++) {
      expect(sizes.get(c) ?? 0).toBeGreaterThan(0);
      for (let r = 0; r < n; r++) {
        if (out.clusterOf[r] === c) expect(Math.sqrt(sqDistAt(part, r * DIMS, cb.centroids, c * DIMS, DIMS))).toBeLessThanOrEqual(cb.radii[c]! * (1 + 1e-6));
      }
    }
    // The split centroid keeps its meaning but holds none of the part's vectors now.
    expect(sizes.get(clusterOf[0]!) ?? 0).toBe(0);
  });

  it('should split a cluster full across parts (others) when this part holds at least minSize of it, and only then', () => {
    const n = 700;
    const v = mixture(n, DIMS, seededRandom(21), 8);
    const { codebook } = trainCodebook(v, DIMS, n, 'euclidean_squared', { random: seededRandom(22), ...OPTS });
    // A later part that reuses the codebook: every cluster gets a normal share, none over maxSize alone.
    const m = 300;
    const part = mixture(m, DIMS, seededRandom(23), 8);
    const clusterOf = assignToCodebook(codebook, part, m);
    const local = new Array<number>(codebook.k).fill(0);
    for (const c of clusterOf) local[c]!++;
    expect(Math.max(...local)).toBeLessThanOrEqual(OPTS.maxSize);
    expect(extendCodebook(codebook, part, m, clusterOf, { random: seededRandom(24), ...OPTS }).codebook).toBe(codebook);
    // The same part when the other parts already hold a full share of every cluster: the clusters this part holds
    // minSize or more of are split (appended centroids hold their rows); a cluster with fewer is not split for itself.
    const others = Array.from({ length: codebook.k }, () => OPTS.maxSize);
    const out = extendCodebook(codebook, part, m, clusterOf, { random: seededRandom(24), ...OPTS, others });
    expect(out.codebook.version).toBe(codebook.version + 1);
    const split = local.map((x, c) => (x >= OPTS.minSize ? c : -1)).filter((c) => c >= 0);
    expect(split.length).toBeGreaterThan(0);
    // Each was split (its rows went to the halves), or a neighbouring split's reassignment took it under minSize.
    for (const c of split) expect(out.clusterOf.filter((x) => x === c).length).toBeLessThan(OPTS.minSize);
    expect(out.codebook.k).toBeGreaterThan(codebook.k);
    for (let c = 0; c < codebook.k; c++) expect(out.codebook.retired[c]).toBe(0); // other parts hold the old centroids
  });

  it('should not split a one-vector share however full the cluster is elsewhere (regression: test/10 IVF run)', () => {
    const v = mixture(200, DIMS, seededRandom(31), 4);
    const { codebook } = trainCodebook(v, DIMS, 200, 'euclidean_squared', { random: seededRandom(32), ...OPTS });
    const one = v.subarray(0, DIMS);
    const clusterOf = assignToCodebook(codebook, one, 1);
    const others = Array.from({ length: codebook.k }, () => 10 * OPTS.maxSize);
    // minSize 1: the share qualifies by size, but a split needs two vectors.
    const out = extendCodebook(codebook, one, 1, clusterOf, { random: seededRandom(33), ...OPTS, minSize: 1, others });
    expect(out.codebook).toBe(codebook);
  });

  it('should refuse an assignment to a retired centroid', () => {
    const part = indexSpace('euclidean_squared', mixture(10, DIMS, seededRandom(14), 2), DIMS);
    const clusterOf = new Uint32Array(10);
    const retired = { ...codebook, retired: codebook.retired.map((_, c) => (c === 0 ? 1 : 0)) };
    expect(() => extendCodebook(retired, part, 10, clusterOf, { random: seededRandom(15), ...OPTS })).toThrow(/centroid 0/);
  });
});
