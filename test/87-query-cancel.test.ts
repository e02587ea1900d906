/**
 * Query deadlines and cancellation over HTTP (server/query-deadline.ts, query-admission.ts). The slow query is made
 * deterministic by the test seam `queryPause`: at its checkpoint before the first segment it waits until its own
 * signal aborts (the client leaving, or the deadline timer), so what the test observes does not depend on timing:
 *  - a running query whose client disconnects stops at that checkpoint and frees its slot: the running count
 *    returns to 0 and the next query is admitted and answered;
 *  - a queued query whose client disconnects leaves the queue without ever running;
 *  - a query over its X-Elax-Query-Timeout-Ms budget gets 504 ELAX_ERR_QUERY_TIMEOUT, and its segment loop is the
 *    one that saw the stop (elax_query_stops_total{where="segment"});
 *  - a deadline that passes in the middle of a scan (an injected clock jumps) is seen by the scan loop's row check.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { setTimeout as sleep, setImmediate as nextTurn } from 'node:timers/promises';
import { parsePrometheusText, type Exposition } from '../server/prom-text.js';
import { startMemoryApp, type MemoryApp } from './helpers/memory-app.js';

let app: MemoryApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

/** Namespaces whose queries park at their first segment checkpoint until aborted. */
const parked = new Set<string>();
let parkedNow = 0;
const pause = async (where: string, signal: AbortSignal) => {
  if (where !== 'segment' || !parked.has('slow')) return nextTurn();
  parkedNow++;
  try {
    await new Promise((resolve) => (signal.aborted ? resolve(null) : signal.addEventListener('abort', resolve, { once: true })));
  } finally {
    parkedNow--;
  }
};

async function metrics(): Promise<Exposition> {
  const r = await fetch(`${app!.url}/metrics`);
  expect(r.status).toBe(200);
  return parsePrometheusText(await r.text());
}

async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const query = (ns: string, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(`${app!.url}/v2/namespaces/${ns}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ rank_by: ['id', 'asc'], top_k: 5 }),
    signal,
  });

async function seed(ns: string): Promise<void> {
  const r = await fetch(`${app!.url}/v2/namespaces/${ns}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ upsert_rows: Array.from({ length: 20 }, (_, i) => ({ id: i, n: i })) }),
  });
  expect(r.status).toBe(200);
}

const running = async () => (await metrics()).get('elax_queries_running');
const queued = async () => (await metrics()).get('elax_queries_queued');

