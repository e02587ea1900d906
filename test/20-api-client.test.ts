/**
 * The HTTP API through the OFFICIAL @turbopuffer/turbopuffer client, endpoint by endpoint. Checks values (ids,
 * order, distances and BM25 scores computed here by hand), not just status codes, and that responses carry the
 * fields the client's types promise.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Turbopuffer from '@turbopuffer/turbopuffer';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let tpuf: Turbopuffer;

beforeAll(async () => {
  server = await startTestServer({ indexer: false });
  tpuf = server.client();
});
afterAll(async () => {
  await server.close();
});

// ---- hand computations (independent of the engine's code) ----
const sqdist = (a: number[], b: number[]) => a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0);
const cosdist = (a: number[], b: number[]) => {
  const dot = a.reduce((s, x, i) => s + x * b[i]!, 0);
  return 1 - dot / (Math.hypot(...a) * Math.hypot(...b));
};
const b64 = (xs: number[]) => Buffer.from(new Float32Array(xs).buffer).toString('base64');
/** Lucene BM25 (k1 1.2, b 0.75) over whitespace tokens; the corpus below has no stop words and nothing to stem. */
function bm25(corpus: Map<number, string>, query: string[], id: number): number {
  const toks = new Map([...corpus].map(([k, v]) => [k, v.split(' ').filter(Boolean)]));
  const n = toks.size;
  const avg = [...toks.values()].reduce((s, t) => s + t.length, 0) / n;
  const doc = toks.get(id)!;
  let score = 0;
  for (const term of query) {
    const tf = doc.filter((t) => t === term).length;
    if (tf === 0) continue;
    const df = [...toks.values()].filter((t) => t.includes(term)).length;
    const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    score += (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * doc.length) / avg));
  }
  return score;
}
const ids = (res: { rows?: { id: unknown }[] }) => (res.rows ?? []).map((r) => r.id);

// A small namespace most query tests read (never modified after beforeAll).
const docs = [
  { id: 1, vector: [1, 0, 0], color: 'red', n: 5, price: 1.5, tags: ['a', 'b'], title: 'alpha beta' },
  { id: 2, vector: [0, 1, 0], color: 'blue', n: 3, price: 2.5, tags: ['b'], title: 'alpha alpha gamma' },
  { id: 3, vector: [1, 1, 0], color: 'red', n: 9, price: 0.5, tags: ['c'], title: 'beta delta delta delta' },
  { id: 4, vector: [-1, 0.5, 2], color: 'green', n: 1, price: 4, tags: [] as string[], title: 'gamma' },
  { id: 5, vector: [0.3, -0.7, 0.2], color: 'rose', n: 5, price: 3, tags: ['a', 'c'], title: 'epsilon' },
];
const corpus = new Map(docs.map((d) => [d.id, d.title]));

beforeAll(async () => {
  const res = await tpuf.namespace('q').write({
    upsert_rows: docs,
    distance_metric: 'euclidean_squared',
    schema: { title: { type: 'string', full_text_search: true } },
  });
  expect(res.rows_upserted).toBe(docs.length);
});

