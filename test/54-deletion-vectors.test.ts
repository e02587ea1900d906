/**
 * Stored liveness (RFC-0004 §3): publishes write deletion vectors for the rows they shadow or delete, in the same
 * router CAS; compaction and reindex translate deaths that happened after their fold; a v1 router is upgraded by the
 * first publish; GC removes superseded deletion vectors after the grace period.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, type ObjectStore } from '../crates-ts/store/index.js';
import { HookStore } from './helpers/hook-store.js';
import { RouterStore, type Router } from '../crates-ts/router/index.js';
import { decodeDeletionVector, deadOrdinals, loadPart, partFileKey } from '../crates-ts/part/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';
import { reindexNamespace } from '../indexer/reindex.js';
import { gcNamespace } from '../indexer/gc.js';

let t = Date.now();
const clock = { now: () => (t += 1) };
let n = 0;
const nonce = () => `t${n++}`;
const engine = (store: ObjectStore) => new Engine(store, { clock, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
const index = (store: ObjectStore, ns: string) => new Indexer(store, { clock, nonce, hnsw: { flatThreshold: 4 } }).indexNamespace(ns, true);
const router = async (store: ObjectStore, ns: string) => (await new RouterStore(store).read(ns))!.router;
const row = (id: number, v: number) => ({ id, vector: [Math.cos(id + v), Math.sin(id + v)], v });

/** Dead ids per part, read straight from the stored deletion vectors. */
async function deadIds(store: ObjectStore, ns: string, r: Router): Promise<unknown[][]> {
  return Promise.all(
    r.parts.map(async (p) => {
      if (!p.deletes) return [];
      const part = await loadPart(store, ns, p.id, undefined, { lazy: true });
      const { mask } = decodeDeletionVector((await store.get(partFileKey(ns, p.id, p.deletes.file)))!.bytes, p.rows, p.id);
      return deadOrdinals(mask).map((o) => part.docs[o]!.id);
    }),
  );
}

const all = async (e: Engine, ns: string) => (await e.query(ns, { rank_by: ['id', 'asc'], top_k: 1000, include_attributes: ['v'] })).rows;

