/**
 * What a cold query reads from a part in format 2 (RFC-0004 §10): the router, the part's head, the structures the
 * query uses (a filtered order-by reads the ids and the columns it filters and sorts on; BM25 the postings; ANN the
 * graph and the candidates' vector blocks) and only the blocks of the rows it returns — never a part whole, never a
 * column it does not touch. Counted per object and per byte on a fresh node with empty caches.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { LocalDirStore, MemoryStore, type ObjectStore } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';
import { BlockCache } from '../crates-ts/cache/block-cache.js';
import { PartFileCache } from '../crates-ts/part/index.js';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadLogStore } from './helpers/read-log-store.js';


const N = 20_000;
const DIMS = 16;
let t = Date.now();
const engine = (store: ObjectStore, catalog?: EngineCatalog) =>
  new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0, catalog });
type EngineCatalog = { graphCache?: BlockCache; graphWaitBytes?: number; partFiles?: PartFileCache };

/** The graph was read once, in ranged GETs only (hnswlib loads it from a file: never whole into memory). */
function expectGraphReadOnce(store: ReadLogStore, graphBytes: number): void {
  const reads = store.file('vectors.hnsw');
  expect(reads.length).toBeGreaterThan(0);
  expect(reads.every((r) => r.ranged)).toBe(true);
  expect(reads.reduce((s, r) => s + r.bytes, 0)).toBe(graphBytes);
}

async function seeded(): Promise<{ store: ReadLogStore; partBytes: number; graphBytes: number }> {
  const store = new ReadLogStore();
  const w = engine(store);
  const words = ['red', 'fox', 'blue', 'whale', 'quick', 'lazy', 'dog', 'owl'];
  for (let start = 0; start < N; start += 5000) {
    const rows = Array.from({ length: 5000 }, (_, j) => {
      const i = start + j;
      return {
        id: i,
        vector: Array.from({ length: DIMS }, (_, d) => Math.sin(i * 0.37 + d)),
        price: (i * 7919) % 1000,
        cat: `c${i % 20}`,
        text: `${words[i % 8]} ${words[(i * 3) % 8]} number ${i}`,
        note: `a long note that nobody filters on, row ${i} `.repeat(4),
      };
    });
    await w.write('cold', { distance_metric: 'cosine_distance', schema: { text: { type: 'string', full_text_search: true } }, upsert_rows: rows });
  }
  await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => 'cold', hnsw: { M: 8, efConstruction: 40 } }).indexNamespace('cold', true);
  const objects = (await store.list('cold/parts/')).objects;
  const partBytes = objects.reduce((s, o) => s + o.size, 0);
  const graphBytes = objects.find((o) => o.key.endsWith('vectors.hnsw'))!.size;
  return { store, partBytes, graphBytes };
}

