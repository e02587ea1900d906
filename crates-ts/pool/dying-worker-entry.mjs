// Test-only pool thread entry (pool.test.ts, test/84): a worker that exits in the middle of every task, as a native
// crash or an out-of-memory would end it. Never used by the server.
import { register } from 'tsx/esm/api';

register();
export default function handle() {
  process.exit(1); // in a worker thread this ends the thread only
}
