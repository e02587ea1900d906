import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { Doc, DistanceMetric } from '../core/index.js';
import { parseQuery, executeQuery, exactKnn, type QueryContext, type Row } from './index.js';
import { planTextRank } from '../fts/index.js';
import {
  DIMS,
  SCHEMA,
  doc,
  naiveDistance,
  naiveIdCmp,
  naiveValueCmp,
  naiveFilter,
  type SimpleFilter,
} from './test-helpers.js';

const COLORS = ['red', 'green', 'blue'];

/** Small integer coordinates make exact distance ties common, so the id tie-break is exercised. */
const vectorArb = fc.array(fc.integer({ min: -2, max: 2 }), { minLength: DIMS, maxLength: DIMS });
const docsArb = fc
  .uniqueArray(fc.integer({ min: 0, max: 10_000 }), { minLength: 0, maxLength: 60 })
  .chain((ids) =>
    fc.tuple(
      ...ids.map((id) =>
        fc.record({
          vector: fc.option(vectorArb, { freq: 6 }),
          color: fc.constantFrom(...COLORS),
          n: fc.integer({ min: -5, max: 5 }),
          price: fc.option(fc.constantFrom(0.5, 1, 2.25, 3), { freq: 3 }),
        }).map((r): Doc => {
          const attrs: Doc['attrs'] = { color: r.color, n: r.n };
          if (r.price !== null) attrs.price = r.price;
          return doc(id, r.vector, attrs);
        }),
      ),
    ),
  );

const leafArb: fc.Arbitrary<SimpleFilter> = fc.oneof(
  fc.constantFrom(...COLORS).map((c): SimpleFilter => ['color', 'Eq', c]),
  fc.subarray(COLORS, { minLength: 1 }).map((cs): SimpleFilter => ['color', 'In', cs]),
  fc.integer({ min: -5, max: 5 }).map((n): SimpleFilter => ['n', 'Gte', n]),
);
const filterArb: fc.Arbitrary<SimpleFilter> = fc.letrec<{ f: SimpleFilter }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((fs): SimpleFilter => ['And', fs]),
    fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((fs): SimpleFilter => ['Or', fs]),
    tie('f').map((f): SimpleFilter => ['Not', f]),
  ),
})).f;

const ctxFor = (metric: DistanceMetric): QueryContext => ({ schema: SCHEMA, distanceMetric: metric });

function ids(rows: Row[] | undefined) {
  return (rows ?? []).map((r) => r.id);
}