describe('cold reads of a format-2 part', () => {
  it('should read the head, the ids and the filtered and sorted columns, then only the returned rows, for a filtered order-by', async () => {
    const { store, partBytes } = await seeded();
    store.reads = [];
    const res = await engine(store).query('cold', { rank_by: ['price', 'desc'], filters: ['cat', 'Eq', 'c7'], top_k: 5, include_attributes: ['price', 'note'] });
    expect(res.rows).toHaveLength(5);
    expect(res.rows!.every((r) => r.note !== undefined)).toBe(true);
    expect(store.file('manifest.json')).toHaveLength(1);
    expect(store.file('ids.blk').filter((r) => !r.ranged)).toHaveLength(1);
    expect(store.file('vec.blk')).toHaveLength(0);
    expect(store.file('vectors.hnsw')).toHaveLength(0);
    expect(store.file('.postings')).toHaveLength(0);
    // Whole files: ids, the two columns the kernel reads, the filter's dictionary index (RFC-0009: cat's, the first
    // indexed attribute) and price's sorted index, which the order-by walks (RFC-0009 slice 3); every other column
    // only by the returned rows' blocks. (The walk does not yet spare the price column: RFC-0009 "What is left".)
    const whole = store.reads.filter((r) => !r.ranged && r.key.endsWith('.blk')).map((r) => r.key.split('/').pop());
    expect(whole.sort()).toEqual(['col-0.blk', 'col-2.blk', 'fidx-0.blk', 'fidx-2.blk', 'ids.blk'].sort()); // cat, price (columns in name order: cat, note, price, text)
    expect(store.bytes()).toBeLessThan(partBytes / 3);
  });

  it('should read the postings, the ids and the returned rows for BM25, and the graph plus candidate vector blocks for ANN', async () => {
    const { store, partBytes, graphBytes } = await seeded();
    store.reads = [];
    const node = engine(store);
    const bm25 = await node.query('cold', { rank_by: ['text', 'BM25', 'whale'], top_k: 5, include_attributes: ['text'] });
    expect(bm25.rows).toHaveLength(5);
    expect(store.file('.postings').length).toBeGreaterThan(0);
    expect(store.file('vec.blk')).toHaveLength(0);
    expect(store.reads.filter((r) => !r.ranged && /col-\d+\.blk$/.test(r.key))).toHaveLength(0); // no column read whole
    const afterBm25 = store.bytes();
    expect(afterBm25).toBeLessThan(partBytes / 3);

    store.reads = [];
    const ann = await node.query('cold', { rank_by: ['vector', 'ANN', Array.from({ length: DIMS }, (_, d) => Math.sin(d))], top_k: 10 });
    expect(ann.rows).toHaveLength(10);
    expectGraphReadOnce(store, graphBytes);
    expect(store.file('vec.blk').every((r) => r.ranged)).toBe(true); // candidates' blocks, never the whole file
    expect(store.file('vec.blk').length).toBeLessThanOrEqual(12);
    const knn = await node.query('cold', { rank_by: ['vector', 'kNN', Array.from({ length: DIMS }, (_, d) => Math.sin(d))], top_k: 10 });
    expect(ann.rows!.map((r) => r.id)).toEqual(knn.rows!.map((r) => r.id));
  });

  it('should answer a cold ANN query over a part with a large graph by an exact vector scan while the graph loads, then use the graph', async () => {
    const { store, graphBytes } = await seeded();
    const graphs = new BlockCache(1024 ** 3);
    const node = engine(store, { graphCache: graphs, graphWaitBytes: 0 }); // every graph counts as large
    const q = Array.from({ length: DIMS }, (_, d) => Math.cos(d * 0.7));
    store.reads = [];
    const first = await node.query('cold', { rank_by: ['vector', 'ANN', q], top_k: 10 });
    // Every vector was read (a scan), not just the candidates' blocks a graph search reads.
    expect(store.file('vec.blk').reduce((sum, r) => sum + r.bytes, 0)).toBeGreaterThanOrEqual(N * DIMS * 4);
    // Exact: the same rows as kNN, from the vectors (the graph was not waited for).
    const knn = await node.query('cold', { rank_by: ['vector', 'kNN', q], top_k: 10 });
    expect(first.rows!.map((r) => r.id)).toEqual(knn.rows!.map((r) => r.id));
    // The graph loads in the background and lands in the graph cache.
    for (let i = 0; i < 200 && graphs.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(graphs.size).toBe(1);
    expectGraphReadOnce(store, graphBytes);
    store.reads = [];
    const second = await node.query('cold', { rank_by: ['vector', 'ANN', q], top_k: 10 });
    expect(second.rows).toHaveLength(10);
    expect(store.file('vectors.hnsw')).toHaveLength(0); // searched through the cached graph
    expect(graphs.stats.hits).toBeGreaterThan(0);
    const recall = second.rows!.filter((r) => knn.rows!.some((k) => k.id === r.id)).length / 10;
    expect(recall).toBeGreaterThanOrEqual(0.8);
  });

  it('should verify whole block files by their blocks\' CRC-32: a damaged disk-cache copy is fetched again, a damaged stored block is ELAX_ERR_CORRUPT', async () => {
    const { store } = await seeded();
    const dir = await mkdtemp(join(tmpdir(), 'elax-58-'));
    try {
      const q = { rank_by: ['price', 'desc'], filters: ['cat', 'Eq', 'c3'], top_k: 5 } as const;
      const want = await engine(store).query('cold', q);
      const files = new PartFileCache(dir, 1 << 30);
      await engine(store, { partFiles: files }).query('cold', q);
      // Flip one byte in the middle of every cached file (a block's payload, not its size).
      for (const name of await readdir(dir)) {
        const b = await readFile(join(dir, name));
        b[b.length >> 1] = b[b.length >> 1]! ^ 0xff;
        await writeFile(join(dir, name), b);
      }
      const healed = new PartFileCache(dir, 1 << 30);
      expect(await engine(store, { partFiles: healed }).query('cold', q)).toEqual(want);
      expect(healed.stats.corrupt).toBeGreaterThanOrEqual(2); // ids and the two columns read whole
      // The store's own copy damaged: a clear corruption error, never wrong rows.
      const col = (await store.list('cold/parts/')).objects.map((o) => o.key).find((k) => k.endsWith('col-2.blk'))!;
      const bytes = (await store.get(col))!.bytes.slice();
      bytes[100] = bytes[100]! ^ 0xff;
      await store.put(col, bytes);
      await expect(engine(store).query('cold', q)).rejects.toThrow(/col-2\.blk: block 0 does not match its CRC-32/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('should read a local directory store\'s part files from it, not copy them into the disk cache, and still check their blocks', async () => {
    const { store: seededStore, graphBytes } = await seeded();
    const root = await mkdtemp(join(tmpdir(), 'elax-58-store-'));
    const dir = await mkdtemp(join(tmpdir(), 'elax-58-cache-'));
    try {
      const local = new LocalDirStore(root);
      for (const o of (await seededStore.list('')).objects) await local.put(o.key, (await seededStore.get(o.key))!.bytes);
      const qs = [
        { rank_by: ['price', 'desc'], filters: ['cat', 'Eq', 'c3'], top_k: 5 },
        { rank_by: ['text', 'BM25', 'quick fox'], top_k: 5 },
        { rank_by: ['vector', 'ANN', Array.from({ length: DIMS }, (_, d) => Math.cos(d))], top_k: 5 },
      ] as const;
      const files = new PartFileCache(dir, 1 << 30);
      const e = engine(local, { partFiles: files });
      for (const q of qs) expect((await e.query('cold', q)).rows).toEqual((await engine(seededStore).query('cold', q)).rows);
      // Only the HNSW graph went into the cache (hnswlib loads a file: the cache's pinned copy); no block, no column.
      // A store on another machine (the memory store stands in for it) has its blocks cached as well.
      expect(files.stats).toEqual({ hits: 0, misses: 1, corrupt: 0 });
      const cached = (await readdir(dir)).filter((n) => n.endsWith('.bin'));
      expect(cached).toHaveLength(1);
      expect((await readFile(join(dir, cached[0]!))).byteLength).toBe(graphBytes);
      await engine(seededStore, { partFiles: files }).query('cold', qs[0]);
      expect(files.stats.misses).toBeGreaterThan(0);
      // Read straight from the store, a block is still checked against its CRC-32.
      const col = (await local.list('cold/parts/')).objects.map((o) => o.key).find((k) => k.endsWith('col-2.blk'))!;
      const bytes = (await local.get(col))!.bytes.slice();
      bytes[100] = bytes[100]! ^ 0xff;
      await local.put(col, bytes);
      await expect(engine(local, { partFiles: files }).query('cold', qs[0])).rejects.toThrow(/col-2\.blk: block 0 does not match its CRC-32/);
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
  });
});
