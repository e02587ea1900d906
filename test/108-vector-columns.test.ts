/**
 * More than one vector column (issue 14 item 9, RFC-0014) through the OFFICIAL @turbopuffer/turbopuffer client: a
 * namespace with `vector` ([4]f32, euclidean_squared) and a second vector attribute `img` ([3]f16 with
 * `ann: {distance_metric: "cosine_distance"}`). Both are ranked by `[attr, "kNN" | "ANN", v]`, each with its own
 * metric, and every expected answer is a brute-force distance computed here (values multiples of 1/8, exact in f16
 * and f32; sums in the order the server's kernels use for ≤ 4 dimensions, so distances are bit-identical). Checked
 * with rows in parts (several, built by the indexer) and more writes (updates, deletes, new rows) in the WAL tail.
 * Also: schema round trip, include_attributes (numbers and base64), filters, multi-query, and the 400s.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Turbopuffer from '@turbopuffer/turbopuffer';
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

/** Multiples of 1/8 in [-4, 4): exact in f16 and f32. */
function randomVec(r: () => number, dims: number): number[] {
  return Array.from({ length: dims }, () => Math.floor(r() * 64 - 32) / 8);
}

interface TestRow {
  id: number;
  vector: number[];
  img?: number[];
  cat: string;
}

function euclideanSquared(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) * (a[i]! - b[i]!);
  return s;
}

/** 1 - cos(a, b), 1 for a zero vector, clamped to [0, 2]: the documented cosine distance. */
function cosineDistance(q: number[], b: number[]): number {
  let d = 0;
  let qq = 0;
  let bb = 0;
  for (let i = 0; i < q.length; i++) {
    d += q[i]! * b[i]!;
    qq += q[i]! * q[i]!;
    bb += b[i]! * b[i]!;
  }
  if (qq === 0 || bb === 0) return 1;
  const x = 1 - d / (Math.sqrt(qq) * Math.sqrt(bb));
  return x < 0 ? 0 : x > 2 ? 2 : x;
}

type Metric = 'euclidean_squared' | 'cosine_distance';
const DIST: Record<Metric, (q: number[], b: number[]) => number> = { euclidean_squared: euclideanSquared, cosine_distance: cosineDistance };

/** Brute force: [id, dist] of the best k rows having `attr`, dist ascending then id ascending. */
function expected(rows: Map<number, TestRow>, attr: 'vector' | 'img', metric: Metric, q: number[], k: number, keep: (r: TestRow) => boolean = () => true): [number, number][] {
  const out: [number, number][] = [];
  for (const r of rows.values()) {
    const v = r[attr];
    if (!v || !keep(r)) continue;
    out.push([r.id, DIST[metric](q, v)]);
  }
  out.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  return out.slice(0, k);
}

const SCHEMA = {
  img: { type: '[3]f16', ann: { distance_metric: 'cosine_distance' as const } },
  cat: { type: 'string', filterable: true },
};

function makeRow(r: () => number, id: number): TestRow {
  const row: TestRow = { id, vector: randomVec(r, 4), cat: `c${id % 3}` };
  if (id % 5 !== 0) row.img = randomVec(r, 3); // every fifth row has no img
  return row;
}

async function query(ns: string, attr: string, mode: 'kNN' | 'ANN', q: number[] | string, k: number, extra: Record<string, unknown> = {}): Promise<[number, number][]> {
  const res = await tpuf.namespace(ns).query({ rank_by: [attr, mode, q] as never, ...(extra.limit === undefined ? { top_k: k } : {}), ...extra });
  return (res.rows ?? []).map((row) => [row.id as number, row.$dist as number]);
}

function base64F32(v: number[]): string {
  return Buffer.from(new Float32Array(v).buffer).toString('base64');
}

async function error(p: Promise<unknown>): Promise<{ status: number; message: string }> {
  const e = await p.then(() => null, (x: unknown) => x as { status: number; message: string });
  expect(e).not.toBeNull();
  return e!;
}

