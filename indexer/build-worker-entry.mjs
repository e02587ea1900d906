// Build pool thread entry (indexer/build-pool.ts): a pool thread (crates-ts/pool/worker.ts) whose CPU priority is
// lowered like the embedded indexer's own thread (--indexer-nice), so shard builds yield the cores to queries and writes
// (Linux threads also inherit the nice value of the thread that creates them: this covers a pool made elsewhere).
import { register } from 'tsx/esm/api';
import { workerData } from 'piscina';

register();
const nice = workerData?.nice;
if (typeof nice === 'number' && nice > 0) (await import('../crates-ts/core/thread-priority.ts')).niceThisThread(nice);
const mod = await import('../crates-ts/pool/worker.ts');
await import('../crates-ts/part/index.ts'); // what part-build runs: loaded with the thread, not by its first task
export default mod.default;
