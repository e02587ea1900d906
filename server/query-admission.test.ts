import { describe, it, expect } from 'vitest';
import { ElaxError, isElaxError } from '../crates-ts/core/index.js';
import { QueryLimiter, defaultMaxQueuedQueries, defaultMaxRunningQueries } from './query-admission.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('QueryLimiter', () => {
  it('should run at most maxRunning at once and grant waiters in arrival order', async () => {
    const l = new QueryLimiter(2, 10);
    const order: number[] = [];
    const releases = await Promise.all([l.acquire(), l.acquire()]);
    const waiting = [3, 4, 5].map((n) => l.acquire().then((rel) => (order.push(n), rel)));
    await tick();
    expect({ running: l.running, queued: l.queued, order }).toEqual({ running: 2, queued: 3, order: [] });
    releases[0]!();
    await tick();
    expect(order).toEqual([3]);
    releases[1]!();
    releases[1]!(); // idempotent: does not free a second slot
    await tick();
    expect(order).toEqual([3, 4]);
    expect({ running: l.running, queued: l.queued }).toEqual({ running: 2, queued: 1 });
    for (const rel of await Promise.all(waiting.slice(0, 2))) rel();
    const last = await waiting[2]!;
    expect(order).toEqual([3, 4, 5]);
    last();
    expect({ running: l.running, queued: l.queued }).toEqual({ running: 0, queued: 0 });
  });

  it('should refuse beyond the queue with 429 QUERY_QUEUE_FULL and Retry-After', async () => {
    let rejected = 0;
    const l = new QueryLimiter(1, 1, { rejected: () => rejected++ });
    const r1 = await l.acquire();
    const queued = l.acquire();
    const err = await l.acquire().catch((e: unknown) => e);
    expect(isElaxError(err, 'ELAX_ERR_QUERY_QUEUE_FULL')).toBe(true);
    expect((err as ElaxError).status).toBe(429);
    expect((err as ElaxError).retryAfter).toBe(1);
    expect((err as ElaxError).message).toMatch(/1 running and 1 queued/);
    expect(rejected).toBe(1);
    r1();
    (await queued)();
    expect(l.running).toBe(0);
  });

  it('should release the slot when the work throws', async () => {
    const l = new QueryLimiter(1, 0);
    await expect(l.run(undefined, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(l.running).toBe(0);
    await expect(l.run(undefined, async () => 7)).resolves.toBe(7);
  });

  it('should drop an aborted waiter from the queue with the signal reason, and skip it when granting', async () => {
    let abandoned = 0;
    const l = new QueryLimiter(1, 5, { abandoned: () => abandoned++ });
    const r1 = await l.acquire();
    const gone = new AbortController();
    const a = l.acquire(gone.signal);
    const b = l.acquire();
    expect(l.queued).toBe(2);
    const reason = new ElaxError('ELAX_ERR_QUERY_CANCELLED', 'client gone');
    gone.abort(reason);
    await expect(a).rejects.toBe(reason);
    expect({ queued: l.queued, abandoned }).toEqual({ queued: 1, abandoned: 1 });
    r1();
    (await b)();
    expect({ running: l.running, queued: l.queued }).toEqual({ running: 0, queued: 0 });
  });

  it('should refuse an already aborted signal without taking a slot', async () => {
    const l = new QueryLimiter(1, 1);
    const c = new AbortController();
    c.abort(new Error('late'));
    await expect(l.acquire(c.signal)).rejects.toThrow('late');
    expect(l.running).toBe(0);
  });

  it('should not reject a granted query when its signal aborts later (the query itself checks the signal)', async () => {
    const l = new QueryLimiter(1, 1);
    const r1 = await l.acquire();
    const c = new AbortController();
    const p = l.acquire(c.signal);
    r1();
    const r2 = await p;
    c.abort(new Error('after grant'));
    expect(l.running).toBe(1);
    r2();
    expect(l.running).toBe(0);
  });

  it('should default to 2 per core running and 32 queued per running slot', () => {
    expect(defaultMaxRunningQueries()).toBeGreaterThanOrEqual(2);
    expect(defaultMaxQueuedQueries(4)).toBe(128);
  });
});
