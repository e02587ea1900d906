/**
 * A build pool thread (indexer/build-pool.ts; entered through build-worker-entry.mjs, or bundled, bin/bundle.mjs): a
 * pool thread (crates-ts/pool/worker.ts) whose CPU priority is first lowered like the embedded indexer's own thread
 * (--indexer-nice), so shard builds yield the cores to queries and writes. The engine's modules are imported after
 * that (dynamically), so that loading them runs at the lowered priority too.
 */
import { workerData } from 'piscina';
import { niceThisThread } from '../crates-ts/core/thread-priority.js';

const nice = (workerData as { nice?: unknown } | undefined)?.nice;
if (typeof nice === 'number' && nice > 0) niceThisThread(nice);
const mod = await import('../crates-ts/pool/worker.js');
await import('../crates-ts/part/index.js'); // what part-build runs: loaded with the thread, not by its first task
export default mod.default;
