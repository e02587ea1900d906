/**
 * Cost of branch_from_namespace and copy_from_namespace against the namespace's size (RFC-0011): a namespace of N
 * rows (8-dim vectors, a string attribute) indexed into parts on a local-directory store, plus a 500-row tail; then a
 * branch and a copy of it, timed, with the objects and bytes each one wrote.
 *
 *   node bin/run-ts.mjs bench/branch.ts [--rows 2000,20000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Engine } from '../crates-ts/engine/index.js';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const sizes = arg('--rows', '2000,20000').split(',').map(Number);

async function dirStats(store: LocalDirStore, prefix: string) {
  const objects = (await store.list(prefix)).objects;
  return { objects: objects.length, bytes: objects.reduce((s, o) => s + o.size, 0) };
}

for (const rows of sizes) {
  const dir = mkdtempSync(path.join(tmpdir(), 'elax-bench-branch-'));
  try {
    const store = new LocalDirStore(dir);
    const clock = { now: () => Date.now() };
    const e = new Engine(store, { clock, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: Math.random, groupCommitMs: 0 });
    let n = 0;
    const ix = new Indexer(store, { clock, nonce: () => `b${n++}`, maxEntriesPerPart: 4 });
    const doc = (id: number) => ({ id, vector: Array.from({ length: 8 }, (_, d) => Math.sin(id * (d + 1))), tag: `t${id % 17}` });
    for (let at = 0; at < rows; at += 1000) {
      await e.write('src', { upsert_rows: Array.from({ length: Math.min(1000, rows - at) }, (_, i) => doc(at + i)), distance_metric: 'euclidean_squared' });
    }
    while ((await ix.indexNamespace('src', true)).result === 'published');
    await e.write('src', { upsert_rows: Array.from({ length: 500 }, (_, i) => doc(rows + i)) });
    const src = await dirStats(store, 'src/');
    let t0 = performance.now();
    await e.write('br', { branch_from_namespace: 'src' });
    const branchMs = performance.now() - t0;
    const br = await dirStats(store, 'br/');
    const refs = await dirStats(store, 'src/refs/');
    t0 = performance.now();
    await e.write('cp', { copy_from_namespace: 'src' });
    const copyMs = performance.now() - t0;
    const cp = await dirStats(store, 'cp/');
    const parts = (await e.catalog.routers.read('src'))!.router.parts.length;
    console.log(
      JSON.stringify({ rows, parts, src_objects: src.objects, src_bytes: src.bytes, branch_ms: +branchMs.toFixed(1), branch_objects: br.objects + refs.objects, branch_bytes: br.bytes + refs.bytes, copy_ms: +copyMs.toFixed(1), copy_objects: cp.objects, copy_bytes: cp.bytes }),
    );
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
