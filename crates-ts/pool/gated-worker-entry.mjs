// Test-only pool thread entry (query/pool-scan.test.ts): the real handler, except that the first vector-scan task
// waits until its cancel flag is set (at most 60 s) before it runs, so only a cancellation frees the thread. Never
// used by the server.
import { register } from 'tsx/esm/api';

register();
const mod = await import('./worker.ts');
let gated = false;
export default function handle(task) {
  if (!gated && task.kind === 'vector-scan' && task.input.cancel) {
    gated = true;
    Atomics.wait(task.input.cancel, 0, 0, 60_000);
  }
  return mod.default(task);
}
