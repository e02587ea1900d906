/**
 * Ranking expressions through the OFFICIAL @turbopuffer/turbopuffer client (turbopuffer's full-text docs: "Rank by
 * filter", "Rank by attribute", "Rank by distance"): ["Attribute", a], ["Saturate", e, {midpoint, exponent?}],
 * ["Decay", e, {midpoint, exponent?}], ["Dist", e, origin] with numbers and datetimes (durations such as "6h" as
 * midpoints), ["Max", 0, e], filters used as rank expressions, composed with Sum / Max / Product and BM25 clauses.
 *
 * Every check runs three times: all rows in the WAL tail; rows in parts plus newer writes (an overwrite, a delete,
 * new rows) in the tail; everything in parts. Expected rows and scores are computed here from the documented
 * formulas over the test's own model of the rows:
 *   Saturate(x) = x^e / (x^e + m^e) (x clamped at 0), Decay(x) = m^e / (x^e + m^e), Dist = |x - origin|,
 *   a filter scores 1 where it matches; a row is ranked when some non-constant leaf matches it (a BM25 clause holds a
 *   query term, an attribute has a value, a filter accepts it); ties by id. BM25 clause scores are taken from a plain
 *   BM25 query of the clause (checked against a reference implementation in test/70-bm25-reference.test.ts).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Turbopuffer from '@turbopuffer/turbopuffer';
import { indexAll, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let tpuf: Turbopuffer;

beforeAll(async () => {
  server = await startTestServer({ indexer: false });
  tpuf = server.client();
});
afterAll(async () => {
  await server.close();
});

type Row = { id: number; title?: string; clicks?: number; neg?: number; score?: number; price?: number; at?: string; species?: string };

const HOUR = 3_600_000;
const ORIGIN = '2026-02-03T12:00:00Z';
const T = (h: number) => new Date(Date.parse(ORIGIN) + h * HOUR).toISOString();

const FIRST: Row[] = [
  { id: 1, title: 'the quick brown fox', clicks: 10, neg: 0, score: -3, price: 9.5, at: T(-1), species: 'fox' },
  { id: 2, title: 'a fox and a fox', clicks: 250, neg: 4, score: 7, at: T(-30), species: 'fox' },
  { id: 3, title: 'whales sing', clicks: 40, score: 2, price: -4.25, at: T(3), species: 'whale' },
  { id: 4, title: 'lazy dog', neg: 1, score: 12, at: T(-200), species: 'dog' },
  { id: 5, title: 'fox den', clicks: 90, neg: 2, species: 'fox' },
  { id: 6, species: 'whale' },
];
/** Written after the first rows are indexed: an overwrite (2), a delete (5), new rows (7, 8). */
const SECOND: Row[] = [
  { id: 2, title: 'a fox and a fox', clicks: 5, neg: 9, score: -8, at: T(12), species: 'fox' },
  { id: 7, title: 'red fox', clicks: 1000, score: 5, at: T(0.5), species: 'fox' },
  { id: 8, title: 'blue whale', neg: 3, price: 30, species: 'whale' },
];

const SCHEMA = {
  title: { type: 'string', full_text_search: true },
  clicks: 'uint',
  neg: 'uint',
  score: 'int',
  price: 'float',
  at: 'datetime',
  species: { type: 'string', filterable: true },
} as const;

type Expect = (row: Row, bm: (clause: unknown) => number | undefined) => number | undefined;

const sat = (x: number, m: number, e = 1) => {
  const v = Math.max(x, 0);
  return v ** e / (v ** e + m ** e);
};
const dec = (x: number, m: number, e = 1) => {
  const v = Math.max(x, 0);
  return m ** e / (v ** e + m ** e);
};
const ms = (iso: string) => Date.parse(iso);
const def = (...xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined);
/** Sum / Max of the children that have a value; undefined when none does. */
const sum = (...xs: (number | undefined)[]) => (def(...xs).length === 0 ? undefined : def(...xs).reduce((a, b) => a + b, 0));

const FOX = ['title', 'BM25', 'fox'];