describe('official client: writes', () => {
  it('should upsert rows with a schema and answer the write response shape', async () => {
    const ns = tpuf.namespace('w-rows');
    expect(await ns.exists()).toBe(false);
    const res = await ns.write({
      upsert_rows: docs,
      distance_metric: 'euclidean_squared',
      schema: { title: { type: 'string', full_text_search: true }, color: { type: 'string', filterable: true } },
      return_affected_ids: true,
    });
    expect(res).toMatchObject({ status: 'OK', rows_affected: 5, rows_upserted: 5, rows_patched: 0, rows_deleted: 0 });
    expect(res.upserted_ids).toEqual([1, 2, 3, 4, 5]);
    expect(res.patched_ids).toBeUndefined();
    expect(res.deleted_ids).toBeUndefined();
    expect(typeof res.message).toBe('string');
    expect(res.billing.billable_logical_bytes_written).toBeGreaterThan(0);
    expect(res.performance!.server_total_ms).toBeGreaterThanOrEqual(0);
    expect(await ns.exists()).toBe(true);
    const schema = await ns.schema();
    expect(schema.title!.full_text_search).toBeTruthy();
    expect(schema.color).toMatchObject({ type: 'string', filterable: true });
    expect(schema.n!.type).toBe('int');
    expect(schema.price!.type).toBe('float');
    expect(schema.tags!.type).toBe('[]string');
    expect(schema.vector!.type).toBe('[3]f32');
    // Every attribute round-trips, vector included (f32 values print as their shortest decimal, so 0.3 stays 0.3).
    const all = await ns.query({ rank_by: ['id', 'asc'], include_attributes: true, top_k: 10 });
    expect(all.rows).toEqual(docs);
  });

  it('should upsert columns, patch rows and columns (null removes), and delete', async () => {
    const ns = tpuf.namespace('w-cols');
    const up = await ns.write({
      upsert_columns: { id: [1, 2, 3], vector: [[1, 0], [0, 1], [0.5, 0.25]], n: [1, 2, 3], s: ['x', 'y', 'z'] },
      distance_metric: 'cosine_distance',
      return_affected_ids: true,
    });
    expect(up.upserted_ids).toEqual([1, 2, 3]);
    const p1 = await ns.write({ patch_rows: [{ id: 1, n: 10, s: null }, { id: 99, n: 5 }], return_affected_ids: true });
    expect(p1.patched_ids).toEqual([1]); // 99 does not exist: ignored, not created
    expect(p1.rows_patched).toBe(1);
    const p2 = await ns.write({ patch_columns: { id: [2, 3], n: [20, 30], vector: [[0, 2], [3, 0]] }, return_affected_ids: true });
    expect(p2.patched_ids).toEqual([2, 3]);
    const del = await ns.write({ deletes: [3, 42], return_affected_ids: true });
    expect(del.deleted_ids).toEqual([3]); // 42 never existed
    expect(del.rows_deleted).toBe(1);
    const res = await ns.query({ rank_by: ['id', 'asc'], top_k: 10, include_attributes: ['n', 's', 'vector'] });
    expect(res.rows).toEqual([
      { id: 1, n: 10, vector: [1, 0] },
      { id: 2, n: 20, s: 'y', vector: [0, 2] },
    ]);
  });

  it('should accept string and UUID-like ids and keep them distinct from numbers', async () => {
    const ns = tpuf.namespace('w-strids');
    await ns.write({ upsert_rows: [{ id: 'b', v: 1 }, { id: 'a', v: 2 }, { id: 'é'.repeat(32), v: 3 }] }); // 64 bytes: allowed
    expect(ids(await ns.query({ rank_by: ['id', 'asc'] }))).toEqual(['a', 'b', 'é'.repeat(32)]);
    await ns.write({ deletes: ['a'] });
    expect(ids(await ns.query({ rank_by: ['id', 'desc'] }))).toEqual(['é'.repeat(32), 'b']);
  });

  it('should delete_by_filter and patch_by_filter, reporting counts and rows_remaining', async () => {
    const ns = tpuf.namespace('w-byfilter');
    await ns.write({ upsert_rows: docs, distance_metric: 'euclidean_squared' });
    const p = await ns.write({
      patch_by_filter: { filters: ['color', 'Eq', 'red'], patch: { flag: true, n: 100 } },
      patch_by_filter_allow_partial: true,
      return_affected_ids: true,
    });
    expect(p.rows_patched).toBe(2);
    expect(p.patched_ids).toEqual([1, 3]);
    expect(p.rows_remaining).toBe(false);
    const d = await ns.write({ delete_by_filter: ['n', 'Lt', 4], return_affected_ids: true });
    expect(d.rows_deleted).toBe(2);
    expect(d.deleted_ids).toEqual([2, 4]);
    expect(d.rows_remaining).toBeUndefined(); // only reported with *_allow_partial
    const res = await ns.query({ rank_by: ['id', 'asc'], include_attributes: ['flag', 'n'] });
    expect(res.rows).toEqual([
      { id: 1, flag: true, n: 100 },
      { id: 3, flag: true, n: 100 },
      { id: 5, n: 5 },
    ]);
  });

  it('should honour upsert_condition, patch_condition and delete_condition with $ref_new', async () => {
    const ns = tpuf.namespace('w-cond');
    await ns.write({ upsert_rows: [{ id: 1, version: 2, v: 'old' }, { id: 2, version: 5, v: 'old' }] });
    const up = await ns.write({
      upsert_rows: [{ id: 1, version: 3, v: 'new' }, { id: 2, version: 4, v: 'new' }, { id: 3, version: 1, v: 'new' }],
      upsert_condition: ['version', 'Lt', { $ref_new: 'version' }],
      return_affected_ids: true,
    });
    expect(up.upserted_ids).toEqual([1, 3]); // 2 kept its newer version; 3 is new, so it always applies
    const patch = await ns.write({
      patch_rows: [{ id: 1, v: 'patched' }, { id: 2, v: 'patched' }],
      patch_condition: ['version', 'Gte', 5],
      return_affected_ids: true,
    });
    expect(patch.patched_ids).toEqual([2]);
    const del = await ns.write({ deletes: [1, 3], delete_condition: ['version', 'Eq', 1], return_affected_ids: true });
    expect(del.deleted_ids).toEqual([3]);
    const res = await ns.query({ rank_by: ['id', 'asc'], include_attributes: ['version', 'v'] });
    expect(res.rows).toEqual([
      { id: 1, version: 3, v: 'new' },
      { id: 2, version: 5, v: 'patched' },
    ]);
  });

  it('should accept base64 vectors and return base64 on request', async () => {
    const ns = tpuf.namespace('w-b64');
    const vs = [[0.5, -2, 0.25], [1, 1, 1], [-3, 0, 0.125]];
    await ns.write({ upsert_rows: vs.map((v, i) => ({ id: i + 1, vector: b64(v) })), distance_metric: 'euclidean_squared' });
    const q = [0.5, -2, 0];
    // A base64 query vector: accepted by elax, though the client's types only declare number[].
    const res = await ns.query({ rank_by: ['vector', 'kNN', b64(q)] as never, include_attributes: ['vector'], vector_encoding: 'base64', top_k: 3 });
    const expected = vs.map((v, i) => ({ id: i + 1, d: sqdist(v, q), v })).sort((a, b) => a.d - b.d);
    expect(ids(res)).toEqual(expected.map((e) => e.id));
    res.rows!.forEach((r, i) => {
      expect(r.vector).toBe(b64(expected[i]!.v));
      expect(r.$dist).toBeCloseTo(expected[i]!.d, 5);
    });
    const floats = await ns.query({ rank_by: ['id', 'asc'], include_attributes: ['vector'] });
    expect(floats.rows!.map((r) => r.vector)).toEqual(vs);
  });

  it('should fix the distance metric at the first vector write and refuse a different one', async () => {
    const ns = tpuf.namespace('w-metric');
    await ns.write({ upsert_rows: [{ id: 1, vector: [1, 0] }], distance_metric: 'cosine_distance' });
    await expect(ns.write({ upsert_rows: [{ id: 2, vector: [0, 1] }], distance_metric: 'euclidean_squared' })).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/euclidean_squared.*cosine_distance|cosine_distance.*euclidean_squared/),
    });
    // Omitting it afterwards is fine: the namespace remembers it.
    await ns.write({ upsert_rows: [{ id: 2, vector: [0, 1] }] });
    expect((await ns.metadata()).schema.vector).toMatchObject({ ann: { distance_metric: 'cosine_distance' } });
  });
});

