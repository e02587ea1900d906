/**
 * SparseKNN (issue 14 item 11, RFC-0012) through the OFFICIAL @turbopuffer/turbopuffer client: a `{}f16` attribute
 * with `sparse_knn: {distance_metric: "dot_product"}`, written as objects of dimension → weight, ranked by
 * `[attr, "SparseKNN", {dim: weight}]`. Every expected answer is a brute-force dot product computed here (weights
 * chosen f16-exact, so no rounding enters), ties by id ascending, only rows sharing a dimension with the query.
 * Checked with every row in the WAL tail, again once indexed (parts with the sparse index), and again with more
 * writes (updates, deletes, new rows) in the tail over those parts.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Turbopuffer from '@turbopuffer/turbopuffer';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { compactNamespace } from '../indexer/compact.js';
import { indexAll, startTestServer, type TestServer } from './helpers/server.js';
import { seededRandom as rng } from '../crates-ts/ivf/index.js';

let server: TestServer;
let tpuf: Turbopuffer;

beforeAll(async () => {
  server = await startTestServer({ indexer: false });
  tpuf = server.client();
});
afterAll(async () => {
  await server.close();
});

let nonce = 0;

type Sparse = Record<string, number>;
interface TestRow {
  id: number;
  emb?: Sparse | null;
  cat?: string;
}

/** The brute-force answer: [id, score] of the best `k` rows holding a query dimension, score desc, id asc. */
function expected(rows: Map<number, TestRow>, q: Sparse, k: number, keep: (r: TestRow) => boolean = () => true): [number, number][] {
  const out: [number, number][] = [];
  for (const r of rows.values()) {
    if (!r.emb || !keep(r)) continue;
    let s = 0;
    let any = false;
    for (const d of Object.keys(q).sort((a, b) => Number(a) - Number(b))) {
      if (r.emb[d] === undefined) continue;
      s += q[d]! * r.emb[d]!;
      any = true;
    }
    if (any) out.push([r.id, s]);
  }
  out.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return out.slice(0, k);
}

/** f16-exact weights: multiples of 1/8 in [-4, 8] (negative ones rarer), over `dims` dimensions out of `universe`. */
function randomSparse(r: () => number, dims: number, universe: number, negative: boolean): Sparse {
  const out: Sparse = {};
  for (let i = 0; i < dims; i++) {
    const d = Math.floor(r() * universe);
    const w = Math.round(r() * 64) / 8 - (negative && r() < 0.2 ? 6 : 0);
    out[String(d)] = w;
  }
  return out;
}

async function query(ns: string, q: Sparse, k: number, filters?: unknown): Promise<[number, number][]> {
  const res = await tpuf.namespace(ns).query({ rank_by: ['emb', 'SparseKNN', q], top_k: k, ...(filters ? { filters: filters as never } : {}) });
  return (res.rows ?? []).map((row) => [row.id as number, row.$dist as number]);
}

const SCHEMA = { emb: { type: '{}f16', sparse_knn: { distance_metric: 'dot_product' as const } }, cat: 'string' };

