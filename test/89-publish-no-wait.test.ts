/**
 * A publish does not make queries wait (crates-ts/namespace/catalog.ts viewFor): a node whose cached view names the
 * parts of the previous router keeps answering strong queries from it — with every acknowledged write, through the
 * WAL listing — while the view of the new part set is built in the background, and the next refresh installs it.
 * Part reads are slow here (a store wrapper): building the new view takes a while.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, TracingStore, type StoreTraceEvent } from '../crates-ts/store/index.js';
import type { ObjectStore } from '../crates-ts/store/types.js';
import { SlowPartsStore, sleep } from './helpers/slow-parts-store.js';
import { Indexer } from '../indexer/indexer.js';

// Every tail is worth a background rebuild here (the default waits for 10,000 tail rows).
const engineOn = (store: ObjectStore) => new Engine(store, { clock: { now: () => Date.now() }, sleep, random: Math.random, groupCommitMs: 0, catalog: { staleRebuildMinRows: 0 } });

const rowsFrom = (from: number, n: number) => Array.from({ length: n }, (_, j) => ({ id: from + j, vector: [Math.sin(from + j), Math.cos(j), 1], n: from + j }));
const indexer = (store: ObjectStore, nonce: string) => new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => nonce, hnsw: { flatThreshold: 1000 } });

describe('a publish seen by a node with a cached view', () => {
  it('should answer strong queries from the cached view while the new one is built, then switch to it', async () => {
    const base = new MemoryStore();
    const writer = engineOn(base);
    await writer.write('ns', { distance_metric: 'cosine_distance', upsert_rows: rowsFrom(0, 40) });
    await indexer(base, 'p1').indexNamespace('ns', true);
    const events: StoreTraceEvent[] = [];
    const reader = engineOn(new TracingStore(new SlowPartsStore(base, 300, 1), () => performance.now(), (e) => events.push(e)));
    const all = async () => (await reader.query('ns', { rank_by: ['n', 'asc'], top_k: 1000 })).rows!.map((r) => r.id);
    expect(await all()).toEqual([...Array(40).keys()]);
    expect(reader.catalog.cachedView('ns')!.router.parts).toHaveLength(1);

    // Another node writes and publishes a second part, then writes a tail.
    await writer.write('ns', { upsert_rows: rowsFrom(40, 30) });
    await indexer(base, 'p2').indexNamespace('ns', true);
    await writer.write('ns', { upsert_rows: rowsFrom(70, 5), deletes: [3] });
    const newPart = (await base.list('ns/parts/')).objects.map((o) => o.key.split('/')[2]!).find((id) => id.endsWith('p2'))!;
    expect(newPart).toBeDefined();

    events.length = 0;
    const got = await all();
    // Every acknowledged write, from the cached view plus the WAL entries after it (the new part's rows included).
    expect(got).toEqual([...Array(75).keys()].filter((i) => i !== 3));
    // ... from the cached view of one part (the refresh did not build the new view first), while that build started.
    expect(reader.catalog.cachedView('ns')!.router.parts).toHaveLength(1);
    await sleep(50);
    expect(events.some((e) => e.key.includes(newPart))).toBe(true);

    // Once built, the next refresh installs the new view: two parts, the same answer.
    await sleep(800);
    expect(await all()).toEqual(got);
    expect(reader.catalog.cachedView('ns')!.router.parts).toHaveLength(2);
  });

  it('should build the new view first when WAL entries the new parts cover are gone (collected)', async () => {
    const base = new MemoryStore();
    const writer = engineOn(base);
    await writer.write('ns', { distance_metric: 'cosine_distance', upsert_rows: rowsFrom(0, 40) });
    await indexer(base, 'p1').indexNamespace('ns', true);
    const reader = engineOn(new SlowPartsStore(base, 50, 1));
    expect((await reader.query('ns', { rank_by: ['n', 'asc'], top_k: 1000 })).rows).toHaveLength(40);
    await writer.write('ns', { upsert_rows: rowsFrom(40, 30) });
    await indexer(base, 'p2').indexNamespace('ns', true);
    // GC took the entry the new part holds: the cached view could not learn of those rows from the WAL.
    for (const o of (await base.list('ns/wal/')).objects) await base.delete(o.key);
    const ids = (await reader.query('ns', { rank_by: ['n', 'asc'], top_k: 1000 })).rows!.map((r) => r.id);
    expect(ids).toEqual([...Array(70).keys()]);
    expect(reader.catalog.cachedView('ns')!.router.parts).toHaveLength(2);
  });
});
