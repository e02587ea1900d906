/**
 * Test-only: pools whose thread runs gated-worker-entry.mjs, which holds the first task that has a cancel flag
 * until the flag is set (60 s at most), so a test can cancel a task that is surely in flight on the thread.
 */
import { expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { ElaxError, isElaxError } from '../core/index.js';
import { createPool, type TaskPool } from './index.js';
import type { TaskInput, TaskKind } from './tasks.js';

/** The gated entry, for createPool({ entry }). */
export const GATED_ENTRY = new URL('./gated-worker-entry.mjs', import.meta.url);

/** A one-thread pool on the gated entry (the entry's path checked), ready. */
export async function gatedPool(now: () => number): Promise<TaskPool> {
  expect(fileURLToPath(GATED_ENTRY)).toMatch(/gated-worker-entry\.mjs$/);
  const pool = createPool({ threads: 1, now, entry: GATED_ENTRY });
  await pool.ready();
  return pool;
}

/**
 * Runs `input` as a `kind` task with a cancel flag, aborts it as a closed connection does, and checks that it failed
 * with ELAX_ERR_QUERY_CANCELLED and that its flag was set.
 */
export async function runAndCancel<K extends TaskKind>(pool: TaskPool, kind: K, input: TaskInput<K>): Promise<void> {
  const ac = new AbortController();
  const cancel = new Int32Array(new SharedArrayBuffer(4));
  const first = pool.run(kind, { ...input, cancel }, { signal: ac.signal, cancel });
  ac.abort(new ElaxError('ELAX_ERR_QUERY_CANCELLED', 'the client closed the connection'));
  const err = await first.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isElaxError(err, 'ELAX_ERR_QUERY_CANCELLED')).toBe(true);
  expect(Atomics.load(cancel, 0)).toBe(1);
}