describe('official client: two vector columns, each with its own metric', () => {
  const ns = 'vcols-basic';
  const rows = new Map<number, TestRow>();
  const r = rng(108);

  beforeAll(async () => {
    // Three writes, each its own part once indexed; then updates, deletes and new rows left in the WAL tail.
    for (let batch = 0; batch < 3; batch++) {
      const upserts: TestRow[] = [];
      for (let i = 0; i < 20; i++) upserts.push(makeRow(r, batch * 20 + i + 1));
      await tpuf.namespace(ns).write({ upsert_rows: upserts as never, distance_metric: 'euclidean_squared', schema: SCHEMA });
      for (const u of upserts) rows.set(u.id, u);
    }
    await indexAll(server.storeDir, ns);
    const tail: TestRow[] = [];
    for (const id of [2, 7, 33, 61, 62, 63, 64]) tail.push(makeRow(r, id)); // 2, 7, 33 updated; 61.. new
    // Row 10 loses its img (patch to null); 4, 21 and 45 are deleted.
    await tpuf.namespace(ns).write({ upsert_rows: tail as never, patch_rows: [{ id: 10, img: null }], deletes: [4, 21, 45], distance_metric: 'euclidean_squared' });
    for (const t of tail) rows.set(t.id, t);
    delete rows.get(10)!.img;
    for (const id of [4, 21, 45]) rows.delete(id);
  });

  it('should report the second vector column with its own metric in GET schema', async () => {
    const schema = await tpuf.namespace(ns).schema();
    expect(schema.img).toEqual({ type: '[3]f16', ann: { distance_metric: 'cosine_distance' } });
    expect(schema.vector).toEqual({ type: '[4]f32', ann: { distance_metric: 'euclidean_squared' } });
  });

  it('should rank kNN and ANN on both columns as brute force does, each with its own metric, across parts and tail', async () => {
    for (let t = 0; t < 6; t++) {
      const qv = randomVec(r, 4);
      const qi = randomVec(r, 3);
      for (const k of [1, 5, 80]) {
        const wantV = expected(rows, 'vector', 'euclidean_squared', qv, k);
        const wantI = expected(rows, 'img', 'cosine_distance', qi, k);
        expect(await query(ns, 'vector', 'kNN', qv, k)).toEqual(wantV);
        expect(await query(ns, 'vector', 'ANN', qv, k)).toEqual(wantV);
        expect(await query(ns, 'img', 'kNN', qi, k)).toEqual(wantI);
        expect(await query(ns, 'img', 'ANN', qi, k)).toEqual(wantI);
      }
    }
    // Rows without img (every fifth, and the patched row 10) are never ranked by it.
    const all = await query(ns, 'img', 'kNN', [1, 0, 0], 100);
    expect(all.map(([id]) => id).sort((a, b) => a - b)).toEqual([...rows.values()].filter((x) => x.img).map((x) => x.id).sort((a, b) => a - b));
  });

  it('should take the query vector as base64 and apply a query-level distance_metric to the attribute', async () => {
    const qi = [0.5, -1, 2];
    expect(await query(ns, 'img', 'kNN', base64F32(qi), 7)).toEqual(expected(rows, 'img', 'cosine_distance', qi, 7));
    expect(await query(ns, 'img', 'kNN', qi, 7, { distance_metric: 'euclidean_squared' })).toEqual(expected(rows, 'img', 'euclidean_squared', qi, 7));
  });

  it('should combine with filters and limit.per', async () => {
    const qi = [1, 1, -0.5];
    const keep = (x: TestRow) => x.cat === 'c1';
    expect(await query(ns, 'img', 'kNN', qi, 6, { filters: ['cat', 'Eq', 'c1'] })).toEqual(expected(rows, 'img', 'cosine_distance', qi, 6, keep));
    expect(await query(ns, 'img', 'ANN', qi, 6, { filters: ['Not', ['cat', 'Eq', 'c1']] })).toEqual(expected(rows, 'img', 'cosine_distance', qi, 6, (x) => !keep(x)));
    // limit.per: the best row of each cat.
    const per = await query(ns, 'img', 'kNN', qi, 10, { limit: { total: 10, per: { attributes: ['cat'], limit: 1 } } });
    const best = new Map<string, [number, number]>();
    for (const e of expected(rows, 'img', 'cosine_distance', qi, 1000)) {
      const c = rows.get(e[0])!.cat;
      if (!best.has(c)) best.set(c, e);
    }
    expect(per).toEqual([...best.values()].sort((a, b) => a[1] - b[1] || a[0] - b[0]));
  });

  it('should return the attribute as numbers, or base64 with vector_encoding base64', async () => {
    const qi = [0, 1, 0];
    const want = expected(rows, 'img', 'cosine_distance', qi, 5);
    const res = await tpuf.namespace(ns).query({ rank_by: ['img', 'kNN', qi], top_k: 5, include_attributes: ['img', 'vector'] });
    expect(res.rows!.map((x) => [x.id, x.img, x.vector])).toEqual(want.map(([id]) => [id, rows.get(id)!.img, rows.get(id)!.vector]));
    const b64 = await tpuf.namespace(ns).query({ rank_by: ['img', 'kNN', qi], top_k: 5, include_attributes: true, vector_encoding: 'base64' });
    expect(b64.rows!.map((x) => [x.id, x.img, x.vector])).toEqual(want.map(([id]) => [id, base64F32(rows.get(id)!.img!), base64F32(rows.get(id)!.vector)]));
  });

  it('should compute VectorDist over either column with its metric', async () => {
    const qi = [2, -1, 0.5];
    const qv = [0, 1, 0, -1];
    const res = await tpuf.namespace(ns).query({
      rank_by: ['img', 'kNN', qi],
      top_k: 5,
      compute_attributes: { di: ['img', 'VectorDist', qi], dv: ['vector', 'VectorDist', qv] },
    } as never);
    const want = expected(rows, 'img', 'cosine_distance', qi, 5);
    expect(res.rows!.map((x) => [x.id, x.$dist, x.di, x.dv])).toEqual(want.map(([id, d]) => [id, d, d, euclideanSquared(qv, rows.get(id)!.vector)]));
  });

  it('should measure recall of either column through /_debug/recall rank_by (exact for `img`: recall 1)', async () => {
    const qi = [1, -0.5, 0.25];
    const rec = await tpuf.namespace(ns).recall({ rank_by: ['img', 'ANN', qi], top_k: 10, include_ground_truth: true });
    expect(rec.avg_recall).toBe(1);
    expect(rec.avg_exhaustive_count).toBe(10);
    const truth = (rec.ground_truth as unknown as { nearest_neighbors: { id: number; $dist: number }[] }[])[0]!.nearest_neighbors;
    expect(truth.map((x) => [x.id, x.$dist])).toEqual(expected(rows, 'img', 'cosine_distance', qi, 10));
    const bad = await error(tpuf.namespace(ns).recall({ rank_by: ['cat', 'ANN', qi], top_k: 10 }));
    expect(bad.status).toBe(400);
    expect(bad.message).toMatch(/needs a vector attribute/);
  });

  it('should describe the ranking in explain_query', async () => {
    const res = await tpuf.namespace(ns).explainQuery({ rank_by: ['img', 'ANN', [1, 0, 0]], top_k: 3 });
    expect(res.plan_text!).toMatch(/^query: rank_by img ANN \(3 dims, cosine_distance\), top_k 3/);
  });

  it('should answer a multi-query ranking each column', async () => {
    const qv = [1, 2, 3, 4];
    const qi = [-1, 0.5, 0.25];
    const multi = await tpuf.namespace(ns).multiQuery({
      queries: [
        { rank_by: ['vector', 'ANN', qv], top_k: 4 },
        { rank_by: ['img', 'ANN', qi], top_k: 4 },
      ],
    });
    const got = multi.results.map((res) => (res.rows ?? []).map((row) => [row.id, row.$dist]));
    expect(got).toEqual([expected(rows, 'vector', 'euclidean_squared', qv, 4), expected(rows, 'img', 'cosine_distance', qi, 4)]);
  });
});

