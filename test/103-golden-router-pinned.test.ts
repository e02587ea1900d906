/**
 * Golden router.json of a pinned namespace (router.pinning, docs/api.md "Pinning"): an additive field of router
 * formats 1..3, so no format version changed. The fixture is the router-vindex-tuned golden router with `pinning`
 * added. It must keep parsing and pass the invariants, every publisher's RouterStore.next must carry it, and routers
 * written before pinning existed (the other golden routers) read as unpinned.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RouterStore, checkRouterInvariants, isRouterPinning, parseRouter, type Router } from '../crates-ts/router/index.js';

const fixture = (dir: string) => readFileSync(path.join(import.meta.dirname, 'fixtures', dir, 'router.json'));

describe('golden router with pinning', () => {
  it('should parse, pass the invariants and carry pinning through a publish', () => {
    const r = parseRouter('golden', fixture('router-pinned'));
    expect(r.format_version).toBe(2);
    expect(r.pinning).toEqual({ replicas: 2, pinned_at: '2026-12-01T00:01:00.000Z' });
    const next = RouterStore.next(r, { indexed_wal: r.indexed_wal + 1 }, '2026-12-01T00:02:00.000Z');
    expect(next.pinning).toEqual(r.pinning);
    expect(() => checkRouterInvariants(next, r)).not.toThrow();
  });

  it('should read a router written before pinning as unpinned', () => {
    const r = parseRouter('golden', fixture('router-vindex-tuned'));
    expect(r.pinning).toBeUndefined();
  });

  it('should refuse to publish a malformed pinning', () => {
    const r = parseRouter('golden', fixture('router-pinned'));
    for (const bad of [{ replicas: 0, pinned_at: r.pinning!.pinned_at }, { replicas: 1 }, { replicas: 1, pinned_at: 'never' }, { replicas: 2.5, pinned_at: r.pinning!.pinned_at }]) {
      expect(isRouterPinning(bad)).toBe(false);
      const next = RouterStore.next(r, { pinning: bad as Router['pinning'] }, r.updated_at);
      expect(() => checkRouterInvariants(next, r), JSON.stringify(bad)).toThrow(/pinning-well-formed/);
    }
  });
});
