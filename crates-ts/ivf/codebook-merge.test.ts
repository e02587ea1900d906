import { describe, expect, it } from 'vitest';
import { assignToCodebook, codebookIndex, codebookProblem, codebookRotation, trainCodebook, type Codebook } from './codebook.js';
import { foldSmallClusters, newlyRetired, retireEmpty } from './codebook-merge.js';
import { sqDistAt } from './kernels.js';
import { encodeCluster } from './rabitq.js';
import { IvfSearcher, probeOrderOf } from './search.js';
import { mixture, seededRandom } from './testing.js';

const DIMS = 12;
const N = 600;
const data = mixture(N, DIMS, seededRandom(7), 12);
const trained = trainCodebook(data, DIMS, N, 'euclidean_squared', { random: seededRandom(8), targetSize: 50, minSize: 20, maxSize: 80 });
const cb = trained.codebook;

/** Rows of the first `n` of `data` whose cluster is one of `clusters` — a "part" that holds only those clusters. */
function partOf(clusters: number[]): { rows: Float32Array; n: number } {
  const keep: number[] = [];
  for (let r = 0; r < N; r++) if (clusters.includes(trained.clusterOf[r]!)) keep.push(r);
  const rows = new Float32Array(keep.length * DIMS);
  keep.forEach((r, j) => rows.set(data.subarray(r * DIMS, (r + 1) * DIMS), j * DIMS));
  return { rows, n: keep.length };
}

function sizes(c: Codebook, clusterOf: Uint32Array, n: number): number[] {
  const s = new Array<number>(c.k).fill(0);
  for (let r = 0; r < n; r++) s[clusterOf[r]!]++;
  return s;
}

describe('foldSmallClusters', () => {
  it('should dissolve clusters under minSize into their nearest remaining live centroid and retire them', () => {
    expect(cb.k).toBeGreaterThan(6);
    // A part with a handful of rows of each of clusters 0..3 and whole clusters 4..5.
    const { rows, n } = partOf([0, 1, 2, 3, 4, 5]);
    const clusterOf = assignToCodebook(cb, rows, n);
    const before = sizes(cb, clusterOf, n);
    const minSize = Math.min(...before.filter((x) => x > 0)) + 1; // the smallest present cluster is under it
    const out = foldSmallClusters(cb, rows, n, clusterOf, minSize, { keep: new Set() });
    expect(codebookProblem(out.codebook)).toBeNull();
    expect(out.codebook.version).toBe(cb.version + 1);
    expect(out.codebook.k).toBe(cb.k); // no centroid appended, none moved
    expect(Array.from(out.codebook.centroids)).toEqual(Array.from(cb.centroids));
    const gone = newlyRetired(cb, out.codebook);
    expect(gone.length).toBeGreaterThan(0);
    const after = sizes(out.codebook, out.clusterOf, n);
    for (const c of gone) {
      expect(before[c]).toBeLessThan(minSize);
      expect(after[c]).toBe(0);
    }
    // Every live cluster left holding rows holds at least minSize (or is the fold target of the rest).
    for (let c = 0; c < cb.k; c++) if (after[c]! > 0) expect(out.codebook.retired[c]).toBe(0);
    // Each moved vector went to its nearest centroid among those left holding rows (an empty one is no target).
    let moved = 0;
    for (let r = 0; r < n; r++) {
      if (out.clusterOf[r] === clusterOf[r]) continue;
      moved++;
      const got = sqDistAt(rows, r * DIMS, cb.centroids, out.clusterOf[r]! * DIMS, DIMS);
      for (let c = 0; c < cb.k; c++) if (after[c]! > 0) expect(got).toBeLessThanOrEqual(sqDistAt(rows, r * DIMS, cb.centroids, c * DIMS, DIMS) + 1e-4);
    }
    expect(moved).toBeGreaterThan(0);
    for (let c = 0; c < cb.k; c++) if (before[c] === 0) expect(after[c]).toBe(0);
    // Assignment under the new version never picks a retired centroid.
    for (const c of assignToCodebook(out.codebook, data, N)) expect(out.codebook.retired[c]).toBe(0);
  });

  it('should leave alone clusters other parts hold (keep), and the codebook itself when nothing is small', () => {
    const { rows, n } = partOf([0, 1, 2]);
    const clusterOf = assignToCodebook(cb, rows, n);
    const present = [...new Set(clusterOf)];
    const kept = foldSmallClusters(cb, rows, n, clusterOf, 10_000, { keep: new Set(present) });
    expect(kept.codebook).toBe(cb);
    expect(kept.clusterOf).toBe(clusterOf);
    expect(foldSmallClusters(cb, rows, n, clusterOf, 1, { keep: new Set() }).codebook).toBe(cb);
  });

  it('should keep one live centroid when every cluster is small', () => {
    const { rows, n } = partOf([0, 1, 2, 3]);
    const out = foldSmallClusters(cb, rows, n, assignToCodebook(cb, rows, n), 10_000, { keep: new Set() });
    const live = Array.from(out.codebook.retired).filter((x) => x === 0).length;
    expect(live).toBeGreaterThanOrEqual(1);
    expect(new Set(out.clusterOf).size).toBe(1); // every vector ended in the one cluster left holding rows
  });
});

