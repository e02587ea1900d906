/**
 * Lowering one thread's CPU priority (Linux): background work on a worker thread (the embedded indexer) yields the
 * cores to queries and writes when they compete, and takes them all when they do not. Linux keeps a nice value per
 * thread, and setpriority(PRIO_PROCESS, tid) — Node's os.setPriority with a thread id — changes only that thread;
 * /proc/thread-self names the calling thread's id.
 */
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { execFileSync } from 'node:child_process';

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

/** Linux's SCHED_IDLE scheduling policy (include/uapi/linux/sched.h). */
export const SCHED_IDLE = 5;

/** The scheduling policy of each thread of `pid` (/proc/<pid>/task/<tid>/stat, field 41; 0 = SCHED_OTHER). */
export function threadPolicies(pid: number): number[] {
  return threadStatField(pid, 41);
}

/** The nice value of each thread of `pid` (/proc/<pid>/task/<tid>/stat, field 19). */
export function threadNices(pid: number): number[] {
  return threadStatField(pid, 19);
}

/** Field `field` (1-based, as proc(5) numbers them) of each live thread of `pid`'s stat line, as a number. */
function threadStatField(pid: number, field: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      // Fields 1 and 2 (pid, command in parentheses) come before ") "; field 3 is the first after it.
      out.push(Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[field - 3]));
    } catch {
      /* the thread exited meanwhile */
    }
  }
  return out;
}

/**
 * Moves every thread of the calling process to Linux's SCHED_IDLE policy (the embedded indexer's child process,
 * indexer/worker.ts; docs/rfcs/0010-worker-pool.md "The embedded indexer at SCHED_IDLE"). A nice-19 thread still
 * competes: it has a small weight, but once it holds a core a waking server thread may wait for its slice to end, and
 * a core it runs on does not count as idle when the scheduler places a waking thread. A SCHED_IDLE thread is preempted
 * as soon as any normal thread wants its core, and its core counts as idle. Threads created afterwards inherit the
 * policy of the thread that creates them. Node has no sched_setscheduler, so this runs util-linux `chrt` once
 * (unprivileged: a process may always lower itself to SCHED_IDLE). Returns true if every thread now has SCHED_IDLE;
 * false where it cannot be done (not Linux, no `chrt`, refused), and the caller keeps its nice value.
 */
export function idleThisProcess(): boolean {
  if (!existsSync('/proc/self/task')) return false;
  if (threadPolicies(process.pid).every((p) => p === SCHED_IDLE)) return true; // already (indexer/process-entry.mjs)
  // A thread started while chrt walks /proc/<pid>/task by one not yet moved would stay behind: a second try gets it.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      execFileSync('chrt', ['--idle', '--all-tasks', '--pid', '0', String(process.pid)], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      return false;
    }
    if (threadPolicies(process.pid).every((p) => p === SCHED_IDLE)) return true;
  }
  return false;
}
