/**
 * Pipelined commits (RFC-0001 "Pipelined commits"): a batch planned and encoded behind one still appending must read
 * the state that batch leaves, and must be planned again whenever that batch does not commit exactly what it planned
 * (a lost race, an error). A model-based test: one writer issues requests in order without waiting for answers, so
 * the coordinator sees them in that order; whatever batches and pipelines form, the acknowledgements and the final
 * documents must be those of applying the acknowledged requests one by one.
 */
import { describe, it, expect } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore, walKey, type ObjectStore } from '../store/index.js';
import { Engine } from '../engine/index.js';
import { RouterStore } from '../router/index.js';
import { decodeWalEntry } from '../wal/index.js';
import { Indexer } from '../../indexer/indexer.js';

type Doc = { id: number; v: string; n: number; p?: string };
type Body = { upsert_rows?: Doc[]; upsert_condition?: unknown; patch_rows?: { id: number; p: string }[]; deletes?: number[] };

/**
 * A memory store whose WAL appends take `appendMs` and fail (before writing) when `fail()` says so; every other call
 * takes `ms`.
 */
function store(inner: MemoryStore, ms: number, appendMs: () => number, fail: () => boolean, lost = { races: 0 }): ObjectStore {
  return new Proxy(inner, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function' || prop === 'close') return v;
      return async (...args: unknown[]) => {
        const wal = prop === 'putIfAbsent' && String(args[0]).includes('/wal/');
        await sleep(wal ? appendMs() : ms);
        if (wal && fail()) throw new Error('injected append failure');
        const out = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (wal && !(out as { ok: boolean }).ok) lost.races++;
        return out;
      };
    },
  });
}

const engine = (s: ObjectStore) => new Engine(s, { clock: { now: () => Date.now() }, sleep: (ms) => sleep(ms), random: Math.random, groupCommitMs: 1 });

/** Applies one request to the model; its counts as the engine reports them. */
function applyModel(model: Map<number, Doc>, b: Body): [number, number, number] {
  let up = 0;
  let pa = 0;
  let de = 0;
  for (const d of b.upsert_rows ?? []) {
    const existing = model.get(d.id);
    if (b.upsert_condition !== undefined && existing && !(existing.n < d.n)) continue;
    model.set(d.id, { ...d });
    up++;
  }
  for (const p of b.patch_rows ?? []) {
    const existing = model.get(p.id);
    if (!existing) continue;
    model.set(p.id, { ...existing, p: p.p });
    pa++;
  }
  for (const id of b.deletes ?? []) {
    if (!model.has(id)) continue;
    model.delete(id);
    de++;
  }
  return [up, pa, de];
}