describe('retireEmpty', () => {
  it('should retire live centroids holding no vector of the part unless kept, and keep one when all are empty', () => {
    const { rows, n } = partOf([0, 1]);
    const clusterOf = assignToCodebook(cb, rows, n);
    const held = new Set(clusterOf);
    const out = retireEmpty(cb, n, clusterOf, { keep: new Set([cb.k - 1]) });
    expect(out.version).toBe(cb.version + 1);
    for (let c = 0; c < cb.k; c++) expect(out.retired[c]).toBe(held.has(c) || c === cb.k - 1 ? 0 : 1);
    expect(retireEmpty(out, n, clusterOf, { keep: new Set() }).retired[cb.k - 1]).toBe(1);
    const none = retireEmpty(cb, 0, new Uint32Array(0), { keep: new Set() });
    expect(Array.from(none.retired).filter((x) => x === 0)).toHaveLength(1);
  });

  it('should take retired centroids out of the probe order (they cost no probe slot)', () => {
    const { rows, n } = partOf([0, 1]);
    const out = retireEmpty(cb, n, assignToCodebook(cb, rows, n), { keep: new Set() });
    const index = codebookIndex(out);
    const live = Array.from(out.retired).filter((x) => x === 0).length;
    expect(index.live).toBe(live);
    const q = data.subarray(0, DIMS);
    const d = Float64Array.from({ length: cb.k }, (_, c) => sqDistAt(q, 0, cb.centroids, c * DIMS, DIMS));
    const order = probeOrderOf(index, d, cb.k);
    expect(order).toHaveLength(live);
    for (const c of order) expect(out.retired[c]).toBe(0);
    // Without retirements every centroid is a candidate.
    expect(probeOrderOf(codebookIndex(cb), Float64Array.from(d), cb.k)).toHaveLength(cb.k);
  });

  it('should never ask the searcher for a retired cluster, and still find every vector of the live ones', () => {
    const { rows, n } = partOf([0, 1, 2]);
    const clusterOf = assignToCodebook(cb, rows, n);
    const out = retireEmpty(cb, n, clusterOf, { keep: new Set() });
    const rotation = codebookRotation(out);
    const members = Array.from({ length: cb.k }, (_, c) => Array.from({ length: n }, (_, r) => r).filter((r) => clusterOf[r] === c));
    const codes = members.map((m, c) => encodeCluster(rows, Uint32Array.from(m), out.centroids, c * DIMS, rotation, Uint32Array.from(m)));
    const asked = new Set<number>();
    const searcher = new IvfSearcher(codebookIndex(out));
    for (let r = 0; r < n; r++) {
      const q = rows.subarray(r * DIMS, (r + 1) * DIMS);
      const res = searcher.search(q, { topK: 1, nprobe: cb.k }, {
        cluster: (c) => (asked.add(c), codes[c]!),
        exact: (ids) => Array.from(ids, (x) => sqDistAt(q, 0, rows, x * DIMS, DIMS)),
      });
      expect(res.distances[0]).toBe(0);
    }
    for (const c of asked) expect(out.retired[c]).toBe(0);
    expect(asked.size).toBeGreaterThan(0);
  });
});
