/**
 * Idempotency-Keys have no expiry window: a key recorded in a WAL entry must still dedupe a retried request after
 * the entry was indexed into a part, merged by compaction, and deleted from the WAL by GC, on a node that starts
 * cold (no cached view).
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, walPrefix } from '../crates-ts/store/index.js';
import { Indexer } from './indexer.js';
import { compactNamespace } from './compact.js';
import { gcNamespace } from './gc.js';

let t = 1_700_000_000_000;
const clock = { now: () => (t += 1000) };
const engine = (store: MemoryStore) => new Engine(store, { clock, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });

describe('Idempotency-Keys survive indexing, compaction and WAL GC', () => {
  it('should acknowledge a repeated key without writing, whatever happened to the WAL entry that recorded it', async () => {
    const store = new MemoryStore();
    const ns = 'idem';
    const first = engine(store);
    for (let i = 0; i < 6; i++) await first.write(ns, { upsert_rows: [{ id: i, v: i }] }, { idempotencyKey: `chunk-${i}` });
    let nonce = 0;
    const indexer = new Indexer(store, { clock, nonce: () => `n${nonce++}` });
    // Two parts (3 entries each), then merged into one.
    await indexer.indexNamespace(ns, true);
    await first.write(ns, { upsert_rows: [{ id: 99, v: 99 }] });
    await indexer.indexNamespace(ns, true);
    await compactNamespace(store, ns, { clock, nonce: () => `c${nonce++}`, force: true });
    await gcNamespace(store, ns, { clock: { now: () => Date.now() + 1000 }, walRetentionMs: 0, partGraceMs: 0 });
    expect((await store.list(walPrefix(ns))).objects).toHaveLength(0);

    const cold = engine(store);
    for (let i = 0; i < 6; i++) {
      const res = await cold.write(ns, { upsert_rows: [{ id: i, v: -1 }] }, { idempotencyKey: `chunk-${i}` });
      expect(res.rows_affected).toBe(0);
    }
    const fresh = await cold.write(ns, { upsert_rows: [{ id: 7, v: 7 }] }, { idempotencyKey: 'chunk-new' });
    expect(fresh.rows_affected).toBe(1);
    const rows = (await cold.query(ns, { rank_by: ['id', 'asc'], top_k: 100, include_attributes: ['v'] })).rows!;
    expect(rows.map((r) => [r.id, r.v])).toEqual([[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [7, 7], [99, 99]]);
  });
});
