/**
 * HNSW parameters: per namespace in the schema (vector.ann.m / ef_construction / ef_search, elax extensions) and per
 * query (ef_search). Builds read m and ef_construction from the schema; queries use the query's ef_search, else the
 * namespace's, else the server default.
 */
import { describe, it, expect, vi, afterEach } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { PartData, readManifest } from '../crates-ts/part/index.js';
import { Indexer } from '../indexer/indexer.js';

let t = 1_700_000_000_000;
const makeEngine = (store: MemoryStore) =>
  new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0, efSearch: 77 });
const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i, vector: [Math.cos(i), Math.sin(i), (i % 7) / 7] }));

afterEach(() => vi.restoreAllMocks());

describe('HNSW parameters per namespace and per query', () => {
  it('should build parts with the namespace m / ef_construction and search with the right ef_search', async () => {
    const store = new MemoryStore();
    const e = makeEngine(store);
    await e.write('ns', { distance_metric: 'euclidean_squared', upsert_rows: rows(400) });
    await e.updateSchema('ns', { vector: { type: '[3]f32', ann: { m: 6, ef_construction: 40 } } });
    const schema = await e.schema('ns');
    // Setting HNSW options keeps the metric chosen by the first write.
    expect(schema.vector).toEqual({ type: '[3]f32', ann: { distance_metric: 'euclidean_squared', m: 6, ef_construction: 40 } });
    await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => 'p' }).indexNamespace('ns', true);
    const router = (await new RouterStore(store).read('ns'))!.router;
    const manifest = (await readManifest(store, 'ns', router.parts[0]!.id))!;
    expect(manifest.index).toMatchObject({ kind: 'hnsw', M: 6, ef_construction: 40 });

    const spy = vi.spyOn(PartData.prototype, 'annSearch'); // v2 parts are searched through PartData (RFC-0004 §6)
    const q = { rank_by: ['vector', 'ANN', [1, 0, 0]], top_k: 5 };
    await e.query('ns', q);
    expect(spy.mock.calls.at(-1)![2]).toBe(77); // server default
    await e.updateSchema('ns', { vector: { type: '[3]f32', ann: { ef_search: 300 } } });
    await e.query('ns', q);
    expect(spy.mock.calls.at(-1)![2]).toBe(300); // namespace
    const res = await e.query('ns', { ...q, ef_search: 900 });
    expect(spy.mock.calls.at(-1)![2]).toBe(900); // query
    const knn = await e.query('ns', { ...q, rank_by: ['vector', 'kNN', [1, 0, 0]] });
    expect(res.rows!.map((r) => r.id)).toEqual(knn.rows!.map((r) => r.id));
    expect((await e.schema('ns')).vector).toEqual({ type: '[3]f32', ann: { distance_metric: 'euclidean_squared', m: 6, ef_construction: 40, ef_search: 300 } });
  });

  it('should reject bad values with a message naming them, changing nothing', async () => {
    const store = new MemoryStore();
    const e = makeEngine(store);
    await e.write('ns', { distance_metric: 'cosine_distance', upsert_rows: rows(3) });
    await expect(e.query('ns', { rank_by: ['vector', 'ANN', [1, 0, 0]], ef_search: 0 })).rejects.toThrow(/ef_search must be an integer in 1\.\.10000, got 0/);
    await expect(e.query('ns', { rank_by: ['id', 'asc'], ef_search: 10 })).rejects.toThrow(/ef_search applies only to rank_by \["vector", "ANN"/);
    await expect(e.updateSchema('ns', { vector: { type: '[3]f32', ann: { m: 1 } } })).rejects.toThrow(/ann\.m must be an integer in 2\.\.128, got 1/);
    await expect(e.updateSchema('ns', { vector: { type: '[3]f32', ann: { ef: 1 } } })).rejects.toThrow(/unknown ann option 'ef'/);
    expect((await e.schema('ns')).vector).toEqual({ type: '[3]f32', ann: { distance_metric: 'cosine_distance' } });
  });
});
