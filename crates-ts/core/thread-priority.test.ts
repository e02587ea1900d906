import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { existsSync, readlinkSync } from 'node:fs';
import { getPriority } from 'node:os';
import { hasChrt } from '../../test/helpers/proc.js';
import { execFileSync } from 'node:child_process';
import { SCHED_IDLE, idleThisProcess, niceThisProcess, niceThisThread, threadPolicies } from './thread-priority.js';

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

  it.runIf(existsSync('/proc/self/task'))('should lower every thread of a process, those it had and those it starts after', () => {
    const before = getPriority(process.pid);
    const out = execFileSync(process.execPath, [new URL('./thread-priority-process.test-entry.mjs', import.meta.url).pathname, '11'], { encoding: 'utf8' });
    const { got, nices } = JSON.parse(out) as { got: number; nices: number[] };
    expect(got).toBe(Math.max(11, getPriority(process.pid)));
    expect(nices.length).toBeGreaterThan(6); // main, V8 platform threads, libuv, two workers and their helpers
    expect(nices.every((n) => n === got)).toBe(true);
    expect(getPriority(process.pid)).toBe(before); // the test's own process is untouched
  });

  it('should refuse values outside [0, 19] for a process too', () => {
    expect(() => niceThisProcess(-1)).toThrow(RangeError);
    expect(() => niceThisProcess(20)).toThrow(RangeError);
  });
});


describe('idleThisProcess', () => {
  it.runIf(existsSync('/proc/self/task'))('should move every thread of a process to SCHED_IDLE, those it had and those it starts after (or say it could not, without chrt)', () => {
    const mine = threadPolicies(process.pid);
    const out = execFileSync(process.execPath, [new URL('./thread-priority-process.test-entry.mjs', import.meta.url).pathname, '0', 'idle'], { encoding: 'utf8' });
    const { got, policies, nices } = JSON.parse(out) as { got: boolean; policies: number[]; nices: number[] };
    expect(got).toBe(hasChrt);
    expect(policies.length).toBeGreaterThan(6); // main, V8 platform threads, libuv, two workers and their helpers
    expect(policies.every((p) => p === (hasChrt ? SCHED_IDLE : 0))).toBe(true);
    expect(nices.every((n) => n === getPriority(process.pid))).toBe(true); // the policy, not the nice value, changed
    expect(threadPolicies(process.pid)).toEqual(mine); // the test's own process is untouched
    expect(mine.includes(SCHED_IDLE)).toBe(false);
  });

  it.runIf(existsSync('/proc/self/task'))('should read the policy of each thread: SCHED_OTHER (0) for a normal process', () => {
    const policies = threadPolicies(process.pid);
    expect(policies.length).toBeGreaterThan(1);
    expect(policies.every((p) => p === 0)).toBe(true);
  });
});
