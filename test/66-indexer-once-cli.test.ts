/**
 * `elax indexer --once --json` reports, per namespace, the parts it really published: the first pass over every
 * namespace (which publishes) and the drain after it both count. Checked against router.json.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ELAX_BIN, tempStoreDir } from './helpers/server.js';
import { Engine } from '../crates-ts/engine/index.js';
import { openStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';

function elax(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ELAX_BIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('elax indexer --once', () => {
  it('should report the parts it published, matching router.json', { timeout: 60_000 }, async () => {
    const dir = tempStoreDir('ix-once');
    try {
      const store = await openStore(dir);
      const engine = new Engine(store, { clock: { now: () => Date.now() }, sleep: (ms) => sleep(ms), random: Math.random, groupCommitMs: 0 });
      for (let i = 0; i < 3; i++) await engine.write('alpha', { upsert_rows: [{ id: i, t: `a${i}` }] });
      await engine.write('beta', { upsert_rows: [{ id: 1, t: 'b' }] });
      await engine.close();

      const all = await elax(['indexer', '--once', '--json', '--store', dir]);
      expect(all.code, all.stderr).toBe(0);
      const reported = JSON.parse(all.stdout) as { ns: string; parts_published: number }[];
      const routers = new RouterStore(store);
      const parts = async (ns: string) => (await routers.read(ns))!.router.parts.length;
      expect(reported.sort((a, b) => a.ns.localeCompare(b.ns))).toEqual([
        { ns: 'alpha', parts_published: await parts('alpha') },
        { ns: 'beta', parts_published: await parts('beta') },
      ]);
      expect(reported.every((r) => r.parts_published >= 1)).toBe(true);

      // Nothing left: a second pass publishes nothing and says so.
      const again = await elax(['indexer', '--once', '--json', '--store', dir]);
      expect(again.code, again.stderr).toBe(0);
      expect((JSON.parse(again.stdout) as { parts_published: number }[]).map((r) => r.parts_published)).toEqual([0, 0]);

      // --ns counts too.
      const e2 = new Engine(store, { clock: { now: () => Date.now() }, sleep: (ms) => sleep(ms), random: Math.random, groupCommitMs: 0 });
      await e2.write('beta', { upsert_rows: [{ id: 2, t: 'b2' }] });
      await e2.close();
      const one = await elax(['indexer', '--once', '--json', '--ns', 'beta', '--store', dir]);
      expect(one.code, one.stderr).toBe(0);
      expect(JSON.parse(one.stdout)).toEqual([{ ns: 'beta', parts_published: 1 }]);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('should write IVF parts and name the codebook with --vector-index ivf, and refuse an unknown kind', { timeout: 60_000 }, async () => {
    const dir = tempStoreDir('ix-once-ivf');
    try {
      const store = await openStore(dir);
      const engine = new Engine(store, { clock: { now: () => Date.now() }, sleep: (ms) => sleep(ms), random: Math.random, groupCommitMs: 0 });
      await engine.write('v', { upsert_rows: Array.from({ length: 30 }, (_, i) => ({ id: i, vector: [i % 5, i % 7, i % 3] })), distance_metric: 'euclidean_squared' });
      await engine.close();
      const bad = await elax(['indexer', '--once', '--store', dir, '--vector-index', 'pq']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/--vector-index .*must be ivf or hnsw, got 'pq'/);
      const out = await elax(['indexer', '--once', '--json', '--store', dir, '--vector-index', 'ivf', '--ivf-min-rows', '10']);
      expect(out.code, out.stderr).toBe(0);
      const r = (await new RouterStore(store).read('v'))!.router;
      expect(r.parts.map((p) => p.index_kind)).toEqual(['ivf']);
      expect(r.vindex?.version).toBe(1);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
