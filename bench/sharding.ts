/**
 * Namespace sharding (RFC-0013): one indexing pass and query latency, unsharded against `num_shards` = 4 and 16, on a
 * local-directory store. N rows (32-dim vectors, a text attribute, a category) written in 1,000-row requests, indexed
 * in one pass (HNSW parts, or IVF with --ivf), then 200 queries of each kind on a warm node: ANN, BM25, a filtered
 * order-by. Reports the pass's time, parts, and query p50 / p99.
 *
 *   node bin/run-ts.mjs bench/sharding.ts [--rows 20000] [--shards 0,4,16] [--ivf]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Engine } from '../crates-ts/engine/index.js';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { Indexer } from '../indexer/indexer.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const rows = Number(arg('--rows', '20000'));
const shardCounts = arg('--shards', '0,4,16').split(',').map(Number);
const ivf = process.argv.includes('--ivf');
const WORDS = ['puffer', 'fish', 'ocean', 'reef', 'spiny', 'blue', 'deep', 'swim', 'coral', 'tide', 'sand', 'wave'];
const doc = (id: number) => ({
  id,
  vector: Array.from({ length: 32 }, (_, d) => Math.sin(id * 0.37 + d * 1.7) + Math.cos(id * 0.011 * (d + 1))),
  text: Array.from({ length: 6 + (id % 7) }, (_, i) => WORDS[(id * (i + 5) + i * i) % WORDS.length]).join(' '),
  cat: `c${id % 13}`,
});
const pct = (xs: number[], p: number) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

console.log(`rows ${rows}, ${ivf ? 'IVF' : 'HNSW'} parts, node ${process.version}`);
for (const shards of shardCounts) {
  const dir = mkdtempSync(path.join(tmpdir(), 'elax-bench-shard-'));
  try {
    const store = new LocalDirStore(dir);
    const clock = { now: () => Date.now() };
    const e = new Engine(store, { clock, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: Math.random, groupCommitMs: 0 });
    await e.write('ns', { distance_metric: 'cosine_distance', schema: { text: { type: 'string', full_text_search: true } }, ...(shards > 0 ? { sharding: { num_shards: shards } } : {}) });
    for (let at = 0; at < rows; at += 1000) await e.write('ns', { upsert_rows: Array.from({ length: Math.min(1000, rows - at) }, (_, i) => doc(at + i)) });
    let n = 0;
    const ix = new Indexer(store, { clock, nonce: () => `b${n++}`, maxEntriesPerPart: 10_000, maxRowsPerPart: 10_000_000, ...(ivf ? { vectorIndex: { kind: 'ivf' as const, minRows: 1000 } } : {}) });
    const t0 = performance.now();
    await ix.drain('ns');
    const indexMs = performance.now() - t0;
    const parts = (await new RouterStore(store).read('ns'))!.router.parts.length;
    const q = new Engine(store, { clock, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: Math.random, groupCommitMs: 0 });
    const kinds: Record<string, (i: number) => Record<string, unknown>> = {
      ann: (i) => ({ rank_by: ['vector', 'ANN', doc(rows + i).vector], top_k: 10 }),
      bm25: (i) => ({ rank_by: ['text', 'BM25', `${WORDS[i % 12]} ${WORDS[(i * 5) % 12]}`], top_k: 10 }),
      filtered: (i) => ({ rank_by: ['id', 'desc'], top_k: 10, filters: ['cat', 'Eq', `c${i % 13}`] }),
    };
    const out: string[] = [];
    for (const [kind, body] of Object.entries(kinds)) {
      for (let i = 0; i < 20; i++) await q.query('ns', body(i)); // warm
      const ms: number[] = [];
      for (let i = 0; i < 200; i++) {
        const s = performance.now();
        await q.query('ns', body(i));
        ms.push(performance.now() - s);
      }
      out.push(`${kind} ${pct(ms, 50).toFixed(2)} / ${pct(ms, 99).toFixed(2)} ms`);
    }
    console.log(`shards ${shards || 'none'}: index pass ${(indexMs / 1000).toFixed(2)} s, ${parts} parts; ${out.join('; ')}`);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