describe('official client: queries', () => {
  const ns = () => tpuf.namespace('q');

  it('should rank by ANN and kNN with exact euclidean distances', async () => {
    const q = [0.9, 0.2, 0.1];
    const expected = [...docs].sort((a, b) => sqdist(a.vector, q) - sqdist(b.vector, q));
    for (const mode of ['ANN', 'kNN'] as const) {
      const res = await ns().query({ rank_by: mode === 'ANN' ? ['vector', 'ANN', q] : ['vector', 'kNN', q], top_k: 3 });
      expect(ids(res)).toEqual(expected.slice(0, 3).map((d) => d.id));
      res.rows!.forEach((r, i) => expect(r.$dist).toBeCloseTo(sqdist(expected[i]!.vector, q), 5));
      expect(Object.keys(res.rows![0]!).sort()).toEqual(['$dist', 'id']); // default projection: id and $dist only
    }
  });

  it('should rank by cosine distance in a cosine namespace and on a per-query override', async () => {
    const cos = tpuf.namespace('q-cos');
    await cos.write({ upsert_rows: docs.map(({ id, vector }) => ({ id, vector })), distance_metric: 'cosine_distance' });
    const q = [0.2, -0.5, 0.4];
    const expected = [...docs].sort((a, b) => cosdist(a.vector, q) - cosdist(b.vector, q));
    const res = await cos.query({ rank_by: ['vector', 'ANN', q], top_k: 5 });
    expect(ids(res)).toEqual(expected.map((d) => d.id));
    res.rows!.forEach((r, i) => expect(r.$dist).toBeCloseTo(cosdist(expected[i]!.vector, q), 5));
    const override = await ns().query({ rank_by: ['vector', 'kNN', q], top_k: 2, distance_metric: 'cosine_distance' });
    expect(ids(override)).toEqual(expected.slice(0, 2).map((d) => d.id));
    expect(override.rows![0]!.$dist).toBeCloseTo(cosdist(expected[0]!.vector, q), 5);
  });

  it('should combine vector ranking with filters', async () => {
    const q = [0, 0, 0];
    const res = await ns().query({ rank_by: ['vector', 'ANN', q], filters: ['color', 'In', ['red', 'green']], top_k: 10 });
    const expected = docs.filter((d) => ['red', 'green'].includes(d.color)).sort((a, b) => sqdist(a.vector, q) - sqdist(b.vector, q));
    expect(ids(res)).toEqual(expected.map((d) => d.id));
  });

  it('should apply filters: Eq/NotEq, ranges, Glob, Regex, Contains(Any), In/NotIn, And, Or, Not', async () => {
    const f = async (filters: unknown) => ids(await ns().query({ rank_by: ['id', 'asc'], filters: filters as never, top_k: 10 }));
    expect(await f(['color', 'Eq', 'red'])).toEqual([1, 3]);
    expect(await f(['color', 'NotEq', 'red'])).toEqual([2, 4, 5]);
    expect(await f(['price', 'Gte', 2.5])).toEqual([2, 4, 5]);
    expect(await f(['n', 'Lt', 5])).toEqual([2, 4]);
    expect(await f(['color', 'Glob', 'r*'])).toEqual([1, 3, 5]);
    expect(await f(['color', 'Glob', 'r?d'])).toEqual([1, 3]);
    expect(await f(['color', 'Regex', '^(blue|green)$'])).toEqual([2, 4]);
    expect(await f(['tags', 'Contains', 'b'])).toEqual([1, 2]);
    expect(await f(['tags', 'ContainsAny', ['a', 'c']])).toEqual([1, 3, 5]);
    expect(await f(['id', 'In', [2, 4, 77]])).toEqual([2, 4]);
    expect(await f(['id', 'NotIn', [2, 4]])).toEqual([1, 3, 5]);
    expect(await f(['And', [['color', 'Eq', 'red'], ['n', 'Gt', 5]]])).toEqual([3]);
    expect(await f(['Or', [['n', 'Lte', 1], ['color', 'Eq', 'blue']]])).toEqual([2, 4]);
    expect(await f(['Not', ['color', 'Glob', 'r*']])).toEqual([2, 4]);
    expect(await f(['And', [['Not', ['tags', 'ContainsAny', ['a']]], ['Or', [['n', 'Eq', 9], ['n', 'Eq', 1]]]]])).toEqual([3, 4]);
  });

  it('should rank by BM25 with the exact scores', async () => {
    const res = await ns().query({ rank_by: ['title', 'BM25', 'alpha beta'], top_k: 10 });
    const expected = [...corpus.keys()]
      .map((id) => ({ id, s: bm25(corpus, ['alpha', 'beta'], id) }))
      .filter((e) => e.s > 0)
      .sort((a, b) => b.s - a.s || a.id - b.id);
    expect(ids(res)).toEqual(expected.map((e) => e.id));
    res.rows!.forEach((r, i) => expect(r.$dist).toBeCloseTo(expected[i]!.s, 9));
  });

  it('should keep BM25 statistics in step with deletes and patches', async () => {
    const ns = tpuf.namespace('q-bm25-live');
    const live = new Map([
      [1, 'alpha beta'],
      [2, 'alpha'],
      [3, 'gamma beta'],
      [4, 'beta beta'],
    ]);
    await ns.write({ upsert_rows: [...live].map(([id, title]) => ({ id, title })), schema: { title: { type: 'string', full_text_search: true } } });
    const check = async () => {
      const res = await ns.query({ rank_by: ['title', 'BM25', 'beta'], top_k: 10 });
      const expected = [...live.keys()].map((id) => ({ id, s: bm25(live, ['beta'], id) })).filter((e) => e.s > 0).sort((a, b) => b.s - a.s || a.id - b.id);
      expect(ids(res)).toEqual(expected.map((e) => e.id));
      res.rows!.forEach((r, i) => expect(r.$dist).toBeCloseTo(expected[i]!.s, 9));
    };
    await check();
    await ns.write({ deletes: [3] });
    live.delete(3);
    await check();
    await ns.write({ patch_rows: [{ id: 2, title: 'beta' }] });
    live.set(2, 'beta');
    await check();
  });

  it('should combine BM25 clauses with Sum, Max and Product', async () => {
    const score = (id: number, term: string) => bm25(corpus, [term], id);
    const check = (res: { rows?: { id: unknown; $dist?: number }[] }, fn: (id: number) => number) => {
      const expected = [...corpus.keys()].map((id) => ({ id, s: fn(id) })).filter((e) => e.s > 0).sort((a, b) => b.s - a.s || a.id - b.id);
      expect(ids(res)).toEqual(expected.map((e) => e.id));
      res.rows!.forEach((r, i) => expect(r.$dist).toBeCloseTo(expected[i]!.s, 9));
    };
    const sum = await ns().query({ rank_by: ['Sum', [['title', 'BM25', 'gamma'], ['title', 'BM25', 'delta']]], top_k: 10 });
    check(sum, (id) => score(id, 'gamma') + score(id, 'delta'));
    const max = await ns().query({ rank_by: ['Max', [['title', 'BM25', 'alpha'], ['title', 'BM25', 'beta']]], top_k: 10 });
    check(max, (id) => Math.max(score(id, 'alpha'), score(id, 'beta')));
    const prod = await ns().query({ rank_by: ['Product', 3, ['title', 'BM25', 'alpha']], top_k: 10 });
    check(prod, (id) => 3 * score(id, 'alpha'));
    const prod2 = await ns().query({ rank_by: ['Product', ['title', 'BM25', 'beta'], 0.5], top_k: 10 });
    check(prod2, (id) => 0.5 * score(id, 'beta'));
  });

  it('should order by one attribute or several, and honour top_k (default 10)', async () => {
    const one = await ns().query({ rank_by: ['n', 'desc'], top_k: 3, include_attributes: ['n'] });
    expect(one.rows).toEqual([{ id: 3, n: 9 }, { id: 1, n: 5 }, { id: 5, n: 5 }]); // tie on n: id ascending
    const multi = await ns().query({ rank_by: [['n', 'desc'], ['id', 'desc']], top_k: 10 });
    expect(ids(multi)).toEqual([3, 5, 1, 2, 4]);
    const multi2 = await ns().query({ rank_by: [['color', 'asc'], ['price', 'desc']], top_k: 10 });
    expect(ids(multi2)).toEqual([2, 4, 1, 3, 5]);
    const many = tpuf.namespace('q-topk');
    await many.write({ upsert_columns: { id: Array.from({ length: 25 }, (_, i) => i), x: Array.from({ length: 25 }, (_, i) => 25 - i) } });
    expect(ids(await many.query({ rank_by: ['x', 'asc'] }))).toEqual(Array.from({ length: 10 }, (_, i) => 24 - i));
    expect((await many.query({ rank_by: ['x', 'asc'], top_k: 1200 })).rows!.length).toBe(25);
    expect(ids(await many.query({ rank_by: ['x', 'asc'], top_k: 2 }))).toEqual([24, 23]);
  });

  it('should project with include_attributes and exclude_attributes', async () => {
    const incl = await ns().query({ rank_by: ['id', 'asc'], top_k: 1, include_attributes: ['color', 'tags'] });
    expect(incl.rows).toEqual([{ id: 1, color: 'red', tags: ['a', 'b'] }]);
    const excl = await ns().query({ rank_by: ['id', 'asc'], top_k: 1, exclude_attributes: ['vector', 'title', 'tags'] });
    expect(excl.rows).toEqual([{ id: 1, color: 'red', n: 5, price: 1.5 }]);
    const withDist = await ns().query({ rank_by: ['vector', 'kNN', [1, 0, 0]], top_k: 1, include_attributes: ['n'] });
    expect(withDist.rows).toEqual([{ id: 1, $dist: 0, n: 5 }]);
  });

  it('should cap rows per attribute value with limit.per', async () => {
    // Highest n first, at most one row per color: red 3 (n 9), rose 5 (n 5), blue 2 (n 3), green 4 (n 1).
    const res = await ns().query({ rank_by: ['n', 'desc'], limit: { total: 10, per: { attributes: ['color'], limit: 1 } } } as never);
    expect(ids(res)).toEqual([3, 5, 2, 4]);
    const two = await ns().query({ rank_by: ['n', 'desc'], limit: { total: 3, per: { attributes: ['color'], limit: 2 } } } as never);
    expect(ids(two)).toEqual([3, 1, 5]);
  });

  it('should aggregate Count and Sum, filtered, grouped or not', async () => {
    const all = await ns().query({ aggregate_by: { count: ['Count'], total: ['Sum', 'n'], money: ['Sum', 'price'] } });
    expect(all.aggregations).toEqual({ count: 5, total: 23, money: 11.5 });
    expect(all.rows).toBeUndefined();
    const filtered = await ns().query({ aggregate_by: { count: ['Count'], total: ['Sum', 'n'] }, filters: ['color', 'Glob', 'r*'] });
    expect(filtered.aggregations).toEqual({ count: 3, total: 19 });
    const grouped = await ns().query({ aggregate_by: { count: ['Count'], total: ['Sum', 'n'] }, group_by: ['color'] });
    const byColor = new Map<string, { count: number; total: number }>();
    for (const d of docs) {
      const g = byColor.get(d.color) ?? { count: 0, total: 0 };
      byColor.set(d.color, { count: g.count + 1, total: g.total + d.n });
    }
    expect(grouped.aggregation_groups).toHaveLength(byColor.size);
    expect(new Set(grouped.aggregation_groups)).toEqual(new Set([...byColor].map(([color, g]) => ({ color, ...g }))));
    const byTwo = await ns().query({ aggregate_by: { c: ['Count'] }, group_by: ['color', 'n'], filters: ['color', 'Eq', 'red'] });
    expect(byTwo.aggregation_groups).toEqual(expect.arrayContaining([{ color: 'red', n: 5, c: 1 }, { color: 'red', n: 9, c: 1 }]));
    expect(byTwo.aggregation_groups).toHaveLength(2);
  });

  it('should report performance and billing with every query, and serve eventual consistency', async () => {
    const res = await ns().query({ rank_by: ['id', 'asc'], consistency: { level: 'eventual' } });
    expect(ids(res)).toEqual([1, 2, 3, 4, 5]);
    expect(res.performance).toMatchObject({
      approx_namespace_size: 5,
      exhaustive_search_count: 5, // no indexer in this server: every row is in the WAL tail
      cache_hit_ratio: expect.any(Number),
      query_execution_ms: expect.any(Number),
      server_total_ms: expect.any(Number),
    });
    expect(['hot', 'warm', 'cold']).toContain(res.performance.cache_temperature);
    expect(res.billing.billable_logical_bytes_queried).toBeGreaterThan(0);
    expect(res.billing.billable_logical_bytes_returned).toBeGreaterThan(0);
  });

  it('should see its own write immediately with the default (strong) consistency', async () => {
    const rw = tpuf.namespace('q-ryw');
    for (let i = 1; i <= 5; i++) {
      await rw.write({ upsert_rows: [{ id: i, v: i }] });
      expect((await rw.query({ aggregate_by: { c: ['Count'] } })).aggregations).toEqual({ c: i });
    }
  });

  it('should run multi-queries, one result per sub-query in order', async () => {
    const res = await ns().multiQuery({
      queries: [
        { rank_by: ['vector', 'ANN', [1, 0, 0]], top_k: 2 },
        { rank_by: ['title', 'BM25', 'delta'], top_k: 2 },
        { aggregate_by: { c: ['Count'] }, filters: ['color', 'Eq', 'red'] },
      ],
    });
    expect(res.results).toHaveLength(3);
    const q = [1, 0, 0];
    const nearest = [...docs].sort((a, b) => sqdist(a.vector, q) - sqdist(b.vector, q));
    expect(ids(res.results[0]!)).toEqual(nearest.slice(0, 2).map((d) => d.id));
    expect(ids(res.results[1]!)).toEqual([3]);
    expect(res.results[2]!.aggregations).toEqual({ c: 2 });
    expect(res.performance.approx_namespace_size).toBe(5);
    expect(res.billing.billable_logical_bytes_queried).toBeGreaterThan(0);
  });

  it('should fuse multi-queries with RRF (default and weighted) exactly', async () => {
    const queries = [
      { rank_by: ['vector', 'ANN', [0.5, 0.5, 0]] as ['vector', 'ANN', number[]], top_k: 3 },
      { rank_by: ['title', 'BM25', 'alpha beta'] as ['title', 'BM25', string], top_k: 3 },
    ];
    const plain = await ns().multiQuery({ queries });
    const lists = plain.results.map((r) => ids(r) as number[]);
    const fuse = (k: number, w: number[]) => {
      const score = new Map<number, number>();
      lists.forEach((list, li) => list.forEach((id, i) => score.set(id, (score.get(id) ?? 0) + w[li]! / (k + i + 1))));
      return [...score].sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, 3);
    };
    const fused = await ns().multiQuery({ queries, rerank_by: ['RRF'] });
    expect(fused.results).toHaveLength(1);
    const expected = fuse(60, [1, 1]);
    expect(ids(fused.results[0]!)).toEqual(expected.map(([id]) => id));
    fused.results[0]!.rows!.forEach((r, i) => expect(r.$dist).toBeCloseTo(expected[i]![1], 12));
    const weighted = await ns().multiQuery({ queries, rerank_by: ['RRF', { rank_constant: 1, weights: [0.1, 5] }] as never });
    const expectedW = fuse(1, [0.1, 5]);
    expect(ids(weighted.results[0]!)).toEqual(expectedW.map(([id]) => id));
    weighted.results[0]!.rows!.forEach((r, i) => expect(r.$dist).toBeCloseTo(expectedW[i]![1], 12));
  });
});

