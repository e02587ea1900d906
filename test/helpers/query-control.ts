/**
 * A QueryControl a test can stop, as the server's is stopped by a deadline or a closed connection
 * (crates-ts/core/cancel.ts): once `ac.abort(reason)` is called, check() throws the reason, checkpoint() yields to
 * the event loop and then checks, and `signal` (which pool tasks listen to) is aborted.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { QueryControl } from '../../crates-ts/core/cancel.js';

export function abortableControl(): { ac: AbortController; control: QueryControl } {
  const ac = new AbortController();
  const check = () => {
    if (ac.signal.aborted) throw ac.signal.reason;
  };
  return {
    ac,
    control: {
      signal: ac.signal,
      check,
      async checkpoint() {
        await sleep(0);
        check();
      },
    },
  };
}
