import { describe, it, expect } from 'vitest';
import { checkRouterInvariants, RouterStore, SHARDED_ROUTER_FORMAT, type PartRef, type Router } from './index.js';

const p = (id: string, shard: number | undefined, a: number, b: number): PartRef => ({ id, wal_start: a, wal_end: b, rows: 1, bytes: 1, level: 0, created_at: 'now', ...(shard !== undefined ? { shard } : {}) });
const sharded = (n: number): Router => ({ ...RouterStore.initial('ns', 1, 'now'), format_version: SHARDED_ROUTER_FORMAT, indexed_wal: 30, sharding: { num_shards: n } });
const next = (r: Router, parts: PartRef[], extra: Partial<Router> = {}): Router => ({ ...RouterStore.next(r, extra, 'now'), parts });

describe('router invariants of sharded namespaces (RFC-0013)', () => {
  it('accepts per-shard ordered parts with gaps, sorted by (wal_start, shard)', () => {
    const r0 = sharded(3);
    // Shard 1 has nothing in 11..20; shard 0's merged part 1..20 spans shard 2's 1..10 and 11..20.
    const parts = [p('a', 0, 1, 20), p('b', 1, 1, 10), p('c', 2, 1, 10), p('d', 2, 11, 20), p('e', 0, 21, 30), p('f', 1, 21, 30)];
    expect(() => checkRouterInvariants(next(r0, parts), r0)).not.toThrow();
  });

  it('rejects overlap within a shard, unsorted parts, and a part listed twice for one (wal_start, shard)', () => {
    const r0 = sharded(2);
    expect(() => checkRouterInvariants(next(r0, [p('a', 0, 1, 20), p('b', 1, 1, 10), p('c', 0, 11, 30)]), r0)).toThrowError(/parts-ordered-contiguous.*inside a of the same shard/);
    expect(() => checkRouterInvariants(next(r0, [p('b', 1, 1, 10), p('a', 0, 1, 10)]), r0)).toThrowError(/sorted by \(wal_start, shard\)/);
    expect(() => checkRouterInvariants(next(r0, [p('a', 0, 11, 20), p('b', 0, 1, 10)]), r0)).toThrowError(/parts-ordered-contiguous/);
    expect(() => checkRouterInvariants(next(r0, [p('a', 0, 1, 10), p('b', 0, 1, 10)]), r0)).toThrowError(/parts-ordered-contiguous/);
  });

  it('keeps unsharded namespaces contiguous as before', () => {
    const r0 = { ...RouterStore.initial('ns', 1, 'now'), indexed_wal: 30 };
    expect(() => checkRouterInvariants(next(r0, [p('a', undefined, 1, 10), p('b', undefined, 11, 20)]), r0)).not.toThrow();
    expect(() => checkRouterInvariants(next(r0, [p('a', undefined, 1, 10), p('b', undefined, 12, 20)]), r0)).toThrowError(/parts-ordered-contiguous/);
    expect(() => checkRouterInvariants(next(r0, [p('a', 0, 1, 10)]), r0)).toThrowError(/sharding-fixed.*not sharded/);
  });

  it('rejects parts outside 0..num_shards-1, a bad num_shards, an old format, and a sharding change', () => {
    const r0 = sharded(2);
    expect(() => checkRouterInvariants(next(r0, [p('a', 2, 1, 10)]), r0)).toThrowError(/sharding-fixed.*not 0..1/);
    expect(() => checkRouterInvariants(next(r0, [p('a', undefined, 1, 10)]), r0)).toThrowError(/sharding-fixed/);
    expect(() => checkRouterInvariants(next(r0, [], { sharding: { num_shards: 4 } }), r0)).toThrowError(/sharding changed/);
    expect(() => checkRouterInvariants(next(r0, [], { sharding: undefined }), r0)).toThrowError(/sharding changed/);
    expect(() => checkRouterInvariants(next(r0, [], { sharding: { num_shards: 0 } }), r0)).toThrowError(/not an integer 1..256/);
    expect(() => checkRouterInvariants(next(r0, [], { format_version: 3 }), r0)).toThrowError(/format-version|must be format 4/);
    // A new incarnation (after a delete) may choose again.
    const tomb: Router = { ...RouterStore.next(r0, { deleted: { at: 'now', wal_highwater: 30 }, wal_start: 31, sharding: undefined }, 'now'), parts: [] };
    expect(() => checkRouterInvariants(tomb, r0)).not.toThrow();
    const revived: Router = { ...RouterStore.next(tomb, { deleted: undefined, indexed_wal: 30 }, 'now') };
    delete revived.deleted;
    expect(() => checkRouterInvariants({ ...RouterStore.next(revived, { indexed_wal: 31, sharding: { num_shards: 8 } }, 'now'), parts: [p('x', 5, 31, 31)] }, revived)).not.toThrow();
  });
});
