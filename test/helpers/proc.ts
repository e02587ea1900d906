/** Linux /proc readings shared by the tests of the embedded indexer's process and its thread priorities. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export { threadNices } from '../../crates-ts/core/index.js';

/** util-linux chrt, through which the embedded indexer's process moves to SCHED_IDLE (core/thread-priority.ts). */
export const hasChrt = (() => {
  try {
    execFileSync('chrt', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * The embedded indexer's processes among the live children of `pid` (/proc/<p>/stat: state, then ppid; the command
 * line names indexer/process-entry.mjs: tsx's esbuild service is a child of the server too while its cache is cold).
 */
export function indexerChildPids(pid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const [state, ppid] = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(ppid) === pid && state !== 'Z' && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('process-entry.mjs')) out.push(Number(p));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}
