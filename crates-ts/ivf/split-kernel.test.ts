/**
 * The split kernel (split-kernel.ts, split.wat) must change nothing: every number it computes is the JS one bit for
 * bit, so splits, reassignment, extended codebooks and trained clusterings are the same with it as without. The
 * reference is the JS code as it was before the kernel, which stays as the fallback (ClusterSetOptions.kernel false,
 * ExtendOptions.kernel false; trainKMeans for the 2-means; splitCluster without a kernel).
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { splitCluster } from './balance.js';
import { ClusterSet } from './cluster-set.js';
import { assignToCodebook, extendCodebook, trainCodebook } from './codebook.js';
import { dotAt, sqDistAt, squaredNorms } from './kernels.js';
import { trainKMeans, trainTwoMeans } from './kmeans.js';
import { SplitKernel, splitKernelLimits, SUM_LABELS } from './split-kernel.js';
import { mixture, seededRandom } from './testing.js';

const LIMITS = { ...splitKernelLimits };
afterEach(() => Object.assign(splitKernelLimits, LIMITS));

/** Values over many magnitudes (and exact zeros), so that the f64 sums round often and differently by order. */
const f32 = fc.oneof(
  fc.float({ noNaN: true, noDefaultInfinity: true, min: -1000, max: 1000 }),
  fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e-3), max: Math.fround(1e-3) }),
  fc.constant(0),
);

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((x, i) => Object.is(x, b[i]));

