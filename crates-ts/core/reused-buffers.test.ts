import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MIN_REUSED_BYTES, ReusedBuffers } from './reused-buffers.js';

describe('ReusedBuffers', () => {
  it('hands a released buffer out again, at least as large as asked, and never keeps more than its limit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ op: fc.constant('acquire' as const), bytes: fc.integer({ min: 1, max: 600_000 }) }), fc.record({ op: fc.constant('release' as const), bytes: fc.constant(0) })), { maxLength: 60 }),
        (steps) => {
          const cache = new ReusedBuffers(1024 * 1024, 512 * 1024);
          const out: SharedArrayBuffer[] = [];
          const released = new Set<SharedArrayBuffer>();
          for (const s of steps) {
            if (s.op === 'acquire') {
              const b = cache.acquire(s.bytes);
              expect(b.byteLength).toBeGreaterThanOrEqual(s.bytes);
              // A kept buffer is handed out at most once until released again.
              expect(out.includes(b)).toBe(false);
              if (released.has(b)) released.delete(b);
              out.push(b);
            } else if (out.length > 0) {
              const b = out.shift()!;
              cache.release(b);
              released.add(b);
            }
            expect(cache.keptBytes).toBeLessThanOrEqual(cache.maxBytes);
          }
        },
      ),
    );
  });

  it('reuses within a size class and allocates outside the reused range', () => {
    const cache = new ReusedBuffers();
    const a = cache.acquire(1_300_000);
    expect(a.byteLength).toBe(2 * 1024 * 1024);
    cache.release(a);
    expect(cache.acquire(1_100_000)).toBe(a);
    expect(cache.hits).toBe(1);
    const small = cache.acquire(MIN_REUSED_BYTES - 1);
    expect(small.byteLength).toBe(MIN_REUSED_BYTES - 1);
    cache.release(small);
    expect(cache.keptBytes).toBe(0);
    cache.release(a);
    expect(() => cache.release(a)).toThrow(/twice/);
  });
});
