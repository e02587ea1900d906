/**
 * Multi-vector late interaction (issue 14 item 12, RFC-0015) through the OFFICIAL @turbopuffer/turbopuffer client: a
 * `[][N]f32` attribute (an array of N-dim vectors per row), ranked by `[attr, "kNN" | "ANN", number[][]]` with MaxSim.
 * Every expected answer is computed here by brute force (values chosen f32-exact): $dist = Σ_q min_d dist(q, d)
 * (= |Q| − Σ_q max_d cos_sim(q, d) for cosine_distance), lower first, ties by id. Checked with every row in the WAL
 * tail, once indexed (parts), and with more writes in the tail over those parts.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Turbopuffer from '@turbopuffer/turbopuffer';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';
import { indexAll, startTestServer, type TestServer } from './helpers/server.js';
import { expectedMaxSim, l2, maxSimDist } from './helpers/multivec-model.js';
import { isBlockHead, readManifest } from '../crates-ts/part/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
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

type Multi = number[][];
interface TestRow {
  id: number;
  toks?: Multi | null;
  cat?: string;
}

/** f32-exact values: multiples of 1/16 in [-2, 2]. */
function randomMulti(r: () => number, n: number, dims: number): Multi {
  return Array.from({ length: n }, () => Array.from({ length: dims }, () => Math.round(r() * 64 - 32) / 16 + 0));
}

function expectClose(got: [number, number][], want: [number, number][]): void {
  expect(got.map((g) => g[0])).toEqual(want.map((w) => w[0]));
  got.forEach((g, i) => expect(g[1]).toBeCloseTo(want[i]![1], 5));
}

const DIMS = 4;
const SCHEMA = { toks: { type: `[][${DIMS}]f32`, ann: { late_interaction: true } }, cat: 'string' };

async function query(ns: string, q: Multi, k: number, mode: 'kNN' | 'ANN' = 'kNN', extra: Record<string, unknown> = {}): Promise<[number, number][]> {
  const res = await tpuf.namespace(ns).query({ rank_by: ['toks', mode, q], top_k: k, ...extra } as never);
  return (res.rows ?? []).map((row) => [row.id as number, row.$dist as number]);
}

async function status(p: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await p;
    return { status: 200, message: '' };
  } catch (e) {
    const err = e as { status?: number; message?: string };
    return { status: err.status ?? 0, message: String(err.message) };
  }
}