async function run(seed: number, opts: { rival: boolean; failures: boolean }) {
  let s = seed;
  const rand = (n: number) => (s = (s * 1103515245 + 12345) % 2 ** 31) % n;
  const ids = (k: number) => [...new Set(Array.from({ length: k }, () => rand(20)))];
  const inner = new MemoryStore();
  let failing = false;
  const lost = { races: 0 };
  const e = engine(store(inner, 0, () => (opts.rival ? 2 + rand(10) : 1 + rand(4)), () => failing && rand(8) === 0, lost));
  // A second node over the same bucket appending now and then (ids of its own): our appends lose races to it.
  const rival = engine(store(inner, 0, () => 0, () => false));
  await e.write('pl', { upsert_rows: [{ id: 0, v: 'init', n: 0 }] });
  const model = new Map<number, Doc>([[0, { id: 0, v: 'init', n: 0 }]]);
  failing = opts.failures;
  const issued: { body: Body; key?: string; answer: Promise<Record<string, unknown>> }[] = [];
  const rivalWrites: Promise<unknown>[] = [];
  for (let i = 0; i < 120; i++) {
    let body: Body;
    let key: string | undefined;
    const kind = rand(10);
    const keyed = issued.filter((x) => x.key !== undefined);
    if (kind < 1 && keyed.length > 0) {
      // A retry of an earlier request with its idempotency key: applied once at most.
      const earlier = keyed[rand(keyed.length)]!;
      body = earlier.body;
      key = earlier.key;
    } else if (kind < 4) {
      body = { upsert_rows: ids(1 + rand(4)).map((id) => ({ id, v: `u${i}`, n: rand(50) })) };
      if (rand(3) === 0) body.upsert_condition = ['n', 'Lt', { $ref_new: 'n' }];
    } else if (kind < 7) body = { patch_rows: ids(1 + rand(3)).map((id) => ({ id, p: `p${i}` })) };
    else if (kind < 8) body = { deletes: ids(1 + rand(2)) };
    else {
      const up = ids(1 + rand(2));
      body = { upsert_rows: up.map((id) => ({ id, v: `w${i}`, n: rand(50) })), patch_rows: ids(2).filter((id) => !up.includes(id)).map((id) => ({ id, p: `q${i}` })) };
    }
    if (key === undefined && rand(4) === 0) key = `k${i}`;
    const answer = e.write('pl', body, key ? { idempotencyKey: key } : {});
    answer.catch(() => {}); // settled below
    issued.push({ body, key, answer });
    if (opts.rival && rand(6) === 0) rivalWrites.push(rival.write('pl', { upsert_rows: [{ id: 1000 + i, v: 'rival', n: 0 }] }));
    if (rand(3) === 0) await sleep(rand(4));
  }
  const answers = await Promise.allSettled(issued.map((x) => x.answer));
  await Promise.all(rivalWrites);
  const keys = new Set<string>();
  const trace: unknown[] = [];
  answers.forEach((a, i) => {
    const { body, key } = issued[i]!;
    if (a.status === 'rejected') {
      expect(String(a.reason)).toContain('injected append failure');
      trace.push('rejected');
      return;
    }
    const counts = key !== undefined && keys.has(key) ? [0, 0, 0] : applyModel(model, body);
    if (key !== undefined) keys.add(key);
    expect([a.value.rows_upserted, a.value.rows_patched, a.value.rows_deleted], `request ${i}: ${JSON.stringify(body)}`).toEqual(counts);
    trace.push(counts);
  });
  const expected = [...model.values()].sort((a, b) => a.id - b.id);
  for (const reader of [e, engine(inner)]) {
    const res = await reader.query('pl', { rank_by: ['id', 'asc'], top_k: 1000, filters: ['id', 'Lt', 1000], include_attributes: true });
    const got = (res.rows as Record<string, unknown>[]).map((r) => ({ id: r.id, v: r.v, n: r.n, ...(r.p !== null && r.p !== undefined ? { p: r.p } : {}) }));
    expect(got).toEqual(expected);
  }
  return { trace, pipeline: { ...e.writer.pipeline }, lostRaces: lost.races };
}

