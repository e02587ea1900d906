/**
 * `elax serve --indexer-nice` (core/thread-priority.ts): the embedded indexer's thread runs at the nice value asked
 * for (Linux keeps one per thread; every other thread of the server stays at the server's), and a value outside
 * [0, 19] is refused at start with a message naming the flag. Linux only, as the servers this project runs on.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { ELAX_BIN, startServerProcess, tempStoreDir } from './helpers/server.js';

/** The nice value of each thread of `pid` (/proc/<pid>/task/<tid>/stat, field 19). */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
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

  it('should run the embedded indexer thread, and only it, at that nice value', async () => {
    const server = await startServerProcess({ args: ['--indexer-nice', '7'] });
    try {
      const pid = server.child.pid!;
      // The indexer thread lowers itself as it starts: wait for it.
      let nices = threadNices(pid);
      for (let i = 0; i < 100 && !nices.includes(7); i++) {
        await new Promise((r) => setTimeout(r, 100));
        nices = threadNices(pid);
      }
      expect(nices.filter((n) => n === 7)).toHaveLength(1);
      expect(nices.filter((n) => n !== 7).every((n) => n === nices.find((x) => x !== 7))).toBe(true);
    } finally {
      await server.stop();
    }
  });
});
