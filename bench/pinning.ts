/**
 * Namespace pinning under cache pressure: a small namespace A is queried (exact kNN, reads its whole vector column)
 * after every query of a larger namespace B whose scans alone overflow the memory cache. Unpinned, each B query evicts
 * A's decoded column and A's next query decodes it again (from the disk cache); pinned, A stays resident.
 *
 *   node bin/run-ts.mjs bench/pinning.ts [--rounds 40] [--dims 64] [--a-rows 8000] [--b-parts 5] [--cache-memory-mib 8]
 *
 * One in-process server over a temporary local store, embedded indexer off (parts built here, one Indexer pass per
 * write), --pinned-cache-share 0.5. Prints A's and B's query latency over HTTP with A unpinned, then pinned.
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from '../server/serve.js';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';
import { latencySummary, machine, postJson, rng } from './lib.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '40' },
    dims: { type: 'string', default: '64' },
    'a-rows': { type: 'string', default: '8000' },
    'b-parts': { type: 'string', default: '5' },
    'cache-memory-mib': { type: 'string', default: '8' },
  },
});
const ROUNDS = Number(values.rounds);
const DIMS = Number(values.dims);
const A_ROWS = Number(values['a-rows']);
const B_PARTS = Number(values['b-parts']);
const CACHE = Number(values['cache-memory-mib']) * 1024 * 1024;

const dir = mkdtempSync(path.join(tmpdir(), 'elax-bench-pin-'));
const store = new LocalDirStore(dir);
const server = await startServer({ port: 0, host: '127.0.0.1', store: dir, apiKeys: [], groupCommitMs: 1, log: false, indexer: false, poolThreads: 0, cacheDir: 'temp', memoryCacheBytes: CACHE, pinnedCacheShare: 0.5 });
let nonce = 0;
const index = (ns: string) => new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => `b${nonce++}`, hnsw: { flatThreshold: 4 } }).indexNamespace(ns, true);
const rand = rng(11);
const vec = () => Array.from({ length: DIMS }, () => rand() * 2 - 1);

async function fill(ns: string, from: number, rows: number) {
  for (let i = 0; i < rows; i += 2000) {
    const n = Math.min(2000, rows - i);
    await server.engine.write(ns, { upsert_rows: Array.from({ length: n }, (_, j) => ({ id: from + i + j, vector: vec() })), distance_metric: 'euclidean_squared' });
  }
  await index(ns);
}

try {
  await fill('bench-a', 0, A_ROWS);
  for (let p = 0; p < B_PARTS; p++) await fill('bench-b', p * A_ROWS, A_ROWS);
  const knn = (ns: string) => postJson(`${server.url}/v2/namespaces/${ns}/query`, { rank_by: ['vector', 'kNN', vec()], top_k: 10 });

  async function measure(label: string) {
    const blocks = server.engine.catalog.blocks;
    for (let i = 0; i < 3; i++) {
      await knn('bench-b');
      await knn('bench-a');
    }
    const a: number[] = [];
    const b: number[] = [];
    const ev0 = blocks.stats.evictions;
    let aMisses = 0;
    for (let r = 0; r < ROUNDS; r++) {
      let t = performance.now();
      await knn('bench-b');
      b.push(performance.now() - t);
      const m0 = blocks.stats.misses;
      t = performance.now();
      await knn('bench-a');
      a.push(performance.now() - t);
      aMisses += blocks.stats.misses - m0;
    }
    const held = blocks.heldStatus(['bench-a']);
    console.log(
      `${label}: A kNN ms ${JSON.stringify(latencySummary(a))} (block-cache misses per A query ${(aMisses / ROUNDS).toFixed(2)}), B kNN ms ${JSON.stringify(latencySummary(b))}, evictions ${blocks.stats.evictions - ev0}, A held ${(held.heldBytes / 2 ** 20).toFixed(2)} MiB of a ${(blocks.heldBudgetBytes / 2 ** 20).toFixed(2)} MiB share`,
    );
  }

  console.log(`machine: ${machine()}; A ${A_ROWS} rows, B ${B_PARTS} parts of ${A_ROWS} rows, ${DIMS} dims, --cache-memory ${CACHE / 2 ** 20} MiB, share 0.5, ${ROUNDS} rounds`);
  await measure('unpinned');
  await server.engine.updateMetadata('bench-a', { pinning: true });
  await server.engine.pins.settled('bench-a');
  await measure('pinned');
} finally {
  await server.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