describe('official client: namespace endpoints', () => {
  it('should list namespaces in name order with prefix, page_size and cursor', async () => {
    const names = ['ls-a', 'ls-a-1', 'ls-a.1', 'ls-a_1', 'ls-b', 'ls-c', 'ls-d'];
    for (const n of [...names].reverse()) await tpuf.namespace(n).write({ upsert_rows: [{ id: 1 }] });
    await tpuf.namespace('ls-b').deleteAll(); // deleted namespaces are not listed
    const live = names.filter((n) => n !== 'ls-b');
    // The client's async iterator follows next_cursor across pages.
    const seen: string[] = [];
    for await (const n of tpuf.namespaces({ prefix: 'ls-', page_size: 2 })) seen.push(n.id);
    expect(seen).toEqual([...live].sort());
    // Page by page by hand.
    let page = await tpuf.namespaces({ prefix: 'ls-', page_size: 4 });
    expect(page.namespaces).toHaveLength(4);
    expect(page.next_cursor).toBeTruthy();
    const pages = [page.namespaces.map((n) => n.id)];
    while (page.hasNextPage()) {
      page = await page.getNextPage();
      pages.push(page.namespaces.map((n) => n.id));
    }
    expect(pages.flat()).toEqual([...live].sort());
    expect(pages[0]).toEqual([...live].sort().slice(0, 4));
    // An explicit cursor resumes after that name.
    const after = await tpuf.namespaces({ prefix: 'ls-', cursor: 'ls-a_1', page_size: 100 });
    expect(after.namespaces.map((n) => n.id)).toEqual(['ls-c', 'ls-d']);
    const narrow: string[] = [];
    for await (const n of tpuf.namespaces({ prefix: 'ls-a' })) narrow.push(n.id);
    expect(narrow).toEqual(['ls-a', 'ls-a-1', 'ls-a.1', 'ls-a_1']);
  });

  it('should return metadata with the client-typed fields', async () => {
    const before = Date.now();
    const ns = tpuf.namespace('md');
    await ns.write({ upsert_rows: docs.slice(0, 3), distance_metric: 'euclidean_squared' });
    const meta = await ns.metadata();
    expect(meta.approx_row_count).toBe(3);
    expect(meta.approx_logical_bytes).toBeGreaterThan(0);
    expect(Date.parse(meta.created_at)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(meta.updated_at)).toBeGreaterThanOrEqual(Date.parse(meta.created_at));
    expect(meta.encryption).toEqual({ mode: 'default' });
    expect(meta.index.status).toBe('updating'); // nothing indexed: no indexer in this server
    expect((meta.index as { unindexed_bytes: number }).unindexed_bytes).toBeGreaterThan(0);
    expect(meta.schema.vector).toMatchObject({ type: '[3]f32', ann: { distance_metric: 'euclidean_squared' } });
    expect(meta.schema.color!.type).toBe('string');
    await ns.write({ deletes: [1] });
    const after = await ns.metadata();
    expect(after.approx_row_count).toBe(2);
    expect(Date.parse(after.updated_at)).toBeGreaterThanOrEqual(Date.parse(meta.updated_at));
    expect(after.created_at).toBe(meta.created_at);
  });

  it('should get and update the schema: new attributes, option changes, full-text search on existing rows', async () => {
    const ns = tpuf.namespace('sch');
    await ns.write({ upsert_rows: [{ id: 1, body: 'red fox' }, { id: 2, body: 'blue fox fox' }, { id: 3, body: 'green' }] });
    expect(await ns.schema()).toMatchObject({ body: { type: 'string' } });
    const updated = await ns.updateSchema({ schema: { extra: 'int', body: { type: 'string', full_text_search: true } } });
    expect(updated.extra!.type).toBe('int');
    expect(updated.body!.full_text_search).toBeTruthy();
    expect(await ns.schema()).toMatchObject({ extra: { type: 'int' }, body: { type: 'string' } });
    // Documents written before full-text search was turned on are searchable.
    const res = await ns.query({ rank_by: ['body', 'BM25', 'fox'], top_k: 10 });
    expect(ids(res)).toEqual([2, 1]);
    // The new attribute takes its declared type: a string there is refused.
    await expect(ns.write({ upsert_rows: [{ id: 4, extra: 'x' }] })).rejects.toMatchObject({ status: 400 });
    await ns.write({ upsert_rows: [{ id: 4, extra: 7 }] });
    expect((await ns.query({ filters: ['extra', 'Eq', 7] })).rows).toEqual([{ id: 4 }]);
  });

  it('should create a namespace through updateSchema', async () => {
    const ns = tpuf.namespace('sch-new');
    const s = await ns.updateSchema({ schema: { when: 'datetime' } });
    expect(s.when!.type).toBe('datetime');
    expect(await ns.exists()).toBe(true);
  });

  it('should delete a namespace (then 404 everywhere), and a later write revives it empty with a fresh schema', async () => {
    const ns = tpuf.namespace('del');
    await ns.write({ upsert_rows: [{ id: 1, a: 1, vector: [1, 2] }, { id: 2, a: 2, vector: [3, 4] }], distance_metric: 'euclidean_squared' });
    expect(await ns.deleteAll()).toEqual({ status: 'OK' });
    await expect(ns.query({ rank_by: ['id', 'asc'] })).rejects.toMatchObject({ status: 404, error: { code: 'ELAX_ERR_NAMESPACE_NOT_FOUND' } });
    await expect(ns.metadata()).rejects.toMatchObject({ status: 404 });
    await expect(ns.schema()).rejects.toMatchObject({ status: 404 });
    await expect(ns.hintCacheWarm()).rejects.toMatchObject({ status: 404 });
    await expect(ns.recall({})).rejects.toMatchObject({ status: 404 });
    await expect(ns.deleteAll()).rejects.toMatchObject({ status: 404 });
    expect(await ns.exists()).toBe(false);
    // The old incarnation's schema is gone: 'a' may now be a string, vectors may have 3 dims and another metric.
    await ns.write({ upsert_rows: [{ id: 3, a: 'three', vector: [1, 0, 0] }], distance_metric: 'cosine_distance' });
    const res = await ns.query({ rank_by: ['id', 'asc'], include_attributes: true });
    expect(res.rows).toEqual([{ id: 3, a: 'three', vector: [1, 0, 0] }]);
    expect((await ns.metadata()).approx_row_count).toBe(1);
  });

  it('should warm the cache', async () => {
    const res = await tpuf.namespace('q').hintCacheWarm();
    expect(res.status).toBe('ACCEPTED');
    await expect(tpuf.namespace('never-there').hintCacheWarm()).rejects.toMatchObject({ status: 404 });
  });

  it('should evaluate recall (1 while everything is exhaustive) with correct ground truth', async () => {
    const r = await tpuf.namespace('q').recall({ num: 4, top_k: 2, include_ground_truth: true });
    expect(r.avg_recall).toBe(1);
    expect(r.avg_ann_count).toBe(2);
    expect(r.avg_exhaustive_count).toBe(2);
    expect(r.ground_truth).toHaveLength(4);
    for (const gt of r.ground_truth!) {
      expect(gt.query_vector).toHaveLength(3);
      const expected = [...docs].sort((a, b) => sqdist(a.vector, gt.query_vector) - sqdist(b.vector, gt.query_vector) || a.id - b.id);
      expect(gt.nearest_neighbors.map((n) => n.id)).toEqual(expected.slice(0, 2).map((d) => d.id));
      expect(gt.nearest_neighbors[0]!.$dist).toBeCloseTo(sqdist(expected[0]!.vector, gt.query_vector), 5);
    }
    const noGt = await tpuf.namespace('q').recall({ num: 2, top_k: 1 });
    expect(noGt.ground_truth).toBeUndefined();
    expect(noGt.avg_recall).toBe(1);
  });

  it('should answer exists() for present, absent and deleted namespaces', async () => {
    expect(await tpuf.namespace('q').exists()).toBe(true);
    expect(await tpuf.namespace('never-written').exists()).toBe(false);
    const gone = tpuf.namespace('ex-gone');
    await gone.write({ upsert_rows: [{ id: 1 }] });
    await gone.deleteAll();
    expect(await gone.exists()).toBe(false);
  });
});
