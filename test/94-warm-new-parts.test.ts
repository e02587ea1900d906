/**
 * A view built in the background after a publish (catalog.ts viewFor, staleOk) is installed only once the parts the
 * publish added have been read ahead (catalog.ts warmNewParts): a clustered part's codes, and the postings
 * dictionaries of the full-text attributes queries searched. So the first ANN and BM25 queries on the new part set
 * read none of that from the store, and answer as a node that read it cold does.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, TracingStore, type StoreTraceEvent } from '../crates-ts/store/index.js';
import type { ObjectStore } from '../crates-ts/store/types.js';
import { Indexer } from '../indexer/indexer.js';
import { sleep } from './helpers/slow-parts-store.js';

const engineOn = (store: ObjectStore) => new Engine(store, { clock: { now: () => Date.now() }, sleep, random: Math.random, groupCommitMs: 0, catalog: { staleRebuildMinRows: 0 } });
const WORDS = ['ocean', 'river', 'stone', 'forest', 'cloud', 'ember', 'delta', 'field'];
const rowsFrom = (from: number, n: number) =>
  Array.from({ length: n }, (_, j) => {
    const i = from + j;
    return { id: i, vector: Array.from({ length: 8 }, (_, d) => Math.sin(i * 0.37 + d * (1 + (i % 5)))), text: `${WORDS[i % 8]} ${WORDS[(i * 3) % 8]} w${i % 13}` };
  });
const indexer = (store: ObjectStore, nonce: string) =>
  new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => nonce, vectorIndex: { kind: 'ivf', minRows: 40, targetSize: 40, minSize: 20, maxSize: 80 } });

describe('parts a publish added, read before the view that has them is installed', () => {
  it('should serve the first ANN and BM25 queries on the new part set without reading its codes or postings dictionary', async () => {
    const base = new MemoryStore();
    const writer = engineOn(base);
    await writer.write('ns', { distance_metric: 'cosine_distance', schema: { text: { type: 'string', full_text_search: true } }, upsert_rows: rowsFrom(0, 300) });
    await indexer(base, 'p1').indexNamespace('ns', true);
    const events: StoreTraceEvent[] = [];
    const reader = engineOn(new TracingStore(base, () => performance.now(), (e) => events.push(e)));
    const ann = { rank_by: ['vector', 'ANN', rowsFrom(7, 1)[0]!.vector], top_k: 10 };
    const bm25 = { rank_by: ['text', 'BM25', 'river w3'], top_k: 10 };
    const ids = async (body: Record<string, unknown>) => (await reader.query('ns', body)).rows!.map((r) => r.id);
    await ids(ann);
    await ids(bm25); // the tail's text index, and so the warm-up's choice of attributes, comes from this query

    // Another node writes and publishes a second clustered part.
    await writer.write('ns', { upsert_rows: rowsFrom(300, 300) });
    await indexer(base, 'p2').indexNamespace('ns', true);
    const router = await base.get('ns/router.json');
    const parts = (JSON.parse(new TextDecoder().decode(router!.bytes)) as { parts: { id: string; index_kind?: string }[] }).parts;
    const added = parts.find((p) => p.id.endsWith('p2'))!;
    expect(added.index_kind).toBe('ivf');

    // The refresh answers from the cached view and builds (and warms) the new one in the background.
    await ids(ann);
    for (let i = 0; i < 100 && reader.catalog.cachedView('ns')!.router.parts.length < 2; i++) {
      await sleep(20);
      await ids({ rank_by: ['id', 'asc'], top_k: 1 });
    }
    expect(reader.catalog.cachedView('ns')!.router.parts).toHaveLength(2);

    events.length = 0;
    const gotAnn = await ids(ann);
    const gotBm25 = await ids(bm25);
    const partReads = events.filter((e) => e.key.includes(added.id)).map((e) => e.key.slice(e.key.lastIndexOf('/') + 1));
    expect(partReads.filter((k) => k === 'codes.blk' || k === 'ivf.blk' || k.endsWith('.postings'))).toEqual([]);

    // The same answers as a fresh node that reads everything cold.
    const cold = engineOn(base);
    expect(gotAnn).toEqual((await cold.query('ns', ann)).rows!.map((r) => r.id));
    expect(gotBm25).toEqual((await cold.query('ns', bm25)).rows!.map((r) => r.id));
    expect(gotBm25.length).toBeGreaterThan(0);
  });
});