const CASES: Array<{ name: string; rank_by: unknown; filters?: unknown; expect: Expect }> = [
  {
    name: 'BM25 + 1.7 × Saturate(clicks, midpoint 100)',
    rank_by: ['Sum', [FOX, ['Product', 1.7, ['Saturate', ['Attribute', 'clicks'], { midpoint: 100 }]]]],
    expect: (r, bm) => sum(bm(FOX), r.clicks === undefined ? undefined : 1.7 * sat(r.clicks, 100)),
  },
  {
    name: 'Saturate with an exponent',
    rank_by: ['Saturate', ['Attribute', 'clicks'], { midpoint: 50, exponent: 0.5 }],
    expect: (r) => (r.clicks === undefined ? undefined : sat(r.clicks, 50, 0.5)),
  },
  {
    name: 'Decay(neg, midpoint 2, exponent 2): rows without neg are not ranked',
    rank_by: ['Decay', ['Attribute', 'neg'], { midpoint: 2, exponent: 2 }],
    expect: (r) => (r.neg === undefined ? undefined : dec(r.neg, 2, 2)),
  },
  {
    name: 'recency: BM25 + Decay(Dist(at, origin), "6h")',
    rank_by: ['Sum', [FOX, ['Decay', ['Dist', ['Attribute', 'at'], ORIGIN], { midpoint: '6h' }]]],
    expect: (r, bm) => sum(bm(FOX), r.at === undefined ? undefined : dec(Math.abs(ms(r.at) - ms(ORIGIN)), 6 * HOUR)),
  },
  {
    name: 'Dist on a datetime with a midpoint in milliseconds and an epoch-ms origin',
    rank_by: ['Decay', ['Dist', ['Attribute', 'at'], ms(ORIGIN)], { midpoint: 3 * HOUR }],
    expect: (r) => (r.at === undefined ? undefined : dec(Math.abs(ms(r.at) - ms(ORIGIN)), 3 * HOUR)),
  },
  {
    name: 'Dist on a signed number',
    rank_by: ['Dist', ['Attribute', 'score'], 5],
    expect: (r) => (r.score === undefined ? undefined : Math.abs(r.score - 5)),
  },
  {
    name: '["Max", 0, Attribute] on a signed attribute, plus BM25',
    rank_by: ['Sum', [FOX, ['Max', 0, ['Attribute', 'score']]]],
    expect: (r, bm) => sum(bm(FOX), r.score === undefined ? undefined : Math.max(0, r.score)),
  },
  {
    name: 'a float attribute under Saturate (negatives clamp to 0)',
    rank_by: ['Saturate', ['Attribute', 'price'], { midpoint: 10 }],
    expect: (r) => (r.price === undefined ? undefined : sat(r.price, 10)),
  },
  {
    name: 'a filter as a rank expression, summed with BM25',
    rank_by: ['Sum', [FOX, ['species', 'Eq', 'whale']]],
    expect: (r, bm) => sum(bm(FOX), r.species === 'whale' ? 1 : undefined),
  },
  {
    name: 'a filter on id and a range filter as rank expressions',
    rank_by: ['Sum', [FOX, ['id', 'In', [3, 4, 6]], ['Product', 0.5, ['at', 'Gte', T(0)]]]],
    expect: (r, bm) => sum(bm(FOX), [3, 4, 6].includes(r.id) ? 1 : undefined, r.at !== undefined && ms(r.at) >= ms(T(0)) ? 0.5 : undefined),
  },
  {
    name: 'a weighted filter alone, under query filters',
    rank_by: ['Product', 2.5, ['Or', [['species', 'Eq', 'whale'], ['clicks', 'Gte', 100]]]],
    filters: ['id', 'NotEq', 3],
    expect: (r) => (r.id !== 3 && (r.species === 'whale' || (r.clicks ?? -1) >= 100) ? 2.5 : undefined),
  },
  {
    name: 'Max of BM25 and a decayed attribute, with query filters',
    rank_by: ['Max', [FOX, ['Decay', ['Attribute', 'neg'], { midpoint: 1 }]]],
    filters: ['species', 'NotEq', 'dog'],
    expect: (r, bm) => {
      if (r.species === 'dog') return undefined;
      const xs = def(bm(FOX), r.neg === undefined ? undefined : dec(r.neg, 1));
      return xs.length === 0 ? undefined : Math.max(...xs);
    },
  },
];

