/**
 * The piscina handler of a pool thread (loaded through worker-entry.mjs). Errors cross the thread boundary as an
 * envelope, not as thrown values: structured clone keeps an Error's message but drops ElaxError's code, status and
 * retryAfter, and the caller must see the same error inline and pooled.
 */
import { move } from 'piscina';
import { isElaxError } from '../core/index.js';
import { TASKS, type TaskKind } from './tasks.js';

export interface TaskError {
  __poolError: { code?: string; message: string; retryAfter?: number; name: string };
}

/** The no-op the pool runs once at start to learn that a thread has loaded (pool.ts, cold start). */
export const WARM_UP = 'warm-up';

export default function handle({ kind, input }: { kind: TaskKind | typeof WARM_UP; input: never }): unknown {
  if (kind === WARM_UP) return null;
  let out: unknown;
  try {
    out = (TASKS[kind] as (i: unknown) => unknown)(input);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    return { __poolError: { name: err.name, message: err.message, ...(isElaxError(e) ? { code: e.code, retryAfter: e.retryAfter } : {}) } } satisfies TaskError;
  }
  // Bytes go back transferred, not copied, when they own their whole buffer (parquet-wasm copies out of its heap).
  if (out instanceof Uint8Array && out.byteOffset === 0 && out.byteLength === out.buffer.byteLength) return move(out);
  return out;
}
