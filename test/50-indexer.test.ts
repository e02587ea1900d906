/**
 * Indexer scenarios: racing indexers on a real S3 server (radosgw), a crash between part upload and router
 * publish, and ANN recall over several HNSW parts.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, type ObjectStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { buildPartFiles, uploadPart, newPartId } from '../crates-ts/part/index.js';
import { Indexer } from '../indexer/indexer.js';
import { gcNamespace } from '../indexer/gc.js';
import { makeTestS3Store } from './helpers/s3-env.js';

const clock = { now: () => Date.now() };
let n = 0;
const engineOn = (store: ObjectStore) => new Engine(store, { clock, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
const indexerOn = (store: ObjectStore, extra: Record<string, unknown> = {}) =>
  new Indexer(store, { clock, nonce: () => `x${n++}`, hnsw: { flatThreshold: 64 }, maxEntriesPerPart: 3, ...extra });

async function allIds(e: Engine, ns: string): Promise<number[]> {
  const res = await e.query(ns, { rank_by: ['id', 'asc'], top_k: 1200 });
  return res.rows!.map((r) => r.id as number);
}

describe('indexer', () => {
  it('should keep epochs increasing and lose nothing when two indexers race on radosgw', async () => {
    const store = makeTestS3Store('ix-race');
    const e = engineOn(store);
    const ns = 'race';
    const expected: number[] = [];
    const epochs: number[] = [];
    let lost = 0;
    const routers = new RouterStore(store);
    for (let round = 0; round < 6; round++) {
      // Two writes, then both indexers at once on the same namespace.
      for (let w = 0; w < 2; w++) {
        const rows = Array.from({ length: 20 }, (_, i) => ({ id: round * 100 + w * 20 + i, vector: [Math.random(), Math.random()], w }));
        await e.write(ns, { upsert_rows: rows, distance_metric: 'euclidean_squared' });
        expected.push(...rows.map((r) => r.id));
      }
      const outcomes = await Promise.all([indexerOn(store).indexNamespace(ns, true), indexerOn(store).indexNamespace(ns, true)]);
      expect(outcomes.some((o) => o.result === 'published')).toBe(true);
      lost += outcomes.filter((o) => o.result === 'abandoned').length;
      epochs.push((await routers.read(ns))!.router.epoch);
    }
    for (let i = 1; i < epochs.length; i++) expect(epochs[i]!).toBeGreaterThan(epochs[i - 1]!);
    expect(lost).toBeGreaterThan(0); // the indexers really raced for the same range
    const r = (await routers.read(ns))!.router;
    // Parts cover a gapless, non-overlapping WAL range.
    for (let i = 1; i < r.parts.length; i++) expect(r.parts[i]!.wal_start).toBe(r.parts[i - 1]!.wal_end + 1);
    // No row lost or duplicated, from a fresh node.
    expect(await allIds(engineOn(store), ns)).toEqual([...expected].sort((a, b) => a - b));
    // Losers' parts exist in the store but are never referenced.
    const listed = await store.list(`${ns}/parts/`, { delimiter: '/' });
    const referenced = new Set(r.parts.map((p) => p.id));
    const orphans = listed.prefixes.map((p) => p.split('/')[2]!).filter((id) => !referenced.has(id));
    expect(orphans.length).toBe(lost);
    await store.close();
  });

  it('should leave a valid router when an indexer dies between upload and publish, and GC the orphan', async () => {
    const store = new MemoryStore();
    const e = engineOn(store);
    const ns = 'crash';
    await e.write(ns, { upsert_rows: [{ id: 1, vector: [1, 0], t: 'a' }, { id: 2, vector: [0, 1], t: 'b' }], distance_metric: 'cosine_distance' });
    const before = (await new RouterStore(store).read(ns))!.router;
    // The dead indexer: built and uploaded a part for WAL 1..1, never published.
    const built = await buildPartFiles({
      namespace: ns,
      partId: newPartId(1, 1, 'dead'),
      walStart: 1,
      walEnd: 1,
      level: 0,
      changes: new Map([[1, { id: 1, vector: new Float32Array([1, 0]), attrs: { t: 'a' } }]]),
      schema: before.schema,
      distanceMetric: 'cosine_distance',
      createdAt: new Date().toISOString(),
    });
    await uploadPart(store, built);
    const after = (await new RouterStore(store).read(ns))!.router;
    expect(after).toEqual(before); // router untouched and still valid
    expect(await allIds(engineOn(store), ns)).toEqual([1, 2]);
    // The next run completes the work under a new part id.
    const out = await indexerOn(store).indexNamespace(ns, true);
    expect(out.result).toBe('published');
    const r = (await new RouterStore(store).read(ns))!.router;
    expect(r.indexed_wal).toBe(1);
    expect(r.parts.map((p) => p.id)).not.toContain(built.manifest.part_id);
    // GC: within the grace period the orphan stays; past it, it goes; referenced parts never do.
    const early = await gcNamespace(store, ns, { clock, partGraceMs: 60_000, dryRun: true });
    expect(early.parts).toEqual([]);
    const report = await gcNamespace(store, ns, { clock: { now: () => Date.now() + 120_000 }, partGraceMs: 60_000, walRetentionMs: 0 });
    expect(report.parts).toEqual([built.manifest.part_id]);
    expect(report.wal_entries).toEqual([1]);
    expect((await store.list(`${ns}/parts/${built.manifest.part_id}/`)).objects).toEqual([]);
    expect((await store.list(`${ns}/parts/${r.parts[0]!.id}/`)).objects.length).toBeGreaterThan(0);
    expect(await allIds(engineOn(store), ns)).toEqual([1, 2]);
  });

  it('should reach recall@10 >= 0.95 on clustered data spanning several HNSW parts', async () => {
    const store = new MemoryStore();
    const e = engineOn(store);
    const ns = 'recall';
    // Seeded Gaussian mixture: 24 clusters in 32-d.
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
    const dims = 32;
    const centers = Array.from({ length: 24 }, () => Array.from({ length: dims }, () => gauss() * 3));
    for (let b = 0; b < 8; b++) {
      const rows = Array.from({ length: 1000 }, (_, i) => {
        const c = centers[Math.floor(rand() * centers.length)]!;
        return { id: b * 1000 + i, vector: c.map((x) => x + gauss()) };
      });
      await e.write(ns, { upsert_rows: rows, distance_metric: 'cosine_distance' });
      await indexerOn(store, { maxEntriesPerPart: 2, hnsw: { flatThreshold: 256 } }).indexNamespace(ns, true);
    }
    const r = (await new RouterStore(store).read(ns))!.router;
    expect(r.parts.length).toBeGreaterThanOrEqual(4);
    expect(r.parts.every((p) => p.index_kind === 'hnsw')).toBe(true);
    const res = (await e.recall(ns, { num: 50, top_k: 10 })) as { avg_recall: number; avg_ann_count: number };
    expect(res.avg_ann_count).toBe(10);
    expect(res.avg_recall).toBeGreaterThanOrEqual(0.95);
  });
});

describe('indexer loop', () => {
  it('should keep the part count bounded by compacting as parts accumulate', async () => {
    const { IndexerLoop } = await import('../indexer/loop.js');
    const store = new MemoryStore();
    const e = engineOn(store);
    const loop = new IndexerLoop(store, { minEntries: 1, maxParts: 4, hnsw: { flatThreshold: 1000 } });
    const counts: number[] = [];
    for (let i = 0; i < 12; i++) {
      await e.write('grow', { upsert_rows: [{ id: i, vector: [i, 1] }], distance_metric: 'euclidean_squared' });
      await loop.pass(i + 1);
      counts.push((await new RouterStore(store).read('grow'))!.router.parts.length);
    }
    expect(Math.max(...counts)).toBeLessThanOrEqual(4);
    expect(await allIds(engineOn(store), 'grow')).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('should index a backlog before merging, up to maxPartsBehind parts, and merge what it put off once caught up', async () => {
    const { IndexerLoop } = await import('../indexer/loop.js');
    const { pickCompaction } = await import('../indexer/compact.js');
    const store = new MemoryStore();
    const e = engineOn(store);
    // A backlog of 14 entries, one entry per pass: each pass publishes one part and leaves more due.
    for (let i = 0; i < 14; i++) await e.write('backlog', { upsert_rows: [{ id: i, vector: [i, 1] }], distance_metric: 'euclidean_squared' });
    const loop = new IndexerLoop(store, { minEntries: 1, maxEntriesPerPart: 1, maxParts: 2, maxPartsBehind: 6, hnsw: { flatThreshold: 1000 } });
    const seen: { behind: boolean; parts: number }[] = [];
    for (let pass = 1; pass <= 14; pass++) {
      const { behind } = await loop.pass(pass);
      seen.push({ behind, parts: (await new RouterStore(store).read('backlog'))!.router.parts.length });
    }
    // Behind for the first 13 passes (an entry was still due after each publish), caught up at the 14th.
    expect(seen.map((x) => x.behind)).toEqual([...Array(13).fill(true), false]);
    // While behind, no merge until more than maxPartsBehind parts (not even a full tier of fanout level-0 parts):
    // one part per pass up to 6, then the 7th publish merges once; never more than maxPartsBehind + 1.
    expect(seen.slice(0, 7).map((x) => x.parts)).toEqual([1, 2, 3, 4, 5, 6, 4]);
    expect(Math.max(...seen.map((x) => x.parts))).toBeLessThanOrEqual(7);
    // Caught up: every crowded run was merged at the last pass.
    const parts = (await new RouterStore(store).read('backlog'))!.router.parts;
    expect(pickCompaction(parts, 4, 2, false)).toBeNull();
    expect(parts.length).toBeLessThan(seen[12]!.parts);
    expect(await allIds(engineOn(store), 'backlog')).toEqual(Array.from({ length: 14 }, (_, i) => i));
  });
});
