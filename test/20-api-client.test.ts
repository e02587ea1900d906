/**
 * The HTTP API through the official @turbopuffer/turbopuffer client, endpoint by endpoint, checking values (ids,
 * order, distances computed here), not just status codes.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type Turbopuffer from '@turbopuffer/turbopuffer';
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

const sqdist = (a: number[], b: number[]) => a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0);
const cosdist = (a: number[], b: number[]) => {
  const dot = a.reduce((s, x, i) => s + x * b[i]!, 0);
  const na = Math.hypot(...a);
  const nb = Math.hypot(...b);
  return 1 - dot / (na * nb);
};

const docs = [
  { id: 1, vector: [1, 0], title: 'the quick brown fox', color: 'red', n: 5, tags: ['a', 'b'] },
  { id: 2, vector: [0, 1], title: 'lazy dog sleeps', color: 'blue', n: 3, tags: ['b'] },
  { id: 3, vector: [1, 1], title: 'quick quick fox jumps', color: 'red', n: 9, tags: ['c'] },
  { id: 4, vector: [-1, 0.5], title: 'a brown dog', color: 'green', n: 1, tags: [] as string[] },
];

describe('official client: writes', () => {
  it('should upsert rows with schema and report counts and affected ids', async () => {
    const ns = tpuf.namespace('w1');
    const res = await ns.write({
      upsert_rows: docs,
      distance_metric: 'euclidean_squared',
      schema: { title: { type: 'string', full_text_search: true } },
      return_affected_ids: true,
    });
    expect(res.status).toBe('OK');
    expect(res.rows_affected).toBe(4);
    expect(res.rows_upserted).toBe(4);
    expect(res.upserted_ids).toEqual([1, 2, 3, 4]);
    expect(res.billing.billable_logical_bytes_written).toBeGreaterThan(0);
    expect(await ns.exists()).toBe(true);
    expect(await tpuf.namespace('never-written').exists()).toBe(false);
  });

  it('should apply upsert_columns, patch_rows, patch_columns and deletes', async () => {
    const ns = tpuf.namespace('w2');
    await ns.write({ upsert_columns: { id: [1, 2, 3], vector: [[1, 0], [0, 1], [1, 1]], n: [1, 2, 3] }, distance_metric: 'cosine_distance' });
    await ns.write({ patch_rows: [{ id: 1, n: 10 }, { id: 99, n: 5 }] }); // 99 does not exist: ignored
    await ns.write({ patch_columns: { id: [2], n: [20] } });
    const del = await ns.write({ deletes: [3], return_affected_ids: true });
    expect(del.deleted_ids).toEqual([3]);
    const res = await ns.query({ rank_by: ['id', 'asc'], top_k: 10, include_attributes: ['n'] });
    expect(res.rows).toEqual([{ id: 1, n: 10 }, { id: 2, n: 20 }]);
  });

  it('should run delete_by_filter and patch_by_filter, with allow_partial and rows_remaining', async () => {
    const ns = tpuf.namespace('w3');
    await ns.write({ upsert_rows: docs, distance_metric: 'euclidean_squared' });
    const p = await ns.write({ patch_by_filter: { filters: ['color', 'Eq', 'red'], patch: { flag: true } }, patch_by_filter_allow_partial: true });
    expect(p.rows_patched).toBe(2);
    expect(p.rows_remaining).toBe(false);
    const d = await ns.write({ delete_by_filter: ['n', 'Lt', 4] });
    expect(d.rows_deleted).toBe(2);
    const res = await ns.query({ rank_by: ['id', 'asc'], include_attributes: ['flag'] });
    expect(res.rows).toEqual([{ id: 1, flag: true }, { id: 3, flag: true }]);
  });

  it('should honour upsert_condition, patch_condition and delete_condition with $ref_new', async () => {
    const ns = tpuf.namespace('w4');
    await ns.write({ upsert_rows: [{ id: 1, version: 2, v: 'old' }, { id: 2, version: 5, v: 'old' }] });
    await ns.write({
      upsert_rows: [{ id: 1, version: 3, v: 'new' }, { id: 2, version: 4, v: 'new' }, { id: 3, version: 1, v: 'new' }],
      upsert_condition: ['version', 'Lt', { $ref_new: 'version' }],
    });
    await ns.write({ patch_rows: [{ id: 1, v: 'patched' }, { id: 2, v: 'patched' }], patch_condition: ['version', 'Gte', 5] });
    await ns.write({ deletes: [1, 3], delete_condition: ['version', 'Eq', 1] });
    const res = await ns.query({ rank_by: ['id', 'asc'], include_attributes: ['version', 'v'] });
    expect(res.rows).toEqual([
      { id: 1, version: 3, v: 'new' },
      { id: 2, version: 5, v: 'patched' },
    ]);
  });

  it('should accept base64 vectors and return them base64-encoded on request', async () => {
    const ns = tpuf.namespace('w5');
    const f32 = new Float32Array([0.5, -2]);
    const b64 = Buffer.from(f32.buffer).toString('base64');
    await ns.write({ upsert_rows: [{ id: 'a', vector: b64 }], distance_metric: 'cosine_distance' });
    const res = await ns.query({ rank_by: ['vector', 'kNN', [0.5, -2]], include_attributes: ['vector'], vector_encoding: 'base64' });
    expect(res.rows![0]!.vector).toBe(b64);
    expect(res.rows![0]!.$dist).toBeCloseTo(0, 6);
  });
});

describe('official client: queries', () => {
  it('should rank by ANN and kNN with exact distances', async () => {
    const ns = tpuf.namespace('w1');
    const q = [0.9, 0.2];
    const expected = [...docs].sort((a, b) => sqdist(a.vector, q) - sqdist(b.vector, q));
    for (const mode of ['ANN', 'kNN'] as const) {
      const res = await ns.query({ rank_by: ['vector', mode, q] as never, top_k: 3 });
      expect(res.rows!.map((r) => r.id)).toEqual(expected.slice(0, 3).map((d) => d.id));
      expect(res.rows![0]!.$dist).toBeCloseTo(sqdist(expected[0]!.vector, q), 5);
    }
    const cos = await ns.query({ rank_by: ['vector', 'kNN', q], top_k: 1, distance_metric: 'cosine_distance' });
    const best = [...docs].sort((a, b) => cosdist(a.vector, q) - cosdist(b.vector, q))[0]!;
    expect(cos.rows![0]!.id).toBe(best.id);
    expect(cos.rows![0]!.$dist).toBeCloseTo(cosdist(best.vector, q), 5);
  });

  it('should apply filters: Glob, Regex, ContainsAny, In, And, Or, Not', async () => {
    const ns = tpuf.namespace('w1');
    const ids = async (filters: unknown) => (await ns.query({ rank_by: ['id', 'asc'], filters: filters as never, top_k: 10 })).rows!.map((r) => r.id);
    expect(await ids(['color', 'Glob', 'r*'])).toEqual([1, 3]);
    expect(await ids(['color', 'Regex', '^(blue|green)$'])).toEqual([2, 4]);
    expect(await ids(['tags', 'ContainsAny', ['a', 'c']])).toEqual([1, 3]);
    expect(await ids(['id', 'In', [2, 4]])).toEqual([2, 4]);
    expect(await ids(['And', [['color', 'Eq', 'red'], ['n', 'Gt', 5]]])).toEqual([3]);
    expect(await ids(['Or', [['n', 'Lte', 1], ['color', 'Eq', 'blue']]])).toEqual([2, 4]);
    expect(await ids(['Not', ['color', 'Eq', 'red']])).toEqual([2, 4]);
  });

  it('should rank by BM25 with Sum, Max and Product', async () => {
    const ns = tpuf.namespace('w1');
    const res = await ns.query({ rank_by: ['title', 'BM25', 'quick fox'], top_k: 10 });
    expect(res.rows!.map((r) => r.id)).toEqual([3, 1]); // "quick" twice in doc 3
    expect(res.rows![0]!.$dist).toBeGreaterThan(res.rows![1]!.$dist!);
    const sum = await ns.query({ rank_by: ['Sum', [['title', 'BM25', 'dog'], ['title', 'BM25', 'fox']]], top_k: 10 });
    expect(new Set(sum.rows!.map((r) => r.id))).toEqual(new Set([1, 2, 3, 4]));
    const prod = await ns.query({ rank_by: ['Product', 2, ['title', 'BM25', 'dog']], top_k: 10 });
    const plain = await ns.query({ rank_by: ['title', 'BM25', 'dog'], top_k: 10 });
    expect(prod.rows![0]!.$dist).toBeCloseTo(2 * plain.rows![0]!.$dist!, 9);
    const max = await ns.query({ rank_by: ['Max', [['title', 'BM25', 'dog'], ['title', 'BM25', 'dog']]], top_k: 10 });
    expect(max.rows![0]!.$dist).toBeCloseTo(plain.rows![0]!.$dist!, 9);
  });

  it('should order by one or several attributes and project attributes', async () => {
    const ns = tpuf.namespace('w1');
    const one = await ns.query({ rank_by: ['n', 'desc'], top_k: 2, include_attributes: ['n'] });
    expect(one.rows).toEqual([{ id: 3, n: 9 }, { id: 1, n: 5 }]);
    const multi = await ns.query({ rank_by: [['color', 'asc'], ['n', 'desc']], top_k: 10 });
    expect(multi.rows!.map((r) => r.id)).toEqual([2, 4, 3, 1]);
    const excl = await ns.query({ rank_by: ['id', 'asc'], top_k: 1, exclude_attributes: ['vector', 'title', 'tags'] });
    expect(excl.rows).toEqual([{ id: 1, color: 'red', n: 5 }]);
  });

  it('should aggregate Count and Sum, grouped or not, and report performance', async () => {
    const ns = tpuf.namespace('w1');
    const all = await ns.query({ aggregate_by: { count: ['Count'], total: ['Sum', 'n'] } });
    expect(all.aggregations).toEqual({ count: 4, total: 18 });
    const grouped = await ns.query({ aggregate_by: { count: ['Count'] }, group_by: ['color'] });
    expect(grouped.aggregation_groups).toEqual([
      { color: 'blue', count: 1 },
      { color: 'green', count: 1 },
      { color: 'red', count: 2 },
    ]);
    expect(all.performance.approx_namespace_size).toBe(4);
    expect(all.performance.exhaustive_search_count).toBe(4); // nothing indexed in this server
    expect(['hot', 'warm', 'cold']).toContain(all.performance.cache_temperature);
    const eventual = await ns.query({ rank_by: ['id', 'asc'], consistency: { level: 'eventual' } });
    expect(eventual.rows!.length).toBe(4);
  });

  it('should run multi-queries with and without RRF', async () => {
    const ns = tpuf.namespace('w1');
    const plain = await ns.multiQuery({
      queries: [
        { rank_by: ['vector', 'ANN', [1, 0]], top_k: 2 },
        { rank_by: ['title', 'BM25', 'dog'], top_k: 2 },
      ],
    });
    expect(plain.results.length).toBe(2);
    const a = plain.results[0]!.rows!.map((r) => r.id);
    const b = plain.results[1]!.rows!.map((r) => r.id);
    const fused = await ns.multiQuery({
      queries: [
        { rank_by: ['vector', 'ANN', [1, 0]], top_k: 2 },
        { rank_by: ['title', 'BM25', 'dog'], top_k: 2 },
      ],
      rerank_by: ['RRF'],
    });
    // Hand-computed RRF with k = 60.
    const score = new Map<unknown, number>();
    [a, b].forEach((list) => list.forEach((id, i) => score.set(id, (score.get(id) ?? 0) + 1 / (60 + i + 1))));
    const expectedOrder = [...score].sort((x, y) => y[1] - x[1] || (x[0] as number) - (y[0] as number)).map(([id]) => id);
    expect(fused.results[0]!.rows!.map((r) => r.id)).toEqual(expectedOrder.slice(0, 2));
    expect(fused.results[0]!.rows![0]!.$dist).toBeCloseTo(score.get(expectedOrder[0])!, 12);
  });
});

describe('official client: namespace endpoints', () => {
  it('should list namespaces with prefix and pagination', async () => {
    for (const n of ['pg-a', 'pg-b', 'pg-c']) await tpuf.namespace(n).write({ upsert_rows: [{ id: 1 }] });
    const seen: string[] = [];
    for await (const n of tpuf.namespaces({ prefix: 'pg-', page_size: 2 })) seen.push(n.id);
    expect(seen).toEqual(['pg-a', 'pg-b', 'pg-c']);
  });

  it('should return metadata and schema, and update the schema', async () => {
    const ns = tpuf.namespace('w1');
    const meta = await ns.metadata();
    expect(meta.approx_row_count).toBe(4);
    expect(meta.schema.title!.full_text_search).toBeTruthy();
    expect(meta.index.status).toBe('updating');
    const schema = await ns.schema();
    expect(schema.n!.type).toBe('int');
    const updated = await ns.updateSchema({ schema: { extra: 'string', color: { type: 'string', filterable: true } } });
    expect(updated.extra!.type).toBe('string');
  });

  it('should delete a namespace (then 404), and a later write revives it empty', async () => {
    const ns = tpuf.namespace('del');
    await ns.write({ upsert_rows: [{ id: 1, a: 1 }, { id: 2, a: 2 }] });
    expect((await ns.deleteAll()).status).toBe('OK');
    await expect(ns.query({ rank_by: ['id', 'asc'] })).rejects.toMatchObject({ status: 404 });
    expect(await ns.exists()).toBe(false);
    await ns.write({ upsert_rows: [{ id: 3, a: 3 }] });
    const res = await ns.query({ rank_by: ['id', 'asc'] });
    expect(res.rows).toEqual([{ id: 3 }]);
  });

  it('should warm the cache and evaluate recall with ground truth', async () => {
    const ns = tpuf.namespace('w1');
    expect((await ns.hintCacheWarm()).status).toBe('ACCEPTED');
    const r = await ns.recall({ num: 3, top_k: 2, include_ground_truth: true });
    expect(r.avg_recall).toBe(1);
    expect(r.avg_ann_count).toBe(2);
    expect(r.avg_exhaustive_count).toBe(2);
    expect(r.ground_truth!.length).toBe(3);
    expect(r.ground_truth![0]!.nearest_neighbors.length).toBe(2);
  });
});
