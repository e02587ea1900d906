/** Router format 3 (RFC-0011): parts borrowed from another namespace (`home`). */
import { describe, it, expect } from 'vitest';
import { MemoryStore } from '../store/index.js';
import { checkRouterInvariants, parseRouter, partHome, RouterStore, withRetiredParts, type Router } from './index.js';

const part = (id: string, a: number, b: number, home?: string) => ({ id, wal_start: a, wal_end: b, rows: 1, bytes: 1, level: 0, created_at: 'now', ...(home ? { home } : {}) });
const branch = (): Router => ({ ...RouterStore.initial('b', 1, 'now'), format_version: 3, indexed_wal: 4, parts: [part('p1', 1, 2, 'src'), part('p2', 3, 4, 'src')] });

describe('router format 3', () => {
  it('should accept a new branch router and refuse borrowed parts under format 2 or a part naming its own namespace', () => {
    expect(() => checkRouterInvariants(branch(), null)).not.toThrow();
    expect(() => checkRouterInvariants({ ...branch(), format_version: 2 }, null)).toThrowError(/need router format 3/);
    expect(() => checkRouterInvariants({ ...branch(), parts: [part('p1', 1, 4, 'b')] }, null)).toThrowError(/names its own namespace/);
    expect(() => checkRouterInvariants({ ...branch(), format_version: 1 }, null)).toThrowError(/format 2 or later/);
  });

  it('should resolve homes, and record a borrowed part retired with its home', () => {
    const r = branch();
    expect(partHome(r, r.parts[0]!)).toBe('src');
    expect(partHome(r, part('own', 5, 5))).toBe('b');
    const next = RouterStore.next(r, { parts: [part('p3', 1, 4)] }, 'later');
    expect(withRetiredParts(r, next).retired_parts).toEqual([
      { id: 'p1', retired_at: 'later', home: 'src' },
      { id: 'p2', retired_at: 'later', home: 'src' },
    ]);
  });

  it('should stay format 3 when a publisher sets format 2, and leave routers that never borrowed at 2', async () => {
    const store = new MemoryStore();
    const routers = new RouterStore(store);
    expect((await routers.create(branch())).ok).toBe(true);
    const read = (await routers.read('b'))!;
    // Every borrowed part compacted away, published by a publisher that writes format 2 explicitly.
    const next = RouterStore.next(read.router, { format_version: 2, parts: [part('own', 1, 4)] }, 'later');
    expect((await routers.publish(read.router, read.witness, next)).ok).toBe(true);
    const after = (await routers.read('b'))!.router;
    expect(after.format_version).toBe(3);
    expect(after.retired_parts?.map((p) => p.home)).toEqual(['src', 'src']);

    expect((await routers.create(RouterStore.initial('plain', 1, 'now'))).ok).toBe(true);
    const p = (await routers.read('plain'))!;
    expect((await routers.publish(p.router, p.witness, RouterStore.next(p.router, {}, 'later'))).ok).toBe(true);
    expect((await routers.read('plain'))!.router.format_version).toBe(2);
  });

  it('should refuse a router format newer than 4 (format 4: sharding, RFC-0013)', () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ ...branch(), format_version: 5 }));
    expect(() => parseRouter('b', bytes)).toThrowError(/format_version 5; this build reads 1..4/);
  });
});