describe('official client: ANN over a second vector column through its per-part graphs', () => {
  it('should search each part graph of the column in its metric, the tail exactly, and measure recall', async () => {
    const ns = 'vcols-graph';
    const r = rng(1080);
    const rows = new Map<number, TestRow>();
    const schema = { img: { type: '[8]f32', ann: { distance_metric: 'euclidean_squared' as const } }, cat: { type: 'string', filterable: true } };
    const vec = () => Array.from({ length: 8 }, () => Math.floor(r() * 161 - 80) / 16);
    const write = async (ids: number[], deletes: number[] = []) => {
      const up = ids.map((id): TestRow => ({ id, vector: [], img: vec(), cat: `c${id % 2}` }));
      await tpuf.namespace(ns).write({ upsert_rows: up.map(({ id, img, cat }) => ({ id, img, cat })) as never, deletes, distance_metric: 'cosine_distance', schema });
      for (const u of up) rows.set(u.id, u);
      for (const d of deletes) rows.delete(d);
    };
    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
    await write(range(1, 121));
    await write(range(121, 241));
    await indexAll(server.storeDir, ns, { hnsw: { flatThreshold: 32 } }); // two parts, each with a graph of img (120 vectors ≥ 32)
    await write(range(241, 261), [5, 130, 131]); // tail: new rows and deletes of part rows
    await write([7, 200]); // tail: updates of part rows (their part copies are dead)

    const plan = (await tpuf.namespace(ns).explainQuery({ rank_by: ['img', 'ANN', vec()], top_k: 10 })).plan_text!;
    expect(plan).toMatch(/HNSW graph vann-0\.hnsw/);
    expect(plan).toMatch(/no graph of img in this tail/);
    let found = 0;
    let total = 0;
    for (let t = 0; t < 8; t++) {
      // Half the queries are a stored row's own vector (tail or part): it must come first at distance 0.
      const own = t % 2 === 0 ? [...rows.values()][Math.floor(r() * rows.size)]! : null;
      const q = own ? own.img! : vec();
      const want = expected(rows, 'img', 'euclidean_squared', q, 10);
      const got = await query(ns, 'img', 'ANN', q, 10);
      // Every returned row carries its exact distance and nothing dead or stale is returned, best first.
      for (const [id, d] of got) expect(d).toBe(euclideanSquared(q, rows.get(id)!.img!));
      expect(got.map(([, d]) => d)).toEqual([...got.map(([, d]) => d)].sort((a, b) => a - b));
      if (own) expect(got[0]).toEqual([own.id, 0]);
      const truth = new Set(want.map(([id]) => id));
      found += got.filter(([id]) => truth.has(id)).length;
      total += want.length;
      // kNN over the same column stays exact.
      expect(await query(ns, 'img', 'kNN', q, 10)).toEqual(want);
      // Filtered ANN over this column is exact.
      expect(await query(ns, 'img', 'ANN', q, 5, { filters: ['cat', 'Eq', 'c1'] })).toEqual(expected(rows, 'img', 'euclidean_squared', q, 5, (x) => x.cat === 'c1'));
    }
    // 120-vector graphs searched with ef ≥ 64: they find the true neighbours.
    expect(found / total).toBeGreaterThanOrEqual(0.95);
    const q = vec();
    const rec = await tpuf.namespace(ns).recall({ rank_by: ['img', 'ANN', q], top_k: 10 });
    expect(rec.avg_exhaustive_count).toBe(10);
    expect(rec.avg_ann_count).toBe(10);
    expect(rec.avg_recall).toBeGreaterThanOrEqual(0.9);
  });
});