describe('executeQuery against a naive full-sort reference', () => {
  it('should rank by vector distance exactly like a full sort, with filters and id tie-breaks', () => {
    fc.assert(
      fc.property(
        docsArb,
        vectorArb,
        fc.integer({ min: 1, max: 70 }),
        fc.constantFrom<DistanceMetric>('cosine_distance', 'euclidean_squared'),
        fc.option(filterArb, { freq: 2 }),
        fc.constantFrom('ANN', 'kNN'),
        (docs, qv, k, metric, filter, mode) => {
          const ctx = ctxFor(metric);
          const body: Record<string, unknown> = { rank_by: ['vector', mode, qv], top_k: k };
          if (filter) body.filters = filter;
          const got = executeQuery(parseQuery(body, ctx), docs, ctx).rows!;
          const q = Float32Array.from(qv);
          const expected = docs
            .filter((d) => d.vector && (!filter || naiveFilter(filter, d)))
            .map((d) => ({ id: d.id, dist: naiveDistance(metric, q, d.vector!) }))
            .sort((a, b) => a.dist - b.dist || naiveIdCmp(a.id, b.id))
            .slice(0, k);
          expect(got.map((r) => [r.id, r.$dist])).toEqual(expected.map((e) => [e.id, e.dist]));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('should order by attributes (nulls first ascending, last descending) exactly like a full sort', () => {
    fc.assert(
      fc.property(
        docsArb,
        fc.array(fc.tuple(fc.constantFrom('color', 'n', 'price', 'id'), fc.constantFrom('asc', 'desc')), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 70 }),
        fc.option(filterArb, { freq: 2 }),
        (docs, keys, k, filter) => {
          const ctx = ctxFor('cosine_distance');
          const rankBy = keys.length === 1 ? keys[0] : keys;
          const body: Record<string, unknown> = { rank_by: rankBy, top_k: k, include_attributes: ['color', 'n', 'price'] };
          if (filter) body.filters = filter;
          const got = executeQuery(parseQuery(body, ctx), docs, ctx).rows!;
          const value = (d: Doc, a: string) => (a === 'id' ? d.id : d.attrs[a]);
          const expected = docs
            .filter((d) => !filter || naiveFilter(filter, d))
            .sort((a, b) => {
              for (const [attr, dir] of keys) {
                const c = naiveValueCmp(value(a, attr), value(b, attr));
                if (c !== 0) return dir === 'asc' ? c : -c;
              }
              return naiveIdCmp(a.id, b.id);
            })
            .slice(0, k);
          expect(ids(got)).toEqual(expected.map((d) => d.id));
          for (const r of got) expect(r).not.toHaveProperty('$dist');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('should apply limit.per greedily in rank order', () => {
    fc.assert(
      fc.property(
        docsArb,
        vectorArb,
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(['color'], ['price'], ['color', 'n']),
        (docs, qv, total, perLimit, attributes) => {
          const ctx = ctxFor('euclidean_squared');
          for (const rankBy of [['vector', 'kNN', qv], ['n', 'desc']]) {
            const body = { rank_by: rankBy, limit: { total, per: { attributes, limit: perLimit } } };
            const got = executeQuery(parseQuery(body, ctx), docs, ctx).rows!;
            const unlimited = executeQuery(parseQuery({ rank_by: rankBy, top_k: 1200, include_attributes: true }, ctx), docs, ctx).rows!;
            const counts = new Map<string, number>();
            const expected: unknown[] = [];
            for (const r of unlimited) {
              if (expected.length === total) break;
              const key = JSON.stringify(attributes.map((a) => r[a] ?? null));
              const c = counts.get(key) ?? 0;
              if (c < perLimit) {
                counts.set(key, c + 1);
                expected.push(r.id);
              }
            }
            expect(ids(got)).toEqual(expected);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('should list documents by id ascending when no rank_by is given, 10 by default', () => {
    const docs = Array.from({ length: 25 }, (_, i) => doc(100 - i, null, { color: 'red', n: i }));
    const ctx = ctxFor('cosine_distance');
    const rows = executeQuery(parseQuery({}, ctx), docs, ctx).rows!;
    expect(ids(rows)).toEqual([76, 77, 78, 79, 80, 81, 82, 83, 84, 85]);
    expect(rows[0]).toEqual({ id: 76 });
  });
});

describe('exactKnn', () => {
  it('should return the k nearest with distances and honour the filter', () => {
    const docs = [doc(1, [1, 0, 0, 0]), doc(2, [0, 1, 0, 0]), doc(3, [1, 1, 0, 0]), doc(4, null), doc(5, [0, 0, 0, 0])];
    const q = Float32Array.from([1, 0, 0, 0]);
    const got = exactKnn(docs, q, 3, 'cosine_distance');
    expect(got.map((x) => x.doc.id)).toEqual([1, 3, 2]);
    expect(got[0]!.dist).toBe(0);
    expect(got[1]!.dist).toBeCloseTo(1 - 1 / Math.SQRT2, 12);
    // The zero vector (id 5) has distance 1, tying with id 2 (orthogonal): id 2 wins the tie.
    expect(exactKnn(docs, q, 4, 'cosine_distance').map((x) => [x.doc.id, x.dist])).toEqual([
      [1, 0],
      [3, expect.closeTo(1 - 1 / Math.SQRT2, 12)],
      [2, 1],
      [5, 1],
    ]);
    expect(exactKnn(docs, q, 10, 'euclidean_squared', (d: Doc) => d.id !== 1).map((x) => [x.doc.id, x.dist])).toEqual([
      [3, 1],
      [5, 1],
      [2, 2],
    ]);
  });
});

describe('projections', () => {
  const ctx = ctxFor('euclidean_squared');
  const docs = [doc(1, [0.1, 0.2, -1.5, 3], { color: 'red', n: 3, tags: ['a', 'b'] }), doc(2, null, { color: 'blue', price: null })];
  const run = (extra: Record<string, unknown>) => executeQuery(parseQuery({ rank_by: ['id', 'asc'], ...extra }, ctx), docs, ctx).rows!;

  it('should return only id by default and with include_attributes false', () => {
    expect(run({})).toEqual([{ id: 1 }, { id: 2 }]);
    expect(run({ include_attributes: false })).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it('should return every attribute and the vector (as the f32 values written) with include_attributes true', () => {
    expect(run({ include_attributes: true })).toEqual([
      { id: 1, vector: [0.1, 0.2, -1.5, 3], color: 'red', n: 3, tags: ['a', 'b'] },
      { id: 2, color: 'blue' },
    ]);
  });

  it('should return the listed attributes, omitting ones a document lacks', () => {
    expect(run({ include_attributes: ['n', 'vector', 'id', 'price'] })).toEqual([{ id: 1, n: 3, vector: [0.1, 0.2, -1.5, 3] }, { id: 2 }]);
  });

  it('should return everything except exclude_attributes, ignoring unknown names', () => {
    expect(run({ exclude_attributes: ['vector', 'tags', 'nope'] })).toEqual([
      { id: 1, color: 'red', n: 3 },
      { id: 2, color: 'blue' },
    ]);
    expect(run({ exclude_attributes: ['color', 'id'] })[0]).toEqual({ id: 1, vector: [0.1, 0.2, -1.5, 3], n: 3, tags: ['a', 'b'] });
  });

  it('should encode vectors as little-endian f32 base64 with vector_encoding base64', () => {
    const row = run({ include_attributes: ['vector'], vector_encoding: 'base64' })[0]!;
    const bytes = Buffer.from(row.vector as string, 'base64');
    expect(bytes.length).toBe(16);
    expect([0, 1, 2, 3].map((i) => bytes.readFloatLE(i * 4))).toEqual(Array.from(Float32Array.from([0.1, 0.2, -1.5, 3])));
  });

  it('should accept a base64 query vector and rank identically to the float form', () => {
    const many = Array.from({ length: 30 }, (_, i) => doc(i, [Math.sin(i), Math.cos(i), i / 7, -i / 3]));
    const qv = [0.3, -0.2, 1, 0.5];
    const b64 = Buffer.from(Float32Array.from(qv).buffer).toString('base64');
    const a = executeQuery(parseQuery({ rank_by: ['vector', 'ANN', qv], top_k: 7 }, ctx), many, ctx).rows;
    const b = executeQuery(parseQuery({ rank_by: ['vector', 'ANN', b64], top_k: 7 }, ctx), many, ctx).rows;
    expect(b).toEqual(a);
    expect(a!.length).toBe(7);
  });

  it('should apply the query distance_metric over the namespace metric', () => {
    const two = [doc(1, [10, 0, 0, 0]), doc(2, [0.5, 0.5, 0, 0])];
    const q = { rank_by: ['vector', 'kNN', [1, 0, 0, 0]], top_k: 2 };
    expect(ids(executeQuery(parseQuery(q, ctx), two, ctx).rows)).toEqual([2, 1]);
    expect(ids(executeQuery(parseQuery({ ...q, distance_metric: 'cosine_distance' }, ctx), two, ctx).rows)).toEqual([1, 2]);
  });
});

describe('text rank (BM25 via fts/)', () => {
  const WORDS = ['quick', 'brown', 'fox', 'lazy', 'dog', 'walrus'];
  const textDocsArb = fc
    .uniqueArray(fc.integer({ min: 0, max: 1000 }), { maxLength: 40 })
    .chain((ids) =>
      fc.tuple(
        ...ids.map((id) =>
          fc
            .record({ words: fc.array(fc.constantFrom(...WORDS), { maxLength: 6 }), color: fc.constantFrom(...COLORS), n: fc.integer({ min: -5, max: 5 }) })
            .map((r) => doc(id, null, { title: r.words.join(' '), color: r.color, n: r.n })),
        ),
      ),
    );

  it('should order by BM25 score descending (ties by id), $dist = score, zero scores excluded', () => {
    fc.assert(
      fc.property(
        textDocsArb,
        fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 50 }),
        fc.option(filterArb, { freq: 2 }),
        (docs, words, k, filter) => {
          const ctx = ctxFor('cosine_distance');
          const rankBy = ['title', 'BM25', words.join(' ')];
          const body: Record<string, unknown> = { rank_by: rankBy, top_k: k };
          if (filter) body.filters = filter;
          const got = executeQuery(parseQuery(body, ctx), docs, ctx).rows!;
          // Reference: score every document with the same plan, then filter and fully sort.
          const plan = planTextRank(rankBy, SCHEMA);
          const expected = plan
            .evaluate(docs)
            .filter((s) => !filter || naiveFilter(filter, s.doc))
            .sort((a, b) => b.score - a.score || naiveIdCmp(a.doc.id, b.doc.id))
            .slice(0, k);
          expect(got.map((r) => [r.id, r.$dist])).toEqual(expected.map((s) => [s.doc.id, s.score]));
          for (const r of got) expect(r.$dist).toBeGreaterThan(0);
          for (const r of got) expect(Object.keys(r).sort()).toEqual(['$dist', 'id']);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('should rank a document containing the term above one that does not', () => {
    const docs = [doc(1, null, { title: 'the lazy dog' }), doc(2, null, { title: 'quick brown fox' }), doc(3, null, { title: 'fox fox fox' })];
    const ctx = ctxFor('cosine_distance');
    const rows = executeQuery(parseQuery({ rank_by: ['title', 'BM25', 'fox'], include_attributes: ['title'] }, ctx), docs, ctx).rows!;
    expect(rows.map((r) => r.id)).toEqual([3, 2]);
    expect(rows[0]).toMatchObject({ id: 3, title: 'fox fox fox' });
    expect(rows[0]!.$dist!).toBeGreaterThan(rows[1]!.$dist!);
  });
});
