/**
 * Results never depend on where rows live (RFC-0004): the same queries give identical answers with every row in the
 * WAL tail, after indexing (format-2 parts with deletion vectors), after compaction, and on a fresh node after a
 * restart — on the local store and on S3 (radosgw).
 */
import { describe, it, expect } from 'vitest';
import { rmSync } from 'node:fs';
import { Engine } from '../crates-ts/engine/index.js';
import { LocalDirStore, type ObjectStore } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';
import { tempStoreDir } from './helpers/server.js';
import { makeTestS3Store } from './helpers/s3-env.js';

let t = Date.now();
const clock = { now: () => (t += 1) };
const engine = (store: ObjectStore) => new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
const NS = 'stages';
const WORDS = ['red', 'fox', 'blue', 'whale', 'quick', 'lazy', 'dog', 'owl'];

const QUERIES: Record<string, unknown>[] = [
  { rank_by: ['id', 'asc'], top_k: 1000, include_attributes: true },
  { rank_by: ['price', 'desc'], filters: ['cat', 'In', ['c1', 'c3']], top_k: 15, include_attributes: ['price', 'cat'] },
  { rank_by: ['vector', 'kNN', [0.5, -0.2, 0.1, 0.9]], top_k: 12, filters: ['price', 'Lt', 60] },
  { rank_by: ['vector', 'ANN', [0.5, -0.2, 0.1, 0.9]], top_k: 12 },
  { rank_by: ['text', 'BM25', 'quick fox'], top_k: 10 },
  { rank_by: ['Sum', [['text', 'BM25', 'whale'], ['text', 'BM25', 'owl']]], top_k: 10, filters: ['cat', 'NotEq', 'c0'] },
  { aggregate_by: { n: ['Count'], s: ['Sum', 'price'] }, group_by: ['cat'] },
  { rank_by: ['cat', 'asc'], limit: { total: 10, per: { attributes: ['cat'], limit: 2 } } },
  // Rows without a price: Lt / Lte match them (null orders first), Gt never does.
  { rank_by: ['id', 'asc'], filters: ['Or', [['price', 'Lte', 20], ['price', 'Gt', 90]]], top_k: 1000 },
  { rank_by: ['id', 'asc'], filters: ['cat', 'Glob', '{c1,c[3-4]}'], top_k: 1000 },
  // A prefix match scores 1.0; a repeated term saturates (k3 = 8).
  { rank_by: ['text', 'BM25', 'fox fox wha', { last_as_prefix: true }], top_k: 20 },
];

async function answers(store: ObjectStore): Promise<unknown[]> {
  const e = engine(store);
  const out: unknown[] = [];
  for (const q of QUERIES) {
    const r = await e.query(NS, q);
    out.push({ rows: r.rows, aggregations: r.aggregations, aggregation_groups: r.aggregation_groups });
  }
  return out;
}

async function stages(store: ObjectStore): Promise<void> {
  const w = engine(store);
  const row = (i: number, v: number) => ({
    id: i,
    vector: [Math.sin(i + v), Math.cos(i * 2 + v), Math.sin(i * 3), Math.cos(i + 2 * v)],
    cat: `c${(i + v) % 5}`,
    ...(i % 17 === 5 ? {} : { price: (i * 37 + v * 11) % 100 }),
    text: `${WORDS[i % 8]} ${WORDS[(i + v) % 8]} ${WORDS[(i * 3) % 8]}`,
  });
  await w.write(NS, { distance_metric: 'cosine_distance', schema: { text: { type: 'string', full_text_search: true } }, upsert_rows: Array.from({ length: 300 }, (_, i) => row(i, 0)) });
  const ix = new Indexer(store, { clock, nonce: () => `s${t}`, hnsw: { flatThreshold: 50 }, maxEntriesPerPart: 1, partFormat: 2 });
  await ix.indexNamespace(NS, true); // part 1
  await w.write(NS, { upsert_rows: Array.from({ length: 60 }, (_, i) => row(i * 4, 1)), deletes: [7, 11, 13, 299] });
  await w.write(NS, { patch_rows: [{ id: 1, price: 5 }, { id: 2, cat: 'c4' }], delete_by_filter: ['price', 'Gte', 97] });
  await w.write(NS, { upsert_rows: [row(400, 2), row(401, 2)] });
  const tail = await answers(store); // the last three entries unindexed: every stage below must agree with this
  while ((await ix.indexNamespace(NS, true)).result === 'published');
  expect(await answers(store)).toEqual(tail);
  expect((await compactNamespace(store, NS, { clock, nonce: () => `c${t}`, force: true, maxParts: 1, hnsw: { flatThreshold: 50 } })).result).toBe('compacted');
  expect(await answers(store)).toEqual(tail);
  await w.write(NS, { upsert_rows: [row(402, 3)] }); // and with a new tail over the compacted part
  const withTail = await answers(store);
  while ((await ix.indexNamespace(NS, true)).result === 'published');
  expect(await answers(store)).toEqual(withTail); // a fresh engine each time: a cold node, as after a restart
}

describe('identical results in the tail, in parts, compacted, after a restart', () => {
  it('should agree at every stage on the local store', async () => {
    const dir = tempStoreDir('stages');
    try {
      await stages(new LocalDirStore(dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('should agree at every stage on S3 (radosgw)', async () => {
    await stages(makeTestS3Store('stages'));
  });
});
