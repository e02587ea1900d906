/**
 * Availability under store errors (issue 12, item 1): a store that fails (503 SlowDown, resets, an unreadable
 * router.json) while many requests wait on the same namespace must cost those requests a clear 5xx, never the
 * process. Two levels: a real `elax serve` process whose router.json is made unreadable under 6 concurrent queries
 * (the reported crash), and in-process engines over a seeded fault-injecting store under concurrent writes and
 * queries, where any unhandled rejection fails the test and every acknowledged write must survive.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { startServerProcess, type ServerProcess } from './helpers/server.js';
import { Engine } from '../crates-ts/engine/index.js';
import { FaultyStore, MemoryStore } from '../crates-ts/store/index.js';
import { isElaxError } from '../crates-ts/core/index.js';
import { seededRandom } from '../crates-ts/ivf/index.js';

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('store failures under concurrent requests', () => {
  let proc: ServerProcess | undefined;
  afterEach(async () => {
    await proc?.stop();
    proc = undefined;
  });

  it('should answer 5xx with a code when router.json is unreadable under 6 concurrent queries, and stay alive', async () => {
    proc = await startServerProcess({ args: ['--no-indexer'] });
    const ns = 'faults';
    expect((await post(`${proc.url}/v2/namespaces/${ns}`, { upsert_rows: [{ id: 1, x: 'a' }] })).status).toBe(200);
    const routerPath = path.join(proc.store, ns, 'router.json');
    const good = readFileSync(routerPath);
    writeFileSync(routerPath, '{"this is": not json');
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(Array.from({ length: 6 }, () => post(`${proc!.url}/v2/namespaces/${ns}/query`, { rank_by: ['id', 'asc'], top_k: 10 })));
      for (const a of answers) {
        expect(a.status).toBeGreaterThanOrEqual(500);
        expect(((await a.json()) as { code: string }).code).toMatch(/^ELAX_ERR_/);
      }
    }
    // Give a crash (an unhandled rejection exits the process on the next tick) time to happen.
    await new Promise((r) => setTimeout(r, 300));
    expect(proc.child.exitCode, proc.stderr()).toBeNull();
    expect((await fetch(`${proc.url}/health`)).status).toBe(200);
    writeFileSync(routerPath, good);
    const ok = await post(`${proc.url}/v2/namespaces/${ns}/query`, { rank_by: ['id', 'asc'], top_k: 10 });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { rows: { id: number }[] }).rows.map((r) => r.id)).toEqual([1]);
  });

  it('should keep every acknowledged write and raise no unhandled rejection while the store fails at random', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (seed) => {
          const rng = seededRandom(seed);
          const store = new FaultyStore(new MemoryStore(), { before: 0.15, after: 0.05, random: rng });
          let t = 1_700_000_000_000;
          const nodes = [0, 1].map(
            () => new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: rng, groupCommitMs: 0 }),
          );
          const ns = 'chaos';
          store.enabled = false;
          await nodes[0]!.updateSchema(ns, { v: 'int' });
          store.enabled = true;
          const acked = new Map<number, number>(); // id -> acknowledged value (ids are written once each)
          let nextId = 0;
          const ops: Promise<unknown>[] = [];
          for (let i = 0; i < 60; i++) {
            const node = nodes[i % 2]!;
            if (i % 3 === 0) {
              const id = nextId++;
              ops.push(
                node.write(ns, { upsert_rows: [{ id, v: id * 10 }] }).then(
                  () => acked.set(id, id * 10),
                  (e: unknown) => expect(isElaxError(e), String(e)).toBe(true),
                ),
              );
            } else {
              const q = i % 3 === 1 ? { rank_by: ['id', 'asc'], top_k: 5 } : { rank_by: ['id', 'asc'], top_k: 5, consistency: { level: 'eventual' } };
              ops.push(node.query(ns, q).catch((e: unknown) => expect(isElaxError(e), String(e)).toBe(true)));
            }
          }
          await Promise.all(ops);
          store.enabled = false;
          const res = await nodes[0]!.query(ns, { rank_by: ['id', 'asc'], top_k: 1000, include_attributes: ['v'] });
          const seen = new Map((res.rows as { id: number; v: number }[]).map((r) => [r.id, r.v]));
          for (const [id, v] of acked) expect(seen.get(id), `acknowledged id ${id} (seed ${seed})`).toBe(v);
        }),
        { numRuns: 25 },
      );
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled.map(String)).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

