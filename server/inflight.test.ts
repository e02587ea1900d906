import { describe, it, expect } from 'vitest';
import { isElaxError } from '../crates-ts/core/index.js';
import { InflightBudget, defaultMaxInflightBytes } from './inflight.js';
import { DEFAULT_BODY_LIMIT } from './json-body.js';

const overloaded = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(isElaxError(e, 'ELAX_ERR_OVERLOADED')).toBe(true);
    expect((e as { retryAfter?: number }).retryAfter).toBe(1);
    return;
  }
  throw new Error('expected ELAX_ERR_OVERLOADED');
};

describe('InflightBudget', () => {
  it('should admit within both limits and refuse beyond either, naming the limit', () => {
    const rejected: string[] = [];
    const b = new InflightBudget(3, 100, (l) => rejected.push(l));
    const t1 = b.admit(60);
    overloaded(() => b.admit(41));
    const t2 = b.admit(40);
    expect({ requests: b.requests, bytes: b.bytes }).toEqual({ requests: 2, bytes: 100 });
    const t3 = b.admit(0);
    overloaded(() => b.admit(0));
    expect(rejected).toEqual(['bytes', 'requests']);
    for (const t of [t1, t2, t3]) t.release();
    expect({ requests: b.requests, bytes: b.bytes }).toEqual({ requests: 0, bytes: 0 });
  });

  it('should charge a streaming body as it grows and release exactly what it charged, once', () => {
    const b = new InflightBudget(10, 100);
    const other = b.admit(30);
    const t = b.admit(0);
    t.chargeUpTo(50);
    t.chargeUpTo(40); // never shrinks
    expect(b.bytes).toBe(80);
    overloaded(() => t.chargeUpTo(71));
    expect(b.bytes).toBe(80); // a refused growth charges nothing
    t.release();
    t.release();
    expect({ requests: b.requests, bytes: b.bytes }).toEqual({ requests: 1, bytes: 30 });
    t.chargeUpTo(90); // after release: no effect
    expect(b.bytes).toBe(30);
    other.release();
  });

  it('should reject non-positive limits and default to at least one full body', () => {
    expect(() => new InflightBudget(0, 10)).toThrow(/maxRequests/);
    expect(() => new InflightBudget(1, 1.5)).toThrow(/maxBytes/);
    expect(defaultMaxInflightBytes(2 ** 50)).toBe(2 ** 50);
    expect(defaultMaxInflightBytes(1)).toBeGreaterThan(64 * 1024 ** 2);
  });

  it('should admit one body of the default 512 MiB limit with the default budget, whatever the heap size', () => {
    const b = new InflightBudget(1024, defaultMaxInflightBytes(DEFAULT_BODY_LIMIT));
    b.admit(DEFAULT_BODY_LIMIT).release();
    // A budget exactly one body large admits one, then refuses a second until the first is done.
    const exact = new InflightBudget(1024, DEFAULT_BODY_LIMIT);
    const t = exact.admit(DEFAULT_BODY_LIMIT);
    overloaded(() => exact.admit(1));
    t.release();
    exact.admit(DEFAULT_BODY_LIMIT).release();
  });
});
