/**
 * The segment executor against the document executor as an oracle: random documents are split into random segments
 * with random dead rows (dead rows may repeat live ids, as shadowed rows do), and every non-text query must give
 * exactly what executeQuery gives over the live documents — rows, order, ties, $dist, projections, aggregations.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Doc } from '../core/index.js';
import { DocsSegment } from './segment.js';
import { executeOnSegments } from './execute-segments.js';
import { executeQuery, parseQuery, type QueryContext } from './index.js';
import { SCHEMA, doc } from './test-helpers.js';

const COLORS = ['red', 'green', 'blue'];
const docArb = fc.record({
  id: fc.integer({ min: 0, max: 60 }),
  vector: fc.option(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 4, maxLength: 4 }), { nil: null, freq: 6 }),
  color: fc.option(fc.constantFrom(...COLORS), { nil: null, freq: 5 }),
  n: fc.option(fc.integer({ min: 0, max: 9 }), { nil: null, freq: 5 }),
  price: fc.option(fc.integer({ min: 0, max: 50 }).map((x) => x / 4), { nil: null, freq: 5 }),
  tags: fc.option(fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }), { nil: null, freq: 5 }),
  title: fc.option(fc.array(fc.constantFrom('red', 'fox', 'blue', 'whale', 'quick'), { maxLength: 6 }).map((w) => w.join(' ')), { nil: null, freq: 5 }),
});

function toDoc(r: { id: number; vector: number[] | null; color: string | null; n: number | null; price: number | null; tags: string[] | null; title: string | null }): Doc {
  const attrs: Record<string, string | number | string[]> = {};
  if (r.color !== null) attrs.color = r.color;
  if (r.n !== null) attrs.n = r.n;
  if (r.price !== null) attrs.price = r.price;
  if (r.tags !== null) attrs.tags = r.tags;
  if (r.title !== null) attrs.title = r.title;
  return doc(r.id, r.vector, attrs);
}

const filterArb = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(...COLORS).map((c) => ['color', 'Eq', c]),
  fc.integer({ min: 0, max: 9 }).map((n) => ['n', 'Gte', n]),
  fc.tuple(fc.constantFrom(...COLORS), fc.integer({ min: 0, max: 50 })).map(([c, p]) => ['Or', [['color', 'NotEq', c], ['price', 'Lt', p / 4]]]),
  fc.constantFrom('a', 'b').map((t) => ['tags', 'Contains', t]),
  // Ordering comparisons over values that are often missing: Lt / Lte match nulls unless the operand is null.
  fc.tuple(fc.constantFrom('Lt', 'Lte', 'Gt', 'Gte'), fc.option(fc.integer({ min: 0, max: 9 }), { nil: null, freq: 4 })).map(([op, n]) => ['n', op, n]),
  fc.tuple(fc.constantFrom('Lt', 'Lte'), fc.option(fc.constantFrom(...COLORS), { nil: null, freq: 4 })).map(([op, c]) => ['color', op, c]),
  fc.tuple(fc.constantFrom('AnyLt', 'AnyLte', 'AnyGte'), fc.option(fc.constantFrom('a', 'b', 'c'), { nil: null, freq: 4 })).map(([op, t]) => ['tags', op, t]),
  fc.integer({ min: 0, max: 50 }).map((p) => ['And', [['price', 'Lte', p / 4], ['n', 'Lt', 5]]]),
);

const queryArb = fc.oneof(
  fc.record({
    rank_by: fc.constantFrom<unknown[]>(['id', 'asc'], ['id', 'desc'], ['n', 'asc'], ['price', 'desc'], ['color', 'asc']).map((r) => r),
    top_k: fc.integer({ min: 1, max: 30 }),
    filters: filterArb,
    include_attributes: fc.constantFrom<unknown>(undefined, true, ['n', 'color'], ['vector']),
  }),
  fc.record({
    rank_by: fc.tuple(fc.constantFrom('kNN', 'ANN'), fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 4, maxLength: 4 })).map(([m, v]) => ['vector', m, v]),
    top_k: fc.integer({ min: 1, max: 30 }),
    filters: filterArb,
    distance_metric: fc.constantFrom('cosine_distance', 'euclidean_squared'),
  }),
  fc.record({
    rank_by: fc.constantFrom<unknown[]>(['n', 'asc'], ['vector', 'kNN', [1, 0, 0, 1]]),
    limit: fc.record({ total: fc.integer({ min: 1, max: 20 }), per: fc.record({ attributes: fc.constantFrom(['color'], ['color', 'n']), limit: fc.integer({ min: 1, max: 3 }) }) }),
    filters: filterArb,
  }),
  fc.record({
    rank_by: fc.constantFrom<unknown[]>(['title', 'BM25', 'fox'], ['title', 'BM25', 'quick blue fox'], ['Sum', [['title', 'BM25', 'red'], ['title', 'BM25', 'whale']]], ['title', 'BM25', 'qu', { last_as_prefix: true }]),
    top_k: fc.integer({ min: 1, max: 30 }),
    filters: filterArb,
  }),
  fc.record({
    rank_by: fc.constant(['title', 'BM25', 'fox blue']),
    limit: fc.record({ total: fc.integer({ min: 1, max: 20 }), per: fc.record({ attributes: fc.constant(['color']), limit: fc.integer({ min: 1, max: 3 }) }) }),
  }),
  fc.record({
    aggregate_by: fc.constant({ c: ['Count'], s: ['Sum', 'price'], cn: ['Count', 'n'] }),
    filters: filterArb,
    group_by: fc.constantFrom<unknown>(undefined, ['color'], ['color', 'n'], [{ t: ['ForEachUnique', 'tags'] }]),
  }),
);

describe('executeOnSegments', () => {
  it('should equal executeQuery over the live documents, for any split into segments and dead rows', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(docArb, { maxLength: 80 }),
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.boolean(), { maxLength: 80 }),
        queryArb,
        async (rows, cuts, deadFlags, body) => {
          // Live rows have unique ids (the newest version wins); a dead row may share an id with a live one.
          const seen = new Set<number>();
          const docs = rows.map(toDoc);
          const dead = docs.map((d, i) => {
            const isDead = deadFlags[i] === true || seen.has(d.id as number);
            if (!isDead) seen.add(d.id as number);
            return isDead;
          });
          const bounds = [...new Set(cuts.map((c) => Math.min(c, docs.length)))].sort((a, b) => a - b);
          const segs: DocsSegment[] = [];
          let start = 0;
          for (const end of [...bounds, docs.length]) {
            if (end < start) continue;
            const part = docs.slice(start, end);
            const mask = Uint8Array.from(dead.slice(start, end).map((x) => (x ? 1 : 0)));
            segs.push(new DocsSegment(part, mask.some((x) => x === 1) ? mask : null));
            start = end;
          }
          const live = docs.filter((_, i) => !dead[i]);
          const ctx: QueryContext = { schema: SCHEMA, distanceMetric: 'euclidean_squared' };
          const clean = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
          const q = parseQuery(clean, ctx);
          const want = executeQuery(q, live, ctx);
          const got = await executeOnSegments(q, segs);
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 400 },
    );
  });
});
