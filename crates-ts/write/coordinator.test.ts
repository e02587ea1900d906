import { describe, it, expect } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore, type ObjectStore } from '../store/index.js';
import { Engine } from '../engine/index.js';
import { planPause } from './coordinator.js';
import { slowStore as slowInner } from '../../test/helpers/slow-store.js';

/** A memory store whose every operation takes real time, like a network store. */
const slowStore = (ms: number) => slowInner(new MemoryStore(), ms);

const engine = (store: ObjectStore, groupCommitMs = 0) =>
  new Engine(store, { clock: { now: () => Date.now() }, sleep: (ms) => sleep(ms), random: Math.random, groupCommitMs });

describe('write coordinator', () => {
  it('should commit a write issued right after the previous one was acknowledged (no stranded queue)', async () => {
    const e = engine(slowStore(1));
    for (let i = 0; i < 15; i++) {
      await Promise.race([
        e.write('ns', { upsert_rows: [{ id: i, x: i }] }),
        sleep(5_000).then(() => {
          throw new Error(`write ${i} was never committed`);
        }),
      ]);
    }
    const res = await e.query('ns', { aggregate_by: { c: ['Count'] } });
    expect(res.aggregations).toEqual({ c: 15 });
  });

  it('should wait the group-commit window only when other writes may be coming (alone)', async () => {
    const slept: number[] = [];
    const e = new Engine(new MemoryStore(), { clock: { now: () => Date.now() }, sleep: async (ms) => void slept.push(ms), random: Math.random, groupCommitMs: 7 });
    await e.write('ns', { upsert_rows: [{ id: 1 }] });
    expect(slept).toEqual([7]); // no hint: waits, as before
    e.writer.alone = () => true;
    await e.write('ns', { upsert_rows: [{ id: 2 }] });
    expect(slept).toEqual([7]); // alone: committed at once
    e.writer.alone = () => false;
    // The committer of the previous write ends a few microtasks after its acknowledgement; a request queued before it
    // ends joins it (no window to wait: it was not the first).
    await new Promise<void>((resolve) => setImmediate(resolve));
    await e.write('ns', { upsert_rows: [{ id: 3 }] });
    expect(slept).toEqual([7, 7]);
    const res = await e.query('ns', { aggregate_by: { c: ['Count'] } });
    expect(res.aggregations).toEqual({ c: 3 });
  });

  it('should coalesce concurrent requests into fewer WAL entries and acknowledge each', async () => {
    const store = slowStore(2);
    const e = engine(store, 5);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => e.write('g', { upsert_rows: [{ id: i }] })));
    expect(results.every((r) => r.rows_upserted === 1)).toBe(true);
    const entries = (await store.list('g/wal/')).objects.length;
    expect(entries).toBeLessThan(20);
    expect((await e.query('g', { aggregate_by: { c: ['Count'] } })).aggregations).toEqual({ c: 20 });
  });

  it('should give the same documents and acknowledgements with a pause after every plan, strong reads seeing each write', async () => {
    // Rounds of requests issued together (one group commit: resolved in order, so the outcome is deterministic):
    // upserts of repeated ids, patches and deletes, a strong query after each round. Once with the pause between plan
    // and encoding on every commit, once never: the same acknowledgements and the same documents after every round.
    const run = async (pauseMs: number, seed: number) => {
      planPause.ms = pauseMs;
      try {
        let s = seed;
        const rand = (n: number) => (s = (s * 1103515245 + 12345) % 2 ** 31) % n;
        const e = engine(slowStore(1), 3);
        const trace: unknown[] = [];
        const model = new Map<number, { v: string; p?: string }>();
        for (let round = 0; round < 8; round++) {
          const bodies = Array.from({ length: 1 + rand(5) }, (_, k) => {
            const id = rand(25);
            if (k % 4 === 3) return { deletes: [id] };
            if (k % 3 === 2) return { patch_rows: [{ id, p: `r${round}k${k}` }] };
            return { upsert_rows: Array.from({ length: 1 + rand(6) }, (_, j) => ({ id: (id + j) % 25, v: `r${round}k${k}j${j}` })) };
          });
          const acks = await Promise.all(bodies.map((b) => e.write('pp', b)));
          trace.push(acks.map((a) => [a.rows_upserted ?? 0, a.rows_patched ?? 0, a.rows_deleted ?? 0]));
          // Read-your-writes: after the acknowledgements, a strong query sees every request of the round applied in order.
          for (const b of bodies) {
            if ('deletes' in b) for (const id of b.deletes!) model.delete(id);
            else if ('patch_rows' in b) for (const r of b.patch_rows!) { const d = model.get(r.id); if (d) model.set(r.id, { ...d, p: r.p }); }
            else for (const r of b.upsert_rows!) model.set(r.id, { v: r.v });
          }
          const all = await e.query('pp', { rank_by: ['id', 'asc'], top_k: 100, include_attributes: true });
          expect(all.rows!.map((r) => ({ id: r.id, v: r.v, p: r.p }))).toEqual([...model].sort((a, b) => a[0] - b[0]).map(([id, d]) => ({ id, v: d.v, p: d.p })));
          trace.push(all.rows);
        }
        return trace;
      } finally {
        planPause.ms = 3;
      }
    };
    for (const seed of [1, 2, 3, 4]) expect(await run(0, seed)).toEqual(await run(Infinity, seed));
  });

  it('should reject only the bad request of a batch and commit the others', async () => {
    const e = engine(slowStore(1), 5);
    await e.write('b', { upsert_rows: [{ id: 0, n: 1 }] });
    const outcomes = await Promise.allSettled([
      e.write('b', { upsert_rows: [{ id: 1, n: 2 }] }),
      e.write('b', { patch_by_filter: { filters: ['nope', 'Eq', 1], patch: { n: 3 } } }),
      e.write('b', { upsert_rows: [{ id: 2, n: 4 }] }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await e.query('b', { aggregate_by: { c: ['Count'] } })).aggregations).toEqual({ c: 3 });
  });

  it("should give a refresh that lists this process's entry mid-append the entry itself, not a GET and decode of it", async () => {
    // put-if-absent of a WAL entry makes the object visible, then holds its answer until `release`: a query's
    // strong refresh lists the entry in that window.
    const inner = new MemoryStore();
    let hold: Promise<void> | null = null;
    let release = () => {};
    let landed = () => {};
    const visible = new Promise<void>((r) => (landed = r));
    const walGets: string[] = [];
    const store = new Proxy(inner, {
      get(target, prop, recv) {
        const v = Reflect.get(target, prop, recv);
        if (prop === 'putIfAbsent')
          return async (key: string, bytes: Uint8Array) => {
            const out = await target.putIfAbsent(key, bytes);
            if (hold !== null && key.includes('/wal/')) {
              landed();
              await hold;
            }
            return out;
          };
        if (prop === 'get')
          return (key: string, range?: unknown) => {
            if (key.includes('/wal/')) walGets.push(key);
            return (v as (...a: unknown[]) => unknown).call(target, key, range);
          };
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as ObjectStore;
    const e = engine(store);
    await e.write('ns', { upsert_rows: [{ id: 1, x: 1 }] });
    await e.query('ns', { aggregate_by: { c: ['Count'] } }); // a cached view
    hold = new Promise<void>((r) => (release = r));
    const write = e.write('ns', { upsert_rows: [{ id: 2, x: 2 }] });
    await visible;
    let answered = false;
    const query = e.query('ns', { aggregate_by: { c: ['Count'] } }).then((r) => {
      answered = true;
      return r;
    });
    await sleep(50);
    expect(answered).toBe(false); // it waits for the append's outcome: the entry is listed, so it must be seen
    hold = null;
    release();
    await write;
    expect((await query).aggregations).toEqual({ c: 2 });
    expect(walGets).toEqual([]); // nothing read back from the WAL
    // A fresh engine over the same store reads it, as before.
    expect((await engine(store).query('ns', { aggregate_by: { c: ['Count'] } })).aggregations).toEqual({ c: 2 });
    expect(walGets.length).toBeGreaterThan(0);
  });
});

