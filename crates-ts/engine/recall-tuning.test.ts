import { describe, expect, it } from 'vitest';
import { RouterStore, type Router } from '../router/index.js';
import { MemoryStore, type Witness } from '../store/index.js';
import { DEFAULT_EPS0 } from '../ivf/index.js';
import { EPS0_STEPS, checkRecallTarget, probeDepths, recordProbesMin, sweepProbes, type RecallReport } from './recall-tuning.js';

const clock = { now: () => Date.UTC(2026, 11, 5) };
const cb = (version: number, nonce = 'a') => ({ codebook: `codebook-${String(version).padStart(10, '0')}-${nonce}.cb`, version });

async function namespace(store: MemoryStore, ns = 'ns'): Promise<Router> {
  const routers = new RouterStore(store);
  const r0 = RouterStore.initial(ns, 1, '2026-12-01T00:00:00.000Z');
  await routers.create(r0);
  const read = (await routers.read(ns))!;
  const r1 = RouterStore.next(r0, { vindex: cb(1), indexer: { last_part: 'p' } }, '2026-12-01T00:00:01.000Z');
  expect((await routers.publish(read.router, read.witness, r1)).ok).toBe(true);
  return r1;
}

describe('recall tuning', () => {
  it('should sweep 1, 2, 3, 4, 6, 8, 12, … up to every cluster', () => {
    expect(probeDepths(1)).toEqual([1]);
    expect(probeDepths(5)).toEqual([1, 2, 3, 4, 5]);
    expect(probeDepths(62)).toEqual([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 62]);
    expect(probeDepths(64)).toEqual([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]);
  });

  it('should accept targets in (0, 1] only', () => {
    expect(() => checkRecallTarget(1)).not.toThrow();
    expect(() => checkRecallTarget(0.5)).not.toThrow();
    for (const t of [0, -0.1, 1.01, Number.NaN, Infinity]) expect(() => checkRecallTarget(t), String(t)).toThrowError(/target must be a number in \(0, 1\]/);
  });

  it('should stop at the first depth meeting the target, and choose none when every cluster falls short', async () => {
    const curve = (probes: number): RecallReport => ({ avg_recall: Math.min(1, probes / 10), avg_ann_count: 10, avg_exhaustive_count: 10, probes, probes_source: 'query', clusters: 20 });
    const asked: number[] = [];
    const r = await sweepProbes(async (p) => (asked.push(p), curve(p)), 0.55);
    expect(r).toMatchObject({ clusters: 20, chosen: 6 });
    expect(asked).toEqual([1, 2, 3, 4, 6]);
    expect(r.rows.map((x) => x.probes)).toEqual([1, 2, 3, 4, 6]);
    const none = await sweepProbes(async (p) => ({ ...curve(p), avg_recall: 0.5 }), 0.9);
    expect(none.chosen).toBeNull();
    expect(none.rows.at(-1)!.probes).toBe(20);
    await expect(sweepProbes(async () => ({ avg_recall: 1, avg_ann_count: 1, avg_exhaustive_count: 1 }), 0.9)).rejects.toMatchObject({ code: 'ELAX_ERR_NO_CLUSTERED_INDEX' });
  });

  it('should lower ε0 at the chosen depth while the target holds, measuring the depths at the default ε0', async () => {
    // Recall falls by 0.02 per ε0 step below the default; depth 6 gives 0.6.
    const curve = (probes: number, eps0: number): RecallReport => ({ avg_recall: Math.min(1, probes / 10) - (eps0 < DEFAULT_EPS0 ? 0.02 * (EPS0_STEPS.indexOf(eps0) + 1) : 0), avg_ann_count: 10, avg_exhaustive_count: 10, clusters: 20 });
    const asked: [number, number][] = [];
    const measure = async (p: number, e: number) => (asked.push([p, e]), curve(p, e));
    const r = await sweepProbes(measure, 0.57, { eps0: true });
    expect(r).toMatchObject({ chosen: 6, chosenEps0: EPS0_STEPS[0] });
    // Depths at the default; then 1.5 (0.58, kept), 1.2 (0.56, below: the sweep ends there).
    expect(asked).toEqual([[1, DEFAULT_EPS0], [2, DEFAULT_EPS0], [3, DEFAULT_EPS0], [4, DEFAULT_EPS0], [6, DEFAULT_EPS0], [6, EPS0_STEPS[0]], [6, EPS0_STEPS[1]]]);
    expect(r.rows.at(-1)).toMatchObject({ probes: 6, eps0: EPS0_STEPS[1] });
    // No step keeps the target: the default stays chosen. Every step keeps it: the last is chosen.
    expect((await sweepProbes(measure, 0.595, { eps0: true })).chosenEps0).toBe(DEFAULT_EPS0);
    expect((await sweepProbes(measure, 0.5, { eps0: true })).chosenEps0).toBe(EPS0_STEPS.at(-1));
    // Without the option no ε0 is measured or chosen.
    asked.length = 0;
    expect((await sweepProbes(measure, 0.57)).chosenEps0).toBeUndefined();
    expect(asked.every(([, e]) => e === DEFAULT_EPS0)).toBe(true);
  });

  it('should record eps0 with probes_min, leave it when not given and clear it on null', async () => {
    const store = new MemoryStore();
    const measured = await namespace(store);
    const routers = new RouterStore(store);
    expect(await recordProbesMin(routers, 'ns', 4, measured, clock, 1.2)).toMatchObject({ previous: undefined, unchanged: false });
    expect((await routers.read('ns'))!.router.vindex).toEqual({ ...cb(1), probes_min: 4, eps0: 1.2 });
    // Same values: nothing published; another ε0 alone is a change.
    expect(await recordProbesMin(routers, 'ns', 4, measured, clock, 1.2)).toMatchObject({ unchanged: true, previousEps0: 1.2 });
    expect(await recordProbesMin(routers, 'ns', 4, measured, clock, 1.5)).toMatchObject({ unchanged: false, previousEps0: 1.2 });
    await recordProbesMin(routers, 'ns', 5, measured, clock);
    expect((await routers.read('ns'))!.router.vindex).toEqual({ ...cb(1), probes_min: 5, eps0: 1.5 });
    await recordProbesMin(routers, 'ns', 5, measured, clock, null);
    expect((await routers.read('ns'))!.router.vindex).toEqual({ ...cb(1), probes_min: 5 });
    for (const bad of [0, -1, 11, Number.NaN]) {
      await expect(recordProbesMin(routers, 'ns', 5, measured, clock, bad)).rejects.toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringMatching(/eps0 must be a number/) });
    }
  });

  it('should record probes_min with one CAS that changes nothing else, retrying a lost race on top of the new state', async () => {
    const store = new MemoryStore();
    const measured = await namespace(store);
    // Someone publishes between our read and our CAS (the first putIfMatch loses): an indexer extending the codebook.
    const routers = new RouterStore(store);
    let raced = false;
    const racing = new RouterStore(store);
    racing.publish = async (current: Router, witness: Witness, next: Router) => {
      if (!raced) {
        raced = true;
        const read = (await routers.read('ns'))!;
        const other = RouterStore.next(read.router, { vindex: cb(2, 'b'), indexer: { last_part: 'q' } }, '2026-12-02T00:00:00.000Z');
        expect((await routers.publish(read.router, read.witness, other)).ok).toBe(true);
      }
      return routers.publish(current, witness, next);
    };
    const out = await recordProbesMin(racing, 'ns', 5, measured, clock);
    expect(out).toEqual({ epoch: 3, previous: undefined, unchanged: false, codebookChangedTo: cb(2, 'b').codebook });
    const now = (await routers.read('ns'))!.router;
    expect(now.vindex).toEqual({ ...cb(2, 'b'), probes_min: 5 });
    expect(now.indexer).toEqual({ last_part: 'q' });
    // The same value again publishes nothing.
    expect(await recordProbesMin(routers, 'ns', 5, now, clock)).toEqual({ epoch: 3, previous: 5, unchanged: true });
    expect(await recordProbesMin(routers, 'ns', 3, now, clock)).toMatchObject({ epoch: 4, previous: 5, unchanged: false });
  });

  it('should refuse a namespace deleted or recreated while measuring, and a bad value', async () => {
    const store = new MemoryStore();
    const measured = await namespace(store);
    const routers = new RouterStore(store);
    await expect(recordProbesMin(routers, 'ns', 0, measured, clock)).rejects.toMatchObject({ code: 'ELAX_ERR_INVALID_REQUEST' });
    await expect(recordProbesMin(routers, 'missing', 2, measured, clock)).rejects.toMatchObject({ code: 'ELAX_ERR_NAMESPACE_NOT_FOUND' });
    await expect(recordProbesMin(routers, 'ns', 2, { ...measured, wal_start: 7 }, clock)).rejects.toMatchObject({ code: 'ELAX_ERR_CAS_CONFLICT', message: expect.stringMatching(/deleted and written again/) });
    const read = (await routers.read('ns'))!;
    const tomb = RouterStore.next(read.router, { deleted: { at: 'x', wal_highwater: 1 }, wal_start: 2, indexed_wal: 1, parts: [], vindex: undefined }, '2026-12-02T00:00:00.000Z');
    expect((await routers.publish(read.router, read.witness, tomb)).ok).toBe(true);
    await expect(recordProbesMin(routers, 'ns', 2, measured, clock)).rejects.toMatchObject({ code: 'ELAX_ERR_NAMESPACE_NOT_FOUND' });
  });
});
