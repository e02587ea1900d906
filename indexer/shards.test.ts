import { describe, it, expect } from 'vitest';
import { shardOf } from '../crates-ts/core/index.js';
import { Engine } from '../crates-ts/engine/index.js';
import { cloneNamespace } from '../crates-ts/engine/branch.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { Indexer } from './indexer.js';
import { compactNamespace } from './compact.js';
import { reindexNamespace } from './reindex.js';
import { splitByShard } from './shards.js';
import { ReadLogStore } from '../test/helpers/read-log-store.js';

describe('splitByShard', () => {
  it('puts each id in its shard, in shard order, only shards with changes; one group unsharded or empty', () => {
    const changes = new Map<number, null>([[1, null], [2, null], [3, null], [17, null], [40, null]]);
    const seqs = new Map([[1, 5], [2, 6]]);
    const groups = splitByShard(changes, seqs, 4);
    expect(groups.map((g) => g.shard)).toEqual([...new Set([1, 2, 3, 17, 40].map((id) => shardOf(id, 4)))].sort());
    for (const g of groups) for (const id of g.changes.keys()) expect(shardOf(id, 4)).toBe(g.shard);
    expect(groups.reduce((n, g) => n + g.changes.size, 0)).toBe(5);
    expect(groups.find((g) => g.changes.has(1))!.seqs.get(1)).toBe(5);
    expect(splitByShard(changes, seqs, undefined)).toEqual([{ shard: undefined, changes, seqs }]);
    expect(splitByShard(new Map(), new Map(), 4)).toEqual([{ shard: 0, changes: new Map(), seqs: new Map() }]);
  });
});

describe('a sharded namespace under reindex, branch and copy (RFC-0013)', () => {
  it('keeps every row and the shard layout', async () => {
    const store = new MemoryStore();
    let t = 1_700_000_000_000;
    const clock = { now: () => (t += 1) };
    const e = new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
    let n = 0;
    const nonce = () => `x${n++}`;
    const ix = () => new Indexer(store, { clock, nonce, hnsw: { flatThreshold: 4 } }).drain('s');
    const model = new Map<number, { id: number; k: number }>();
    await e.write('s', { sharding: { num_shards: 5 }, upsert_rows: Array.from({ length: 50 }, (_, i) => ({ id: i, k: i })) });
    for (let i = 0; i < 50; i++) model.set(i, { id: i, k: i });
    await ix();
    await e.write('s', { upsert_rows: Array.from({ length: 20 }, (_, i) => ({ id: 40 + i, k: 100 + i })), deletes: [1, 2, 3] });
    for (let i = 0; i < 20; i++) model.set(40 + i, { id: 40 + i, k: 100 + i });
    for (const id of [1, 2, 3]) model.delete(id);
    await ix();
    expect((await compactNamespace(store, 's', { clock, nonce, force: true })).result).toBe('compacted');
    await e.write('s', { upsert_rows: [{ id: 7, k: -7 }] }); // a tail
    model.set(7, { id: 7, k: -7 });
    const rows = async (ns: string) => (await new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 }).query(ns, { rank_by: ['id', 'asc'], top_k: 1000, include_attributes: ['k'] })).rows;
    const want = [...model.values()].sort((a, b) => a.id - b.id);
    expect(await rows('s')).toEqual(want);

    const before = (await new RouterStore(store).read('s'))!.router;
    const out = await reindexNamespace(store, 's', { clock, nonce, maxRowsPerPart: 4 });
    expect(out.result).toBe('reindexed');
    const after = (await new RouterStore(store).read('s'))!.router;
    expect(after.indexed_wal).toBe(before.indexed_wal);
    expect(after.parts.every((p) => p.shard !== undefined && p.level > 0)).toBe(true);
    expect(new Set(after.parts.map((p) => p.shard)).size).toBe(5);
    expect(Math.max(...after.parts.map((p) => p.wal_end))).toBe(before.indexed_wal);
    expect(await rows('s')).toEqual(want);

    for (const [dest, mode] of [['b', 'branch'], ['c', 'copy']] as const) {
      await cloneNamespace(e.catalog, 's', dest, mode, { clock, nonce });
      const r = (await new RouterStore(store).read(dest))!.router;
      expect(r.format_version).toBe(4);
      expect(r.sharding).toEqual({ num_shards: 5 });
      expect(r.parts.map((p) => p.shard)).toEqual(after.parts.map((p) => p.shard));
      expect(await rows(dest)).toEqual(want);
      expect((await e.metadata(dest)).sharding).toEqual({ num_shards: 5 });
      // The destination indexes its tail into its own shards' parts, and refuses another sharding.
      await e.write(dest, { sharding: { num_shards: 5 }, upsert_rows: [{ id: 1000, k: 1 }] });
      await new Indexer(store, { clock, nonce, hnsw: { flatThreshold: 4 } }).drain(dest);
      const r2 = (await new RouterStore(store).read(dest))!.router;
      const last = r2.parts.filter((p) => p.wal_start > r.indexed_wal);
      expect(last.map((p) => p.shard).sort()).toEqual([...new Set([7, 1000].map((id) => shardOf(id, 5)))].sort());
      await expect(e.write(dest, { sharding: { num_shards: 2 }, upsert_rows: [{ id: 1001, k: 1 }] })).rejects.toThrow(/sharding cannot be changed/);
    }
  });
});

describe('lookups skip the other shards\' parts (RFC-0013)', () => {
  it('reads only the id index of the touched ids\' shard, when publishing and when a write looks ids up', async () => {
    const store = new ReadLogStore();
    let t = 1_700_000_000_000;
    const clock = { now: () => (t += 1) };
    const engine = () => new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
    let n = 0;
    const nonce = () => `l${n++}`;
    await engine().write('l', { sharding: { num_shards: 4 }, upsert_rows: Array.from({ length: 400 }, (_, i) => ({ id: i, k: i })) });
    await new Indexer(store, { clock, nonce, hnsw: { flatThreshold: 4 } }).drain('l');
    const parts = (await new RouterStore(store).read('l'))!.router.parts;
    expect(parts.map((p) => p.shard)).toEqual([0, 1, 2, 3]);
    const idxReads = () => new Set(store.reads.filter((r) => r.key.endsWith('/idx.blk')).map((r) => parts.find((p) => r.key.includes(p.id))?.shard));

    // The publisher's deaths: ids of shard 2 replaced, only shard 2's part is asked.
    const ofShard = (s: number) => Array.from({ length: 400 }, (_, i) => i).filter((i) => shardOf(i, 4) === s);
    await engine().write('l', { upsert_rows: ofShard(2).slice(0, 5).map((id) => ({ id, k: -id })) });
    store.reads = [];
    await new Indexer(store, { clock, nonce, hnsw: { flatThreshold: 4 } }).drain('l');
    expect(idxReads()).toEqual(new Set([2]));

    // A patch on a cold node looks its id up: only in its shard's parts.
    store.reads = [];
    const id = ofShard(1)[3]!;
    await engine().write('l', { patch_rows: [{ id, k: 7 }] });
    expect(idxReads()).toEqual(new Set([1]));
    const got = await engine().query('l', { rank_by: ['id', 'asc'], top_k: 1, filters: ['id', 'Eq', id], include_attributes: ['k'] });
    expect(got.rows).toEqual([{ id, k: 7 }]);
  });
});