describe('SplitKernel', () => {
  it('should compute dotAt scores, sqDistAt distances and row sums bit for bit as kernels.ts and kmeans.ts do', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 37 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 16 }),
        fc.infiniteStream(f32),
        fc.infiniteStream(fc.nat()),
        (dims, n, k, batch, values, picks) => {
          splitKernelLimits.minRows = batch;
          const v = values[Symbol.iterator]();
          const p = picks[Symbol.iterator]();
          const data = Float32Array.from({ length: n * dims }, () => v.next().value);
          const cents = Float32Array.from({ length: k * dims }, () => v.next().value);
          const cSq = squaredNorms(cents, k, dims);
          const kernel = SplitKernel.create(data, dims, k)!;
          expect(kernel).not.toBeNull();
          const rows = Uint32Array.from({ length: n + 3 }, () => p.next().value % n); // repeats allowed
          const ids = Array.from({ length: k }, () => p.next().value % k);
          for (let from = 0; from < rows.length; from += kernel.capacity) {
            const count = Math.min(kernel.capacity, rows.length - from);
            kernel.load(rows, from, count);
            const t = kernel.scores(cents, ids, k, cSq);
            for (let j = 0; j < count; j++) {
              for (let q = 0; q < k; q++) {
                const want = cSq[ids[q]!]! - 2 * dotAt(data, rows[from + j]! * dims, cents, ids[q]! * dims, dims);
                expect(Object.is(t[j * k + q], want)).toBe(true);
              }
            }
            const c = ids[0]!;
            const d = kernel.sqDists(cents, c * dims);
            for (let j = 0; j < count; j++) expect(Object.is(d[j], sqDistAt(data, rows[from + j]! * dims, cents, c * dims, dims))).toBe(true);
            const labels = kernel.labels;
            const want = new Float64Array(SUM_LABELS * dims);
            for (let j = 0; j < count; j++) {
              labels[j] = p.next().value % SUM_LABELS;
              const off = rows[from + j]! * dims;
              for (let i = 0; i < dims; i++) want[labels[j]! * dims + i] += data[off + i]!;
            }
            kernel.clearSums();
            expect(same(kernel.accumulate(), want)).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('should train the same 2-means as trainKMeans, coincident rows and empty clusters included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 19 }),
        fc.integer({ min: 2, max: 60 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 1 << 30 }),
        fc.integer({ min: 1, max: 12 }),
        fc.infiniteStream(f32),
        (dims, n, distinct, seed, iterations, values) => {
          const v = values[Symbol.iterator]();
          // Few distinct rows (often all the same): k-means++ meets total 0 and Lloyd empty clusters.
          const protos = Array.from({ length: distinct }, () => Float32Array.from({ length: dims }, () => v.next().value));
          const data = new Float32Array(n * dims);
          for (let r = 0; r < n; r++) data.set(protos[r % distinct]!, r * dims);
          const rows = Uint32Array.from({ length: n }, (_, j) => (j * 7) % n).filter((r, j, a) => a.indexOf(r) === j);
          if (rows.length < 2) return;
          const kernel = SplitKernel.create(data, dims, 2, rows.length)!;
          kernel.load(rows, 0, rows.length);
          const got = trainTwoMeans(data, dims, rows, kernel, { random: seededRandom(seed), iterations });
          const want = trainKMeans(data, dims, rows, 2, { random: seededRandom(seed), iterations });
          expect(same(got, want)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('should split a cluster as splitCluster without it does (2-means and median fallback)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 33 }),
        fc.integer({ min: 2, max: 300 }),
        fc.integer({ min: 0, max: 1 << 30 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 8 }),
        (dims, n, seed, minSide, centers) => {
          const data = mixture(n, dims, seededRandom(seed), centers, 0.2);
          const members = Uint32Array.from({ length: n }, (_, j) => n - 1 - j);
          const kernel = SplitKernel.create(data, dims, 2)!;
          const got = splitCluster(data, dims, members, seededRandom(seed + 1), minSide, kernel);
          const want = splitCluster(data, dims, members, seededRandom(seed + 1), minSide);
          expect(same(got.centroids, want.centroids)).toBe(true);
          expect(same(got.members[0], want.members[0])).toBe(true);
          expect(same(got.members[1], want.members[1])).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('ClusterSet and extendCodebook with the split kernel', () => {
  /** A mixture; `grid` > 0: its values rounded to multiples of 1/grid, so that rows coincide and scores tie exactly. */
  function data(n: number, dims: number, seed: number, grid = 0): Float32Array {
    const v = mixture(n, dims, seededRandom(seed), 6);
    return grid > 0 ? v.map((x) => Math.round(x * grid) / grid) : v;
  }

  function clusterings(n: number, dims: number, seed: number, kernel: boolean, grid: number) {
    const data_ = data(n, dims, seed, grid);
    const set = new ClusterSet(data_, dims, { random: seededRandom(seed + 1), minSize: 10, maxSize: 40, kernel });
    // A few coarse clusters (every 150th row a centroid), far above maxSize: rebalancing splits them again and again.
    for (let s = 0; s < n; s += 150) set.addCluster(data_.subarray(s * dims, (s + 1) * dims), []);
    for (let r = 0; r < n; r++) set.insert(r);
    set.rebalance();
    const dirty = set.takeDirty();
    return { clustering: set.toClustering(), dirty };
  }

  it('should rebalance to the same clusters (members in the same order) as the JS loops, in batches or whole', () => {
    for (const [seed, dims, n, minRows, maxBytes, grid] of [
      [1, 8, 600, 2048, LIMITS.maxBytes, 0],
      [2, 13, 500, 3, LIMITS.maxBytes, 0], // batches of 3 rows (reassignment in many batches; a split's cluster grows the kernel)
      [3, 16, 700, 5, 20_000, 0], // a kernel that cannot grow to a whole cluster: those split with the JS loops
      [4, 1, 300, 2048, LIMITS.maxBytes, 0],
      [5, 2, 600, 2048, LIMITS.maxBytes, 1], // coincident rows, exact ties
      [6, 3, 600, 4, LIMITS.maxBytes, 2],
    ] as const) {
      Object.assign(splitKernelLimits, { minRows, maxBytes });
      const a = clusterings(n, dims, seed, true, grid);
      Object.assign(splitKernelLimits, LIMITS);
      const b = clusterings(n, dims, seed, false, grid);
      expect(a.clustering.k).toBeGreaterThan(n / 40);
      expect(same(a.clustering.centroids, b.clustering.centroids)).toBe(true);
      expect(same(a.clustering.offsets, b.clustering.offsets)).toBe(true);
      expect(same(a.clustering.rows, b.clustering.rows)).toBe(true);
      expect(a.dirty).toEqual(b.dirty);
    }
  });

  it('should extend a codebook to the same centroids, radii and assignment as the JS loops', () => {
    const dims = 6;
    const opts = { targetSize: 50, minSize: 20, maxSize: 80 };
    for (let seed = 1; seed <= 8; seed++) {
      const grid = seed > 6 ? 1 : 0; // coincident rows, exact ties
      const first = data(400, dims, seed, grid);
      const { codebook, clusterOf: firstOf } = trainCodebook(first, dims, 400, 'euclidean_squared', { random: seededRandom(seed + 10), ...opts });
      const others = new Array<number>(codebook.k).fill(0);
      for (const c of firstOf) others[c]!++;
      const m = 300 + 200 * (seed % 3);
      const part = data(m, dims, seed + 20, grid);
      const clusterOf = assignToCodebook(codebook, part, m);
      if (seed % 2 === 0) Object.assign(splitKernelLimits, { minRows: 7, maxBytes: seed === 6 ? 30_000 : LIMITS.maxBytes });
      const got = extendCodebook(codebook, part, m, clusterOf, { random: seededRandom(seed + 30), ...opts, others });
      Object.assign(splitKernelLimits, LIMITS);
      const want = extendCodebook(codebook, part, m, clusterOf, { random: seededRandom(seed + 30), ...opts, others, kernel: false });
      expect(got.codebook.k).toBeGreaterThan(codebook.k);
      expect(got.codebook.k).toBe(want.codebook.k);
      expect(same(got.codebook.centroids, want.codebook.centroids)).toBe(true);
      expect(same(got.codebook.radii, want.codebook.radii)).toBe(true);
      expect(same(got.clusterOf, want.clusterOf)).toBe(true);
    }
  });
});
