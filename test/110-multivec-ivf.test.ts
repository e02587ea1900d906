/**
 * Multi-vector ANN from each part's token-level IVF (RFC-0015 §4, `mvivf-{n}.bin`) through the OFFICIAL
 * @turbopuffer/turbopuffer client: parts and a WAL tail over them, filters, deletes and updates, ANN against kNN, the
 * euclidean metric; and, in process on the same store, that a cold query reads the index by ranges (a fraction of
 * the file). Every expected answer is brute-force MaxSim computed here over f32-exact values (multiples of 1/16);
 * returned $dist values are exact (candidates are re-ranked by exact MaxSim).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Turbopuffer from '@turbopuffer/turbopuffer';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { Engine } from '../crates-ts/engine/index.js';
import { indexAll, startTestServer, type TestServer } from './helpers/server.js';
import { expectedMaxSim, maxSimDist, type MaxSimMetric } from './helpers/multivec-model.js';
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

type Multi = number[][];
interface Row {
  id: number;
  toks: Multi | null;
  cat: string;
}

/** Rows of vectors near one of `centres` shared centres (token-like), f32-exact. */
function makeData(seed: number, n: number, dims: number, centres: number) {
  const r = rng(seed);
  const cs = Array.from({ length: centres }, () => Array.from({ length: dims }, () => r() * 2 - 1));
  const near = (c: number[]) => c.map((x) => Math.round((x + (r() - 0.5) * 0.6) * 16) / 16 + 0);
  const row = (id: number): Row => ({ id, cat: id % 2 ? 'odd' : 'even', toks: Array.from({ length: 2 + Math.floor(r() * 8) }, () => near(cs[Math.floor(r() * centres)]!)) });
  /** A query: 3 vectors near those of row `src`. */
  const query = (src: Multi): Multi => Array.from({ length: 3 }, () => near(src[Math.floor(r() * src.length)]!));
  return { r, row, query, near, cs };
}

async function ann(ns: string, q: Multi, k: number, extra: Record<string, unknown> = {}, mode: 'ANN' | 'kNN' = 'ANN'): Promise<{ id: number; d: number; cat: string }[]> {
  const res = await tpuf.namespace(ns).query({ rank_by: ['toks', mode, q], top_k: k, include_attributes: ['cat'], ...extra } as never);
  return (res.rows ?? []).map((x) => ({ id: x.id as number, d: x.$dist as number, cat: x.cat as string }));
}

/** Returned distances are the rows' exact MaxSim, in order. */
function expectExact(got: { id: number; d: number }[], rows: Map<number, Row>, q: Multi, metric: MaxSimMetric): void {
  for (const g of got) expect(g.d).toBeCloseTo(maxSimDist(q, rows.get(g.id)!.toks!, metric), 4);
  for (let i = 1; i < got.length; i++) expect(got[i]!.d).toBeGreaterThanOrEqual(got[i - 1]!.d - 1e-9);
}

