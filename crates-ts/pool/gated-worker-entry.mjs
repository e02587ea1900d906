// Test-only pool thread entry (query/pool-scan.test.ts, fts/part-task.test.ts): the real handler, except that the
// first query task (vector-scan, bm25-part) with a cancel flag waits until the flag is set (at most 60 s) before it runs, so only a cancellation frees the thread. Never
// used by the server.
import { register } from 'tsx/esm/api';

register();
const mod = await import('./worker.ts');
let gated = false;
export default function handle(task) {
  if (!gated && (task.kind === 'vector-scan' || task.kind === 'bm25-part') && task.input.cancel) {
    gated = true;
    Atomics.wait(task.input.cancel, 0, 0, 60_000);
  }
  return mod.default(task);
}
