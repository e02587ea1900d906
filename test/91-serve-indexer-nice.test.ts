/**
 * `elax serve --indexer-nice` (core/thread-priority.ts, indexer/embedded.ts): the embedded indexer runs at the nice
 * value asked for — by default a child process every thread of which is lowered (while every thread of the server
 * stays at the server's), with ELAX_INDEXER_PROCESS=thread a worker thread of the server, the only one lowered — and
 * a value outside [0, 19] is refused at start with a message naming the flag. `--indexer-sched normal` (the default)
 * leaves that child process at the nice value alone, `idle` also puts every thread of it at SCHED_IDLE. The child process never outlives the
 * server: it stops with `elax serve`'s shutdown and exits when the server is killed. Linux only, as the servers this
 * project runs on (/proc).
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ELAX_BIN, startServerProcess, tempStoreDir } from './helpers/server.js';
import { hasChrt, indexerChildPids, threadNices } from './helpers/proc.js';
import { waitFor } from './helpers/wait.js';
import { SCHED_IDLE, threadPolicies } from '../crates-ts/core/index.js';


function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return false;
  }
}

describe('elax serve --indexer-nice', () => {
  it('should refuse a value outside 0-19, naming the flag', async () => {
    const got = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [ELAX_BIN, 'serve', '--store', tempStoreDir('nice'), '--indexer-nice', '25'], { timeout: 30_000 }, (err, _out, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stderr }),
      ),
    );
    expect(got.code).not.toBe(0);
    expect(got.stderr).toContain('--indexer-nice must be an integer from 0 to 19');
  });

  it('should run the embedded indexer in a child process all of whose threads have that nice value, and stop it with the server', async () => {
    const server = await startServerProcess({ args: ['--indexer-nice', '7'] });
    let child = 0;
    try {
      const pid = server.child.pid!;
      await waitFor('the indexer process', () => indexerChildPids(pid).length === 1);
      child = indexerChildPids(pid)[0]!;
      await waitFor('the indexer process to lower itself', () => threadNices(child).every((n) => n === 7));
      await new Promise((r) => setTimeout(r, 1_000)); // its indexer loaded, its first passes ran
      const nices = threadNices(child);
      expect(nices.length).toBeGreaterThan(4);
      expect(nices.every((n) => n === 7)).toBe(true);
      const serverNices = threadNices(pid);
      expect(serverNices).not.toContain(7);
      expect(serverNices.every((n) => n === serverNices[0])).toBe(true);
      // --indexer-sched normal (the default): the nice value alone, no thread of either process at SCHED_IDLE.
      expect(threadPolicies(child).every((p) => p === 0)).toBe(true);
      expect(threadPolicies(pid)).not.toContain(SCHED_IDLE);
    } finally {
      await server.stop();
    }
    expect(server.child.exitCode).toBe(0);
    await waitFor('the indexer process to exit', () => !alive(child), 10_000);
    expect(server.stderr()).not.toMatch(/crashed/);
  });

  it('should put every thread of the child at SCHED_IDLE with --indexer-sched idle (none of the server\'s), and refuse another policy', async () => {
    const refused = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [ELAX_BIN, 'serve', '--store', tempStoreDir('sched'), '--indexer-sched', 'batch'], { timeout: 30_000 }, (err, _out, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stderr }),
      ),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("--indexer-sched must be 'idle' or 'normal'");
    const server = await startServerProcess({ args: ['--indexer-nice', '7', '--indexer-sched', 'idle'] });
    try {
      const pid = server.child.pid!;
      await waitFor('the indexer process', () => indexerChildPids(pid).length === 1);
      const child = indexerChildPids(pid)[0]!;
      await waitFor('the indexer process to lower itself', () => threadNices(child).every((n) => n === 7));
      await new Promise((r) => setTimeout(r, 1_000)); // its indexer loaded (worker.ts checks its priority again)
      expect(threadNices(child).every((n) => n === 7)).toBe(true);
      expect(threadPolicies(child).every((p) => p === (hasChrt ? SCHED_IDLE : 0))).toBe(true);
      expect(threadPolicies(pid)).not.toContain(SCHED_IDLE);
    } finally {
      await server.stop();
    }
  });

  it('should end the indexer process when the server is killed with SIGKILL', async () => {
    const server = await startServerProcess({ args: ['--indexer-nice', '7'] });
    const pid = server.child.pid!;
    await waitFor('the indexer process', () => indexerChildPids(pid).length === 1);
    const child = indexerChildPids(pid)[0]!;
    await waitFor('the indexer process to lower itself', () => threadNices(child).every((n) => n === 7));
    server.child.kill('SIGKILL');
    await server.stop();
    await waitFor('the indexer process to exit', () => !alive(child), 15_000);
  });

  it('should run the embedded indexer thread, and only it, at that nice value with ELAX_INDEXER_PROCESS=thread', async () => {
    const server = await startServerProcess({ args: ['--indexer-nice', '7'], env: { ELAX_INDEXER_PROCESS: 'thread' } });
    try {
      const pid = server.child.pid!;
      // The indexer thread lowers itself as it starts: wait for it.
      await waitFor('the indexer thread to lower itself', () => threadNices(pid).includes(7));
      const nices = threadNices(pid);
      expect(nices.filter((n) => n === 7)).toHaveLength(1);
      expect(nices.filter((n) => n !== 7).every((n) => n === nices.find((x) => x !== 7))).toBe(true);
      expect(indexerChildPids(pid)).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});