describe('official client: filtered ANN over a second vector column', () => {
  it('should walk the part graph among the rows the filter allows (many), or rank them exactly (few)', async () => {
    const ns = 'vcols-filtered';
    const r = rng(2108);
    const rows = new Map<number, TestRow>();
    const schema = { img: { type: '[8]f32', ann: { distance_metric: 'cosine_distance' as const } }, cat: { type: 'string', filterable: true } };
    const up: TestRow[] = [];
    // 5000 rows: cat c0 holds ~3000 (more than the 2048 an exact ranking of the allowed rows takes), c1 ~2000, c2 20.
    for (let id = 1; id <= 5000; id++) up.push({ id, vector: [], img: Array.from({ length: 8 }, () => Math.floor(r() * 161 - 80) / 16), cat: id % 250 === 0 ? 'c2' : r() < 0.6 ? 'c0' : 'c1' });
    await tpuf.namespace(ns).write({ upsert_rows: up.map(({ id, img, cat }) => ({ id, img, cat })) as never, distance_metric: 'euclidean_squared', schema });
    for (const u of up) rows.set(u.id, u);
    await indexAll(server.storeDir, ns);
    await tpuf.namespace(ns).write({ deletes: [250, 500] }); // two c2 rows deleted in the tail
    rows.delete(250);
    rows.delete(500);
    let found = 0;
    let total = 0;
    for (let t = 0; t < 5; t++) {
      const q = Array.from({ length: 8 }, () => Math.floor(r() * 161 - 80) / 16);
      const keep = (x: TestRow) => x.cat === 'c0';
      const want = expected(rows, 'img', 'cosine_distance', q, 10, keep);
      const got = await query(ns, 'img', 'ANN', q, 10, { filters: ['cat', 'Eq', 'c0'] });
      expect(got.length).toBe(10);
      for (const [id, d] of got) {
        expect(rows.get(id)!.cat).toBe('c0');
        expect(d).toBe(cosineDistance(q, rows.get(id)!.img!));
      }
      const truth = new Set(want.map(([id]) => id));
      found += got.filter(([id]) => truth.has(id)).length;
      total += want.length;
      // Few allowed rows: exactly the brute-force answer, deleted rows excluded.
      expect(await query(ns, 'img', 'ANN', q, 30, { filters: ['cat', 'Eq', 'c2'] })).toEqual(expected(rows, 'img', 'cosine_distance', q, 30, (x) => x.cat === 'c2'));
    }
    expect(found / total).toBeGreaterThanOrEqual(0.9);
  });
});

