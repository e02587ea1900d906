/**
 * The sequential round trips of a cold strong refresh (RFC-0008 §7, crates-ts/namespace/catalog.ts doRefresh): with
 * an empty WAL tail, the HEAD of router.json that checks the router did not move must leave as soon as the WAL LIST
 * has answered — beside the part heads, not one round trip after them. A store wrapper makes part reads slow and
 * traces every request's start and end.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, TracingStore, type StoreTraceEvent } from '../crates-ts/store/index.js';
import type { ObjectStore } from '../crates-ts/store/types.js';
import { SlowPartsStore, sleep } from './helpers/slow-parts-store.js';
import { Indexer } from '../indexer/indexer.js';

const engineOn = (store: ObjectStore) => new Engine(store, { clock: { now: () => Date.now() }, sleep, random: Math.random, groupCommitMs: 0 });

describe('a cold strong refresh', () => {
  it('should check router.json beside the part heads, not after them, when the WAL tail is empty', async () => {
    const base = new MemoryStore();
    const w = engineOn(base);
    for (let b = 0; b < 2; b++) {
      const rows = Array.from({ length: 50 }, (_, j) => ({ id: b * 50 + j, vector: [Math.sin(j + b), Math.cos(j), 1], n: j }));
      await w.write('ns', { distance_metric: 'cosine_distance', upsert_rows: rows });
      await new Indexer(base, { clock: { now: () => Date.now() }, nonce: () => `p${b}`, hnsw: { flatThreshold: 1000 } }).indexNamespace('ns', true);
    }
    const events: StoreTraceEvent[] = [];
    const traced = new TracingStore(new SlowPartsStore(base, 150, 5), () => performance.now(), (e) => events.push(e));
    const res = await engineOn(traced).query('ns', { rank_by: ['n', 'asc'], top_k: 3 });
    expect(res.rows!.map((r) => r.id)).toEqual([0, 50, 1]);

    const routerGet = events.find((e) => e.op === 'get' && e.key.endsWith('router.json'))!;
    const list = events.find((e) => e.op === 'list' && e.key.includes('/wal/'))!;
    const head = events.find((e) => e.op === 'head' && e.key.endsWith('router.json'));
    const partReads = events.filter((e) => e.key.includes('/parts/'));
    expect(routerGet).toBeDefined();
    expect(partReads.length).toBeGreaterThanOrEqual(2);
    // The tail is empty: the listing is checked against the router, once.
    expect(head).toBeDefined();
    expect(events.filter((e) => e.op === 'head' && e.key.endsWith('router.json'))).toHaveLength(1);
    // After the LIST ended (it must cover the LIST's time), while the first wave of part reads was still out.
    expect(head!.start).toBeGreaterThanOrEqual(list.end);
    const firstPartEnd = Math.min(...partReads.map((e) => e.end));
    expect(head!.start).toBeLessThan(firstPartEnd);
  });
});
