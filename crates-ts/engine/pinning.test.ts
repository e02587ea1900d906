import { describe, expect, it } from 'vitest';
import { BlockCache } from '../cache/index.js';
import type { NamespaceView } from '../namespace/index.js';
import { RouterStore, type Router } from '../router/index.js';
import { NamespacePins, parseMetadataPatch } from './pinning.js';

describe('parseMetadataPatch', () => {
  it('should read the documented forms', () => {
    expect(parseMetadataPatch({})).toEqual({});
    expect(parseMetadataPatch(undefined)).toEqual({});
    expect(parseMetadataPatch({ pinning: undefined })).toEqual({});
    expect(parseMetadataPatch({ pinning: true })).toEqual({ pinning: { pin: true, replicas: 1 } });
    expect(parseMetadataPatch({ pinning: {} })).toEqual({ pinning: { pin: true, replicas: 1 } });
    expect(parseMetadataPatch({ pinning: { replicas: 4 } })).toEqual({ pinning: { pin: true, replicas: 4 } });
    expect(parseMetadataPatch({ pinning: false })).toEqual({ pinning: { pin: false } });
    expect(parseMetadataPatch({ pinning: null })).toEqual({ pinning: { pin: false } });
  });

  it('should refuse anything else with ELAX_ERR_INVALID_REQUEST naming the field', () => {
    for (const [body, msg] of [
      [[], /must be a JSON object, got array/],
      ['x', /must be a JSON object, got string/],
      [{ pinned: true }, /unknown field 'pinned'/],
      [{ pinning: 'true' }, /pinning must be true, false, null or an object/],
      [{ pinning: { replicas: -1 } }, /pinning.replicas must be a positive integer, got -1/],
      [{ pinning: { replicas: 2 ** 60 } }, /pinning.replicas must be a positive integer/],
      [{ pinning: { size: 'large' } }, /unknown field 'pinning.size'/],
    ] as const) {
      expect(() => parseMetadataPatch(body), JSON.stringify(body)).toThrow(expect.objectContaining({ code: 'ELAX_ERR_INVALID_REQUEST', message: expect.stringMatching(msg) }));
    }
  });
});

const clock = { now: () => Date.parse('2026-12-05T00:00:00Z') };

function view(ns: string, epoch: number, opts: { pinnedAt?: string; parts?: string[]; home?: string } = {}): NamespaceView {
  const r: Router = {
    ...RouterStore.initial(ns, 1, '2026-12-01T00:00:00.000Z'),
    epoch,
    parts: (opts.parts ?? []).map((id) => ({ id, wal_start: 1, wal_end: 1, rows: 1, bytes: 1, level: 0, created_at: '', ...(opts.home ? { home: opts.home } : {}) })),
    ...(opts.pinnedAt ? { pinning: { replicas: 1, pinned_at: opts.pinnedAt } } : {}),
  };
  return { namespace: ns, router: r } as unknown as NamespaceView;
}

describe('NamespacePins', () => {
  it('should hold and load a pinned namespace once per part set, report ready, and release it when unpinned', async () => {
    const cache = new BlockCache(1000, { pinnedShare: 0.5 });
    const loads: string[] = [];
    const pins = new NamespacePins([cache], async (ns) => {
      loads.push(ns);
      cache.set(`${ns}/parts/p/f`, 'x', 100);
    }, clock);
    pins.observe(view('a', 1, { pinnedAt: '2026-12-01T00:00:00Z', parts: ['p1'] }));
    expect(pins.status(view('a', 1, { pinnedAt: '2026-12-01T00:00:00Z', parts: ['p1'] }))?.status.ready_replicas).toBe(0); // loading
    await pins.settled('a');
    const v = view('a', 1, { pinnedAt: '2026-12-01T00:00:00Z', parts: ['p1'] });
    pins.observe(v);
    expect(pins.status(v)).toEqual({ replicas: 1, status: { ready_replicas: 1, updated_at: '2026-12-05T00:00:00.000Z', utilization: 100 / 500 } });
    // Same part set at a new epoch: no second load. New part set: loaded again.
    pins.observe(view('a', 2, { pinnedAt: '2026-12-01T00:00:00Z', parts: ['p1'] }));
    await pins.settled('a');
    expect(loads).toEqual(['a']);
    pins.observe(view('a', 3, { pinnedAt: '2026-12-01T00:00:00Z', parts: ['p1', 'p2'] }));
    await pins.settled('a');
    expect(loads).toEqual(['a', 'a']);
    for (let i = 0; i < 20; i++) cache.set(`other/parts/${i}/f`, i, 100);
    expect(cache.get('a/parts/p/f')).toBe('x');
    pins.observe(view('a', 4, { parts: ['p1', 'p2'] }));
    expect(pins.namespaces).toEqual([]);
    expect(cache.heldBytes).toBe(0);
    expect(pins.status(view('a', 4))).toBeUndefined();
  });

  it('should report not ready when the namespace does not fit its share, and hold a branch source', async () => {
    const cache = new BlockCache(1000, { pinnedShare: 0.1 });
    const pins = new NamespacePins([cache], async () => {
      cache.set('src/parts/p/f', 'borrowed', 60);
      cache.set('br/parts/q/f', 'own', 60);
    }, clock);
    const v = view('br', 1, { pinnedAt: '2026-12-01T00:00:00Z', parts: ['p'], home: 'src' });
    pins.observe(v);
    await pins.settled('br');
    expect(cache.heldStatus(['src', 'br'])).toEqual({ heldBytes: 60, spilledBytes: 60, evictions: 0 });
    expect(pins.status(v)?.status).toMatchObject({ ready_replicas: 0, utilization: 60 / 100 });
  });

  it('should retry a failed load when the namespace is opened again', async () => {
    const cache = new BlockCache(1000);
    let fail = true;
    const errors: string[] = [];
    const pins = new NamespacePins([cache], async () => {
      if (fail) throw new Error('store down');
    }, clock, (ns, e) => errors.push(`${ns}: ${(e as Error).message}`));
    const v = view('a', 1, { pinnedAt: '2026-12-01T00:00:00Z' });
    pins.observe(v);
    await pins.settled('a');
    expect(errors).toEqual(['a: store down']);
    expect(pins.status(v)?.status.ready_replicas).toBe(0);
    fail = false;
    pins.observe(v);
    await pins.settled('a');
    expect(pins.status(v)?.status.ready_replicas).toBe(1);
  });
});
