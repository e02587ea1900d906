import { describe, it, expect } from 'vitest';
import type { AttrValue, Doc, Id, Schema } from '../core/index.js';
import { buildVectorAttrIndexes, checkVectorAttrIndexes, vectorAttrIndexFileName, vectorAttrMetric } from './vector-attr-index.js';
import { loadHnsw } from './hnsw.js';
import { MemoryStore } from '../store/index.js';
import { seededRandom } from '../ivf/index.js';
import { buildPartFiles, newPartId, readManifest, uploadPart } from './index.js';

const SCHEMA: Schema = {
  vector: { type: '[2]f32', ann: true },
  a: { type: '[3]f32', filterable: false, ann: { distance_metric: 'euclidean_squared' } },
  b: { type: '[3]f16', filterable: false, ann: false },
  c: { type: '[2]f32', filterable: false, ann: true },
  s: { type: 'string', filterable: true },
};

function values(n: number, dims: number, gapEvery: number): AttrValue[] {
  return Array.from({ length: n }, (_, i) => (i % gapEvery === 0 ? null : Array.from({ length: dims }, (_, j) => ((i * 7 + j * 3) % 11) - 5)));
}

describe('vector attribute indexes (RFC-0014)', () => {
  it('should build one graph per vector column with ann, over rows with a value, in its metric', async () => {
    const cols = [
      { name: 'a', values: values(40, 3, 5) },
      { name: 'b', values: values(40, 3, 5) },
      { name: 'c', values: values(40, 2, 4) },
      { name: 's', values: Array.from({ length: 40 }, () => 'x') },
    ];
    const { files, infos } = buildVectorAttrIndexes(SCHEMA, cols, { distanceMetric: 'cosine_distance', flatThreshold: 10 });
    // b has ann: false; s is no vector. c takes the namespace metric (cosine).
    expect(infos).toEqual([
      { attr: 'a', file: 'vann-0.hnsw', space: 'l2', dims: 3, vectors: 32, M: 16, ef_construction: 200 },
      { attr: 'c', file: 'vann-1.hnsw', space: 'cosine', dims: 2, vectors: 30, M: 16, ef_construction: 200 },
    ]);
    expect(files.map((f) => f.name)).toEqual(['vann-0.hnsw', 'vann-1.hnsw']);
    // The graph holds exactly the rows with a value, labelled by ordinal: its nearest to row 1's vector is row 1.
    const g = await loadHnsw('l2', 3, files[0]!.bytes);
    expect(g.getCurrentCount()).toBe(32);
    expect(g.getIdsList().sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 5 !== 0));
    const res = g.searchKnn(cols[0]!.values[1] as number[], 1);
    expect(res.distances[0]).toBe(0);
    // Below the flat threshold: no graph (the part is scanned exactly).
    expect(buildVectorAttrIndexes(SCHEMA, cols, { distanceMetric: null, flatThreshold: 33 }).infos.map((i) => i.attr)).toEqual([]);
    expect(vectorAttrIndexFileName(3)).toBe('vann-3.hnsw');
  });

  it('should resolve a column metric from its schema, else the namespace, else cosine', () => {
    expect(vectorAttrMetric(SCHEMA, 'a', 'cosine_distance')).toBe('euclidean_squared');
    expect(vectorAttrMetric(SCHEMA, 'c', 'euclidean_squared')).toBe('euclidean_squared');
    expect(vectorAttrMetric(SCHEMA, 'c', null)).toBe('cosine_distance');
  });

  it('should reject malformed head entries', () => {
    const files = new Set(['vann-0.hnsw']);
    const ok = { attr: 'a', file: 'vann-0.hnsw', space: 'l2', dims: 3, vectors: 2, M: 16, ef_construction: 200 };
    expect(() => checkVectorAttrIndexes(undefined, files, 'p')).not.toThrow();
    expect(() => checkVectorAttrIndexes([ok], files, 'p')).not.toThrow();
    for (const bad of [{}, [{ ...ok, file: 'vann-9.hnsw' }], [{ ...ok, space: 'ip' }], [{ ...ok, dims: 0 }], [{ ...ok, attr: 1 }]]) {
      expect(() => checkVectorAttrIndexes(bad, files, 'p')).toThrow(/ELAX_ERR_CORRUPT|malformed/);
    }
  });

  it('should give format-2 and format-3 (clustered) parts the graph, listed in the head', async () => {
    const r = seededRandom(5);
    const docs: Doc[] = Array.from({ length: 600 }, (_, i) => ({
      id: i,
      vector: Float32Array.from({ length: 8 }, () => r() * 2 - 1),
      attrs: (i % 3 === 0 ? {} : { img: Array.from({ length: 4 }, () => Math.round(r() * 64) / 8) }) as Doc['attrs'],
    }));
    const schema: Schema = { vector: { type: '[8]f32' }, img: { type: '[4]f32', filterable: false, ann: true } };
    for (const format of [2, 3]) {
      const store = new MemoryStore();
      const partId = newPartId(1, 2, `f${format}`);
      const built = await buildPartFiles({
        namespace: 'ns', partId, walStart: 1, walEnd: 2, level: 0, changes: new Map<Id, Doc | null>(docs.map((d) => [d.id, d])), schema,
        distanceMetric: 'euclidean_squared', createdAt: '2026-12-05T00:00:00.000Z', hnsw: { flatThreshold: 100 },
        ...(format === 3 ? { vectorIndex: { kind: 'ivf' as const, codebook: null, targetSize: 100, minSize: 50, maxSize: 200 } } : { partFormat: 2 }),
      });
      await uploadPart(store, built);
      const head = (await readManifest(store, 'ns', partId))! as { format_version: number; vector_attr_indexes?: unknown };
      expect(head.format_version).toBe(format);
      expect(head.vector_attr_indexes).toEqual([{ attr: 'img', file: 'vann-0.hnsw', space: 'l2', dims: 4, vectors: 400, M: 16, ef_construction: 200 }]);
    }
  });
});
