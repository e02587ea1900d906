import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setTimeout as sleep } from 'node:timers/promises';
import { MIN_REUSED_BYTES, ReusedBuffers, sizeClass } from './reused-buffers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** `b` as another thread's answer would bring it back: a second SharedArrayBuffer object over the same memory. */
async function copyOf(b: SharedArrayBuffer): Promise<SharedArrayBuffer> {
  const { port1, port2 } = new MessageChannel();
  const got = new Promise<SharedArrayBuffer>((resolve) => port1.once('message', resolve));
  port2.postMessage(b);
  const copy = await got;
  port1.close();
  return copy;
}

/** Collects until `done()` (FinalizationRegistry callbacks run in a task after the collection), at most ~5 s. */
async function collectUntil(done: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !done(); i++) {
    gc();
    await sleep(50);
  }
  return done();
}

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
    expect(a.byteLength).toBe(10 * 128 * 1024); // 1 MiB + 2 eighths
    cache.release(a);
    // Two classes smaller (exactly 1 MiB) still takes it; three (1 MiB − 2 sixteenths) does not.
    expect(cache.acquire(900_000)).not.toBe(a);
    expect(cache.acquire(1024 * 1024)).toBe(a);
    expect(cache.hits).toBe(1);
    const small = cache.acquire(MIN_REUSED_BYTES - 1);
    expect(small.byteLength).toBe(MIN_REUSED_BYTES - 1);
    cache.release(small);
    expect(cache.keptBytes).toBe(0);
    cache.release(a);
    expect(() => cache.release(a)).toThrow(/twice/);
  });

  it('sizes classes within an eighth above what is asked, each class its own', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 * 1024 * 1024 }), (bytes) => {
        const c = sizeClass(bytes);
        expect(c).toBeGreaterThanOrEqual(bytes);
        expect(Number.isInteger(c)).toBe(true);
        if (bytes > MIN_REUSED_BYTES) expect(c).toBeLessThanOrEqual(bytes * 1.125);
        else expect(c).toBe(MIN_REUSED_BYTES);
        expect(sizeClass(c)).toBe(c);
      }),
    );
  });

  it('gives a lent buffer back now when the answer did not use it, never when the task ran inline', () => {
    const cache = new ReusedBuffers();
    const unused = cache.acquire(300_000);
    cache.settleLent(unused, null);
    expect(cache.keptBytes).toBe(unused.byteLength);
    const fresh = cache.acquire(300_000);
    expect(fresh).toBe(unused);
    cache.settleLent(fresh, new ArrayBuffer(10)); // answered in a buffer of its own
    expect(cache.acquire(300_000)).toBe(unused);
    cache.settleLent(unused, unused); // inline: its views are of the buffer itself
    expect(cache.keptBytes).toBe(0);
    expect(cache.lentOut).toBe(0);
  });

  it('gives a lent buffer back only once the copy the answer arrived with is collected', async () => {
    const cache = new ReusedBuffers();
    const lent = cache.acquire(300_000);
    // What a pool thread writes and answers with: a view of its copy of the buffer.
    let answer: Float32Array | null = new Float32Array(await copyOf(lent), 0, 4);
    answer.set([1, 2, 3, 4]);
    cache.settleLent(lent, answer.buffer);
    expect(cache.lentOut).toBe(1);
    // Held: collections do not give it back, and acquire hands out another buffer.
    for (let i = 0; i < 5; i++) {
      gc();
      await sleep(20);
    }
    expect(cache.keptBytes).toBe(0);
    const other = cache.acquire(300_000);
    expect(other).not.toBe(lent);
    expect([...answer]).toEqual([1, 2, 3, 4]);
    answer = null; // the last view goes
    expect(await collectUntil(() => cache.lentOut === 0)).toBe(true);
    expect(cache.keptBytes).toBe(lent.byteLength);
    expect(cache.acquire(300_000)).toBe(lent);
  });

  it('never gives back a lent buffer whose answer is not the size it was lent', async () => {
    const cache = new ReusedBuffers();
    const lent = cache.acquire(300_000);
    expect(() => cache.settleLent(lent, new SharedArrayBuffer(16))).toThrow(/lent/);
  });
});

