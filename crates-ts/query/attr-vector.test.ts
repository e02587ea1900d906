import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { Doc, DistanceMetric, Schema } from '../core/index.js';
import { attrVectorDistance } from './attr-vector.js';
import { distance } from './distance.js';
import { parseQuery, executeQuery } from './index.js';

const SCHEMA: Schema = {
  id: { type: 'uint' },
  vector: { type: '[3]f32', ann: { distance_metric: 'euclidean_squared' } },
  img: { type: '[3]f32', filterable: false, ann: { distance_metric: 'cosine_distance' } },
  cat: { type: 'string', filterable: true },
};

describe('attrVectorDistance', () => {
  it('should equal the vector kernel on the same f32 values, and be null without a vector', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -4, max: 4, noNaN: true }), { minLength: 5, maxLength: 5 }),
        fc.array(fc.float({ min: -4, max: 4, noNaN: true }), { minLength: 5, maxLength: 5 }),
        fc.constantFrom<DistanceMetric>('cosine_distance', 'euclidean_squared'),
        (q, b, metric) => {
          const qv = Float32Array.from(q);
          const d = attrVectorDistance(metric, qv);
          expect(d(Array.from(Float32Array.from(b)))).toBe(distance(metric, qv, Float32Array.from(b)));
        },
      ),
    );
    const d = attrVectorDistance('euclidean_squared', Float32Array.from([1, 2]));
    expect(d(null)).toBeNull();
    expect(d(undefined)).toBeNull();
    expect(d([1])).toBeNull();
    expect(d([1, 2])).toBe(0);
  });
});

describe('kNN over another vector attribute (executeQuery)', () => {
  const docArb = fc.record({
    id: fc.integer({ min: 1, max: 200 }),
    v: fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 3, maxLength: 3 }),
    cat: fc.constantFrom('a', 'b'),
    has: fc.boolean(),
  });
  it('should rank rows by their img as the `vector` path ranks the same vectors (attribute metric), skipping rows without one', () => {
    fc.assert(
      fc.property(fc.uniqueArray(docArb, { selector: (d) => d.id, maxLength: 30 }), fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 3, maxLength: 3 }), (rows, q) => {
        const withImg: Doc[] = rows.map((r) => ({ id: r.id, vector: null, attrs: (r.has ? { img: r.v, cat: r.cat } : { cat: r.cat }) as Doc['attrs'] }));
        const asVector: Doc[] = rows.filter((r) => r.has).map((r) => ({ id: r.id, vector: Float32Array.from(r.v), attrs: { cat: r.cat } }));
        const ctx = { schema: SCHEMA, distanceMetric: 'euclidean_squared' as const };
        for (const filters of [undefined, ['cat', 'Eq', 'a']]) {
          const a = executeQuery(parseQuery({ rank_by: ['img', 'kNN', q], top_k: 7, ...(filters ? { filters } : {}) }, ctx), withImg, ctx);
          // The oracle: the same vectors in `vector`, ranked with the attribute's metric (cosine), not the namespace's.
          const b = executeQuery(parseQuery({ rank_by: ['vector', 'kNN', q], top_k: 7, distance_metric: 'cosine_distance', ...(filters ? { filters } : {}) }, ctx), asVector, ctx);
          expect(a.rows).toEqual(b.rows);
        }
      }),
    );
  });

  it('should resolve the metric: query distance_metric, else the attribute, else the namespace', () => {
    const noMetric: Schema = { ...SCHEMA, img: { type: '[3]f32', filterable: false, ann: true } };
    const q = (body: object, schema: Schema) => parseQuery(body, { schema, distanceMetric: 'euclidean_squared' }).rank;
    expect(q({ rank_by: ['img', 'ANN', [1, 0, 0]] }, SCHEMA)).toMatchObject({ kind: 'attr_vector', attr: 'img', mode: 'ANN', metric: 'cosine_distance' });
    expect(q({ rank_by: ['img', 'kNN', [1, 0, 0]], distance_metric: 'euclidean_squared' }, SCHEMA)).toMatchObject({ metric: 'euclidean_squared' });
    expect(q({ rank_by: ['img', 'kNN', [1, 0, 0]] }, noMetric)).toMatchObject({ metric: 'euclidean_squared' });
    expect(parseQuery({ rank_by: ['img', 'kNN', [1, 0, 0]], filters: ['cat', 'Eq', 'a'] }, { schema: SCHEMA, distanceMetric: null }).readAttrs.sort()).toEqual(['cat', 'img']);
  });

  it('should project the attribute as numbers, or base64 with vector_encoding base64', () => {
    const ctx = { schema: SCHEMA, distanceMetric: null };
    const docs: Doc[] = [{ id: 1, vector: null, attrs: { img: [0.5, 1, -2], cat: 'a' } }];
    const f = executeQuery(parseQuery({ rank_by: ['img', 'kNN', [1, 1, 1]], include_attributes: ['img'] }, ctx), docs, ctx);
    expect(f.rows![0]!.img).toEqual([0.5, 1, -2]);
    const b = executeQuery(parseQuery({ rank_by: ['img', 'kNN', [1, 1, 1]], include_attributes: true, vector_encoding: 'base64' }, ctx), docs, ctx);
    expect(b.rows![0]!.img).toBe(Buffer.from(new Float32Array([0.5, 1, -2]).buffer).toString('base64'));
    expect(b.rows![0]!.cat).toBe('a');
  });
});
