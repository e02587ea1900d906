import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { Doc } from '../core/index.js';
import { parseQuery, executeQuery, type QueryContext } from './index.js';
import { AggregationState } from './aggregate.js';
import { SCHEMA, doc } from './test-helpers.js';

const ctx: QueryContext = { schema: SCHEMA, distanceMetric: 'cosine_distance' };
const run = (body: unknown, docs: readonly Doc[]) => executeQuery(parseQuery(body, ctx), docs, ctx);

const DOCS = [
  doc(1, [1, 0, 0, 0], { color: 'red', n: 2, price: 1.5, tags: ['a', 'b'] }),
  doc(2, null, { color: 'blue', n: 5, tags: ['b'] }),
  doc(3, [0, 1, 0, 0], { color: 'red', n: -1, price: 2, tags: ['b', 'b', 'c'] }),
  doc(4, null, { n: 10, price: null }),
  doc(5, [0, 0, 1, 0], { color: 'blue', n: 1, price: 0.25, tags: [] }),
];

describe('aggregations without group_by', () => {
  it('should count, count an attribute and sum over the filtered documents, ignoring limit', () => {
    expect(run({ aggregate_by: { all: ['Count'], priced: ['Count', 'price'], total: ['Sum', 'n'], cost: ['Sum', 'price'], vecs: ['Count', 'vector'] } }, DOCS)).toEqual({
      aggregations: { all: 5, priced: 3, total: 17, cost: 3.75, vecs: 3 },
    });
    expect(run({ aggregate_by: { c: ['Count'], s: ['Sum', 'n'] }, filters: ['color', 'Eq', 'red'], top_k: 1 }, DOCS)).toEqual({
      aggregations: { c: 2, s: 1 },
    });
  });

  it('should return zeros when nothing matches', () => {
    expect(run({ aggregate_by: { c: ['Count'], s: ['Sum', 'price'] } }, [])).toEqual({ aggregations: { c: 0, s: 0 } });
  });
});

describe('aggregations with group_by', () => {
  it('should return one object per group ordered by key, missing values grouping under null first', () => {
    expect(run({ aggregate_by: { c: ['Count'], s: ['Sum', 'n'] }, group_by: ['color'] }, DOCS)).toEqual({
      aggregation_groups: [
        { color: null, c: 1, s: 10 },
        { color: 'blue', c: 2, s: 6 },
        { color: 'red', c: 2, s: 1 },
      ],
    });
  });

  it('should limit the number of groups with top_k / limit, keeping the first keys', () => {
    expect(run({ aggregate_by: { c: ['Count'] }, group_by: ['color'], limit: 2 }, DOCS).aggregation_groups).toEqual([
      { color: null, c: 1 },
      { color: 'blue', c: 2 },
    ]);
  });

  it('should group by several attributes, comparing keys component by component', () => {
    const docs = [
      doc(1, null, { color: 'red', n: 2 }),
      doc(2, null, { color: 'red', n: 1 }),
      doc(3, null, { color: 'blue', n: 2 }),
      doc(4, null, { color: 'red', n: 1 }),
    ];
    expect(run({ aggregate_by: { c: ['Count'] }, group_by: ['color', 'n'] }, docs).aggregation_groups).toEqual([
      { color: 'blue', n: 2, c: 1 },
      { color: 'red', n: 1, c: 2 },
      { color: 'red', n: 2, c: 1 },
    ]);
  });

  it('should explode arrays with ForEachUnique, each distinct element once per document', () => {
    expect(run({ aggregate_by: { c: ['Count'] }, group_by: [{ tag: ['ForEachUnique', 'tags'] }], filters: ['n', 'Lt', 10] }, DOCS)).toEqual({
      aggregation_groups: [
        { tag: null, c: 1 },
        { tag: 'a', c: 1 },
        { tag: 'b', c: 3 },
        { tag: 'c', c: 1 },
      ],
    });
  });

  it('should make group counts add up to the filtered count (property)', () => {
    const docsArb = fc
      .uniqueArray(fc.integer({ min: 0, max: 500 }), { maxLength: 40 })
      .chain((ids) =>
        fc.tuple(
          ...ids.map((id) =>
            fc
              .record({ color: fc.option(fc.constantFrom('red', 'green', 'blue')), n: fc.integer({ min: -3, max: 3 }) })
              .map((r) => doc(id, null, r.color === null ? { n: r.n } : { color: r.color, n: r.n })),
          ),
        ),
      );
    fc.assert(
      fc.property(docsArb, fc.integer({ min: -3, max: 3 }), (docs, min) => {
        const filters = ['n', 'Gte', min];
        const total = run({ aggregate_by: { c: ['Count'], s: ['Sum', 'n'] }, filters }, docs).aggregations!;
        const groups = run({ aggregate_by: { c: ['Count'], s: ['Sum', 'n'] }, group_by: ['color'], filters }, docs).aggregation_groups!;
        expect(groups.reduce((a, g) => a + (g.c as number), 0)).toBe(total.c);
        expect(groups.reduce((a, g) => a + (g.s as number), 0)).toBe(total.s);
        const keys = groups.map((g) => g.color);
        expect(new Set(keys).size).toBe(keys.length);
        const expectedKeys = [...new Set(docs.filter((d) => (d.attrs.n as number) >= min).map((d) => d.attrs.color ?? null))].sort((a, b) =>
          a === null ? -1 : b === null ? 1 : a < b ? -1 : 1,
        );
        expect(keys).toEqual(expectedKeys);
      }),
      { numRuns: 200 },
    );
  });
});

describe('AggregationState.addCounted (aggregations over bitmaps)', () => {
  it('should add a bulk group value by value onto the running sum, rounding exactly as add() row by row', () => {
    const q = parseQuery({ aggregate_by: { c: ['Count'], s: ['Sum', 'price'] } }, ctx);
    const rows = [1, 1e-16, 1e-16].map((price, i) => doc(i, null, { price }));
    const byRow = new AggregationState(q);
    rows.forEach((d) => byRow.add(d));
    const bulk = new AggregationState(q);
    bulk.add(rows[0]!);
    bulk.addCounted(undefined, 2, (_spec, acc) => {
      for (const d of rows.slice(1)) acc += d.attrs.price as number;
      return acc;
    });
    // 1 + 1e-16 + 1e-16 rounds to 1 row by row; adding the pair's own sum first would give 1.0000000000000002.
    expect(bulk.result()).toEqual(byRow.result());
    expect(bulk.result()).toEqual({ aggregations: { c: 3, s: 1 } });
  });
});
