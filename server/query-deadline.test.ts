import { describe, it, expect } from 'vitest';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { ElaxError, isElaxError } from '../crates-ts/core/index.js';
import { QueryDeadline, requestTimeoutMs } from './query-deadline.js';

function fakeClock() {
  const c = { t: 1000, now: () => c.t };
  return c;
}

const thrown = (f: () => void): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe('requestTimeoutMs', () => {
  it('should take the header below the server budget, cap it at the server budget, and refuse garbage', () => {
    expect(requestTimeoutMs(undefined, 30_000)).toBe(30_000);
    expect(requestTimeoutMs('250', 30_000)).toBe(250);
    expect(requestTimeoutMs('90000', 30_000)).toBe(30_000);
    for (const bad of ['0', '-5', '1.5', 'soon', '']) {
      const e = thrown(() => requestTimeoutMs(bad, 30_000));
      expect(isElaxError(e, 'ELAX_ERR_INVALID_REQUEST'), bad).toBe(true);
      expect((e as Error).message).toContain('X-Elax-Query-Timeout-Ms');
    }
  });
});

describe('QueryDeadline', () => {
  it('should stop at the first check past the deadline with QUERY_TIMEOUT, recording where, once', () => {
    const clock = fakeClock();
    const stops: string[] = [];
    const d = new QueryDeadline(50, { now: clock.now, pause: async () => {}, onStop: (r, w) => stops.push(`${r}@${w}`) });
    d.check('segment');
    clock.t += 49;
    d.check('scan');
    clock.t += 1;
    const e = thrown(() => d.check('scan'));
    expect(isElaxError(e, 'ELAX_ERR_QUERY_TIMEOUT')).toBe(true);
    expect((e as ElaxError).status).toBe(504);
    expect((e as Error).message).toContain('50 ms');
    expect(d.signal.aborted).toBe(true);
    expect(thrown(() => d.check('segment'))).toBe(e);
    expect({ stoppedAt: d.stoppedAt, stops }).toEqual({ stoppedAt: 'scan', stops: ['timeout@scan'] });
    d.dispose();
  });

  it('should abort its signal from the timer even when nothing checks (a queued query)', async () => {
    const d = new QueryDeadline(5, { now: () => 0, pause: async () => {} });
    await new Promise((r) => d.signal.addEventListener('abort', r));
    expect(isElaxError(d.signal.reason, 'ELAX_ERR_QUERY_TIMEOUT')).toBe(true);
    d.leftQueue();
    expect(d.stoppedAt).toBe('queue');
  });

  it('should stop with QUERY_CANCELLED when the response closes unsent, not when it closes after being sent', async () => {
    const sent = Object.assign(new EventEmitter(), { writableFinished: true }) as unknown as ServerResponse;
    const a = new QueryDeadline(10_000, { now: () => 0, pause: async () => {} });
    a.watch(sent);
    sent.emit('close');
    expect(a.signal.aborted).toBe(false);
    a.dispose();

    const unsent = Object.assign(new EventEmitter(), { writableFinished: false }) as unknown as ServerResponse;
    const stops: string[] = [];
    const b = new QueryDeadline(10_000, { now: () => 0, pause: async () => {}, onStop: (r, w) => stops.push(`${r}@${w}`) });
    b.watch(unsent);
    unsent.emit('close');
    await expect(b.checkpoint('segment')).rejects.toSatisfy((e) => isElaxError(e, 'ELAX_ERR_QUERY_CANCELLED'));
    expect(stops).toEqual(['client_gone@segment']);
    b.dispose();
  });
});
