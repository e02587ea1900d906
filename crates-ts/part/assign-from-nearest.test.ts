import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { DistanceMetric, Doc, Id } from '../core/index.js';
import { seededRandom } from '../ivf/index.js';
import { assignFromNearest, assignPartVectors, nearestInCodebook, type IvfAssignment } from './build-v3.js';
import type { PartBuildInput } from './build.js';

/** A part input of `n` vectors around a few centres (duplicates included, so ties between centroids happen). */
function input(seed: number, n: number, dims: number, metric: DistanceMetric, codebook: IvfAssignment['codebook'] | null): PartBuildInput {
  const random = seededRandom(seed);
  const centres = Array.from({ length: 5 }, () => Array.from({ length: dims }, () => Math.round((random() * 2 - 1) * 4) / 4));
  const changes = new Map<Id, Doc | null>();
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(random() * centres.length)]!;
    const exact = random() < 0.2; // a centre itself: equidistant from centroids placed symmetrically around it
    changes.set(seed * 10_000 + i, { id: seed * 10_000 + i, vector: Float32Array.from(c, (x) => (exact ? x : x + (random() - 0.5) * 0.5)), attrs: {} });
  }
  return {
    namespace: 'ns', partId: `p${seed}`, walStart: 1, walEnd: 1, level: 0, changes, schema: {}, distanceMetric: metric, createdAt: 'now',
    vectorIndex: { kind: 'ivf', codebook, targetSize: 8, minSize: 3, maxSize: 12 },
  };
}

describe('assigning from the nearest centroids of an earlier codebook version', () => {
  it('gives the assignment (clusters, splits, codebook) that assigning to the later version gives', () => {
    let appended = 0;
    let moved = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 2, max: 9 }), fc.constantFrom<DistanceMetric>('cosine_distance', 'euclidean_squared'), (seed, dims, metric) => {
        // Version 1 trained on one shard, extended by the next ones (appended centroids); then a shard assigned to the
        // last version directly, and from its nearest centroids in version 1.
        const first = assignPartVectors(input(seed, 60, dims, metric, null));
        let cb = first.codebook;
        for (let s = 1; s <= 2; s++) cb = assignPartVectors(input(seed + s, 50, dims, metric, cb)).codebook;
        const last = input(seed + 3, 50, dims, metric, cb);
        const direct = assignPartVectors(last);
        const found = nearestInCodebook(input(seed + 3, 50, dims, metric, first.codebook));
        expect(found.exact).toBe(true);
        const via = assignFromNearest(last, found, first.codebook);
        if (cb.k > first.codebook.k) appended++;
        if (found.nearest.some((c, r) => c !== via.clusterOf[r])) moved++;
        expect(Array.from(via.clusterOf)).toEqual(Array.from(direct.clusterOf));
        expect(via.changed).toBe(direct.changed);
        expect(via.codebook.version).toBe(direct.codebook.version);
        expect(Array.from(via.codebook.centroids)).toEqual(Array.from(direct.codebook.centroids));
      }),
      { numRuns: 60 },
    );
    expect(appended).toBeGreaterThan(20); // the later versions really appended centroids
    expect(moved).toBeGreaterThan(20); // and vectors really went to them (or to splits) instead of their version-1 nearest
  });

  it('refuses a search that was not exact, or a codebook that is not a later version', () => {
    const a = assignPartVectors(input(1, 40, 3, 'euclidean_squared', null));
    const i = input(2, 40, 3, 'euclidean_squared', a.codebook);
    const found = nearestInCodebook(i);
    expect(() => assignFromNearest(i, { ...found, exact: false }, a.codebook)).toThrow(/cannot assign from nearest/);
    expect(() => assignFromNearest(i, found, { ...a.codebook, k: a.codebook.k + 1 })).toThrow(/cannot assign from nearest/);
  });
});
