/**
 * Cold queries read only what they need: a node that has never seen a namespace fetches the rows of its parts (to
 * know which rows are live) and then only the files its query uses: HNSW indexes for ANN, postings for BM25,
 * neither for filters or attribute order. Each file is fetched once, whatever the number of concurrent queries.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, type ByteRange, type GetResult } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';

class CountingStore extends MemoryStore {
  readonly gets: string[] = [];
  override async get(key: string, range?: ByteRange): Promise<GetResult | null> {
    this.gets.push(key);
    return super.get(key, range);
  }
}

let t = 1_700_000_000_000;
const engine = (store: MemoryStore, rangedPostingsMinBytes?: number) =>
  new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0, catalog: { rangedPostingsMinBytes } });

describe('cold reads', () => {
  it('should fetch HNSW indexes only for ANN and postings only for BM25, once each', async () => {
    const store = new CountingStore();
    const w = engine(store);
    const rows = Array.from({ length: 600 }, (_, i) => ({ id: i, vector: [Math.cos(i), Math.sin(i)], text: `word${i % 13} common`, n: i % 5 }));
    await w.write('ns', { distance_metric: 'cosine_distance', schema: { text: { type: 'string', full_text_search: true } }, upsert_rows: rows });
    await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => 'x' }).indexNamespace('ns', true);
    const fetched = (suffix: string) => store.gets.filter((k) => k.endsWith(suffix)).length;

    const cold = engine(store);
    store.gets.length = 0;
    const filtered = await cold.query('ns', { rank_by: ['id', 'asc'], filters: ['n', 'Eq', 3], top_k: 3 });
    expect(filtered.rows!.map((r) => r.id)).toEqual([3, 8, 13]);
    expect(fetched('ids.blk')).toBe(1); // the part's rows (format 2: ids, columns, vectors) are read once
    expect(fetched('vectors.hnsw')).toBe(0);
    expect(fetched('.postings')).toBe(0);

    const bm25 = await Promise.all([1, 2, 3].map(() => cold.query('ns', { rank_by: ['text', 'BM25', 'word7'], top_k: 100 })));
    expect(bm25[0]!.rows!.length).toBe(rows.filter((r) => r.text.startsWith('word7 ')).length);
    expect(fetched('.postings')).toBe(1);
    expect(fetched('vectors.hnsw')).toBe(0);

    const ann = await Promise.all([1, 2].map(() => cold.query('ns', { rank_by: ['vector', 'ANN', [1, 0]], top_k: 5 })));
    expect(ann[0]!.rows!.map((r) => r.id)).toEqual(ann[1]!.rows!.map((r) => r.id));
    expect(fetched('vectors.hnsw')).toBe(1);
    expect(fetched('ids.blk')).toBe(1); // the part's rows (format 2: ids, columns, vectors) are read once
  });

  it('should range-read large postings: the dictionary, then only the lists a query names', async () => {
    const store = new CountingStore();
    const w = engine(store);
    const words = Array.from({ length: 400 }, (_, i) => `term${i}`);
    const rows = Array.from({ length: 5000 }, (_, i) => ({ id: i, text: Array.from({ length: 12 }, (_, j) => words[(i * 13 + j * 101) % 400]).join(' ') }));
    await w.write('big', { schema: { text: { type: 'string', full_text_search: true } }, upsert_rows: rows });
    await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => 'y' }).indexNamespace('big', true);
    const postingsKey = (await store.list('big/parts/')).objects.find((o) => o.key.endsWith('.postings'))!;

    const whole = engine(store);
    const ranged = engine(store, 0);
    const ranges: Array<[number, number]> = [];
    const get = store.get.bind(store);
    store.get = async (key, range) => {
      if (key.endsWith('.postings')) ranges.push(range ? [range.start, range.end] : [0, postingsKey.size]);
      return get(key, range);
    };
    const q = { rank_by: ['Sum', [['text', 'BM25', 'term7 term300'], ['text', 'BM25', 'term39', { last_as_prefix: true }]]], top_k: 10 };
    const a = await ranged.query('big', q);
    const read = ranges.reduce((s, [x, y]) => s + (y - x), 0);
    expect(read).toBeLessThan(postingsKey.size / 2);
    const b = await whole.query('big', q);
    expect(ranges.at(-1)).toEqual([0, postingsKey.size]); // the default engine read it whole (small file)
    expect(a.rows).toEqual(b.rows);
    expect(a.rows!.length).toBe(10);
  });

  it('should load indexes and postings on hint_cache_warm, so the next queries fetch nothing', async () => {
    const store = new CountingStore();
    const w = engine(store);
    const rows = Array.from({ length: 600 }, (_, i) => ({ id: i, vector: [Math.cos(i), Math.sin(i)], text: `word${i % 13} common`, cat: `c${i % 7}`, name: `name${i}` }));
    await w.write('warm', { distance_metric: 'cosine_distance', schema: { text: { type: 'string', full_text_search: true }, name: { type: 'string', fuzzy: true } }, upsert_rows: rows });
    await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => 'z' }).indexNamespace('warm', true);
    const node = engine(store);
    await node.warmCache('warm');
    const fetchedBefore = store.gets.filter((k) => k.includes('/parts/')).length;
    expect(store.gets.some((k) => k.endsWith('vectors.hnsw'))).toBe(true);
    await node.query('warm', { rank_by: ['vector', 'ANN', [1, 0]], top_k: 5 });
    await node.query('warm', { rank_by: ['text', 'BM25', 'word3'], top_k: 5 });
    // Filter indexes are warm too: a filtered ANN query fetches nothing.
    expect(store.gets.some((k) => /\/fidx-\d+\.blk$/.test(k))).toBe(true);
    const f = await node.query('warm', { rank_by: ['vector', 'ANN', [1, 0]], top_k: 5, filters: ['cat', 'Eq', 'c3'], include_attributes: ['cat'] });
    expect(f.rows!.map((r) => r.cat)).toEqual(Array(5).fill('c3'));
    expect(store.gets.filter((k) => k.includes('/parts/')).length).toBe(fetchedBefore);
    // The fuzzy index's directory was read by the warm (a Fuzzy query then reads only its blocks).
    expect(store.gets.some((k) => /\/ffz-\d+\.blk$/.test(k))).toBe(true);
  });
});
