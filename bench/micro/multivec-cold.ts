/**
 * Bytes a cold multi-vector query reads from one part, by file (RFC-0015 §4): ANN from the token-level IVF (the
 * index's prefix and probed lists, then the candidates' column blocks for the exact re-rank) at the default candidates
 * and at `ef_search` 200, against kNN (the whole column). bench/micro/multivec.ts's data (10,000 rows of ≈ 16 × 32-d
 * vectors around 1,024 topics), one part in a local directory store, a fresh engine per measurement.
 *
 *   node bin/run-ts.mjs bench/micro/multivec-cold.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Engine } from '../../crates-ts/engine/index.js';
import { Indexer } from '../../indexer/indexer.js';
import { LocalDirStore } from '../../crates-ts/store/index.js';
import { rng } from '../lib.js';
const ROWS = 10000, DIMS = 32;
const rand = rng(15);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const unit = (v: number[]) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
const topics = Array.from({ length: 1024 }, () => unit(Array.from({ length: DIMS }, gauss)));
const noisy = (v: number[], s: number) => v.map((x) => Math.fround(x + gauss() * s));
const rows = Array.from({ length: ROWS }, (_, id) => ({ id, toks: Array.from({ length: 1 + Math.floor(rand() * 32) }, () => noisy(topics[Math.floor(rand() * 1024)]!, 0.15)) }));
const tmp = mkdtempSync(path.join(tmpdir(), 'mvcold-'));
const store = new LocalDirStore(tmp);
let t = Date.now();
const clock = { now: () => (t += 1) };
const e = new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
for (let i = 0; i < ROWS; i += 2000) await e.write('mv', { upsert_rows: rows.slice(i, i + 2000), ...(i === 0 ? { schema: { toks: { type: `[][${DIMS}]f32`, ann: { late_interaction: true } } } } : {}) });
await new Indexer(store, { clock, nonce: () => 'c0' }).indexNamespace('mv', true);
await e.close();
const reads = new Map<string, number>();
const get = store.get.bind(store);
store.get = (async (key: string, range?: { start: number; end: number }) => {
  const got = await get(key, range);
  const kind = key.split('/').pop()!.replace(/\d+/g, 'N');
  if (got) reads.set(kind, (reads.get(kind) ?? 0) + got.bytes.byteLength);
  return got;
}) as typeof store.get;
for (const ef of [undefined, 200]) {
  const e2 = new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
  reads.clear();
  const src = rows[1234]!.toks;
  const q = Array.from({ length: 8 }, () => noisy(src[Math.floor(rand() * src.length)]!, 0.1));
  await e2.query('mv', { rank_by: ['toks', 'ANN', q], top_k: 10, ...(ef ? { ef_search: ef } : {}) });
  console.log('ef', ef ?? 'default', JSON.stringify(Object.fromEntries([...reads].map(([k, v]) => [k, +(v / 2 ** 20).toFixed(2)]))));
  reads.clear();
  await e2.query('mv', { rank_by: ['toks', 'kNN', q], top_k: 10 });
  console.log('kNN', JSON.stringify(Object.fromEntries([...reads].map(([k, v]) => [k, +(v / 2 ** 20).toFixed(2)]))));
  await e2.close();
}
await store.close();
rmSync(tmp, { recursive: true, force: true });
