// Test-only pool thread entry (pool.test.ts, test/84): a worker that starts, then exits in the middle of every task, as a native
// crash or an out-of-memory would end it. Never used by the server.
import { register } from 'tsx/esm/api';

register();
export default function handle({ kind }) {
  if (kind === 'warm-up') return null; // loads fine (pool.ts waits for this), dies on real work
  process.exit(1); // in a worker thread this ends the thread only
}
