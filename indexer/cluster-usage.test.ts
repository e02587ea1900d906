import { describe, expect, it } from 'vitest';
import type { Doc } from '../crates-ts/core/index.js';
import { CountingStore, MemoryStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { seededRandom } from '../crates-ts/ivf/index.js';
import { publishIvfPart } from '../test/helpers/part-namespace.js';
import { ClusterUsage } from './cluster-usage.js';
import { LivenessReader } from './liveness.js';

describe('ClusterUsage', () => {
  it('should count rows per centroid from the cluster tables, and read each table once per store', async () => {
    const r = seededRandom(5);
    const rows: Doc[] = Array.from({ length: 600 }, (_, i) => ({ id: i, vector: Float32Array.from({ length: 8 }, () => r()), attrs: {} }));
    const inner = new MemoryStore();
    const router = await publishIvfPart(inner, 'u', rows, { schema: { vector: { type: '[8]f32' } }, metric: 'euclidean_squared', targetSize: 50 });
    const store = new CountingStore(inner);
    const k = 1000; // more than the codebook holds: unused ids count 0
    const first = await new ClusterUsage(new LivenessReader(store, 'u')).rowsPerCentroid(router, k);
    expect(first.reduce((a, b) => a + b, 0)).toBe(600);
    const reads = store.requests.get + store.requests.get_range;
    expect(reads).toBeGreaterThan(0);
    // A new reader (the next indexing pass) over the same store: no cluster table read again.
    const again = await new ClusterUsage(new LivenessReader(store, 'u')).rowsPerCentroid(router, k);
    expect(again).toEqual(first);
    expect(store.requests.get + store.requests.get_range).toBe(reads);
    // Another store object never sees this one's tables.
    const other = new CountingStore(inner);
    await new ClusterUsage(new LivenessReader(other, 'u')).rowsPerCentroid((await new RouterStore(other).read('u'))!.router, k);
    expect(other.requests.get + other.requests.get_range).toBeGreaterThan(1);
  });
});
