import { describe, it, expect } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore, type ObjectStore } from '../store/index.js';
import { Engine } from '../engine/index.js';

/** A memory store whose every operation takes real time, like a network store. */
function slowStore(ms: number): ObjectStore {
  const inner = new MemoryStore();
  return new Proxy(inner, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function' || prop === 'close') return v;
      return async (...args: unknown[]) => {
        await sleep(ms);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

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

  it('should coalesce concurrent requests into fewer WAL entries and acknowledge each', async () => {
    const store = slowStore(2);
    const e = engine(store, 5);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => e.write('g', { upsert_rows: [{ id: i }] })));
    expect(results.every((r) => r.rows_upserted === 1)).toBe(true);
    const entries = (await store.list('g/wal/')).objects.length;
    expect(entries).toBeLessThan(20);
    expect((await e.query('g', { aggregate_by: { c: ['Count'] } })).aggregations).toEqual({ c: 20 });
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

