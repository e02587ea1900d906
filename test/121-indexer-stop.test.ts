/**
 * `elax indexer` stops on SIGTERM within --stop-grace-ms even when its pass waits on a store that never answers (the
 * soak, bench/soak.ts, found indexers still waiting 15 s after SIGTERM on requests the store swallowed).
 */
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { ELAX_BIN } from './helpers/server.js';

describe('elax indexer on SIGTERM', () => {
  it('should exit 0 within --stop-grace-ms while its pass waits on a silent store', async () => {
    const sockets: Socket[] = [];
    let requests = 0;
    const silent = createServer((s) => {
      sockets.push(s);
      s.on('data', () => requests++);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const child = spawn(process.execPath, [ELAX_BIN, 'indexer', '--store', 's3://silent/prefix', '--stop-grace-ms', '300', '--interval-ms', '50'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ELAX_S3_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_REGION: 'us-east-1' },
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    try {
      // Running, and its first pass has sent a request the store will never answer.
      for (let i = 0; !(out.includes('elax indexer running') && requests > 0); i++) {
        if (i > 600 || child.exitCode !== null) throw new Error(`indexer did not start a pass: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const t = performance.now();
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const took = performance.now() - t;
      expect(took).toBeGreaterThanOrEqual(250); // it did wait for the pass (it was still in flight)
      expect(took).toBeLessThan(10_000); // and not for the store (30 s a silent attempt, retried)
      expect(out).toContain('stopping without the pass in flight');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  }, 60_000);

  it('should refuse a --stop-grace-ms that is not a number of milliseconds, naming the flag', async () => {
    const got = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn(process.execPath, [ELAX_BIN, 'indexer', '--store', 's3://silent/prefix', '--stop-grace-ms', 'soon'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      child.once('exit', (code) => resolve({ code, err }));
    });
    expect(got.code).not.toBe(0);
    expect(got.err).toContain("--stop-grace-ms must be a number of milliseconds ≥ 0, got 'soon'");
  }, 30_000);
});