describe('deletion vectors', () => {
  it('should kill the rows a new part shadows or deletes, in the same publish, and serve a cold node from them', async () => {
    const store = new MemoryStore();
    const ns = 'dv';
    const e = engine(store);
    await e.write(ns, { upsert_rows: [1, 2, 3, 4, 5, 6].map((i) => row(i, 0)), distance_metric: 'euclidean_squared' });
    await index(store, ns);
    await e.write(ns, { upsert_rows: [row(2, 1), row(7, 1)], deletes: [4, 99] });
    await index(store, ns);
    const r = await router(store, ns);
    expect(r.format_version).toBe(2);
    expect(r.parts).toHaveLength(2);
    expect(r.parts[0]!.deletes).toMatchObject({ count: 2 });
    expect(r.parts[1]!.deletes).toBeUndefined();
    expect(await deadIds(store, ns, r)).toEqual([[2, 4], []]);
    const cold = engine(store);
    expect(await all(cold, ns)).toEqual([1, 2, 3, 5, 6, 7].map((id) => ({ id, v: id === 2 || id === 7 ? 1 : 0 })));
  });

  it('should translate deaths that happened after a compaction folded its inputs into the merged part', async () => {
    const store = new HookStore();
    const ns = 'dv-compact';
    const e = engine(store);
    await e.write(ns, { upsert_rows: [1, 2, 3].map((i) => row(i, 0)), distance_metric: 'euclidean_squared' });
    await index(store, ns);
    await e.write(ns, { upsert_rows: [4, 5, 6].map((i) => row(i, 0)) });
    await index(store, ns);
    // While the compaction merges both parts, an indexer publishes a part replacing 2 and deleting 5.
    await e.write(ns, { upsert_rows: [row(2, 9)], deletes: [5] });
    store.beforeRouterCas = async () => void (await index(store, ns));
    const out = await compactNamespace(store, ns, { clock, nonce, force: true, maxParts: 1, hnsw: { flatThreshold: 4 } });
    expect(out.result).toBe('compacted');
    const r = await router(store, ns);
    expect(r.parts).toHaveLength(2); // the merged part, then the indexer's
    expect(await deadIds(store, ns, r)).toEqual([[2, 5], []]);
    expect(await all(engine(store), ns)).toEqual([1, 2, 3, 4, 6].map((id) => ({ id, v: id === 2 ? 9 : 0 })));
  });

  it('should recompute its deletion vectors when its publish loses to a compaction', async () => {
    const store = new HookStore();
    const ns = 'dv-index';
    const e = engine(store);
    await e.write(ns, { upsert_rows: [1, 2, 3].map((i) => row(i, 0)), distance_metric: 'euclidean_squared' });
    await index(store, ns);
    await e.write(ns, { upsert_rows: [4, 5].map((i) => row(i, 0)) });
    await index(store, ns);
    await e.write(ns, { upsert_rows: [row(1, 5), row(4, 5)] });
    store.beforeRouterCas = async () => void (await compactNamespace(store, ns, { clock, nonce, force: true, maxParts: 1, hnsw: { flatThreshold: 4 } }));
    expect((await index(store, ns)).result).toBe('published');
    const r = await router(store, ns);
    expect(r.parts).toHaveLength(2);
    expect(await deadIds(store, ns, r)).toEqual([[1, 4], []]); // in the merged part, not in the parts it replaced
    expect(await all(engine(store), ns)).toEqual([1, 2, 3, 4, 5].map((id) => ({ id, v: id === 1 || id === 4 ? 5 : 0 })));
  });

  it('should translate deaths into rebuilt parts when a reindex races an indexer publish', async () => {
    const store = new HookStore();
    const ns = 'dv-reindex';
    const e = engine(store);
    await e.write(ns, { upsert_rows: [1, 2, 3].map((i) => row(i, 0)), distance_metric: 'euclidean_squared' });
    await index(store, ns);
    await e.write(ns, { deletes: [3], upsert_rows: [row(1, 4)] });
    store.beforeRouterCas = async () => void (await index(store, ns));
    expect((await reindexNamespace(store, ns, { clock, nonce, hnsw: { flatThreshold: 4 } })).result).toBe('reindexed');
    const r = await router(store, ns);
    expect(await deadIds(store, ns, r)).toEqual([[1, 3], []]);
    expect(await all(engine(store), ns)).toEqual([1, 2].map((id) => ({ id, v: id === 1 ? 4 : 0 })));
  });

  it('should retire replaced deletion vectors and let GC delete them after the grace period', async () => {
    const store = new MemoryStore();
    const ns = 'dv-gc';
    const e = engine(store);
    await e.write(ns, { upsert_rows: [1, 2, 3, 4].map((i) => row(i, 0)), distance_metric: 'euclidean_squared' });
    await index(store, ns);
    await e.write(ns, { deletes: [1] });
    await index(store, ns);
    const first = (await router(store, ns)).parts[0]!.deletes!.file;
    await e.write(ns, { deletes: [2] });
    await index(store, ns);
    const r = await router(store, ns);
    const second = r.parts[0]!.deletes!.file;
    expect(second).not.toBe(first);
    expect(r.retired_files?.map((f) => f.file)).toEqual([first]);
    const early = await gcNamespace(store, ns, { clock: { now: () => Date.now() }, partGraceMs: 60_000 });
    expect(early.files).toEqual([]);
    const late = await gcNamespace(store, ns, { clock: { now: () => Date.now() + 120_000 }, partGraceMs: 60_000 });
    expect(late.files).toEqual([partFileKey(ns, r.parts[0]!.id, first)]);
    expect(await store.get(partFileKey(ns, r.parts[0]!.id, first))).toBeNull();
    expect(await store.get(partFileKey(ns, r.parts[0]!.id, second))).not.toBeNull();
    expect((await router(store, ns)).retired_files ?? []).toEqual([]);
    expect(await all(engine(store), ns)).toEqual([3, 4].map((id) => ({ id, v: 0 })));
  });
});
