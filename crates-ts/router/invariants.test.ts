import { describe, it, expect } from 'vitest';
import { checkRouterInvariants, RouterStore, withCodebook, type Router } from './index.js';

const base = (): Router => RouterStore.initial('ns', 1, '2026-01-01T00:00:00.000Z');

describe('router invariants', () => {
  it('should accept a new router at epoch 0 and the next at epoch 1', () => {
    const r0 = base();
    expect(() => checkRouterInvariants(r0, null)).not.toThrow();
    expect(() => checkRouterInvariants(RouterStore.next(r0, {}, 'now'), r0)).not.toThrow();
  });

  it('should reject an epoch that does not advance by exactly one', () => {
    const r0 = base();
    expect(() => checkRouterInvariants({ ...r0, epoch: 0 }, r0)).toThrowError(/epoch-advances-by-one/);
    expect(() => checkRouterInvariants({ ...r0, epoch: 2 }, r0)).toThrowError(/epoch-advances-by-one/);
  });

  it('should reject indexed_wal moving backwards', () => {
    const r0 = { ...base(), indexed_wal: 10 };
    expect(() => checkRouterInvariants({ ...RouterStore.next(r0, {}, 'now'), indexed_wal: 9 }, r0)).toThrowError(/indexed-wal-monotonic/);
  });

  it('should reject a part covering entries beyond indexed_wal', () => {
    const r0 = base();
    const part = { id: 'p1', wal_start: 1, wal_end: 5, rows: 1, bytes: 1, level: 0, created_at: 'now' };
    expect(() => checkRouterInvariants({ ...RouterStore.next(r0, {}, 'now'), parts: [part], indexed_wal: 4 }, r0)).toThrowError(/parts-within-indexed-range/);
    expect(() => checkRouterInvariants({ ...RouterStore.next(r0, {}, 'now'), parts: [part], indexed_wal: 5 }, r0)).not.toThrow();
  });

  it('should reject wal_start moving backwards and namespace changes', () => {
    const r0 = { ...base(), wal_start: 5, indexed_wal: 4 };
    expect(() => checkRouterInvariants({ ...RouterStore.next(r0, {}, 'now'), wal_start: 4 }, r0)).toThrowError(/wal-start-monotonic/);
    expect(() => checkRouterInvariants({ ...RouterStore.next(r0, {}, 'now'), namespace: 'other' }, r0)).toThrowError(/same-namespace/);
  });

  it('should reject parts out of WAL order, overlapping, with a gap, listed twice, or before wal_start', () => {
    const r0 = { ...base(), indexed_wal: 30 };
    const p = (id: string, a: number, b: number) => ({ id, wal_start: a, wal_end: b, rows: 1, bytes: 1, level: 0, created_at: 'now' });
    const next = (parts: ReturnType<typeof p>[]) => ({ ...RouterStore.next(r0, {}, 'now'), parts });
    expect(() => checkRouterInvariants(next([p('a', 1, 10), p('b', 11, 20), p('c', 21, 30)]), r0)).not.toThrow();
    expect(() => checkRouterInvariants(next([p('b', 11, 20), p('a', 1, 10)]), r0)).toThrowError(/parts-ordered-contiguous/);
    expect(() => checkRouterInvariants(next([p('a', 1, 10), p('b', 10, 20)]), r0)).toThrowError(/parts-ordered-contiguous/);
    expect(() => checkRouterInvariants(next([p('a', 1, 10), p('b', 12, 20)]), r0)).toThrowError(/parts-ordered-contiguous/);
    expect(() => checkRouterInvariants(next([p('a', 1, 10), p('a', 11, 20)]), r0)).toThrowError(/parts-unique/);
    const late = { ...r0, wal_start: 5 };
    expect(() => checkRouterInvariants({ ...RouterStore.next(late, {}, 'now'), parts: [p('a', 1, 10)] }, late)).toThrowError(/parts-ordered-contiguous/);
  });

  describe('vindex', () => {
    const cb = (version: number, nonce = 'a') => ({ codebook: `codebook-${String(version).padStart(10, '0')}-${nonce}.cb`, version });
    const r0 = { ...base(), indexed_wal: 10 };

    it('should accept a router without vindex (older routers stay valid) and one naming a codebook', () => {
      expect(() => checkRouterInvariants(RouterStore.next(r0, {}, 'now'), r0)).not.toThrow();
      expect(() => checkRouterInvariants(RouterStore.next(r0, { vindex: cb(1) }, 'now'), r0)).not.toThrow();
    });

    it('should reject a vindex whose name is not a codebook object or disagrees with its version', () => {
      expect(() => checkRouterInvariants(RouterStore.next(r0, { vindex: { codebook: 'x.cb', version: 1 } }, 'now'), r0)).toThrowError(/vindex-well-formed/);
      expect(() => checkRouterInvariants(RouterStore.next(r0, { vindex: { ...cb(2), version: 3 } }, 'now'), r0)).toThrowError(/vindex-well-formed/);
    });

    it('should let the codebook only move to a higher version within an incarnation', () => {
      const r1 = { ...RouterStore.next(r0, { vindex: cb(2) }, 'now') };
      expect(() => checkRouterInvariants(RouterStore.next(r1, { vindex: cb(3, 'b') }, 'now'), r1)).not.toThrow();
      expect(() => checkRouterInvariants(RouterStore.next(r1, {}, 'now'), r1)).not.toThrow();
      expect(() => checkRouterInvariants(RouterStore.next(r1, { vindex: cb(1) }, 'now'), r1)).toThrowError(/vindex-append-only.*moved back/);
      expect(() => checkRouterInvariants(RouterStore.next(r1, { vindex: cb(2, 'other') }, 'now'), r1)).toThrowError(/vindex-append-only.*changed object/);
      expect(() => checkRouterInvariants(RouterStore.next(r1, { vindex: undefined }, 'now'), r1)).toThrowError(/vindex-append-only.*dropped/);
    });

    it('should drop the codebook with the namespace, and let a revived namespace start another', () => {
      const r1 = { ...RouterStore.next(r0, { vindex: cb(2) }, 'now') };
      const tomb = { deleted: { at: 'now', wal_highwater: 10 }, wal_start: 11, indexed_wal: 10, parts: [] };
      expect(() => checkRouterInvariants(RouterStore.next(r1, tomb, 'now'), r1)).toThrowError(/vindex-append-only.*deleted namespace/);
      const dead = RouterStore.next(r1, { ...tomb, vindex: undefined }, 'now');
      expect(() => checkRouterInvariants(dead, r1)).not.toThrow();
      const { deleted: _d, ...alive } = dead;
      expect(() => checkRouterInvariants(RouterStore.next(alive, { vindex: cb(1, 'new') }, 'now'), dead)).not.toThrow();
    });

    it('should accept a positive integer probes_min and reject any other', () => {
      expect(() => checkRouterInvariants(RouterStore.next(r0, { vindex: { ...cb(1), probes_min: 6 } }, 'now'), r0)).not.toThrow();
      for (const bad of [0, -1, 2.5, '6', null, Number.NaN]) {
        const vindex = { ...cb(1), probes_min: bad as unknown as number };
        expect(() => checkRouterInvariants(RouterStore.next(r0, { vindex }, 'now'), r0), String(bad)).toThrowError(/vindex-well-formed.*probes_min/);
      }
    });

    it('should accept eps0 in (0, 10] and reject any other; keep it when the codebook moves', () => {
      expect(() => checkRouterInvariants(RouterStore.next(r0, { vindex: { ...cb(1), eps0: 1.2 } }, 'now'), r0)).not.toThrow();
      for (const bad of [0, -1, 10.5, '1.2', null, Number.NaN, Infinity]) {
        const vindex = { ...cb(1), eps0: bad as unknown as number };
        expect(() => checkRouterInvariants(RouterStore.next(r0, { vindex }, 'now'), r0), String(bad)).toThrowError(/vindex-well-formed.*eps0/);
      }
      const r1 = RouterStore.next(r0, { vindex: { ...cb(2), probes_min: 6, eps0: 1.2 } }, 'now');
      expect(() => checkRouterInvariants(RouterStore.next(r1, { vindex: { ...cb(3, 'b'), probes_min: 6 } }, 'now'), r1)).toThrowError(/vindex-tuning-kept.*eps0 1.2 was dropped/);
      const grown = RouterStore.next(r1, { vindex: withCodebook(r1.vindex, cb(3, 'b')) }, 'now');
      expect(grown.vindex).toEqual({ ...cb(3, 'b'), probes_min: 6, eps0: 1.2 });
      expect(() => checkRouterInvariants(grown, r1)).not.toThrow();
      expect(() => checkRouterInvariants(RouterStore.next(r1, { vindex: { ...cb(2), probes_min: 6 } }, 'now'), r1)).not.toThrow();
    });

    it('should keep probes_min when the codebook moves, and let the same codebook change or clear it', () => {
      const r1 = RouterStore.next(r0, { vindex: { ...cb(2), probes_min: 6 } }, 'now');
      expect(() => checkRouterInvariants(RouterStore.next(r1, { vindex: cb(3, 'b') }, 'now'), r1)).toThrowError(/vindex-tuning-kept.*probes_min 6 was dropped/);
      const grown = RouterStore.next(r1, { vindex: withCodebook(r1.vindex, cb(3, 'b')) }, 'now');
      expect(grown.vindex).toEqual({ ...cb(3, 'b'), probes_min: 6 });
      expect(() => checkRouterInvariants(grown, r1)).not.toThrow();
      expect(() => checkRouterInvariants(RouterStore.next(r1, { vindex: { ...cb(2), probes_min: 3 } }, 'now'), r1)).not.toThrow();
      expect(() => checkRouterInvariants(RouterStore.next(r1, { vindex: cb(2) }, 'now'), r1)).not.toThrow();
      expect(withCodebook(undefined, cb(1))).toEqual(cb(1));
      // A deleted namespace drops it with the codebook.
      const tomb = { deleted: { at: 'now', wal_highwater: 10 }, wal_start: 11, indexed_wal: 10, parts: [], vindex: undefined };
      expect(() => checkRouterInvariants(RouterStore.next(r1, tomb, 'now'), r1)).not.toThrow();
    });

    it('should reject a clustered part under a router that names no codebook', () => {
      const part = { id: 'p1', wal_start: 1, wal_end: 5, rows: 1, bytes: 1, level: 0, created_at: 'now', index_kind: 'ivf' };
      expect(() => checkRouterInvariants(RouterStore.next(r0, { parts: [part] }, 'now'), r0)).toThrowError(/ivf-parts-have-codebook/);
      expect(() => checkRouterInvariants(RouterStore.next(r0, { parts: [part], vindex: cb(1) }, 'now'), r0)).not.toThrow();
    });
  });
});
