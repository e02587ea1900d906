/**
 * Lowering one thread's CPU priority (Linux): background work on a worker thread (the embedded indexer) yields the
 * cores to queries and writes when they compete, and takes them all when they do not. Linux keeps a nice value per
 * thread, and setpriority(PRIO_PROCESS, tid) — Node's os.setPriority with a thread id — changes only that thread;
 * /proc/thread-self names the calling thread's id.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Sets the calling thread's nice value (0 normal, 19 lowest; raising priority needs privileges and is not tried).
 * Returns the value now in force, or null where a thread's priority cannot be set alone (not Linux, no /proc).
 */
export function niceThisThread(nice: number): number | null {
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new RangeError(`nice must be an integer in [0, 19], got ${nice}`);
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return null;
  }
  if (!Number.isInteger(tid) || tid <= 0) return null;
  try {
    setPriority(tid, Math.max(nice, getPriority(tid)));
    return getPriority(tid);
  } catch {
    return null;
  }
}

/**
 * Sets the nice value of every thread of the calling process (0 normal, 19 lowest; never raises one): the embedded
 * indexer's child process (indexer/embedded.ts) calls it first thing, so its V8 platform threads (concurrent GC,
 * compile), which exist from the start, run niced too; threads created afterwards inherit their creator's value.
 * Linux: each thread named in /proc/self/task. Elsewhere (no /proc): the process priority, which there covers every
 * thread (os.setPriority). Returns the value now in force on the calling thread, or null if none could be set.
 */
export function niceThisProcess(nice: number): number | null {
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new RangeError(`nice must be an integer in [0, 19], got ${nice}`);
  let tids: number[];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    try {
      setPriority(Math.max(nice, getPriority()));
      return getPriority();
    } catch {
      return null;
    }
  }
  for (const tid of tids) {
    try {
      setPriority(tid, Math.max(nice, getPriority(tid)));
    } catch {
      /* the thread exited meanwhile */
    }
  }
  return niceThisThread(nice);
}
