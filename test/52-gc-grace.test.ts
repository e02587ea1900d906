/**
 * GC and nodes that still read old parts (issue 12, item 5; docs/rfcs/0006-gc.md). The grace period of a part
 * that left the router counts from when it left (router.retired_parts), not from when it was built; and a node
 * whose view names a part that GC did remove refreshes its view and answers instead of a 500.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, type ObjectStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';
import { gcNamespace } from '../indexer/gc.js';

const MIN = 60_000;
const GRACE = 15 * MIN;

/** A clock the test moves: the store stamps objects with it, so "a part built 20 minutes ago" is real. */
function testClock() {
  let t = Date.UTC(2026, 0, 1);
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function engine(store: ObjectStore, clock: { now: () => number }, eventualMaxAgeMs?: number) {
  return new Engine(store, { clock, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0, eventualMaxAgeMs });
}

async function twoPartNamespace(store: ObjectStore, clock: { now: () => number }, ns: string) {
  const e = engine(store, clock);
  const ix = new Indexer(store, { clock, nonce: (() => { let n = 0; return () => `i${n++}`; })(), hnsw: { flatThreshold: 4 } });
  for (let p = 0; p < 2; p++) {
    const rows = Array.from({ length: 20 }, (_, i) => ({ id: p * 100 + i, vector: [Math.cos(p * 100 + i), Math.sin(p * 100 + i)], cat: i % 2 ? 'odd' : 'even' }));
    await e.write(ns, { upsert_rows: rows, distance_metric: 'euclidean_squared' });
    await ix.indexNamespace(ns, true);
  }
  return e;
}

describe('GC grace counts from retirement', () => {
  it('should keep parts that left the router less than the grace period ago, however old they are, so a node with an older view still answers', async () => {
    const clock = testClock();
    const store = new MemoryStore({ clock });
    const ns = 'gc-grace';
    const writer = await twoPartNamespace(store, clock, ns);
    const before = (await new RouterStore(store).read(ns))!.router.parts.map((p) => p.id);
    expect(before).toHaveLength(2);

    // A second node caches a view of the two-part router (rows loaded; HNSW not fetched yet: lazy).
    const reader = engine(store, clock);
    const q = { rank_by: ['vector', 'ANN', [1, 0]], top_k: 5, consistency: { level: 'eventual' } };
    await reader.query(ns, { rank_by: ['id', 'asc'], top_k: 1 });

    clock.advance(20 * MIN); // the parts are now 20 minutes old
    const c = await compactNamespace(store, ns, { clock, nonce: () => 'c0', force: true, hnsw: { flatThreshold: 4 } });
    expect(c.result).toBe('compacted');
    const after = (await new RouterStore(store).read(ns))!.router;
    expect(after.retired_parts?.map((p) => p.id).sort()).toEqual([...before].sort());
    expect(after.retired_parts?.every((p) => p.retired_at === new Date(clock.now()).toISOString())).toBe(true);

    clock.advance(1 * MIN); // retired one minute ago: within the grace period, whatever the parts' age
    const report = await gcNamespace(store, ns, { clock, partGraceMs: GRACE });
    expect(report.parts).toEqual([]);
    const res = await reader.query(ns, q); // the old view fetches the retired parts' indexes now
    expect(res.rows).toHaveLength(5);

    clock.advance(GRACE); // now past the grace since retirement: they go, and their records with them
    const late = await gcNamespace(store, ns, { clock, partGraceMs: GRACE });
    expect(late.parts.sort()).toEqual([...before].sort());
    const pruned = (await new RouterStore(store).read(ns))!.router;
    expect(pruned.retired_parts ?? []).toEqual([]);
    expect((await store.list(`${ns}/parts/${before[0]}/`)).objects).toEqual([]);
    void writer;
  });

  it('should answer from a fresh view when its cached view names a part GC removed', async () => {
    const clock = testClock();
    const store = new MemoryStore({ clock });
    const ns = 'gc-retry';
    const writer = await twoPartNamespace(store, clock, ns);
    // A node that keeps serving eventual reads from a view older than the grace period (an exaggerated stale cache).
    const reader = engine(store, clock, 24 * 60 * MIN);
    await reader.query(ns, { rank_by: ['id', 'asc'], top_k: 1 }); // cache a view of the two-part router
    await compactNamespace(store, ns, { clock, nonce: () => 'c1', force: true, hnsw: { flatThreshold: 4 } });
    clock.advance(GRACE + MIN);
    expect((await gcNamespace(store, ns, { clock, partGraceMs: GRACE })).parts).toHaveLength(2);

    const expected = await writer.query(ns, { rank_by: ['vector', 'kNN', [1, 0]], top_k: 5 });
    for (const level of ['eventual', 'strong'] as const) {
      const res = await reader.query(ns, { rank_by: ['vector', 'ANN', [1, 0]], top_k: 5, consistency: { level } });
      expect(res.rows!.map((r) => r.id)).toEqual(expected.rows!.map((r) => r.id));
    }
  });

  it('should still fail loudly when a part the current router references is missing', async () => {
    const clock = testClock();
    const store = new MemoryStore({ clock });
    const ns = 'gc-corrupt';
    await twoPartNamespace(store, clock, ns);
    const part = (await new RouterStore(store).read(ns))!.router.parts[0]!.id;
    for (const o of (await store.list(`${ns}/parts/${part}/`)).objects) if (o.key.endsWith('.hnsw') || o.key.endsWith('rows.parquet')) await store.delete(o.key);
    const fresh = engine(store, clock);
    await expect(fresh.query(ns, { rank_by: ['vector', 'ANN', [1, 0]], top_k: 5 })).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT' });
  });
});