describe('official client: ranking expressions', () => {
  const NS = 'rank-expr';
  const model = new Map<number, Row>();

  async function check(): Promise<void> {
    const ns = tpuf.namespace(NS);
    const bmCache = new Map<string, Map<number, number>>();
    const plain = async (clause: unknown) => {
      const res = await ns.query({ rank_by: clause as never, top_k: 100 });
      bmCache.set(JSON.stringify(clause), new Map((res.rows ?? []).map((r) => [r.id as number, r.$dist as number])));
    };
    await plain(FOX);
    const bm = (clause: unknown) => bmCache.get(JSON.stringify(clause))!.get(currentId);
    let currentId = 0;
    for (const c of CASES) {
      const want: { id: number; score: number }[] = [];
      for (const row of [...model.values()]) {
        currentId = row.id;
        const v = c.expect(row, bm);
        if (v !== undefined) want.push({ id: row.id, score: v });
      }
      want.sort((a, b) => b.score - a.score || a.id - b.id);
      const res = await ns.query({ rank_by: c.rank_by as never, top_k: 100, ...(c.filters ? { filters: c.filters as never } : {}) });
      const got = (res.rows ?? []).map((r) => ({ id: r.id as number, score: r.$dist as number }));
      expect(got.map((g) => g.id), c.name).toEqual(want.map((w) => w.id));
      got.forEach((g, i) => expect(g.score, `${c.name}: row ${g.id}`).toBeCloseTo(want[i]!.score, 9));
      // top_k cuts the same ranking.
      const top2 = await ns.query({ rank_by: c.rank_by as never, top_k: 2, ...(c.filters ? { filters: c.filters as never } : {}) });
      expect((top2.rows ?? []).map((r) => r.id), `${c.name}, top_k 2`).toEqual(want.slice(0, 2).map((w) => w.id));
    }
  }

  it('should rank as documented with every row in the tail, in parts plus a tail, and in parts', async () => {
    const ns = tpuf.namespace(NS);
    await ns.write({ upsert_rows: FIRST as never, schema: SCHEMA as never });
    for (const r of FIRST) model.set(r.id, r);
    await check();

    await indexAll(server.storeDir, NS);
    await ns.write({ upsert_rows: SECOND as never, deletes: [5] });
    for (const r of SECOND) model.set(r.id, r);
    model.delete(5);
    await check();

    await indexAll(server.storeDir, NS);
    expect((await ns.metadata()).index).toMatchObject({ status: 'up-to-date' });
    await check();
  });

  it('should serve ranking expressions inside a multi-query, fused with RRF like any ranked list', async () => {
    const ns = tpuf.namespace(NS);
    const queries = [CASES[0]!, CASES[3]!].map((c) => ({ rank_by: c.rank_by as never, top_k: 5 }));
    const singles = await Promise.all(queries.map((q) => ns.query(q)));
    const multi = await ns.multiQuery({ queries });
    expect(multi.results.map((r) => (r.rows ?? []).map((x) => [x.id, x.$dist]))).toEqual(singles.map((r) => (r.rows ?? []).map((x) => [x.id, x.$dist])));
    const lists = singles.map((r) => (r.rows ?? []).map((x) => x.id as number));
    const score = new Map<number, number>();
    lists.forEach((list) => list.forEach((id, i) => score.set(id, (score.get(id) ?? 0) + 1 / (60 + i + 1))));
    const want = [...score].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 5);
    const fused = await ns.multiQuery({ queries, rerank_by: ['RRF'] });
    expect((fused.results[0]!.rows ?? []).map((r) => r.id)).toEqual(want.map(([id]) => id));
    expect(lists[0]!.length).toBeGreaterThan(2);
  });

  it('should reject malformed expressions with a 400 naming the problem', async () => {
    const ns = tpuf.namespace(NS);
    for (const [rank_by, why] of [
      [['Attribute', 'score'], /Attribute 'score' has the signed type int: wrap it/],
      [['Attribute', 'species'], /Attribute needs a numeric or datetime attribute .* 'species' has type string/],
      [['Attribute', 'nope'], /attribute 'nope' is not in the namespace schema/],
      [['Saturate', ['Attribute', 'clicks'], {}], /Saturate needs a midpoint/],
      [['Saturate', ['Attribute', 'clicks'], { midpoint: 0 }], /Saturate midpoint must be a positive number/],
      [['Decay', ['Attribute', 'clicks'], { midpoint: '6h' }], /Decay midpoint "6h" is a duration, which needs a datetime input/],
      [['Decay', ['Dist', ['Attribute', 'at'], ORIGIN], { midpoint: '6 hours' }], /not a positive duration such as "6h"/],
      [['Decay', ['Attribute', 'clicks'], { midpoint: 2, exponent: -1 }], /Decay exponent must be a positive number/],
      [['Decay', ['Attribute', 'clicks'], { midpoint: 2, slope: 1 }], /unknown Decay param 'slope'/],
      [['Dist', ['Attribute', 'at'], 'yesterday'], /Dist origin must be a datetime/],
      [['Dist', ['Attribute', 'clicks'], '2026-01-01'], /Dist origin must be a finite number/],
      [['Product', -2, FOX], /Product weight must be a finite non-negative number, got -2/],
      [['Sum', [FOX, ['species', 'Eq', 5]]], /invalid filter at rank_by\[1\]\[1\]: Eq on attribute 'species'/],
      [['Max', [1, 2]], /Max needs at least one expression that is not a number/],
    ] as const) {
      const err = await ns.query({ rank_by: rank_by as never, top_k: 10 }).catch((e: unknown) => e);
      expect(err, JSON.stringify(rank_by)).toBeInstanceOf(Turbopuffer.BadRequestError);
      expect(err).toMatchObject({ status: 400 });
      const code = (err as { error: { code: string } }).error.code;
      expect(code).toMatch(/^ELAX_ERR_INVALID_(QUERY|FILTER)$/);
      expect((err as { error: { error: string } }).error.error, JSON.stringify(rank_by)).toMatch(why);
    }
  });
});
