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
});
