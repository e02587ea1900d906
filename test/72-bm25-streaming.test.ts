/**
 * BM25 over many format-2 parts holds one part's data at a time (RFC-0004 §8; query/ text-segments.ts): with a block
 * cache smaller than all parts' postings together, a BM25 query still answers exactly what an exhaustive evaluation
 * over the live documents answers, and the cache's own accounting shows that what the query pinned at once never
 * exceeded the one or two parts it had prepared (the one being read and the next one, prefetched). A query reads
 * each segment twice (statistics, then scoring), so a view's segments must keep their liveness while writes land.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { BlockCache } from '../crates-ts/cache/index.js';
import { Indexer } from '../indexer/indexer.js';
import { executeQuery, parseQuery, TEXT_PREFETCH, type QueryContext } from '../crates-ts/query/index.js';
import { looseCorpus } from '../crates-ts/fts/index.js';
import type { Doc } from '../crates-ts/core/index.js';

const NS = 'stream';
const PARTS = 12;
const ROWS = 300;
let t = Date.now();
const engineOn = (store: MemoryStore, catalog?: ConstructorParameters<typeof Engine>[1]['catalog']) =>
  new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0, catalog });

/** A seeded word stream: Zipf-ish over 500 words, so lists range from a few entries to most rows. */
function words(seed: number): () => string {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    const u = a / 2 ** 32;
    return `w${Math.floor(500 * u * u * u)}`;
  };
}

/** PARTS parts of ROWS rows, then re-upserts and deletes that kill rows in them, and a WAL tail. */
async function seeded(): Promise<MemoryStore> {
  const store = new MemoryStore();
  const w = engineOn(store);
  const indexer = new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => 'stream', maxRowsPerPart: ROWS, partFormat: 2 });
  const word = words(7);
  const row = (id: number) => ({ id, cat: `c${id % 7}`, text: Array.from({ length: 4 + (id % 9) }, word).join(' ') });
  for (let p = 0; p < PARTS; p++) {
    const rows = Array.from({ length: ROWS }, (_, j) => row(p * ROWS + j));
    await w.write(NS, { ...(p === 0 ? { schema: { text: { type: 'string', full_text_search: true } } } : {}), upsert_rows: rows });
    await indexer.indexNamespace(NS, true);
  }
  // Shadowed and deleted rows in every part (deletion vectors), published with one more part.
  await w.write(NS, { upsert_rows: Array.from({ length: 40 }, (_, i) => row(i * 89)) });
  await w.write(NS, { deletes: Array.from({ length: 30 }, (_, i) => i * 113 + 5) });
  await indexer.indexNamespace(NS, true);
  // The WAL tail: new rows and re-upserts of part rows.
  await w.write(NS, { upsert_rows: [...Array.from({ length: 25 }, (_, i) => row(PARTS * ROWS + i)), ...Array.from({ length: 15 }, (_, i) => row(i * 241 + 3))] });
  await w.close();
  return store;
}