describe('official client: multi-vector ANN from the token-level IVF (RFC-0015 §4)', () => {
  it('should answer ANN from parts and the tail with high recall, honour filters, deletes and updates, and match kNN at full ef_search', async () => {
    const ns = 'mvi-cos';
    const dims = 16;
    const { r, row, query } = makeData(110, 3000, dims, 48);
    const rows = new Map<number, Row>();
    for (let id = 0; id < 3000; id++) rows.set(id, row(id));
    const schema = { toks: { type: `[][${dims}]f32`, ann: { late_interaction: true } }, cat: 'string' };
    const all = [...rows.values()];
    await tpuf.namespace(ns).write({ upsert_rows: all.slice(0, 1500) as never, schema: schema as never });
    await tpuf.namespace(ns).write({ upsert_rows: all.slice(1500) as never });
    await indexAll(server.storeDir, ns);
    // Two parts, each with its token-level IVF and no MUVERA index.
    const store = new LocalDirStore(server.storeDir);
    const router = (await new RouterStore(store).read(ns))!;
    expect(router.router.parts.length).toBe(2);
    for (const p of router.router.parts) {
      const head = (await readManifest(store, ns, p.id))!;
      if (!isBlockHead(head)) throw new Error('not a block part');
      expect(head.multivec_ivf).toEqual([{ attr: 'toks', file: 'mvivf-0.bin' }]);
      expect(head.multivec_fde).toBeUndefined();
    }
    await store.close();

    const sources = Array.from({ length: 12 }, () => Math.floor(r() * 3000));
    const queries = sources.map((s) => query(rows.get(s)!.toks!));
    const recall = async (keep?: (x: Row) => boolean, extra: Record<string, unknown> = {}) => {
      let found = 0;
      let total = 0;
      for (const q of queries) {
        const want = expectedMaxSim(rows, q, 10, 'cosine_distance', keep);
        const got = await ann(ns, q, 10, extra);
        expect(got.length).toBe(want.length);
        expectExact(got, rows, q, 'cosine_distance');
        if (keep) for (const g of got) expect(keep(rows.get(g.id)!)).toBe(true);
        found += got.filter((g) => want.some((w) => w[0] === g.id)).length;
        total += want.length;
      }
      return found / total;
    };
    // Default settings: recall@10 against exact MaxSim over this seeded data.
    expect(await recall()).toBeGreaterThanOrEqual(0.9);
    // A filter: only matching rows, still close to the filtered exact answer.
    expect(await recall((x) => x.cat === 'odd', { filters: ['cat', 'Eq', 'odd'] })).toBeGreaterThanOrEqual(0.85);
    // ef_search at least the parts' rows: every list probed, every row re-ranked: ANN equals kNN.
    for (const q of queries.slice(0, 4)) {
      const exact = await ann(ns, q, 10, {}, 'kNN');
      expect(exact.map((g) => [g.id, g.d])).toEqual(expectedMaxSim(rows, q, 10, 'cosine_distance').map(([id, d]) => [id, expect.closeTo(d, 5)]));
      expect((await ann(ns, q, 10, { ef_search: 1500 })).map((g) => g.id)).toEqual(exact.map((g) => g.id));
    }

    // Deletes and updates in the tail over the parts: each query's current best rows are deleted or moved.
    const q0 = queries[0]!;
    const top = expectedMaxSim(rows, q0, 6, 'cosine_distance').map(([id]) => id);
    const deleted = top.slice(0, 3);
    const moved = top[3]!;
    const far = rows.get(moved)!.toks!.map((v) => v.map((x) => -x)); // the opposite vectors: far from q0 (cosine)
    await tpuf.namespace(ns).write({ deletes: deleted, patch_rows: [{ id: moved, toks: far }] } as never);
    for (const id of deleted) rows.delete(id);
    rows.set(moved, { ...rows.get(moved)!, toks: far });
    // A new tail row equal to the query: the best answer, from the tail.
    rows.set(5000, { id: 5000, cat: 'even', toks: q0 });
    await tpuf.namespace(ns).write({ upsert_rows: [rows.get(5000)] as never });
    const got = await ann(ns, q0, 10);
    expect(got[0]!.id).toBe(5000);
    expect(got[0]!.d).toBeCloseTo(0, 5);
    for (const g of got) expect(deleted).not.toContain(g.id);
    expectExact(got, rows, q0, 'cosine_distance');
    const want = expectedMaxSim(rows, q0, 10, 'cosine_distance');
    expect(got.filter((g) => want.some((w) => w[0] === g.id)).length).toBeGreaterThanOrEqual(8);
    // Once indexed again (the tail into a new part, dead rows in deletion vectors): the same answers.
    await indexAll(server.storeDir, ns);
    const again = await ann(ns, q0, 10);
    expect(again.map((g) => g.id)).toEqual(got.map((g) => g.id));
    expectExact(again, rows, q0, 'cosine_distance');
    // kNN stays exact.
    expect((await ann(ns, q0, 10, {}, 'kNN')).map((g) => g.id)).toEqual(want.map((w) => w[0]));
    // explain names the index and the probes.
    const plan = (await tpuf.namespace(ns).explainQuery({ rank_by: ['toks', 'ANN', q0] as never, top_k: 10 })).plan_text!;
    expect(plan).toMatch(/token-level IVF mvivf-0\.bin: each of the 3 query vectors probes its 32 nearest lists \(read by ranges\); the best 400 rows by approximate MaxSim/);
  });

  it('should rank euclidean_squared from the index with exact distances', async () => {
    const ns = 'mvi-l2';
    const dims = 8;
    const { r, row, query } = makeData(7, 1200, dims, 24);
    const rows = new Map<number, Row>();
    for (let id = 0; id < 1200; id++) rows.set(id, row(id));
    const schema = { toks: { type: `[][${dims}]f32`, ann: { late_interaction: true, distance_metric: 'euclidean_squared' } }, cat: 'string' };
    await tpuf.namespace(ns).write({ upsert_rows: [...rows.values()] as never, schema: schema as never });
    await indexAll(server.storeDir, ns);
    let found = 0;
    for (let i = 0; i < 8; i++) {
      const src = Math.floor(r() * 1200);
      const q = query(rows.get(src)!.toks!);
      const want = expectedMaxSim(rows, q, 10, 'euclidean_squared');
      const got = await ann(ns, q, 10);
      expectExact(got, rows, q, 'euclidean_squared');
      expect(got[0]!.d).toBeCloseTo(want[0]![1], 4);
      found += got.filter((g) => want.some((w) => w[0] === g.id)).length;
    }
    expect(found / 80).toBeGreaterThanOrEqual(0.85);
  });

  it('should read a cold part\'s index by ranges: its prefix and the probed lists, a fraction of the file', async () => {
    const ns = 'mvi-bytes';
    const dims = 32;
    const { row, query } = makeData(31, 4000, dims, 64);
    const rows = new Map<number, Row>();
    for (let id = 0; id < 4000; id++) rows.set(id, row(id));
    const schema = { toks: { type: `[][${dims}]f32`, ann: { late_interaction: true } }, cat: 'string' };
    await tpuf.namespace(ns).write({ upsert_rows: [...rows.values()] as never, schema: schema as never });
    await indexAll(server.storeDir, ns);
    const store = new LocalDirStore(server.storeDir);
    const part = (await new RouterStore(store).read(ns))!.router.parts[0]!.id;
    const head = (await readManifest(store, ns, part))!;
    if (!isBlockHead(head)) throw new Error('not a block part');
    const size = head.files.find((f) => f.name === 'mvivf-0.bin')!.bytes;
    const reads: { bytes: number; ranged: boolean }[] = [];
    const get = store.get.bind(store);
    store.get = (async (key: string, range?: { start: number; end: number }) => {
      const got = await get(key, range);
      if (key.endsWith('/mvivf-0.bin') && got) reads.push({ bytes: got.bytes.byteLength, ranged: range !== undefined });
      return got;
    }) as typeof store.get;
    let t = Date.now();
    const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
    try {
      const q = query(rows.get(1234)!.toks!);
      const res = await e.query(ns, { rank_by: ['toks', 'ANN', q], top_k: 10 });
      expect(res.rows!.length).toBe(10);
      expect(res.rows![0]!.$dist).toBeCloseTo(expectedMaxSim(rows, q, 1, 'cosine_distance')[0]![1], 4);
      expect(reads.length).toBeGreaterThan(1);
      expect(reads.every((x) => x.ranged)).toBe(true);
      const first = reads.reduce((s, x) => s + x.bytes, 0);
      expect(size).toBeGreaterThan(512 * 1024);
      expect(first).toBeLessThan(size / 2);
      // Warm: the prefix and those lists are in the cache; the same query reads nothing more.
      reads.length = 0;
      await e.query(ns, { rank_by: ['toks', 'ANN', q], top_k: 10 });
      expect(reads.length).toBe(0);
      // Concurrent queries of different vectors (and counts of vectors) on the same part each get their own answer:
      // what one prepared (its probed lists) does not stand in for another's.
      const qs = [1, 77, 2500, 3999].map((src, i) => query(rows.get(src)!.toks!).slice(0, 1 + i));
      const alone: unknown[] = [];
      for (const qq of qs) alone.push((await e.query(ns, { rank_by: ['toks', 'ANN', qq], top_k: 10 })).rows);
      const together = await Promise.all(qs.map((qq) => e.query(ns, { rank_by: ['toks', 'ANN', qq], top_k: 10 })));
      expect(together.map((x) => x.rows)).toEqual(alone);
      qs.forEach((qq, i) => expect((alone[i] as { $dist: number }[])[0]!.$dist).toBeCloseTo(expectedMaxSim(rows, qq, 1, 'cosine_distance')[0]![1], 4));
    } finally {
      await e.close();
      await store.close();
    }
  });
});