describe('official client: a second vector column without a `vector`, its metric from the namespace', () => {
  it('should use the namespace distance_metric when the attribute names none, in the tail and in parts', async () => {
    const ns = 'vcols-only';
    const r = rng(7);
    const rows = new Map<number, TestRow>();
    const schema = { img: { type: '[3]f32', ann: true }, cat: 'string' };
    const mk = (id: number): TestRow => ({ id, vector: [], img: randomVec(r, 3), cat: 'x' });
    const write = async (ids: number[]) => {
      const up = ids.map(mk);
      await tpuf.namespace(ns).write({ upsert_rows: up.map(({ id, img }) => ({ id, img })) as never, distance_metric: 'euclidean_squared', schema });
      for (const u of up) rows.set(u.id, u);
    };
    await write([1, 2, 3, 4, 5, 6]);
    await write([7, 8, 9, 10]);
    await indexAll(server.storeDir, ns);
    await write([3, 11, 12]);
    expect((await tpuf.namespace(ns).schema()).img).toEqual({ type: '[3]f32', ann: { distance_metric: 'euclidean_squared' } });
    const qi = [0.5, 0.5, -2];
    expect(await query(ns, 'img', 'kNN', qi, 20)).toEqual(expected(rows, 'img', 'euclidean_squared', qi, 20));
  });
});

