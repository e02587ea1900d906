/**
 * Full-text search through the engine, from the WAL tail and from parts (postings): each analysis option changes
 * which documents a BM25 query matches exactly the way its definition says, and a hybrid multi-query (BM25 + ANN)
 * fused with RRF ranks by the hand-computed fusion of its sub-queries' ranks.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';

let t = 1_700_000_000_000;
const makeEngine = (store: MemoryStore) => new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });

/** Each case: an analysis config, documents, a query, and the ids it must match with the option on and off. */
const CASES: Array<{ name: string; on: object; off: object; docs: string[]; query: string; matchOn: number[]; matchOff: number[] }> = [
  { name: 'stemming', on: { stemming: true }, off: { stemming: false }, docs: ['running dogs', 'a run'], query: 'run', matchOn: [0, 1], matchOff: [1] },
  { name: 'remove_stopwords', on: { remove_stopwords: true }, off: { remove_stopwords: false }, docs: ['the fox', 'a fox'], query: 'the', matchOn: [], matchOff: [0] },
  { name: 'case_sensitive', on: { case_sensitive: true }, off: { case_sensitive: false }, docs: ['Fox', 'fox'], query: 'Fox', matchOn: [0], matchOff: [0, 1] },
  { name: 'ascii_folding', on: { ascii_folding: true }, off: { ascii_folding: false }, docs: ['café au lait', 'cafe'], query: 'cafe', matchOn: [0, 1], matchOff: [1] },
  { name: 'max_token_length', on: { max_token_length: 8 }, off: { max_token_length: 39 }, docs: ['antidisestablishment', 'short'], query: 'antidisestablishment', matchOn: [], matchOff: [0] },
  // German: "und" is a German stop word and "Häuser" stems to "haus"; English keeps both as they are.
  { name: 'language (stemmer)', on: { language: 'german', stemming: true }, off: { language: 'english', stemming: true }, docs: ['Häuser und Hunde', 'ein Haus'], query: 'haus', matchOn: [0, 1], matchOff: [1] },
  { name: 'language (stop words)', on: { language: 'german' }, off: { language: 'english' }, docs: ['Häuser und Hunde', 'ein Haus'], query: 'und', matchOn: [], matchOff: [0] },
];

async function matches(e: Engine, ns: string, query: unknown): Promise<number[]> {
  const res = await e.query(ns, { rank_by: ['text', 'BM25', query], top_k: 100 });
  return res.rows!.map((r) => r.id as number).sort((a, b) => a - b);
}

describe('analysis options change results as defined, from the tail and from parts', () => {
  for (const c of CASES) {
    it(`should apply ${c.name}`, async () => {
      const store = new MemoryStore();
      const e = makeEngine(store);
      const indexer = new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `n${t}` });
      for (const [label, config, want] of [['on', c.on, c.matchOn], ['off', c.off, c.matchOff]] as const) {
        const ns = `${c.name.replace(/[^a-z_]/g, '')}-${label}`;
        await e.write(ns, { schema: { text: { type: 'string', full_text_search: config } }, upsert_rows: c.docs.map((text, id) => ({ id, text })) });
        expect(await matches(e, ns, c.query), `${ns} from the WAL tail`).toEqual(want);
        await indexer.indexNamespace(ns, true);
        expect(await matches(e, ns, c.query), `${ns} from a part`).toEqual(want);
      }
    });
  }

  it('should match pre_tokenized_array attributes token for token, without analysis', async () => {
    const store = new MemoryStore();
    const e = makeEngine(store);
    const ns = 'pretok';
    await e.write(ns, {
      schema: { text: { type: '[]string', full_text_search: { tokenizer: 'pre_tokenized_array' } } },
      upsert_rows: [{ id: 0, text: ['New York', 'city'] }, { id: 1, text: ['new', 'york'] }],
    });
    await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => 'p' }).indexNamespace(ns, true);
    expect(await matches(e, ns, ['New York'])).toEqual([0]);
    expect(await matches(e, ns, ['york'])).toEqual([1]);
    await expect(matches(e, ns, 'New York')).rejects.toThrow(/pre_tokenized_array: the BM25 query must be an array of tokens/);
  });
});

describe('hybrid search: BM25 + ANN fused with RRF', () => {
  it('should rank by the hand-computed reciprocal-rank fusion of the two sub-queries', async () => {
    const store = new MemoryStore();
    const e = makeEngine(store);
    const ns = 'hybrid';
    const docs = [
      { id: 1, text: 'red fox jumps', vector: [1, 0] },
      { id: 2, text: 'fox fox fox', vector: [0, 1] },
      { id: 3, text: 'lazy dog', vector: [0.9, 0.1] },
      { id: 4, text: 'quick red fox', vector: [0.7, 0.7] },
      { id: 5, text: 'nothing here', vector: [-1, 0] },
    ];
    await e.write(ns, { distance_metric: 'euclidean_squared', schema: { text: { type: 'string', full_text_search: true } }, upsert_rows: docs });
    await new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => 'h', hnsw: { flatThreshold: 1 } }).indexNamespace(ns, true);
    await e.write(ns, { upsert_rows: [{ id: 6, text: 'red red fox', vector: [1, 0.1] }] }); // one document in the tail

    const text = { rank_by: ['text', 'BM25', 'red fox'], top_k: 4 };
    const ann = { rank_by: ['vector', 'ANN', [1, 0]], top_k: 4 };
    const [bm25, knn] = await Promise.all([e.query(ns, text), e.query(ns, ann)]);
    // The sub-queries' own rankings, checked first so the fusion below is computed from known ranks.
    expect(bm25.rows!.map((r) => r.id)).toEqual([6, 1, 4, 2]);
    expect(knn.rows!.map((r) => r.id)).toEqual([1, 6, 3, 4]);

    const fused = await e.multiQuery(ns, { queries: [text, ann], rerank_by: ['RRF', { rank_constant: 60, weights: [2, 1] }] });
    // score(d) = Σ_i w_i / (k + rank_i(d)), ranks from 1:
    //   6: 2/61 + 1/62   1: 2/62 + 1/61   4: 2/63 + 1/64   2: 2/64   3: 1/63
    const want: Array<[number, number]> = [
      [6, 2 / 61 + 1 / 62],
      [1, 2 / 62 + 1 / 61],
      [4, 2 / 63 + 1 / 64],
      [2, 2 / 64],
    ];
    const rows = fused.results[0]!.rows!;
    expect(rows.map((r) => r.id)).toEqual(want.map((w) => w[0]));
    rows.forEach((r, i) => expect(r.$dist).toBeCloseTo(want[i]![1], 12));
  });
});
