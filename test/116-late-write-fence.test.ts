/**
 * A write whose answer depended on the namespace's state but changed nothing (a delete or a patch of an id that is
 * absent, an upsert whose condition fails, a filter write that matches nothing) still appends an entry without
 * rows (RFC-0001 step 4, "fence"). Without it, a write still in flight from a process that died — its conditional
 * PUT sent, then delivered late by the network — could land *after* that acknowledged write and undo it: an upsert
 * whose client saw an error would resurrect an id the same client had deleted since, and been told so.
 *
 * Regression for soak seed 95 (test/95, one CI run): "strong read in soak-1 after the writer's last outcome: id
 * 2000014: read 7, allowed absent". The writer's upsert v=7 failed with its server killed; its next write, a delete
 * of the id, was acknowledged without a WAL entry because the id was not there yet; the upsert's PUT, delayed in the
 * fault proxy, landed afterwards.
 */
import { describe, it, expect } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore, type ObjectStore } from '../crates-ts/store/index.js';
import { Engine } from '../crates-ts/engine/index.js';

const engine = (store: ObjectStore) => new Engine(store, { clock: { now: () => Date.now() }, sleep: (ms) => sleep(ms), random: Math.random, groupCommitMs: 0 });

/**
 * A node whose next WAL append is sent and then the node dies: the request is captured (to be delivered by the
 * "network" later, with `deliver`) and the append never answers.
 */
function dyingNode(inner: ObjectStore) {
  let captured: { key: string; bytes: Uint8Array } | null = null;
  let onCapture: () => void = () => {};
  const sent = new Promise<void>((r) => (onCapture = r));
  const store = new Proxy(inner, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (prop === 'putIfAbsent')
        return async (key: string, bytes: Uint8Array) => {
          if (!key.includes('/wal/') || captured) return target.putIfAbsent(key, bytes);
          captured = { key, bytes: bytes.slice() };
          onCapture();
          return new Promise<never>(() => {}); // the node is gone: no answer, ever
        };
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as ObjectStore;
  return {
    store,
    sent,
    /** The late PUT reaches the store: it lands only if its sequence number is still free. */
    deliver: async () => (await inner.putIfAbsent(captured!.key, captured!.bytes)).ok,
  };
}

const walKeys = async (store: ObjectStore, ns: string) => (await store.list(`${ns}/wal/`)).objects.map((o) => o.key);

async function rowOf(store: ObjectStore, ns: string, id: number) {
  const fresh = engine(store);
  const res = (await fresh.query(ns, { filters: ['id', 'Eq', id], top_k: 10, include_attributes: true, consistency: { level: 'strong' } })) as { rows: Record<string, unknown>[] };
  return res.rows[0] ?? null;
}

describe('an acknowledged write that changed nothing is ordered after writes still in flight', () => {
  const cases: { name: string; body: unknown; late: unknown }[] = [
    { name: 'a delete of an absent id', body: { deletes: [14] }, late: { upsert_rows: [{ id: 14, v: 7 }] } },
    { name: 'a patch of an absent id', body: { patch_rows: [{ id: 14, v: 3 }] }, late: { upsert_rows: [{ id: 14, v: 7 }] } },
    { name: 'a delete_by_filter matching nothing', body: { delete_by_filter: ['v', 'Eq', 7] }, late: { upsert_rows: [{ id: 14, v: 7 }] } },
    { name: 'an upsert whose condition fails', body: { upsert_rows: [{ id: 1, v: 2 }], upsert_condition: ['v', 'Gt', 5] }, late: { upsert_rows: [{ id: 1, v: 7 }] } },
  ];
  for (const c of cases) {
    it(`should not let a dead node's late append land after ${c.name}`, async () => {
      const inner = new MemoryStore();
      const live = engine(inner);
      await live.write('ns', { upsert_rows: [{ id: 1, v: 1 }] });
      const dying = dyingNode(inner);
      const dead = engine(dying.store);
      void dead.write('ns', c.late); // its client sees the connection die: outcome unknown
      await dying.sent;
      const before = await walKeys(inner, 'ns');

      const ack = (await live.write('ns', c.body)) as Record<string, unknown>;
      expect(ack.rows_affected).toBe(0);
      const after = await walKeys(inner, 'ns');
      expect(after.length, 'an entry without rows orders the acknowledgement').toBe(before.length + 1);

      expect(await dying.deliver(), 'the late append finds its sequence number taken').toBe(false);
      const id = c.name.startsWith('an upsert') ? 1 : 14;
      const row = await rowOf(inner, 'ns', id);
      expect(row?.v ?? null).toBe(id === 1 ? 1 : null);
    });
  }

  it('should append nothing for a write that names no row (nothing it answered depended on the state)', async () => {
    const inner = new MemoryStore();
    const live = engine(inner);
    await live.write('ns', { upsert_rows: [{ id: 1, v: 1 }] });
    const before = await walKeys(inner, 'ns');
    for (const body of [{}, { upsert_rows: [] }, { deletes: [] }, { schema: { v: 'int' } }]) expect(((await live.write('ns', body)) as Record<string, unknown>).rows_affected).toBe(0);
    expect(await walKeys(inner, 'ns')).toEqual(before);
  });
});