describe('pipelined commits', () => {
  it('should acknowledge and apply an in-order stream of dependent writes exactly as one by one', async () => {
    let planned = 0;
    for (const seed of [11, 12, 13]) planned += (await run(seed, { rival: false, failures: false })).pipeline.planned;
    expect(planned).toBeGreaterThan(0); // batches were planned behind others
  });

  it('should keep the stream one-by-one while another node takes some of its seqs', async () => {
    for (const seed of [21, 22, 23]) await run(seed, { rival: true, failures: false });
  });

  it('should plan a batch again when the batch ahead of it failed to append (its requests rejected, nothing applied)', async () => {
    let rejected = 0;
    let discarded = 0;
    for (const seed of [31, 32, 33]) {
      const { trace, pipeline } = await run(seed, { rival: false, failures: true });
      rejected += trace.filter((t) => t === 'rejected').length;
      discarded += pipeline.discarded;
    }
    expect(rejected).toBeGreaterThan(0); // the injected failures happened
  });

  /**
   * An engine whose next WAL append waits for `release()`: before it writes (`at` 'append'; `release(true)` then fails
   * it), or after it wrote, at its router check (RFC-0001 step 5: the next read of router.json; `at` 'check').
   */
  function held() {
    const inner = new MemoryStore();
    type Gate = { at: 'append' | 'check'; reached: () => void; opened: Promise<boolean> };
    let gate: Gate | null = null;
    let checking: Gate | null = null;
    const wait = async (g: Gate) => {
      g.reached();
      return g.opened;
    };
    const s = new Proxy(inner, {
      get(target, prop, recv) {
        const v = Reflect.get(target, prop, recv);
        if (prop === 'putIfAbsent')
          return async (key: string, bytes: Uint8Array) => {
            const g = key.includes('/wal/') ? gate : null;
            gate = null;
            if (g?.at === 'append' && (await wait(g))) throw new Error('injected append failure');
            const out = await target.putIfAbsent(key, bytes);
            if (g?.at === 'check') checking = g;
            return out;
          };
        if (prop === 'get')
          return async (key: string, ...rest: unknown[]) => {
            const g = key.endsWith('router.json') ? checking : null;
            if (g !== null) {
              checking = null;
              await wait(g);
            }
            return (v as (...a: unknown[]) => unknown).call(target, key, ...rest);
          };
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as ObjectStore;
    return {
      inner,
      e: engine(s),
      hold(at: 'append' | 'check' = 'append') {
        let reached!: () => void;
        let open!: (fail: boolean) => void;
        const r = new Promise<void>((resolve) => (reached = resolve));
        gate = { at, reached, opened: new Promise<boolean>((resolve) => (open = resolve)) };
        return { reached: r, release: (fail = false) => open(fail) };
      },
    };
  }

  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 500 && !cond(); i++) await sleep(2);
    expect(cond()).toBe(true);
  };
  const docs = async (e: Engine, ns = 'h') =>
    ((await e.query(ns, { rank_by: ['id', 'asc'], top_k: 100, include_attributes: true })).rows as Record<string, unknown>[]).map(({ id, v, p }) => ({ id, v, p: p ?? null }));

  it('should drop a plan made behind a batch whose append failed, and plan it on the state without that batch', async () => {
    const { e, hold } = held();
    await e.write('h', { upsert_rows: [{ id: 1, v: 'one' }] });
    const gate = hold();
    const w1 = e.write('h', { upsert_rows: [{ id: 2, v: 'two' }] });
    w1.catch(() => {});
    await gate.reached; // w1's entry is being appended
    const w2 = e.write('h', { patch_rows: [{ id: 2, p: 'x' }, { id: 1, p: 'y' }] });
    await until(() => e.writer.pipeline.planned === 1); // planned behind w1: id 2 exists there
    gate.release(true);
    await expect(w1).rejects.toThrow('injected append failure');
    expect((await w2).rows_patched).toBe(1); // id 1 only: id 2 was never written
    expect(e.writer.pipeline.discarded).toBe(1);
    expect(await docs(e)).toEqual([{ id: 1, v: 'one', p: 'y' }]);
  });

  it('should drop a plan made behind a batch that lost its race, and plan it behind that batch as committed', async () => {
    const { e, inner, hold } = held();
    await e.write('h', { upsert_rows: [{ id: 1, v: 'one' }] });
    const gate = hold();
    const w1 = e.write('h', { upsert_rows: [{ id: 2, v: 'two' }] });
    await gate.reached;
    const w2 = e.write('h', { patch_rows: [{ id: 1, p: 'x' }, { id: 2, p: 'z' }] });
    await until(() => e.writer.pipeline.planned === 1);
    // Another node takes the seq w1 is appending at: it deletes id 1.
    await engine(inner).write('h', { deletes: [1] });
    gate.release();
    expect((await w1).rows_upserted).toBe(1);
    expect((await w2).rows_patched).toBe(1); // id 2 only: id 1 was deleted before w1 committed
    expect(e.writer.pipeline.discarded).toBe(1);
    expect(await docs(e)).toEqual([{ id: 2, v: 'two', p: 'z' }]);
    expect(await docs(engine(inner))).toEqual([{ id: 2, v: 'two', p: 'z' }]);
  });

  it('should plan a batch again when a namespace delete came between the append of the batch ahead and its check', async () => {
    // The WAL append of w1 completes; its router check (RFC-0001 step 5) waits until another node has deleted the
    // namespace. w2, planned behind w1 meanwhile (it patches the row w1 wrote), must not land on w1's state: w1
    // belongs to the deleted incarnation, and w2 starts the next one.
    const { e, inner, hold } = held();
    await e.write('d', { upsert_rows: [{ id: 1, v: 'one' }] });
    const gate = hold('check');
    const w1 = e.write('d', { upsert_rows: [{ id: 2, v: 'two' }] });
    await gate.reached; // w1 is durable; its check of router.json waits
    const w2 = e.write('d', { upsert_rows: [{ id: 3, v: 'three' }], patch_rows: [{ id: 2, p: 'x' }] });
    await until(() => e.writer.pipeline.planned === 1); // planned behind w1: id 2 exists there
    await engine(inner).deleteNamespace('d');
    gate.release();
    expect((await w1).rows_upserted).toBe(1); // acknowledged: it raced the delete
    const a2 = await w2;
    expect([a2.rows_upserted, a2.rows_patched]).toEqual([1, 0]); // id 2 went with the deleted incarnation
    expect(e.writer.pipeline.discarded).toBe(1);
    for (const reader of [e, engine(inner)]) expect(await docs(reader, 'd')).toEqual([{ id: 3, v: 'three', p: null }]);
  });

  /**
   * A write planned on the namespace's state whose append lands after another node's namespace delete published its
   * tombstone (RFC-0001 step 5, RFC-0007 "Revival"): its entry records the incarnation it was planned on
   * (`plan_wal_start`), is void in the next one, and the batch is planned again on the state after the delete — the
   * outcome of the delete first, then the write. `race` holds the write's append (its plan is made), deletes the
   * namespace from a second engine, then lets the append go.
   */
  async function race(ns: string, seed: Record<string, unknown>, body: Record<string, unknown>, between?: (inner: MemoryStore) => Promise<void>) {
    const h = held();
    await h.e.write(ns, seed);
    const other = engine(h.inner);
    await docs(other, ns); // a second node with a view of the namespace before the race
    const gate = h.hold();
    const w = h.e.write(ns, body);
    await gate.reached; // planned and encoded; its append waits
    await other.deleteNamespace(ns);
    await between?.(h.inner);
    gate.release();
    return { ...h, other, answer: await w };
  }
  const notFound = async (e: Engine, ns: string) => expect(e.query(ns, { rank_by: ['id', 'asc'], top_k: 10 })).rejects.toThrow(/not found/);

  it('should plan a patch again when a namespace delete landed between its plan and its append (the patched row does not come back)', async () => {
    const { e, inner, other, answer } = await race('vp', { upsert_rows: [{ id: 1, v: 'one' }] }, { patch_rows: [{ id: 1, p: 'x' }] });
    expect(answer.rows_patched).toBe(0); // a patch of a row that no longer exists
    expect(e.writer.voided).toBe(1); // server/metrics.ts elax_write_entries_voided_total
    for (const reader of [e, other, engine(inner)]) await notFound(reader, 'vp'); // nothing revived it
  });

  it('should keep the unconditional part of a request whose patch raced a namespace delete, and drop the patch', async () => {
    const { e, inner, other, answer } = await race('vm', { upsert_rows: [{ id: 1, v: 'one' }] }, { upsert_rows: [{ id: 3, v: 'three' }], patch_rows: [{ id: 1, p: 'x' }] });
    expect([answer.rows_upserted, answer.rows_patched]).toEqual([1, 0]);
    for (const reader of [e, other, engine(inner)]) expect(await docs(reader, 'vm')).toEqual([{ id: 3, v: 'three', p: null }]);
  });

  it('should evaluate a conditional upsert that raced a namespace delete on the empty namespace', async () => {
    const cond = { upsert_rows: [{ id: 1, v: 'new', n: 3 }], upsert_condition: ['n', 'Lt', { $ref_new: 'n' }] };
    const { e, inner, other, answer } = await race('vc', { upsert_rows: [{ id: 1, v: 'old', n: 5 }] }, cond);
    expect(answer.rows_upserted).toBe(1); // no row to guard on the empty namespace: inserted (on the old one: 5 < 3 fails)
    for (const reader of [e, other, engine(inner)]) expect(await docs(reader, 'vc')).toEqual([{ id: 1, v: 'new', p: null }]);
  });

  it('should plan delete_by_filter and patch_by_filter again when they raced a namespace delete', async () => {
    const seed = { upsert_rows: [{ id: 1, v: 'a' }, { id: 2, v: 'a' }] };
    const del = await race('vd', seed, { delete_by_filter: ['id', 'In', [1, 2]] });
    expect(del.answer.rows_deleted).toBe(0);
    for (const reader of [del.e, del.other, engine(del.inner)]) await notFound(reader, 'vd'); // not revived, empty
    const patch = await race('vf', seed, { upsert_rows: [{ id: 7, v: 'b' }], patch_by_filter: { filters: ['v', 'Eq', 'a'], patch: { p: 'x' } } });
    expect([patch.answer.rows_upserted, patch.answer.rows_patched]).toEqual([1, 0]);
    for (const reader of [patch.e, patch.other, engine(patch.inner)]) expect(await docs(reader, 'vf')).toEqual([{ id: 7, v: 'b', p: null }]);
    // A filter on an attribute the empty namespace does not have is refused there, as after the delete it would be.
    const inner: MemoryStore[] = [];
    const bad = race('vx', seed, { patch_by_filter: { filters: ['v', 'Eq', 'a'], patch: { p: 'x' } } }, async (s) => void inner.push(s));
    await expect(bad).rejects.toThrow(/'v' is not in the namespace schema/);
    await notFound(engine(inner[0]!), 'vx');
  });

  it('should still land an unconditional upsert that raced a namespace delete (it revives the namespace), without plan_wal_start', async () => {
    const { e, inner, other, answer } = await race('vu', { upsert_rows: [{ id: 1, v: 'one' }] }, { upsert_rows: [{ id: 2, v: 'two' }] });
    expect(answer.rows_upserted).toBe(1);
    for (const reader of [e, other, engine(inner)]) expect(await docs(reader, 'vu')).toEqual([{ id: 2, v: 'two', p: null }]);
    const tomb = (await new RouterStore(inner).read('vu'))!.router;
    const entry = decodeWalEntry(tomb.wal_start, (await inner.get(walKey('vu', tomb.wal_start)))!.bytes);
    expect(entry.meta.plan_wal_start).toBeUndefined();
  });

  it('should void a patch whose append lands in an incarnation another writer revived meanwhile', async () => {
    // After the delete, another node revives the namespace (its router published, its entry not appended yet): the
    // patch's append takes the new incarnation's first seq, and step 5 finds a live router of another incarnation.
    const revive = async (inner: MemoryStore) => {
      const routers = new RouterStore(inner);
      const read = (await routers.read('vr'))!;
      const { deleted: _d, ...rest } = read.router;
      const now = new Date().toISOString();
      expect((await routers.publish(read.router, read.witness, RouterStore.next(rest, { created_at: now }, now))).ok).toBe(true);
    };
    const { e, inner, other, answer } = await race('vr', { upsert_rows: [{ id: 1, v: 'one' }] }, { patch_rows: [{ id: 1, p: 'x' }] }, revive);
    expect(answer.rows_patched).toBe(0);
    for (const reader of [e, other, engine(inner)]) expect(await docs(reader, 'vr')).toEqual([]);
    const r = (await new RouterStore(inner).read('vr'))!.router;
    const voided = decodeWalEntry(r.wal_start, (await inner.get(walKey('vr', r.wal_start)))!.bytes);
    expect(voided.meta.plan_wal_start).toBe(1); // planned on the first incarnation
    expect(voided.ops.length).toBe(1);
  });

  it('should drop a batch planned behind a void entry, and plan both again on the state after the delete', async () => {
    const { e, inner, hold } = held();
    await e.write('vq', { upsert_rows: [{ id: 1, v: 'one' }] });
    const gate = hold();
    const w1 = e.write('vq', { patch_rows: [{ id: 1, p: 'x' }] });
    await gate.reached;
    const w2 = e.write('vq', { upsert_rows: [{ id: 3, v: 'three' }], patch_rows: [{ id: 1, p: 'y' }] });
    await until(() => e.writer.pipeline.planned === 1); // planned behind w1: id 1 exists there, patched
    await engine(inner).deleteNamespace('vq');
    gate.release();
    expect((await w1).rows_patched).toBe(0);
    const a2 = await w2;
    expect([a2.rows_upserted, a2.rows_patched]).toEqual([1, 0]);
    expect(e.writer.pipeline.discarded).toBe(1);
    for (const reader of [e, engine(inner)]) expect(await docs(reader, 'vq')).toEqual([{ id: 3, v: 'three', p: null }]);
  });

  it('should leave a void entry out of the part the indexer builds over its range', async () => {
    const { e, inner, other } = await race('vi', { upsert_rows: [{ id: 1, v: 'one' }] }, { upsert_rows: [{ id: 3, v: 'three' }], patch_rows: [{ id: 1, p: 'x' }] });
    const r = (await new RouterStore(inner).read('vi'))!.router;
    const first = decodeWalEntry(r.wal_start, (await inner.get(walKey('vi', r.wal_start)))!.bytes);
    expect(first.meta.plan_wal_start).toBe(1); // the void entry opens the new incarnation's range
    const out = await new Indexer(inner, { clock: { now: () => Date.now() }, nonce: () => 'vi' }).indexNamespace('vi', true);
    expect(out.result).toBe('published');
    const after = (await new RouterStore(inner).read('vi'))!.router;
    expect(after.parts.map((p) => [p.wal_start, p.rows])).toEqual([[r.wal_start, 1]]);
    for (const reader of [e, other, engine(inner)]) expect(await docs(reader, 'vi')).toEqual([{ id: 3, v: 'three', p: null }]);
  });

  it('should record the schema in an entry planned before a namespace delete that lands first in the next incarnation', async () => {
    // w1 is planned on the namespace as it is (its schema has `v` already, so w1 changes no schema), then another node
    // deletes the namespace before w1's append: w1's entry is the first of the next incarnation (RFC-0001 step 5
    // revives it), whose schema starts empty. The entry must say what its rows' attributes are.
    const { e, inner, hold } = held();
    await e.write('s', { upsert_rows: [{ id: 1, v: 'one' }] });
    const gate = hold();
    const w1 = e.write('s', { upsert_rows: [{ id: 2, v: 'two' }] });
    await gate.reached;
    await engine(inner).deleteNamespace('s');
    gate.release();
    expect((await w1).rows_upserted).toBe(1);
    for (const reader of [e, engine(inner)]) {
      const res = await reader.query('s', { rank_by: ['id', 'asc'], top_k: 10, filters: ['v', 'Eq', 'two'], include_attributes: ['v'] });
      expect(res.rows).toEqual([{ id: 2, v: 'two' }]);
    }
  });
});
