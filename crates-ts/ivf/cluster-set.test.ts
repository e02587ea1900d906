import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClusterSet } from './cluster-set.js';
import { encodeCluster, type ClusterCodes } from './rabitq.js';
import { fhtRotation } from './rotation.js';
import { IvfSearcher, makeIndex } from './search.js';
import { exactDistance, mixture, seededRandom } from './testing.js';

const DIMS = 16;
const CAPACITY = 3000;
const MIN = 20;
const MAX = 80;

/** Every live row is in exactly one cluster, the one clusterOfRow names; no dead row is anywhere. */
function expectExactlyOnce(set: ClusterSet, live: Set<number>): void {
  const seen = new Map<number, number>();
  for (let c = 0; c < set.capacity; c++) {
    if (!set.isAlive(c)) continue;
    for (const r of set.membersOf(c)) {
      expect(seen.has(r), `row ${r} in clusters ${seen.get(r)} and ${c}`).toBe(false);
      seen.set(r, c);
      expect(set.clusterOfRow(r)).toBe(c);
    }
  }
  expect([...seen.keys()].sort((a, b) => a - b)).toEqual([...live].sort((a, b) => a - b));
}

/** Encodes every live cluster (explicit row ids: the rows of a cluster are not consecutive) and searches each live row for itself. */
function selfNeighbourFailures(set: ClusterSet, data: Float32Array, live: Set<number>, nprobe: number): number[] {
  const clustering = set.toClustering();
  const rotation = fhtRotation(DIMS, seededRandom(99));
  const clusters: ClusterCodes[] = [];
  const radii = new Float32Array(clustering.k);
  for (let c = 0; c < clustering.k; c++) {
    const rows = clustering.rows.subarray(clustering.offsets[c]!, clustering.offsets[c + 1]!);
    clusters.push(encodeCluster(data, rows, clustering.centroids, c * DIMS, rotation, rows));
    radii[c] = clusters[c]!.radius;
  }
  const searcher = new IvfSearcher(makeIndex('euclidean_squared', clustering.centroids, clustering.k, rotation, radii));
  const failures: number[] = [];
  for (const row of live) {
    const q = data.subarray(row * DIMS, (row + 1) * DIMS);
    const res = searcher.search(q, { topK: 1, nprobe }, { cluster: (c) => clusters[c]!, exact: (rows) => Array.from(rows, (r) => exactDistance('euclidean_squared', q, data, r, DIMS)) });
    if (res.rows[0] !== row) failures.push(row);
  }
  return failures;
}

type Op = { kind: 'insert'; n: number } | { kind: 'delete'; n: number; pick: number } | { kind: 'split'; pick: number } | { kind: 'merge'; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('insert' as const), n: fc.integer({ min: 1, max: 150 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), n: fc.integer({ min: 1, max: 100 }), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('split' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('merge' as const), pick: fc.nat() }) },
);

describe('ClusterSet (SPFresh split, merge, reassignment)', () => {
  it('should keep every live vector in exactly one cluster, within size bounds, and its own nearest neighbour', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 25 }), fc.integer({ min: 1, max: 1000 }), (ops, seed) => {
        const random = seededRandom(seed);
        // Vectors of a mixture with a few dozen centres: dense groups make nearest-centroid mistakes possible.
        const data = mixture(CAPACITY, DIMS, random, 24, 0.6);
        const set = new ClusterSet(data, DIMS, { random, minSize: MIN, maxSize: MAX });
        const live = new Set<number>();
        let next = 0;
        for (const o of ops) {
          if (o.kind === 'insert') for (let i = 0; i < o.n && next < CAPACITY; i++) (set.insert(next), live.add(next++));
          else if (o.kind === 'delete') {
            const rows = [...live];
            for (let i = 0; i < o.n && rows.length > 0; i++) {
              const r = rows.splice((o.pick + i * 7919) % rows.length, 1)[0]!;
              set.remove(r);
              live.delete(r);
            }
            // A removal can leave an empty cluster: dissolve empties here, the rest is rebalance's job.
            for (let c = 0; c < set.capacity; c++) if (set.isAlive(c) && set.sizeOf(c) === 0 && set.liveClusters > 1) set.merge(c);
          } else {
            const alive = Array.from({ length: set.capacity }, (_, c) => c).filter((c) => set.isAlive(c));
            const c = alive[o.pick % Math.max(1, alive.length)];
            if (c === undefined) continue;
            if (o.kind === 'split' && set.sizeOf(c) >= 2) set.split(c);
            if (o.kind === 'merge' && set.liveClusters > 1) set.merge(c);
          }
          set.rebalance();
          expectExactlyOnce(set, live);
          if (live.size >= MIN) {
            for (let c = 0; c < set.capacity; c++) {
              if (!set.isAlive(c)) continue;
              expect(set.sizeOf(c)).toBeGreaterThanOrEqual(MIN);
              expect(set.sizeOf(c)).toBeLessThanOrEqual(MAX);
            }
          }
        }
        // Probing the 3 nearest of up to ~40 clusters finds each vector: reassignment keeps it in or near its nearest cluster.
        expect(selfNeighbourFailures(set, data, live, 3)).toEqual([]);
      }),
      { numRuns: 25, seed: 20260501 },
    );
  });

  it('should report the clusters to re-encode, without dissolved ones', () => {
    const data = mixture(400, DIMS, seededRandom(3), 4);
    const set = new ClusterSet(data, DIMS, { random: seededRandom(4), minSize: 10, maxSize: 100 });
    for (let r = 0; r < 150; r++) set.insert(r);
    expect(set.takeDirty()).toEqual([0]);
    set.rebalance();
    const after = set.takeDirty();
    expect(after.length).toBe(set.liveClusters);
    set.insert(150);
    expect(set.takeDirty()).toEqual([set.clusterOfRow(150)]);
    const victim = set.clusterOfRow(0);
    set.merge(victim);
    expect(set.takeDirty()).not.toContain(victim);
    expect(set.isAlive(victim)).toBe(false);
  });

  it('should refuse bounds where a balanced split could make a too-small cluster', () => {
    expect(() => new ClusterSet(new Float32Array(16), DIMS, { random: seededRandom(1), minSize: 60, maxSize: 100 })).toThrow(/at least twice minSize/);
  });
});