describe('BM25 over many parts', () => {
  it('should answer exactly with a block cache smaller than all postings, pinning about one part at a time', async () => {
    const store = await seeded();
    // Postings files are ≈18.7 KB: about half of them are read whole, the others by ranges (dictionary, then lists).
    const sizes = (await store.list(`${NS}/parts/`)).objects.filter((o) => o.key.endsWith('.postings')).map((o) => o.size);
    const ranged = 18_700;
    expect(sizes.filter((n) => n >= ranged).length).toBeGreaterThan(3);
    expect(sizes.filter((n) => n < ranged).length).toBeGreaterThan(3);
    // Part sizes first, on a node with room for everything.
    const roomy = new BlockCache(1 << 30);
    const probe = engineOn(store, { blockCache: roomy, rangedPostingsMinBytes: ranged });
    const view = await probe.catalog.require(NS, 'strong');
    expect(view.parts.length).toBe(PARTS + 1);
    expect(view.tailLiveCount).toBeGreaterThan(0);
    const live: Doc[] = [];
    for await (const d of view.liveDocs()) live.push(d);
    const ctx: QueryContext = { schema: view.schema, distanceMetric: view.distanceMetric };
    const bodies = [
      { rank_by: ['text', 'BM25', 'w0 w3'], top_k: 10, include_attributes: ['cat'] },
      { rank_by: ['text', 'BM25', 'w1 w17 w2'], top_k: 25, filters: ['cat', 'Eq', 'c3'] },
      { rank_by: ['Sum', [['text', 'BM25', 'w5'], ['Product', 2, ['text', 'BM25', 'w4 w40']]]], top_k: 5 },
      { rank_by: ['text', 'BM25', 'w2 w3', { last_as_prefix: true }], top_k: 8 },
      { rank_by: ['text', 'BM25', 'w9 w1'], limit: { total: 12, per: { attributes: ['cat'], limit: 2 } } },
    ];
    // What one part holds while it is scored (its ids, the filter column, its postings with the lists a query names):
    // the most over parts and queries (postings keep the lists earlier queries decoded: the last query's is the most).
    let onePart = 0;
    let allParts = 0;
    for (const body of bodies) {
      const q = parseQuery(body, ctx);
      if (q.rank?.kind !== 'text') throw new Error('a text query');
      let sum = 0;
      for (const seg of view.segments()) {
        const before = roomy.pinnedBytes;
        const release = await seg.prepare({ attrs: q.readAttrs, vectors: false, postings: q.rank.plan.needs });
        const held = roomy.pinnedBytes - before;
        release();
        onePart = Math.max(onePart, held);
        sum += held;
      }
      allParts = Math.max(allParts, sum);
    }
    expect(onePart).toBeGreaterThan(0);
    expect(allParts).toBeGreaterThan(6 * onePart); // many parts, none dominant

    // A node whose budget holds about three parts' worth, queried cold and then warm.
    const budget = 3 * onePart;
    expect(budget).toBeLessThan(allParts / 3);
    const blocks = new BlockCache(budget);
    const node = engineOn(store, { blockCache: blocks, rangedPostingsMinBytes: ranged });
    for (const round of [1, 2]) {
      for (const body of bodies) {
        blocks.resetPeak();
        const got = await node.query(NS, body);
        const q = parseQuery(body, ctx);
        const want = executeQuery(q, live, { ...ctx, textCorpus: () => looseCorpus(live) });
        expect(got.rows, `${JSON.stringify(body)}, round ${round}`).toEqual(want.rows);
        expect(got.rows!.length).toBeGreaterThan(0);
        // Pinned at once: the part being read and the one prefetched (the statistics pass pins less: no ids).
        expect(blocks.peakPinnedBytes).toBeLessThanOrEqual((1 + TEXT_PREFETCH) * onePart);
        expect(blocks.pinnedBytes).toBe(0);
        expect(blocks.bytes).toBeLessThanOrEqual(budget);
      }
    }
  });

  it("should keep a view's segments as they were while writes land (parts' dead rows, the tail's rows)", async () => {
    const store = await seeded();
    const writer = engineOn(store);
    const node = engineOn(store);
    const view = await node.catalog.require(NS, 'strong');
    const snapshot = (segs: ReturnType<typeof view.segments>) => segs.map((s) => ({ rows: s.rows, dead: s.dead === null ? null : Array.from(s.dead.subarray(0, s.rows)), deadOrds: [...s.deadOrdinals()] }));
    const a = view.segments();
    const before = snapshot(a);
    // Each write kills a row of part 0 (already killed once: its mask is this view's own copy) and one of the tail.
    for (const id of [ROWS - 1, ROWS - 2]) {
      await writer.write(NS, { upsert_rows: [{ id, cat: 'c0', text: 'w0 new' }, { id: PARTS * ROWS + 1, cat: 'c1', text: `w1 ${id}` }] });
      const again = await node.catalog.require(NS, 'strong');
      expect(again).toBe(view); // the same view, moved forward
      const b = view.segments();
      expect(b).not.toBe(a);
      expect(snapshot(a)).toEqual(before);
      expect(b[0]!.dead![id]).toBe(1);
      expect(b[b.length - 1]!.rows).toBeGreaterThan(a[a.length - 1]!.rows);
    }
  });
});