describe('official client: [][N]f32 multi-vector attributes', () => {
  it('should store multi-vectors, report the schema, and return the arrays from the tail and from parts', async () => {
    const ns = 'mv-store';
    const rows = [
      { id: 1, toks: [[1, 0, 0, 0], [0, 1, 0, 0]], cat: 'a' },
      { id: 2, toks: [[0.5, -0.25, 0, 1]], cat: 'b' },
      { id: 3, cat: 'a' },
    ];
    await tpuf.namespace(ns).write({ upsert_rows: rows, schema: SCHEMA as never });
    const schema = await tpuf.namespace(ns).schema();
    expect(schema.toks).toEqual({ type: '[][4]f32', filterable: false, ann: { late_interaction: true } });
    const read = async () =>
      (await tpuf.namespace(ns).query({ rank_by: ['id', 'asc'], top_k: 10, include_attributes: ['toks'] })).rows!.map((r) => [r.id, r.toks ?? null]);
    const want = [[1, rows[0]!.toks], [2, rows[1]!.toks], [3, null]];
    expect(await read()).toEqual(want);
    await indexAll(server.storeDir, ns);
    expect(await read()).toEqual(want);
  });

  it('should refuse malformed multi-vectors and schemas with 400s naming the problem', async () => {
    const ns = 'mv-bad';
    await tpuf.namespace(ns).write({ upsert_rows: [{ id: 1, toks: [[1, 2, 3, 4]] }], schema: SCHEMA as never });
    const w = (row: Record<string, unknown>) => status(tpuf.namespace(ns).write({ upsert_rows: [row as never] }));
    let r = await w({ id: 7, toks: [[1, 2, 3]] });
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/upsert_rows\[0\].*document 7.*'toks'.*vector 0 has 3 dimensions/);
    r = await w({ id: 7, toks: [] });
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/at least one vector/);
    r = await w({ id: 7, toks: [1, 2, 3, 4] });
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/vector 0 must be an array/);
    r = await w({ id: 7, toks: [[1, 2, 'x', 4]] });
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/vector 0 element 2 must be a finite number/);
    r = await w({ id: 7, toks: Array.from({ length: 4097 }, () => [0, 0, 0, 1]) });
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/at most 4096 vectors/);
    // No type: an array of arrays is not inferred.
    r = await status(tpuf.namespace('mv-bad-2').write({ upsert_rows: [{ id: 1, toks: [[1, 2]] } as never] }));
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/\[\]\[N\]f32/);
    // Schema errors.
    const s = (schema: unknown) => status(tpuf.namespace('mv-bad-3').write({ upsert_rows: [{ id: 1 }], schema: schema as never }));
    r = await s({ toks: { type: '[][4]f32', ann: true } });
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/late_interaction/);
    r = await s({ toks: { type: '[][4]f32', filterable: true } });
    expect(r.status).toBe(400);
    r = await s({ toks: { type: '[4]f32', ann: { late_interaction: true } } });
    expect(r.status).toBe(400);
    r = await s({ toks: { type: '[][0]f32' } });
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/\[\]\[N\]f32/);
    // Filters on a multi-vector attribute.
    r = await status(tpuf.namespace(ns).query({ filters: ['toks', 'Eq', 1], top_k: 1 } as never));
    expect(r.status).toBe(400);
  });

  it('should rank kNN by MaxSim over the tail, over parts, and over parts with a tail of updates and deletes', async () => {
    const ns = 'mv-knn';
    const r = rng(109);
    const rows = new Map<number, TestRow>();
    const batch: TestRow[] = [];
    for (let id = 0; id < 120; id++) {
      const row: TestRow = { id, cat: ['x', 'y', 'z'][id % 3]! };
      if (id % 13 !== 6) row.toks = randomMulti(r, 1 + (id % 6), DIMS);
      rows.set(id, row);
      batch.push(row);
    }
    await tpuf.namespace(ns).write({ upsert_rows: batch.slice(0, 60) as never, schema: SCHEMA as never });
    await tpuf.namespace(ns).write({ upsert_rows: batch.slice(60) as never });
    const queries = [randomMulti(r, 3, DIMS), randomMulti(r, 1, DIMS), randomMulti(r, 5, DIMS)];
    const check = async () => {
      for (const q of queries) {
        expectClose(await query(ns, q, 10), expectedMaxSim(rows, q, 10));
        expectClose(await query(ns, q, 7, 'ANN'), expectedMaxSim(rows, q, 7)); // ANN: candidates re-ranked exactly
        expectClose(await query(ns, q, 5, 'kNN', { filters: ['cat', 'Eq', 'y'] }), expectedMaxSim(rows, q, 5, 'cosine_distance', (x) => x.cat === 'y'));
      }
    };
    await check(); // all in the tail
    await indexAll(server.storeDir, ns);
    await check(); // all in parts
    // The tail over parts: updates (new vectors), a removed value, deletes and new rows.
    const upd: TestRow[] = [];
    for (const id of [3, 17, 44, 90]) {
      const row: TestRow = { id, cat: 'y', toks: randomMulti(r, 2, DIMS) };
      rows.set(id, row);
      upd.push(row);
    }
    const cleared: TestRow = { id: 5, cat: 'x', toks: null };
    rows.set(5, cleared);
    for (let id = 200; id < 210; id++) {
      const row: TestRow = { id, cat: 'y', toks: randomMulti(r, 3, DIMS) };
      rows.set(id, row);
      upd.push(row);
    }
    await tpuf.namespace(ns).write({ upsert_rows: [...upd, cleared] as never, deletes: [8, 9, 60] });
    for (const id of [8, 9, 60]) rows.delete(id);
    await check();
    // patch_rows (a part row and a tail row) and upsert_columns carry multi-vectors too.
    const p10 = randomMulti(r, 3, DIMS);
    const p201 = randomMulti(r, 1, DIMS);
    await tpuf.namespace(ns).write({ patch_rows: [{ id: 10, toks: p10 }, { id: 201, toks: p201 }] as never });
    rows.set(10, { ...rows.get(10)!, toks: p10 });
    rows.set(201, { ...rows.get(201)!, toks: p201 });
    const c1 = randomMulti(r, 2, DIMS);
    const c2 = randomMulti(r, 4, DIMS);
    await tpuf.namespace(ns).write({ upsert_columns: { id: [400, 401], cat: ['x', 'z'], toks: [c1, c2] } as never });
    rows.set(400, { id: 400, cat: 'x', toks: c1 });
    rows.set(401, { id: 401, cat: 'z', toks: c2 });
    await check();
    const bad = await status(tpuf.namespace(ns).write({ upsert_columns: { id: [402, 403], toks: [c1, [[1, 2]]] } as never }));
    expect(bad.status).toBe(400);
    expect(bad.message).toMatch(/upsert_columns.*document 403.*'toks'.*vector 0 has 2 dimensions/);
    // Compaction merges the parts (the merged part keeps the column and builds its token-level IVF, RFC-0015 §4); a tail row over it.
    await indexAll(server.storeDir, ns);
    const store = new LocalDirStore(server.storeDir);
    expect((await compactNamespace(store, ns, { clock: { now: () => Date.now() }, nonce: () => `mvc${nonce++}`, force: true })).result).toBe('compacted');
    const router = (await new RouterStore(store).read(ns))!;
    const heads = await Promise.all(router.router.parts.map((p) => readManifest(store, ns, p.id)));
    expect(heads.some((h) => h && isBlockHead(h) && h.multivec_ivf?.[0]?.attr === 'toks' && h.multivec_fde === undefined)).toBe(true);
    await store.close();
    const late: TestRow = { id: 300, cat: 'y', toks: randomMulti(r, 2, DIMS) };
    rows.set(300, late);
    await tpuf.namespace(ns).write({ upsert_rows: [late] as never });
    await check();
    // include_attributes returns the arrays; top_k larger than the rows holding vectors returns them all.
    const q = queries[0]!;
    const res = await tpuf.namespace(ns).query({ rank_by: ['toks', 'kNN', q] as never, top_k: 3, include_attributes: ['toks', 'cat'] });
    const want = expectedMaxSim(rows, q, 3);
    expect(res.rows!.map((x) => [x.id, x.toks, x.cat])).toEqual(want.map(([id]) => [id, rows.get(id)!.toks, rows.get(id)!.cat]));
    const every = await query(ns, q, 1000);
    expect(every.length).toBe([...rows.values()].filter((x) => x.toks).length);
  });

  it('should use the attribute\'s distance_metric (euclidean_squared), and answer multi-queries', async () => {
    const ns = 'mv-l2';
    const r = rng(7);
    const rows = new Map<number, TestRow>();
    for (let id = 1; id <= 40; id++) rows.set(id, { id, toks: randomMulti(r, 1 + (id % 3), 3) });
    await tpuf.namespace(ns).write({
      upsert_rows: [...rows.values()] as never,
      schema: { toks: { type: '[][3]f32', ann: { late_interaction: true, distance_metric: 'euclidean_squared' } } } as never,
    });
    const q1 = randomMulti(r, 2, 3);
    const q2 = randomMulti(r, 4, 3);
    const check = async () => {
      const res = await tpuf.namespace(ns).multiQuery({
        queries: [
          { rank_by: ['toks', 'kNN', q1] as never, top_k: 6 },
          { rank_by: ['toks', 'ANN', q2] as never, top_k: 4 },
        ],
      });
      expectClose(res.results[0]!.rows!.map((x) => [x.id as number, x.$dist as number]), expectedMaxSim(rows, q1, 6, 'euclidean_squared'));
      expectClose(res.results[1]!.rows!.map((x) => [x.id as number, x.$dist as number]), expectedMaxSim(rows, q2, 4, 'euclidean_squared'));
    };
    await check();
    await indexAll(server.storeDir, ns);
    await check();
    // A single query vector against rows of one vector is the plain single-vector distance.
    const one = [[1, 0.5, -0.25]];
    const got = await query(ns, one, 40);
    for (const [id, d] of got) {
      const row = rows.get(id)!.toks!;
      expect(d).toBeCloseTo(Math.min(...row.map((v) => l2(one[0]!, v))), 5);
    }
  });

  it('should refuse bad multi-vector queries with 400s', async () => {
    const ns = 'mv-bad-q';
    await tpuf.namespace(ns).write({
      upsert_rows: [{ id: 1, toks: [[1, 2, 3, 4]], plain: [[0, 1]] }] as never,
      schema: { ...SCHEMA, plain: '[][2]f32' } as never,
    });
    const q = (rank_by: unknown) => status(tpuf.namespace(ns).query({ rank_by: rank_by as never, top_k: 1 }));
    let r = await q(['plain', 'ANN', [[0, 1]]]);
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/late_interaction/);
    expect((await q(['plain', 'kNN', [[0, 1]]])).status).toBe(200);
    r = await q(['toks', 'kNN', [[1, 2, 3]]]);
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/query vector 0 has 3 dimensions/);
    r = await q(['toks', 'kNN', []]);
    expect(r.status).toBe(400);
    r = await q(['toks', 'kNN', [1, 2, 3, 4]]);
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/array of 4-dimensional query vectors/);
    r = await status(tpuf.namespace(ns).query({ rank_by: ['plain', 'kNN', [[0, 1]]], ef_search: 10 } as never));
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/ef_search applies only to/);
    r = await q(['toks', 'asc']);
    expect(r.status).toBe(400);
    r = await q(['vector', 'kNN', [[1, 2, 3, 4]]]);
    expect(r.status).toBe(400);
    // Not a key, a group or a per-limit; Count counts the rows holding vectors.
    r = await status(tpuf.namespace(ns).query({ aggregate_by: { n: ['Count'] }, group_by: ['toks'] } as never));
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/cannot group by multi-vector attribute 'toks'/);
    r = await status(tpuf.namespace(ns).query({ rank_by: ['toks', 'kNN', [[1, 0, 0, 0]]], limit: { total: 5, per: { attributes: ['toks'], limit: 1 } } } as never));
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/cannot limit per multi-vector attribute 'toks'/);
    await tpuf.namespace(ns).write({ upsert_rows: [{ id: 2 }, { id: 3, toks: [[0, 0, 0, 1], [1, 1, 1, 1]] }] as never });
    const counted = await tpuf.namespace(ns).query({ aggregate_by: { n: ['Count', 'toks'] } } as never);
    expect((counted.aggregations as Record<string, unknown>).n).toBe(2);
  });

  it('should answer ANN from each part\'s token-level IVF (candidates re-ranked by exact MaxSim) and the tail exactly', async () => {
    const ns = 'mv-ann';
    const r = rng(2026);
    const rows = new Map<number, TestRow>();
    const dims = 8;
    // Clustered rows (vectors near one of 12 centres), so that a query built from a row's vectors has a clear best.
    const centres = randomMulti(r, 12, dims);
    const near = (c: number[]) => c.map((x) => Math.round((x + (r() - 0.5) * 0.5) * 16) / 16 + 0);
    for (let id = 0; id < 700; id++) rows.set(id, { id, cat: id % 2 ? 'odd' : 'even', toks: Array.from({ length: 2 + (id % 5) }, () => near(centres[Math.floor(r() * 12)]!)) });
    const schema = { toks: { type: `[][${dims}]f32`, ann: { late_interaction: true } }, cat: 'string' };
    await tpuf.namespace(ns).write({ upsert_rows: [...rows.values()] as never, schema: schema as never });
    await indexAll(server.storeDir, ns);
    // The part has its token-level IVF (RFC-0015 §4), not the MUVERA index of parts built before it.
    const store = new LocalDirStore(server.storeDir);
    const router = (await new RouterStore(store).read(ns))!;
    expect(router.router.parts.length).toBe(1);
    const head = (await readManifest(store, ns, router.router.parts[0]!.id))!;
    if (!isBlockHead(head)) throw new Error('not a block part');
    expect(head.multivec_ivf).toEqual([{ attr: 'toks', file: 'mvivf-0.bin' }]);
    expect(head.multivec_fde).toBeUndefined();
    await store.close();
    // Tail rows over the part.
    for (let id = 700; id < 720; id++) rows.set(id, { id, cat: 'even', toks: [near(centres[id % 12]!)] });
    await tpuf.namespace(ns).write({ upsert_rows: [...rows.values()].filter((x) => x.id >= 700) as never });
    let found = 0;
    let total = 0;
    for (const target of [3, 50, 222, 401, 650, 710]) {
      const q = rows.get(target)!.toks!.slice(0, 2);
      const want = expectedMaxSim(rows, q, 5);
      const got = await query(ns, q, 5, 'ANN');
      // Every returned row carries its exact MaxSim distance, in order.
      expect(got.length).toBe(5);
      for (const [id, d] of got) expect(d).toBeCloseTo(maxSimDist(q, rows.get(id)!.toks!, 'cosine_distance'), 5);
      for (let i = 1; i < got.length; i++) expect(got[i]![1]).toBeGreaterThanOrEqual(got[i - 1]![1] - 1e-12);
      // The exact best row (distance ~0: the query is its own vectors) is always found.
      expect(got[0]![1]).toBeCloseTo(want[0]![1], 5);
      found += got.filter(([id]) => want.some((w) => w[0] === id)).length;
      total += want.length;
      // Filtered ANN: only matching rows.
      const f = await tpuf.namespace(ns).query({ rank_by: ['toks', 'ANN', q] as never, top_k: 5, filters: ['cat', 'Eq', 'odd'], include_attributes: ['cat'] });
      expect(f.rows!.every((x) => x.cat === 'odd')).toBe(true);
    }
    // Recall@5 against exact MaxSim over this seeded data (400 candidates a part of 700 rows, 32 lists probed per query vector).
    expect(found / total).toBeGreaterThanOrEqual(0.8);
    // _debug/recall measures the same thing for a given multi-vector query (ANN against exact kNN).
    for (const target of [50, 401]) {
      const q = rows.get(target)!.toks!.slice(0, 2);
      const want = expectedMaxSim(rows, q, 5).map((w) => w[0]);
      const ann = (await query(ns, q, 5, 'ANN')).map((g) => g[0]);
      const rec = await tpuf.namespace(ns).recall({ rank_by: ['toks', 'ANN', q] as never, top_k: 5 });
      expect(rec.avg_recall).toBeCloseTo(ann.filter((id) => want.includes(id)).length / want.length, 10);
      expect(rec.avg_exhaustive_count).toBe(5);
    }
    // kNN stays exact.
    const q = rows.get(3)!.toks!;
    const plan = (await tpuf.namespace(ns).explainQuery({ rank_by: ['toks', 'ANN', q] as never, top_k: 5 })).plan_text!;
    expect(plan).toMatch(/token-level IVF mvivf-0\.bin: each of the 5 query vectors probes its 32 nearest lists \(read by ranges\); the best 400 rows by approximate MaxSim/);
    expect(plan).toMatch(/exact MaxSim/);
    // ef_search (elax extension) sets the candidates a part (and the lists probed, in proportion): all of them makes ANN exact; few of them lose rows.
    const all = (await tpuf.namespace(ns).explainQuery({ rank_by: ['toks', 'ANN', q] as never, top_k: 5, ef_search: 700 } as never)).plan_text!;
    expect(all).toMatch(/probes every list \(no more rows than candidates\); the best 700 rows by approximate MaxSim/);
    for (const target of [3, 50, 222]) {
      const qq = rows.get(target)!.toks!.slice(0, 2);
      expectClose(await query(ns, qq, 10, 'ANN', { ef_search: 700 }), expectedMaxSim(rows, qq, 10));
    }
    const few = await query(ns, rows.get(3)!.toks!.slice(0, 2), 10, 'ANN', { ef_search: 10 });
    expect(few.length).toBe(10);
    expectClose(await query(ns, q, 10, 'kNN'), expectedMaxSim(rows, q, 10));
  });

  it('should rank a sharded namespace across its shards, in the tail and in parts', async () => {
    const ns = 'mv-sharded';
    const r = rng(11);
    const rows = new Map<number, TestRow>();
    for (let id = 0; id < 80; id++) rows.set(id, { id, toks: randomMulti(r, 1 + (id % 4), DIMS) });
    await tpuf.namespace(ns).write({ sharding: { num_shards: 3 }, upsert_rows: [...rows.values()] as never, schema: SCHEMA as never } as never);
    const q = randomMulti(r, 3, DIMS);
    expectClose(await query(ns, q, 12), expectedMaxSim(rows, q, 12));
    const ix = new Indexer(new LocalDirStore(server.storeDir), { clock: { now: () => Date.now() }, nonce: () => `mvs${nonce++}` });
    await ix.drain(ns);
    expectClose(await query(ns, q, 12), expectedMaxSim(rows, q, 12));
    expectClose(await query(ns, q, 12, 'ANN'), expectedMaxSim(rows, q, 12));
  });
});
