import { describe, it, expect } from 'vitest';
import { checkRouterInvariants, RouterStore, type Router } from './index.js';

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
});