describe('query cancellation and deadlines', () => {
  it('should free the slot of a running query whose client disconnects, and drop a queued one whose client leaves', async () => {
    app = await startMemoryApp({ maxRunningQueries: 1, maxQueuedQueries: 4, queryPause: pause });
    await seed('slow');
    parked.add('slow');
    try {
      const first = new AbortController();
      const p1 = query('slow', {}, first.signal).catch((e: Error) => e);
      await until('the first query to park in its segment loop', () => parkedNow === 1);
      expect(await running()).toBe(1);

      // A second query waits for the only slot; its client gives up: it leaves the queue without running.
      const second = new AbortController();
      const p2 = query('slow', {}, second.signal).catch((e: Error) => e);
      await until('the second query to queue', async () => (await queued()) === 1);
      second.abort();
      expect((await p2) as Error).toHaveProperty('name', 'AbortError');
      await until('the abandoned query to leave the queue', async () => (await queued()) === 0);
      expect(parkedNow).toBe(1);

      // The first client disconnects: its query notices at the checkpoint, stops, and frees the slot.
      first.abort();
      expect((await p1) as Error).toHaveProperty('name', 'AbortError');
      await until('the running count to return to 0', async () => (await running()) === 0);
      expect(parkedNow).toBe(0);
      const m = await metrics();
      expect(m.get('elax_query_stops_total', { reason: 'client_gone', where: 'segment' })).toBe(1);
      expect(m.get('elax_query_stops_total', { reason: 'client_gone', where: 'queue' })).toBe(1);
    } finally {
      parked.delete('slow');
    }
    // The next query is admitted and answered.
    const r = await query('slow');
    expect(r.status).toBe(200);
    expect(((await r.json()) as { rows: { id: number }[] }).rows.map((x) => x.id)).toEqual([0, 1, 2, 3, 4]);
    expect(await running()).toBe(0);
  });

  it('should answer 504 QUERY_TIMEOUT to a query over its budget, stopped in its segment loop, and free its slot', async () => {
    app = await startMemoryApp({ maxRunningQueries: 1, maxQueuedQueries: 4, queryPause: pause, queryTimeoutMs: 60_000 });
    await seed('slow');
    parked.add('slow');
    let r: Response;
    try {
      r = await query('slow', { 'x-elax-query-timeout-ms': '150' });
    } finally {
      parked.delete('slow');
    }
    expect(r.status).toBe(504);
    const body = (await r.json()) as { code: string; error: string };
    expect(body.code).toBe('ELAX_ERR_QUERY_TIMEOUT');
    expect(body.error).toContain('150 ms');
    const m = await metrics();
    expect(m.get('elax_query_stops_total', { reason: 'timeout', where: 'segment' })).toBe(1);
    expect(m.get('elax_queries_running')).toBe(0);
    expect((await query('slow')).status).toBe(200);
  });

  it('should stop a query whose deadline passes in the middle of its scan inside the scan loop', async () => {
    // The clock jumps an hour ahead once the segment loop has passed its checkpoint: the deadline passes during the
    // scan of the (tail) segment, before its timer could fire, and only the row-level check can notice it.
    let t = 0;
    let jumped = false;
    let calls = 0;
    const now = () => {
      if (jumped && ++calls > 1) return t + 3_600_000; // the checkpoint's own check still sees the old time
      return t;
    };
    const jumpAtSegment = async (where: string) => {
      await nextTurn();
      if (where === 'segment') jumped = true;
    };
    app = await startMemoryApp({ maxRunningQueries: 1, queryPause: jumpAtSegment, queryNow: now });
    await seed('scan');
    const r = await query('scan');
    expect(r.status).toBe(504);
    expect(((await r.json()) as { code: string }).code).toBe('ELAX_ERR_QUERY_TIMEOUT');
    const m = await metrics();
    expect(m.get('elax_query_stops_total', { reason: 'timeout', where: 'scan' })).toBe(1);
    expect(m.get('elax_queries_running')).toBe(0);
  });

  it('should answer 504 at the deadline even while the query waits on something that ignores it, and hold the slot until the work stops', async () => {
    // The query's checkpoint awaits a gate that does not listen to its signal (a store read that hangs, say).
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let waiting = 0;
    const stuck = async (where: string) => {
      if (where !== 'segment') return nextTurn();
      waiting++;
      await gate;
    };
    app = await startMemoryApp({ maxRunningQueries: 1, queryPause: stuck });
    await seed('stuck');
    const r = await Promise.race([query('stuck', { 'x-elax-query-timeout-ms': '100' }), sleep(5_000).then(() => null)]);
    expect(r, 'the 504 came at the deadline, not after the stuck work').not.toBeNull();
    expect(r!.status).toBe(504);
    expect(((await r!.json()) as { code: string }).code).toBe('ELAX_ERR_QUERY_TIMEOUT');
    expect(waiting).toBe(1);
    expect(await running()).toBe(1); // the work has not stopped yet: its slot is still taken
    open();
    await until('the stuck query to stop and free its slot', async () => (await running()) === 0);
    expect((await metrics()).get('elax_query_stops_total', { reason: 'timeout', where: 'segment' })).toBe(1);
  });

  it('should refuse a malformed X-Elax-Query-Timeout-Ms with 400 naming the header', async () => {
    app = await startMemoryApp({ maxRunningQueries: 1 });
    await seed('fast');
    const r = await query('fast', { 'x-elax-query-timeout-ms': 'soon' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toContain('X-Elax-Query-Timeout-Ms');
  });
});
