import { beforeAll, describe, expect, it } from 'vitest';
import { isElaxError, type DistanceMetric, type Doc, type Id } from '../core/index.js';
import { MemoryStore } from '../store/index.js';
import { distance } from '../query/index.js';
import { buildPartFiles, uploadPart, loadPart, newPartId, type LoadedPart } from './index.js';
import { buildHnsw, loadHnsw } from './hnsw.js';
import { clusteredVectors, rng, vectorDocs } from './testing.js';

async function partOf(docs: Doc[], metric: DistanceMetric, flatThreshold: number): Promise<LoadedPart> {
  const store = new MemoryStore();
  const partId = newPartId(1, 1, 'ann');
  const built = await buildPartFiles({
    namespace: 'ns',
    partId,
    walStart: 1,
    walEnd: 1,
    level: 0,
    changes: new Map<Id, Doc | null>(docs.map((d) => [d.id, d])),
    schema: {},
    distanceMetric: metric,
    hnsw: { flatThreshold },
    createdAt: '2025-01-01T00:00:00.000Z',
  });
  await uploadPart(store, built);
  return loadPart(store, 'ns', partId);
}

/** Exact k nearest among allowed docs with vectors: the ground truth, via query/ distance(). */
function bruteForce(part: LoadedPart, metric: DistanceMetric, q: Float32Array, k: number, allow?: (o: number) => boolean) {
  const all: { ordinal: number; dist: number }[] = [];
  part.docs.forEach((d, o) => {
    if (d.vector && (!allow || allow(o))) all.push({ ordinal: o, dist: distance(metric, q, d.vector) });
  });
  return all.sort((a, b) => a.dist - b.dist || a.ordinal - b.ordinal).slice(0, k);
}

function recall(got: { ordinal: number }[], want: { ordinal: number }[]): number {
  const w = new Set(want.map((h) => h.ordinal));
  return got.filter((h) => w.has(h.ordinal)).length / Math.max(1, want.length);
}

// Overlapping clusters and a small candidate list, so recall is measurably below 1 (≈0.98, deterministic: seeded
// data, fixed HNSW seed): a wrong space or label mapping would fail, not just a broken index.
const SPREAD = 0.5;
const EF = 16;

describe.each(['cosine_distance', 'euclidean_squared'] as const)('annSearch with %s', (metric) => {
  const dims = 32;
  // The first 100 points of the seed-7 mixture: held out of the part, so queries are in-distribution but not rows.
  const queries = clusteredVectors(100, dims, 20, 7, SPREAD);
  let part: LoadedPart;
  beforeAll(async () => {
    const vectors = clusteredVectors(5000, dims, 20, 7, SPREAD);
    const docs = vectorDocs(vectors.slice(100)); // the first 100 points are the queries
    docs.forEach((d, i) => {
      if (i % 50 === 0) d.vector = null; // rows without vectors are never returned
    });
    part = await partOf(docs, metric, 1024);
  });

  it('should reach recall@10 ≥ 0.95 against exact search, with exact distances', () => {
    expect(part.manifest.index.kind).toBe('hnsw');
    let sum = 0;
    for (const q of queries) {
      const got = part.annSearch(q, 10, EF);
      expect(got).toHaveLength(10);
      for (const h of got) expect(h.dist).toBe(distance(metric, q, part.docs[h.ordinal]!.vector!));
      for (let i = 1; i < got.length; i++) expect(got[i]!.dist).toBeGreaterThanOrEqual(got[i - 1]!.dist);
      sum += recall(got, bruteForce(part, metric, q, 10));
    }
    expect(sum / queries.length).toBeGreaterThanOrEqual(0.95);
  });

  it('should return only allowed ordinals from a filtered search, with good recall', () => {
    const allow = (o: number) => (part.docs[o]!.attrs.g as number) >= 4; // 60%: above FILTERED_EXACT_MAX_ROWS, so HNSW's filtered walk
    let sum = 0;
    for (const q of queries.slice(0, 50)) {
      const got = part.annSearch(q, 10, EF, allow);
      expect(got).toHaveLength(10);
      for (const h of got) expect(allow(h.ordinal)).toBe(true);
      sum += recall(got, bruteForce(part, metric, q, 10, allow));
    }
    expect(sum / 50).toBeGreaterThanOrEqual(0.95);
  });

  it('should answer a selective filter exactly (scan of the allowed rows) and an empty one with nothing', () => {
    const allow = (o: number) => o % 97 === 5;
    for (const q of queries.slice(0, 10)) {
      expect(part.annSearch(q, 10, 64, allow)).toEqual(bruteForce(part, metric, q, 10, allow));
    }
    expect(part.annSearch(queries[0]!, 10, 64, () => false)).toEqual([]);
    expect(part.annSearch(queries[0]!, 0, 64)).toEqual([]);
  });

  it('should reject a query of the wrong dimensions', () => {
    const err = (() => {
      try {
        part.annSearch(new Float32Array(dims + 1), 10, 64);
      } catch (e) {
        return e;
      }
    })();
    expect(isElaxError(err, 'ELAX_ERR_INVALID_VECTOR')).toBe(true);
  });
});

describe('flat parts', () => {
  it.each(['cosine_distance', 'euclidean_squared'] as const)('should be exact (%s), ties by ordinal, k beyond the row count', async (metric) => {
    const r = rng(3);
    const docs: Doc[] = Array.from({ length: 300 }, (_, i) => ({
      id: `d${String(i).padStart(3, '0')}`,
      vector: i % 7 === 0 ? null : Float32Array.from({ length: 8 }, () => Math.round(r() * 4) - 2), // many exact ties
      attrs: {},
    }));
    docs[1]!.vector = new Float32Array(8); // zero vector: cosine distance 1 by definition
    const part = await partOf(docs, metric, 1024);
    expect(part.manifest.index.kind).toBe('flat');
    for (let t = 0; t < 20; t++) {
      const q = Float32Array.from({ length: 8 }, () => Math.round(r() * 4) - 2);
      expect(part.annSearch(q, 15, 10)).toEqual(bruteForce(part, metric, q, 15));
      const allow = (o: number) => o % 2 === 0;
      expect(part.annSearch(q, 15, 10, allow)).toEqual(bruteForce(part, metric, q, 15, allow));
    }
    expect(part.annSearch(docs[2]!.vector!, 1000, 10)).toHaveLength(part.vectorOrdinals.length);
  });
});

describe('hnswlib spaces', () => {
  it.each([
    ['l2', 'euclidean_squared'],
    ['cosine', 'cosine_distance'],
  ] as const)("should make '%s' distances equal elax's %s (up to float32 rounding)", async (space, metric) => {
    const dims = 16;
    const vectors = clusteredVectors(200, dims, 4, 11, 0.5);
    vectors[5] = new Float32Array(dims); // zero vector stays unnormalised: distance 1 in cosine space, as in elax
    const flat = new Float32Array(200 * dims);
    vectors.forEach((v, i) => flat.set(v, i * dims));
    const ordinals = vectors.map((_, i) => i);
    const index = await loadHnsw(space, dims, buildHnsw({ space, dims, M: 8, efConstruction: 50 }, flat, ordinals));
    const q = clusteredVectors(1, dims, 4, 12, 0.5)[0]!;
    const res = index.searchKnn(Array.from(q), 200);
    expect(res.neighbors).toHaveLength(200);
    res.neighbors.forEach((o, i) => {
      const exact = distance(metric, q, vectors[o]!);
      expect(Math.abs(res.distances[i]! - exact)).toBeLessThanOrEqual(1e-5 * Math.max(1, exact));
    });
  });
});
