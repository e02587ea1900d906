/** Linux /proc readings shared by the tests of the embedded indexer's process and its thread priorities. */
import { readdirSync, readFileSync } from 'node:fs';

/** The nice value of each thread of `pid` (/proc/<pid>/task/<tid>/stat, field 19). */
export function threadNices(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
    } catch {
      /* the thread exited meanwhile */
    }
  }
  return out;
}

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
