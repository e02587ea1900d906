/**
 * The vector-column golden fixture (test/fixtures/part-vann, RFC-0014; written once by make-part-vann.ts, never
 * regenerated): the current build reads its head's `vector_attr_indexes` entry and the `img` column back exactly,
 * answers kNN over `img` as a brute-force euclidean_squared computed here does, and answers ANN over `img` through the
 * part's graph `vann-0.hnsw` (fetched only by ANN or a cache warm) with exact distances and full recall on this small
 * part.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { BlockCache } from '../crates-ts/cache/index.js';
import { isBlockHead, loadPart, readManifest } from '../crates-ts/part/index.js';
import { VANN_CREATED_AT, VANN_NS, VANN_PART_ID, vannDocs } from './fixtures/part-vann.js';
import { withFixtureCopy } from './helpers/fixture-copy.js';

function l2(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) * (a[i]! - b[i]!);
  return s;
}

describe('the vector-column fixture (test/fixtures/part-vann, RFC-0014)', () => {
  it('should read its second vector column and its graph back and rank kNN / ANN over it as brute force does', async () => {
    await withFixtureCopy('part-vann', async (store) => {
      const docs = vannDocs();
      const withImg = docs.filter((d) => d.attrs.img !== undefined);
      const head = (await readManifest(store, VANN_NS, VANN_PART_ID))!;
      if (!isBlockHead(head)) throw new Error('not a block part');
      expect(head.vector_attr_indexes).toEqual([{ attr: 'img', file: 'vann-0.hnsw', space: 'l2', dims: 8, vectors: withImg.length, M: 16, ef_construction: 200 }]);
      const part = await loadPart(store, VANN_NS, VANN_PART_ID);
      expect(part.docs.map((d) => [d.id, d.attrs.img ?? null])).toEqual(docs.map((d) => [d.id, d.attrs.img ?? null]));

      const graphReads: string[] = [];
      const columnReads: { ranged: boolean }[] = [];
      const get = store.get.bind(store);
      store.get = (async (key: string, range?: { start: number; end: number }) => {
        if (key.endsWith('/vann-0.hnsw')) graphReads.push(key);
        if (key.endsWith('/col-1.blk')) columnReads.push({ ranged: range !== undefined });
        return get(key, range);
      }) as typeof store.get;
      expect(head.columns.map((c) => c.name)).toEqual(['cat', 'img']);
      let t = Date.parse(VANN_CREATED_AT);
      const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      try {
        const queries = [
          [1, -1, 0.5, 2, 0, -0.25, 1, 1],
          [-2, 0, 0, 1.5, -1, 2, 0.125, -0.5],
        ];
        const brute = (q: number[], k: number) =>
          withImg
            .map((d) => [d.id as number, l2(q, d.attrs.img as number[])] as [number, number])
            .sort((a, b) => a[1] - b[1] || a[0] - b[0])
            .slice(0, k);
        for (const q of queries) {
          const got = await e.query(VANN_NS, { rank_by: ['img', 'kNN', q], top_k: 12 });
          expect(got.rows!.map((r) => [r.id, r.$dist])).toEqual(brute(q, 12));
        }
        expect(graphReads).toEqual([]); // kNN scans the column; the graph is for ANN
        // Warming the cache (hint_cache_warm, pinning) loads the column's graph; ANN then fetches nothing more of it.
        await e.warmCache(VANN_NS);
        const afterWarm = graphReads.length;
        expect(afterWarm).toBeGreaterThan(0);
        for (const q of queries) {
          const got = await e.query(VANN_NS, { rank_by: ['img', 'ANN', q], top_k: 12 });
          // Exact distances of the rows returned, best first; on 257 vectors with ef 64+ the graph finds them all.
          expect(got.rows!.map((r) => [r.id, r.$dist])).toEqual(brute(q, 12));
        }
        expect(graphReads.length).toBe(afterWarm);
      } finally {
        await e.close();
      }

      // Cold, ANN first: the candidates' blocks of the img column are read by range, never the whole column.
      const fresh = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      try {
        columnReads.length = 0;
        const q = [1, 1, 1, 1, -1, -1, -1, -1];
        const ann = await fresh.query(VANN_NS, { rank_by: ['img', 'ANN', q], top_k: 5, include_attributes: ['img'] });
        expect(ann.rows!.map((r) => [r.id, r.img])).toEqual(
          withImg
            .map((d) => [d.id as number, l2(q, d.attrs.img as number[]), d.attrs.img] as const)
            .sort((a, b) => a[1] - b[1] || a[0] - b[0])
            .slice(0, 5)
            .map(([id, , img]) => [id, img]),
        );
        expect(columnReads.length).toBeGreaterThan(0);
        expect(columnReads.every((r) => r.ranged)).toBe(true);
      } finally {
        await fresh.close();
      }

      // Cold, with a large graph (graphWaitBytes 0): the first ANN ranks the part exactly and loads the graph in the
      // background; the next one searches the cached graph without fetching it again.
      const graphs = new BlockCache(1024 ** 3);
      const cold = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0, catalog: { graphCache: graphs, graphWaitBytes: 0 } });
      try {
        const q = [0.5, 1, -1, 0, 2, -0.5, 0.25, 1];
        const knn = await cold.query(VANN_NS, { rank_by: ['img', 'kNN', q], top_k: 10 });
        graphReads.length = 0;
        const first = await cold.query(VANN_NS, { rank_by: ['img', 'ANN', q], top_k: 10 });
        expect(first.rows).toEqual(knn.rows);
        expect(graphs.size).toBe(0); // answered without waiting for the graph (its load takes file I/O)
        for (let i = 0; i < 200 && graphs.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
        expect(graphs.size).toBe(1);
        const loaded = graphReads.length;
        expect(loaded).toBeGreaterThan(0);
        const second = await cold.query(VANN_NS, { rank_by: ['img', 'ANN', q], top_k: 10 });
        expect(second.rows).toEqual(knn.rows);
        expect(graphReads.length).toBe(loaded);
        expect(graphs.stats.hits).toBeGreaterThan(0);
      } finally {
        await cold.close();
      }
    });
  });
});
