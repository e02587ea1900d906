/**
 * Namespace pinning in the BlockCache (the held share): values of pinned namespaces survive pressure that evicts the
 * others, never more than the share is held, and the share goes to namespaces in rank order.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BlockCache, namespaceOfKey } from './index.js';

const keys = (ns: string, n: number) => Array.from({ length: n }, (_, i) => `${ns}/parts/p${i}/f`);

describe('BlockCache held share (namespace pinning)', () => {
  it('should name the namespace of part, head and codebook keys', () => {
    expect(namespaceOfKey('ns-1/parts/abc/ids.bin#3')).toBe('ns-1');
    expect(namespaceOfKey('head:ns.2/abc')).toBe('ns.2');
    expect(namespaceOfKey('a_b/vindex/codebook-0000000001-x.cb#index')).toBe('a_b');
    expect(namespaceOfKey('noslash')).toBeNull();
    expect(namespaceOfKey('/lead')).toBeNull();
  });

  it('should keep a pinned namespace resident under pressure that evicts unpinned values', () => {
    const c = new BlockCache(100, { pinnedShare: 0.5 });
    c.hold('a', ['a'], 1);
    for (const k of keys('a', 4)) c.set(k, k, 10);
    for (const k of keys('b', 30)) c.set(k, k, 10);
    for (const k of keys('a', 4)) expect(c.get(k)).toBe(k);
    expect(c.heldBytes).toBe(40);
    expect(c.bytes).toBeLessThanOrEqual(100);
    // The other 60 bytes are the 6 most recent b values (LRU as before).
    const bResident = keys('b', 30).filter((k) => c.get(k) !== undefined);
    expect(bResident).toEqual(keys('b', 30).slice(24));
    expect(c.stats.evictions).toBe(24);
    expect(c.heldStatus(['a'])).toEqual({ heldBytes: 40, spilledBytes: 0, evictions: 0 });
  });

  it('should hold no more than the share: what does not fit is spilled and evictable', () => {
    const c = new BlockCache(100, { pinnedShare: 0.5 });
    c.hold('a', ['a'], 1);
    for (const k of keys('a', 8)) c.set(k, k, 10);
    expect(c.heldBytes).toBe(50);
    expect(c.heldStatus(['a'])).toEqual({ heldBytes: 50, spilledBytes: 30, evictions: 0 });
    for (const k of keys('b', 10)) c.set(k, k, 10);
    // The first five were held; the three spilled went with the pressure.
    expect(keys('a', 8).map((k) => c.get(k) !== undefined)).toEqual([true, true, true, true, true, false, false, false]);
    expect(c.heldStatus(['a'])).toEqual({ heldBytes: 50, spilledBytes: 0, evictions: 3 });
    expect(c.heldBytes).toBeLessThanOrEqual(c.heldBudgetBytes);
  });

  it('should give the share to the better-ranked namespace first', () => {
    const c = new BlockCache(100, { pinnedShare: 0.5 });
    c.hold('late', ['late'], 2);
    for (const k of keys('late', 5)) c.set(k, k, 10);
    expect(c.heldStatus(['late']).heldBytes).toBe(50);
    c.hold('early', ['early'], 1);
    for (const k of keys('early', 3)) c.set(k, k, 10);
    expect(c.heldStatus(['early'])).toEqual({ heldBytes: 30, spilledBytes: 0, evictions: 0 });
    expect(c.heldStatus(['late'])).toEqual({ heldBytes: 20, spilledBytes: 30, evictions: 0 });
    // A worse-ranked value never takes a better one's room.
    c.set('late/parts/x/f', 'x', 10);
    expect(c.heldStatus(['early']).heldBytes).toBe(30);
    expect(c.heldBytes).toBe(50);
  });

  it('should hold values already resident when a namespace is pinned, and release them when unpinned', () => {
    const c = new BlockCache(100, { pinnedShare: 0.3 });
    for (const k of keys('a', 3)) c.set(k, k, 10);
    c.hold('a', ['a'], 1);
    expect(c.heldStatus(['a']).heldBytes).toBe(30);
    for (const k of keys('b', 20)) c.set(k, k, 10);
    for (const k of keys('a', 3)) expect(c.get(k)).toBe(k);
    c.unhold('a');
    expect(c.heldBytes).toBe(0);
    expect(c.heldStatus(['a'])).toEqual({ heldBytes: 0, spilledBytes: 0, evictions: 0 });
    for (const k of keys('c', 10)) c.set(k, k, 10);
    for (const k of keys('a', 3)) expect(c.get(k)).toBeUndefined();
  });

  it('should hold the homes a holder names (a branch holds its source parts) and re-rank on hold', () => {
    const c = new BlockCache(100, { pinnedShare: 0.5 });
    c.hold('br', ['br', 'src'], 1);
    c.set('src/parts/p/f', 'borrowed', 20);
    c.set('head:br/p', 'head', 5);
    expect(c.heldStatus(['br', 'src']).heldBytes).toBe(25);
    for (const k of keys('z', 20)) c.set(k, k, 10);
    expect(c.get('src/parts/p/f')).toBe('borrowed');
    expect(c.holders()).toEqual(['br']);
  });

  it('should spill a held value that grows past the share', () => {
    const c = new BlockCache(100, { pinnedShare: 0.5 });
    c.hold('a', ['a'], 1);
    c.set('a/p/1', 1, 20);
    c.set('a/p/2', 2, 20);
    c.resize('a/p/2', 40);
    expect(c.heldBytes).toBe(20);
    expect(c.heldStatus(['a'])).toEqual({ heldBytes: 20, spilledBytes: 40, evictions: 0 });
    expect(c.bytes).toBe(60);
  });

  it('should reject a share outside [0, 1]', () => {
    expect(() => new BlockCache(100, { pinnedShare: 1.5 })).toThrow(/pinnedShare/);
    expect(() => new BlockCache(100, { pinnedShare: -0.1 })).toThrow(/pinnedShare/);
    expect(new BlockCache(100, { pinnedShare: 0 }).heldBudgetBytes).toBe(0);
  });

  it('property: budget and share bounds hold, and a pinned namespace that fits the share is never evicted', () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant('set' as const), ns: fc.constantFrom('p', 'q', 'r'), k: fc.integer({ min: 0, max: 15 }), bytes: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ t: fc.constant('get' as const), ns: fc.constantFrom('p', 'q', 'r'), k: fc.integer({ min: 0, max: 15 }) }),
      fc.record({ t: fc.constant('hold' as const), ns: fc.constantFrom('q', 'r'), rank: fc.integer({ min: 2, max: 5 }) }),
      fc.record({ t: fc.constant('unhold' as const), ns: fc.constantFrom('q', 'r') }),
      fc.record({ t: fc.constant('delete' as const), ns: fc.constantFrom('q', 'r'), k: fc.integer({ min: 0, max: 15 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 150 }), fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 6 }), (ops, pSizes) => {
        // 'p' is pinned first (best rank) and its values total at most the share: none may ever be evicted.
        const c = new BlockCache(200, { pinnedShare: 0.25 });
        c.hold('p', ['p'], 1);
        const pKeys = pSizes.map((bytes, i) => ({ key: `p/fixed/${i}`, bytes }));
        let pTotal = 0;
        for (const { key, bytes } of pKeys) {
          if (pTotal + bytes > c.heldBudgetBytes) break;
          c.set(key, key, bytes);
          pTotal += bytes;
        }
        const present = pKeys.filter((k) => c.get(k.key) !== undefined).map((k) => k.key);
        for (const o of ops) {
          if (o.t === 'set' && o.ns !== 'p') c.set(`${o.ns}/k/${o.k}`, o.k, o.bytes);
          else if (o.t === 'get') c.get(`${o.ns}/k/${o.k}`);
          else if (o.t === 'hold') c.hold(o.ns, [o.ns], o.rank);
          else if (o.t === 'unhold') c.unhold(o.ns);
          else if (o.t === 'delete') c.delete(`${o.ns}/k/${o.k}`);
          expect(c.bytes).toBeLessThanOrEqual(200);
          expect(c.heldBytes).toBeLessThanOrEqual(c.heldBudgetBytes);
          const held = c.heldStatus(c.holders()).heldBytes;
          expect(held).toBe(c.heldBytes);
          for (const k of present) expect(c.get(k)).toBe(k);
        }
        expect(c.heldStatus(['p'])).toEqual({ heldBytes: pTotal, spilledBytes: 0, evictions: 0 });
      }),
    );
  });
});
