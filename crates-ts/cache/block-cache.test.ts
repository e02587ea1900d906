import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BlockCache } from './index.js';

describe('BlockCache', () => {
  it('should never hold more than its budget, evict least recently used first, and count hits', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 40 }), fc.boolean()), { maxLength: 200 }), (ops) => {
        const c = new BlockCache(100);
        const model: { key: string; bytes: number }[] = []; // recency order, oldest first
        for (const [k, bytes, isGet] of ops) {
          const key = `k${k}`;
          const at = model.findIndex((e) => e.key === key);
          if (isGet) {
            expect(c.get(key) !== undefined).toBe(at >= 0);
            if (at >= 0) model.push(...model.splice(at, 1));
          } else {
            c.set(key, { k }, bytes);
            if (at >= 0) model.splice(at, 1);
            model.push({ key, bytes });
            let total = model.reduce((s, e) => s + e.bytes, 0);
            while (total > 100) total -= model.shift()!.bytes;
          }
          expect(c.bytes).toBeLessThanOrEqual(100);
          expect(c.bytes).toBe(model.reduce((s, e) => s + e.bytes, 0));
        }
      }),
    );
  });

  it('should share one load between concurrent callers and not cache failures', async () => {
    const c = new BlockCache(1000);
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 5));
      return { value: 'v', bytes: 10 };
    };
    expect(await Promise.all([c.getOrLoad('a', load), c.getOrLoad('a', load)])).toEqual(['v', 'v']);
    expect(loads).toBe(1);
    await expect(c.getOrLoad('b', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await c.getOrLoad('b', load)).toBe('v');
    expect(c.stats.misses).toBe(3); // a, the failed b, b again
  });

  it('should never evict a pinned value, count each pinned key once, and come back within budget when pins go', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('set' as const), k: fc.integer({ min: 0, max: 12 }), bytes: fc.integer({ min: 1, max: 60 }) }),
            fc.record({ op: fc.constant('get' as const), k: fc.integer({ min: 0, max: 12 }) }),
            fc.record({ op: fc.constant('pin' as const), k: fc.integer({ min: 0, max: 12 }) }),
            fc.record({ op: fc.constant('release' as const), i: fc.nat() }),
            fc.record({ op: fc.constant('resize' as const), k: fc.integer({ min: 0, max: 12 }), bytes: fc.integer({ min: 1, max: 60 }) }),
          ),
          { maxLength: 200 },
        ),
        (ops) => {
          const c = new BlockCache(100);
          const held: { key: string; release: () => void }[] = [];
          const refs = new Map<string, number>();
          const size = new Map<string, number>(); // accounted bytes of each key, as last set or resized while resident
          let peak = 0;
          for (const o of ops) {
            const key = `k${'k' in o ? o.k : ''}`;
            if (o.op === 'set') {
              c.set(key, o.k, o.bytes);
              size.set(key, o.bytes);
            } else if (o.op === 'get') c.get(key);
            else if (o.op === 'resize') {
              if (c.get(key) !== undefined || refs.has(key)) size.set(key, o.bytes);
              c.resize(key, o.bytes);
            } else if (o.op === 'pin') {
              if (c.get(key) === undefined) continue; // a caller pins what it just got
              held.push({ key, release: c.pin(key, 0) });
              refs.set(key, (refs.get(key) ?? 0) + 1);
            } else if (held.length > 0) {
              const h = held.splice(o.i % held.length, 1)[0]!;
              h.release();
              h.release(); // twice: harmless
              const n = refs.get(h.key)! - 1;
              if (n === 0) refs.delete(h.key);
              else refs.set(h.key, n);
            }
            // A pinned key stays resident (unless larger than the whole budget), counted once at its current size.
            let pinned = 0;
            for (const k of refs.keys()) {
              if (size.get(k)! <= 100) expect(c.get(k)).toBeDefined();
              pinned += size.get(k)!;
            }
            expect(c.pinnedBytes).toBe(pinned);
            peak = Math.max(peak, pinned);
            expect(c.peakPinnedBytes).toBe(peak);
            // Over budget only while every resident value is pinned.
            if (c.bytes > 100) expect(c.size).toBeLessThanOrEqual(refs.size);
          }
          for (const h of held) h.release();
          expect(c.pinnedBytes).toBe(0);
          expect(c.bytes).toBeLessThanOrEqual(100);
        },
      ),
    );
  });

  it('should count a pinned value larger than the budget as pinned, never resident', async () => {
    const c = new BlockCache(100);
    const { value, release } = await c.getPinned('big', async () => ({ value: 'v', bytes: 500 }));
    expect(value).toBe('v');
    expect(c.bytes).toBe(0);
    expect(c.pinnedBytes).toBe(500);
    release();
    expect(c.pinnedBytes).toBe(0);
    expect(c.peakPinnedBytes).toBe(500);
    c.resetPeak();
    expect(c.peakPinnedBytes).toBe(0);
  });

  it('should peek a resident value pinned, and never load or pin a missing one', async () => {
    const c = new BlockCache(100);
    expect(c.peekPinned('a')).toBeUndefined();
    expect([c.size, c.pinnedBytes, c.stats.misses]).toEqual([0, 0, 0]);
    await c.getOrLoad('a', async () => ({ value: 'A', bytes: 60 }));
    const got = c.peekPinned<string>('a')!;
    expect(got.value).toBe('A');
    expect(c.pinnedBytes).toBe(60);
    // Pinned: a newer value that overflows the budget is evicted instead of it.
    await c.getOrLoad('b', async () => ({ value: 'B', bytes: 60 }));
    const again = c.peekPinned<string>('a')!;
    expect(again.value).toBe('A');
    expect(c.peekPinned('b')).toBeUndefined();
    got.release();
    again.release();
    expect(c.pinnedBytes).toBe(0);
    // Released: the next value that overflows evicts it.
    await c.getOrLoad('c', async () => ({ value: 'C', bytes: 60 }));
    expect(c.peekPinned('a')).toBeUndefined();
    expect(c.size).toBe(1);
  });
});
