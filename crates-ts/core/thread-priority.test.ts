import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { existsSync, readlinkSync } from 'node:fs';
import { getPriority } from 'node:os';
import { niceThisThread } from './thread-priority.js';

describe('niceThisThread', () => {
  it('should lower only the calling thread (Linux), leaving the process at its priority', async () => {
    if (!existsSync('/proc/thread-self')) {
      expect(niceThisThread(10)).toBeNull();
      return;
    }
    const before = getPriority(process.pid);
    // A worker thread lowers itself through niceThisThread and reports its thread id and nice value.
    const w = new Worker(new URL('./thread-priority-worker.test-entry.mjs', import.meta.url), { workerData: { nice: 12 } });
    const got = await new Promise<{ tid: number; nice: number }>((res, rej) => (w.once('message', res), w.once('error', rej)));
    expect(got.nice).toBe(Math.max(12, before));
    expect(got.tid).not.toBe(process.pid);
    expect(getPriority(process.pid)).toBe(before); // the main thread is untouched
    await w.terminate();
  });

  it('should refuse values outside [0, 19] and never raise a priority', () => {
    expect(() => niceThisThread(-1)).toThrow(RangeError);
    expect(() => niceThisThread(20)).toThrow(RangeError);
    if (!existsSync('/proc/thread-self')) return;
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    const now = getPriority(tid);
    expect(niceThisThread(0)).toBe(now); // 0 asks for no change below the current value
  });
});