describe('official client: SparseKNN over {}f16 with sparse_knn', () => {
  it('should rank by the dot product (higher first, ties by id), only rows sharing a dimension, in the tail and in parts', async () => {
    const ns = 'sparse-basic';
    const rows: TestRow[] = [
      { id: 1, emb: { '1': 1, '5': 2 }, cat: 'a' },
      { id: 2, emb: { '1': 0.5, '7': 4 }, cat: 'b' },
      { id: 3, emb: { '9': 3 }, cat: 'a' },
      { id: 4, emb: { '5': 1, '1': 2 }, cat: 'b' },
      { id: 5, cat: 'a' },
      { id: 6, emb: { '5': -1 }, cat: 'a' },
      { id: 7, emb: { '4000000000': 2 }, cat: 'b' },
    ];
    await tpuf.namespace(ns).write({ upsert_rows: rows as never, schema: SCHEMA });
    const check = async () => {
      // q = {1: 1, 5: 1}: 1 → 3, 2 → 0.5, 4 → 3, 6 → -1; 3, 5 and 7 share nothing.
      expect(await query(ns, { '1': 1, '5': 1 }, 10)).toEqual([[1, 3], [4, 3], [2, 0.5], [6, -1]]);
      expect(await query(ns, { '1': 1, '5': 1 }, 2)).toEqual([[1, 3], [4, 3]]);
      expect(await query(ns, { '4000000000': 0.5, '9': 1 }, 10)).toEqual([[3, 3], [7, 1]]);
      expect(await query(ns, { '1': 1, '5': 1 }, 10, ['cat', 'Eq', 'b'])).toEqual([[4, 3], [2, 0.5]]);
      expect(await query(ns, { '12345': 1 }, 10)).toEqual([]);
      // The stored vector reads back as written.
      const got = await tpuf.namespace(ns).query({ rank_by: ['id', 'asc'], filters: ['id', 'Eq', 2], include_attributes: ['emb'] });
      expect(got.rows?.[0]?.emb).toEqual({ '1': 0.5, '7': 4 });
    };
    await check();
    await indexAll(server.storeDir, ns);
    await check();
    const schema = await tpuf.namespace(ns).schema();
    // Columnar upserts and patches set sparse vectors too (validated the same way, naming the id).
    await tpuf.namespace(ns).write({ upsert_columns: { id: [8, 9], emb: [{ '5': 4 }, null] } } as never);
    await tpuf.namespace(ns).write({ patch_rows: [{ id: 3, emb: { '1': 10 } }] } as never);
    const colErr = await tpuf
      .namespace(ns)
      .write({ upsert_columns: { id: [10, 11], emb: [{ '1': 1 }, { '1': null }] } } as never)
      .then(() => null, (e: { status: number; message: string }) => e);
    expect(colErr?.status).toBe(400);
    expect(colErr?.message).toMatch(/upsert_columns\.emb\[1\] \(document 11\)/);
    // q = {1: 1, 5: 1} again: 3 → 10 (patched), 8 → 4, then as before.
    expect(await query(ns, { '1': 1, '5': 1 }, 10)).toEqual([[3, 10], [8, 4], [1, 3], [4, 3], [2, 0.5], [6, -1]]);
    await indexAll(server.storeDir, ns);
    expect(await query(ns, { '1': 1, '5': 1 }, 10)).toEqual([[3, 10], [8, 4], [1, 3], [4, 3], [2, 0.5], [6, -1]]);
    expect(schema.emb).toMatchObject({ type: '{}f16', sparse_knn: { distance_metric: 'dot_product' } });
  });

  it('should give the brute-force answer over random vectors with parts and a tail (updates, deletes, new rows)', async () => {
    const ns = 'sparse-random';
    const r = rng(14011);
    const truth = new Map<number, TestRow>();
    const batch = (from: number, to: number, negative: boolean): TestRow[] => {
      const out: TestRow[] = [];
      for (let id = from; id < to; id++) {
        const row: TestRow = { id, cat: r() < 0.5 ? 'x' : 'y' };
        if (r() < 0.9) row.emb = randomSparse(r, 1 + Math.floor(r() * 6), 40, negative);
        out.push(row);
      }
      return out;
    };
    const write = async (rows: TestRow[], deletes: number[] = []) => {
      await tpuf.namespace(ns).write({ upsert_rows: rows as never, deletes, schema: SCHEMA });
      for (const row of rows) truth.set(row.id, row);
      for (const id of deletes) truth.delete(id);
    };
    await write(batch(0, 150, false));
    await write(batch(150, 300, true));
    await indexAll(server.storeDir, ns);
    // Tail over parts: rewrite some ids (their part rows become dead), delete others, add new ones.
    await write([...batch(100, 130, true), ...batch(300, 340, false)], [5, 6, 7, 160, 161]);
    const queries = Array.from({ length: 12 }, (_, i) => randomSparse(r, 1 + (i % 5), 40, i % 3 === 0));
    for (const q of queries) {
      for (const k of [1, 5, 40]) {
        const want = expected(truth, q, k);
        expect(await query(ns, q, k)).toEqual(want);
      }
      expect(await query(ns, q, 10, ['cat', 'Eq', 'x'])).toEqual(expected(truth, q, 10, (row) => row.cat === 'x'));
    }
    await indexAll(server.storeDir, ns);
    for (const q of queries.slice(0, 4)) expect(await query(ns, q, 20)).toEqual(expected(truth, q, 20));
    // More rows after that publish: the tail carried over past the indexed prefix takes them (its postings windowed).
    await write([...batch(340, 360, true), ...batch(0, 10, false)], [20, 21]);
    for (const q of queries.slice(4, 10)) expect(await query(ns, q, 15)).toEqual(expected(truth, q, 15));
    // A cold node on the same store (parts read from storage, the tail decoded from the WAL) answers the same.
    const cold = await startTestServer({ storeDir: server.storeDir });
    try {
      for (const q of queries.slice(0, 6)) {
        const res = await cold.client().namespace(ns).query({ rank_by: ['emb', 'SparseKNN', q], top_k: 15 });
        expect((res.rows ?? []).map((row) => [row.id, row.$dist])).toEqual(expected(truth, q, 15));
      }
    } finally {
      await cold.close();
    }
  });

  it('should keep the answers through compaction, explain which source uses the index, and combine with limit.per and multi-query', async () => {
    const ns = 'sparse-more';
    const r = rng(777);
    const truth = new Map<number, TestRow>();
    for (let b = 0; b < 3; b++) {
      const rows: TestRow[] = [];
      for (let id = b * 60; id < b * 60 + 60; id++) rows.push({ id, cat: ['x', 'y', 'z'][id % 3]!, emb: randomSparse(r, 1 + (id % 4), 25, true) });
      await tpuf.namespace(ns).write({ upsert_rows: rows as never, schema: SCHEMA });
      for (const row of rows) truth.set(row.id, row);
    }
    await indexAll(server.storeDir, ns);
    const q = { '3': 1, '7': -0.5, '11': 2, '20': 0.25 };
    const before = await query(ns, q, 25);
    expect(before).toEqual(expected(truth, q, 25));
    const store = new LocalDirStore(server.storeDir);
    expect((await compactNamespace(store, ns, { clock: { now: () => Date.now() }, nonce: () => `spc${nonce++}`, force: true })).result).toBe('compacted');
    await store.close();
    await tpuf.namespace(ns).write({ upsert_rows: [{ id: 1000, cat: 'x', emb: { '11': 8 } }] as never });
    truth.set(1000, { id: 1000, cat: 'x', emb: { '11': 8 } });
    expect(await query(ns, q, 25)).toEqual(expected(truth, q, 25));
    expect(await tpuf.namespace(ns).hintCacheWarm()).toMatchObject({ status: 'ACCEPTED' }); // loads the sparse index too
    expect(await query(ns, q, 25)).toEqual(expected(truth, q, 25));
    const plan = (await tpuf.namespace(ns).explainQuery({ rank_by: ['emb', 'SparseKNN', q], top_k: 5 })).plan_text!;
    expect(plan).toContain('rank_by emb SparseKNN (4 dims, dot_product)');
    expect(plan).toMatch(/SparseKNN over sparse index sparse-0\.idx/);
    expect(plan).toMatch(/tail[^]*SparseKNN over the tail's in-memory sparse postings/);
    // limit.per: at most 2 rows per cat, in rank order.
    const per = await tpuf.namespace(ns).query({ rank_by: ['emb', 'SparseKNN', q], limit: { total: 5, per: { attributes: ['cat'], limit: 2 } }, include_attributes: ['cat'] });
    const seen = new Map<string, number>();
    const wantPer = expected(truth, q, 10_000).filter(([id]) => {
      const c = truth.get(id)!.cat!;
      seen.set(c, (seen.get(c) ?? 0) + 1);
      return seen.get(c)! <= 2;
    });
    expect((per.rows ?? []).map((row) => [row.id, row.$dist])).toEqual(wantPer.slice(0, 5));
    // Multi-query: a SparseKNN sub-query beside an attribute order, answered as alone.
    const multi = await tpuf.namespace(ns).multiQuery({ queries: [{ rank_by: ['emb', 'SparseKNN', q], top_k: 3 }, { rank_by: ['id', 'desc'], top_k: 1 }] });
    expect(multi.results[0]!.rows!.map((row) => [row.id, row.$dist])).toEqual(expected(truth, q, 3));
    expect(multi.results[1]!.rows!.map((row) => row.id)).toEqual([1000]);
  });

  it('should rank parts built before sparse_knn was set from their columns, and parts built after from the index', async () => {
    const ns = 'sparse-late';
    const rows: TestRow[] = [
      { id: 1, emb: { '2': 1, '3': 1 } },
      { id: 2, emb: { '2': 2 } },
      { id: 3, emb: { '3': -1 } },
    ];
    await tpuf.namespace(ns).write({ upsert_rows: rows as never, schema: { emb: '{}f32' } });
    await indexAll(server.storeDir, ns);
    expect(await tpuf.namespace(ns).schema()).toMatchObject({ emb: { type: '{}f32', filterable: false } });
    await tpuf.namespace(ns).updateSchema({ schema: { emb: { type: '{}f32', sparse_knn: { distance_metric: 'dot_product' } } } } as never);
    await tpuf.namespace(ns).write({ upsert_rows: [{ id: 4, emb: { '2': 0.1, '9': 5 } }] as never });
    const f32 = Math.fround(0.1);
    const want: [number, number][] = [[2, 4], [1, 3], [4, 2 * f32], [3, -1]];
    expect(await query(ns, { '2': 2, '3': 1 }, 10)).toEqual(want);
    await indexAll(server.storeDir, ns);
    const plan = (await tpuf.namespace(ns).explainQuery({ rank_by: ['emb', 'SparseKNN', { '2': 2, '3': 1 }] })).plan_text!;
    expect(plan).toMatch(/no sparse index/);
    expect(plan).toMatch(/sparse index sparse-0\.idx/);
    expect(await query(ns, { '2': 2, '3': 1 }, 10)).toEqual(want);
  });

  it('should refuse bad sparse values naming the document and attribute, and SparseKNN where it does not apply', async () => {
    const ns = 'sparse-errors';
    const bad = async (body: unknown) => {
      const err = await tpuf
        .namespace(ns)
        .write(body as never)
        .then(() => null, (e: unknown) => e as { status: number; message: string });
      expect(err).not.toBeNull();
      expect(err!.status).toBe(400);
      return err!.message;
    };
    expect(await bad({ upsert_rows: [{ id: 1, emb: { '1': 1 } }, { id: 9, emb: { x: 1 } }], schema: SCHEMA })).toMatch(/document 9.*'emb'.*dimension .*x.* is not an integer/);
    expect(await bad({ upsert_rows: [{ id: 3, emb: { '01': 1 } }], schema: SCHEMA })).toMatch(/document 3/);
    expect(await bad({ upsert_rows: [{ id: 4, emb: { '2': 'a' } }], schema: SCHEMA })).toMatch(/document 4.*finite number/);
    expect(await bad({ upsert_rows: [{ id: 5, emb: [1, 2] }], schema: SCHEMA })).toMatch(/document 5.*object/);
    expect(await bad({ upsert_rows: [{ id: 6, emb: { '2': 1e6 } }], schema: SCHEMA })).toMatch(/document 6.*range of f16/);
    expect(await bad({ upsert_rows: [{ id: 7, emb: { '2': 1 } }], schema: { emb: { type: 'string', sparse_knn: { distance_metric: 'dot_product' } } } })).toMatch(/sparse_knn requires type/);
    expect(await bad({ upsert_rows: [{ id: 8, emb: { '2': 1 } }], schema: { emb: { type: '{}f16', sparse_knn: { distance_metric: 'cosine' } } } })).toMatch(/dot_product/);
    expect(await bad({ upsert_rows: [{ id: 8, emb: { '2': 1 } }] })).toMatch(/sparse vector needs its type/);
    // Nothing was written by the refused requests; now a valid namespace for the query errors.
    await tpuf.namespace(ns).write({ upsert_rows: [{ id: 1, emb: { '1': 1 }, plain: { '1': 1 }, s: 'a' }] as never, schema: { ...SCHEMA, plain: '{}f16' } });
    const qerr = async (body: unknown) => {
      const e = await tpuf
        .namespace(ns)
        .query(body as never)
        .then(() => null, (x: unknown) => x as { status: number; message: string });
      expect(e?.status).toBe(400);
      return e!.message;
    };
    expect(await qerr({ rank_by: ['plain', 'SparseKNN', { '1': 1 }] })).toMatch(/no sparse kNN index/);
    expect(await qerr({ rank_by: ['s', 'SparseKNN', { '1': 1 }] })).toMatch(/sparse vector attribute/);
    expect(await qerr({ rank_by: ['emb', 'SparseKNN', { '-1': 1 }] })).toMatch(/dimension/);
    expect(await qerr({ rank_by: ['emb', 'SparseKNN', [1, 2]] })).toMatch(/object/);
    expect(await qerr({ rank_by: ['emb', 'asc'] })).toMatch(/cannot order by sparse/);
    expect(await qerr({ rank_by: ['id', 'asc'], filters: ['emb', 'Eq', 1] })).toMatch(/emb/);
    expect(await qerr({ aggregate_by: { n: ['Count'] }, group_by: ['emb'] })).toMatch(/cannot group by sparse/);
    expect(await qerr({ rank_by: ['emb', 'SparseKNN', { '1': 1 }], limit: { total: 5, per: { attributes: ['emb'], limit: 1 } } })).toMatch(/cannot limit per sparse/);
    // Count of an attribute counts the rows that have a vector.
    const count = await tpuf.namespace(ns).query({ aggregate_by: { n: ['Count', 'emb'] } } as never);
    expect(count.aggregations).toEqual({ n: 1 });
  });
});