describe('official client: vector column errors', () => {
  it('should refuse a third vector column, naming the limit', async () => {
    const ns = 'vcols-errors';
    await tpuf.namespace(ns).write({ upsert_rows: [{ id: 1, vector: [1, 0], a: [1, 2] }] as never, distance_metric: 'cosine_distance', schema: { a: { type: '[2]f32', ann: true } } });
    const e = await error(tpuf.namespace(ns).write({ upsert_rows: [{ id: 2, b: [1, 2] }] as never, schema: { b: '[2]f32' } }));
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/at most 2 vector columns/);
    // Not through the schema endpoint either.
    const e2 = await error(tpuf.namespace(ns).updateSchema({ schema: { c: { type: '[8]f16', ann: true } } } as never));
    expect(e2.status).toBe(400);
    expect(e2.message).toMatch(/at most 2 vector columns/);
  });

  it('should validate values of a vector attribute as it does `vector`', async () => {
    const ns = 'vcols-values';
    const w = (row: Record<string, unknown>) => tpuf.namespace(ns).write({ upsert_rows: [row] as never, distance_metric: 'cosine_distance', schema: { a: { type: '[2]f32', ann: true } } });
    await w({ id: 1, a: [1, 2] });
    expect((await error(w({ id: 2, a: [1, 2, 3] }))).message).toMatch(/3 dimensions.*2/);
    expect((await error(w({ id: 2, a: [1, 'x'] }))).message).toMatch(/element 1/);
    expect((await error(w({ id: 2, a: 'abc' }))).message).toMatch(/base64/);
    expect((await error(w({ id: 2, a: 1e300 as unknown as number[] }))).status).toBe(400);
    expect((await error(w({ id: 2, a: [1e300, 1] }))).message).toMatch(/finite/);
    expect((await error(w({ id: 2, a: base64F32([1, 2, 3]) }))).message).toMatch(/3 dimensions/);
    await w({ id: 3, a: base64F32([0.5, 0.25]) });
    // Column-form upserts and patches (by id and by filter) go through the same checks.
    await tpuf.namespace(ns).write({ upsert_columns: { id: [4, 5], a: [[0, 1], base64F32([-1, 0])] } as never });
    expect((await error(tpuf.namespace(ns).write({ upsert_columns: { id: [6], a: [[0, 1, 2]] } as never }))).message).toMatch(/upsert_columns.*3 dimensions/);
    await tpuf.namespace(ns).write({ patch_rows: [{ id: 5, a: [-1, -1] }] as never });
    expect((await error(tpuf.namespace(ns).write({ patch_rows: [{ id: 5, a: [1] }] as never }))).message).toMatch(/1 dimensions/);
    await tpuf.namespace(ns).write({ patch_by_filter: { filters: ['id', 'Eq', 4], patch: { a: [0, 2] } } } as never);
    const res = await tpuf.namespace(ns).query({ rank_by: ['a', 'kNN', [1, 0]], top_k: 5, include_attributes: ['a'] });
    // cosine distances to [1, 0]: 3 → 1 - 0.5/√0.3125, 1 → 1 - 1/√5, 4 ([0, 2]) → 1, 5 ([-1, -1]) → 1 + 1/√2.
    expect(res.rows!.map((x) => [x.id, x.a])).toEqual([
      [3, [0.5, 0.25]],
      [1, [1, 2]],
      [4, [0, 2]],
      [5, [-1, -1]],
    ]);
    // [N]f16: values rounded to f16; base64 of little-endian f16 accepted too.
    const h = 'vcols-f16';
    await tpuf.namespace(h).write({ upsert_rows: [{ id: 1, e: [0.1, 3] }, { id: 2, e: Buffer.from(new Uint16Array([0x3c00, 0xc000]).buffer).toString('base64') }] as never, distance_metric: 'euclidean_squared', schema: { e: { type: '[2]f16', ann: true } } });
    const hr = await tpuf.namespace(h).query({ rank_by: ['e', 'kNN', [0, 0]], top_k: 5, include_attributes: ['e'] });
    expect(hr.rows!.map((x) => [x.id, x.e, x.$dist])).toEqual([
      [2, [1, -2], 5],
      [1, [0.099975586, 3], 0.0999755859375 ** 2 + 9],
    ]);
    expect((await error(tpuf.namespace(h).write({ upsert_rows: [{ id: 3, e: [1, 70000] }] as never }))).message).toMatch(/overflows f16/);
  });

  it('should reject bad schemas and bad rank_by on vector attributes with 400', async () => {
    const ns = 'vcols-bad';
    await tpuf.namespace(ns).write({ upsert_rows: [{ id: 1, a: [1, 2], s: 'x', off: [1, 1] }] as never, distance_metric: 'cosine_distance', schema: { a: { type: '[2]f32', ann: { distance_metric: 'euclidean_squared' } }, off: { type: '[2]f32', ann: false } } });
    const cases: [Promise<unknown>, RegExp][] = [
      [tpuf.namespace(ns).updateSchema({ schema: { s2: { type: 'string', ann: true } } } as never), /ann applies only to vector attributes/],
      [tpuf.namespace(ns).updateSchema({ schema: { a: { type: '[2]f32', filterable: true } } } as never), /cannot be filterable/],
      [tpuf.namespace(ns).updateSchema({ schema: { a: { type: '[2]f32', ann: { distance_metric: 'cosine_distance' } } } } as never), /distance_metric euclidean_squared/],
      [tpuf.namespace(ns).query({ rank_by: ['a', 'kNN', [1, 2, 3]], top_k: 1 }), /3 dimensions but attribute 'a' has 2/],
      [tpuf.namespace(ns).query({ rank_by: ['s', 'kNN', [1, 2]], top_k: 1 }), /needs a vector attribute/],
      [tpuf.namespace(ns).query({ rank_by: ['nope', 'ANN', [1, 2]], top_k: 1 }), /not in the namespace schema/],
      [tpuf.namespace(ns).query({ rank_by: ['off', 'ANN', [1, 2]], top_k: 1 }), /ann: false/],
      [tpuf.namespace(ns).query({ rank_by: ['a', 'asc'], top_k: 1 }), /cannot order by vector attribute 'a'/],
      [tpuf.namespace(ns).query({ rank_by: ['a', 'kNN', [1, 2]], top_k: 1, filters: ['a', 'Eq', 1] } as never), /vector attributes cannot be filtered/],
    ];
    for (const [p, re] of cases) {
      const e = await error(p);
      expect(e.status, String(re)).toBe(400);
      expect(e.message).toMatch(re);
    }
    // kNN over the ann: false attribute is exact and allowed; `a` uses its own metric (euclidean), not the namespace's.
    expect(await query(ns, 'off', 'kNN', [1, 0], 1)).toEqual([[1, 1 - 1 / Math.sqrt(2)]]);
    expect(await query(ns, 'a', 'kNN', [1, 0], 1)).toEqual([[1, 4]]);
  });
});
