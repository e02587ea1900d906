/**
 * Lowering one thread's CPU priority (Linux): background work on a worker thread (the embedded indexer) yields the
 * cores to queries and writes when they compete, and takes them all when they do not. Linux keeps a nice value per
 * thread, and setpriority(PRIO_PROCESS, tid) — Node's os.setPriority with a thread id — changes only that thread;
 * /proc/thread-self names the calling thread's id.
 */
import { readlinkSync } from 'node:fs';
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
