/**
 * The node-wide budget of requests and request bytes in flight, over raw sockets so that requests are held open
 * between their head and their body:
 *  - with a small byte budget, concurrent large bodies: the ones that fit are admitted, the others get 503
 *    ELAX_ERR_OVERLOADED with Retry-After before their body is sent; the admitted ones then succeed;
 *  - with a request limit, further requests get 503 while health, readiness and metrics still answer;
 *  - a chunked body is counted as it streams and rejected when it would exceed the budget;
 *  - a client that disconnects mid-body releases its bytes;
 *  - the in-flight gauges in /metrics return to 0 and a new request succeeds afterwards.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { parsePrometheusText } from '../server/prom-text.js';
import { rawConnect, postHead, writeBodyOfSize, sleep, type RawClient, type RawResponse } from './helpers/raw-http.js';
import { startMemoryApp, type MemoryApp } from './helpers/memory-app.js';

let app: MemoryApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

async function inflight(url: string): Promise<{ requests: number; bytes: number }> {
  const r = await fetch(`${url}/metrics`);
  expect(r.status).toBe(200);
  const m = parsePrometheusText(await r.text());
  return { requests: m.get('elax_http_inflight_requests') ?? NaN, bytes: m.get('elax_http_inflight_bytes') ?? NaN };
}

/** Polls until `check` holds (or fails the test after 5 s). */
async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function expectOverloaded(r: RawResponse | { status: number; headers: Record<string, string>; body: Record<string, unknown> }) {
  expect(r.status).toBe(503);
  const body = 'json' in r ? r.json() : r.body;
  expect(body).toMatchObject({ status: 'error', code: 'ELAX_ERR_OVERLOADED' });
  expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
}

describe('in-flight request budget', () => {
  it('should admit the large bodies that fit the byte budget, answer 503 to the others before their body, and recover', async () => {
    const budget = 100_000;
    const size = 30_000; // three fit, the fourth would not
    app = await startMemoryApp({ maxInflightBytes: budget });
    const url = app.url;
    const admitted: { c: RawClient; i: number }[] = [];
    const rejected: RawClient[] = [];
    for (let i = 0; i < 6; i++) {
      const c = await rawConnect(app.port);
      c.sock.write(postHead(`/v2/namespaces/big${i}`, size));
      // Either the server answers at once (rejected) or the request is counted in flight (admitted, awaiting its body).
      await until(`request ${i} to be admitted or rejected`, async () => c.received().length > 0 || (await inflight(url)).requests === admitted.length + 1);
      if (c.received().length > 0) rejected.push(c);
      else admitted.push({ c, i });
    }
    expect(admitted.map((a) => a.i)).toEqual([0, 1, 2]);
    expect(await inflight(url)).toEqual({ requests: 3, bytes: 3 * size });
    for (const c of rejected) {
      const r = await c.response();
      expectOverloaded(r);
      expect(r.json().error).toMatch(/in flight|in-flight/);
    }
    for (const { c, i } of admitted) c.sock.write(writeBodyOfSize(size, i));
    for (const { c } of admitted) {
      const r = await c.response();
      expect(r.status, r.body).toBe(200);
      expect(r.json().rows_upserted).toBe(1);
    }
    await until('the gauges to return to 0', async () => {
      const g = await inflight(url);
      return g.requests === 0 && g.bytes === 0;
    });
    const again = await fetch(`${url}/v2/namespaces/big9`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: writeBodyOfSize(size, 9) });
    expect(again.status).toBe(200);
    for (const c of [...rejected, ...admitted.map((a) => a.c)]) c.sock.destroy();
  });

  it('should answer 503 beyond the request limit while health, readiness and metrics still answer', async () => {
    app = await startMemoryApp({ maxInflightRequests: 2 });
    const held = [await rawConnect(app.port), await rawConnect(app.port)];
    const body = writeBodyOfSize(200);
    for (const [i, c] of held.entries()) c.sock.write(postHead(`/v2/namespaces/held${i}`, body.length));
    await until('two requests in flight', async () => (await inflight(app!.url)).requests === 2);
    const r = await fetch(`${app.url}/v1/namespaces`);
    const headers = Object.fromEntries(r.headers.entries());
    expectOverloaded({ status: r.status, headers, body: (await r.json()) as Record<string, unknown> });
    for (const p of ['/health', '/readyz', '/metrics']) expect((await fetch(`${app.url}${p}`)).status, p).toBe(200);
    for (const c of held) c.sock.write(body);
    for (const c of held) expect((await c.response()).status).toBe(200);
    await until('the gauges to return to 0', async () => (await inflight(app!.url)).requests === 0);
    expect((await fetch(`${app.url}/v1/namespaces`)).status).toBe(200);
    for (const c of held) c.sock.destroy();
  });

  it('should count a chunked body as it streams and reject it when it would exceed the budget', async () => {
    const budget = 100_000;
    app = await startMemoryApp({ maxInflightBytes: budget });
    const holder = await rawConnect(app.port);
    const held = writeBodyOfSize(70_000);
    holder.sock.write(postHead('/v2/namespaces/holder', held.length));
    await until('the holder in flight', async () => (await inflight(app!.url)).bytes === 70_000);

    const chunked = await rawConnect(app.port);
    chunked.sock.write('POST /v2/namespaces/chunked HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = (s: string) => chunked.sock.write(`${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`);
    chunk(`{"upsert_rows":[{"id":1,"pad":"${'y'.repeat(20_000)}`);
    await until('the first chunk counted', async () => (await inflight(app!.url)).bytes > 90_000);
    expect(chunked.received()).toBe('');
    chunk('z'.repeat(20_000)); // 70k + 40k > 100k
    const r = await chunked.response();
    expectOverloaded(r);
    expect(r.headers.connection).toBe('close');
    await chunked.closed;
    // The rejected stream's bytes are released; the holder still gets through.
    await until('the chunked bytes released', async () => (await inflight(app!.url)).bytes === 70_000);
    holder.sock.write(held);
    expect((await holder.response()).status).toBe(200);
    holder.sock.destroy();
  });

  it('should release the bytes of a client that disconnects mid-body', async () => {
    const budget = 100_000;
    app = await startMemoryApp({ maxInflightBytes: budget });
    const c = await rawConnect(app.port);
    c.sock.write(postHead('/v2/namespaces/gone', 60_000) + '{"upsert_rows":[{"id":1,"pad":"' + 'q'.repeat(10_000));
    await until('the request in flight', async () => (await inflight(app!.url)).bytes === 60_000);
    c.sock.destroy();
    await until('the bytes released', async () => {
      const g = await inflight(app!.url);
      return g.requests === 0 && g.bytes === 0;
    });
    // Had the 60k leaked, this 60k body would not fit the 100k budget.
    const r = await fetch(`${app.url}/v2/namespaces/after`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: writeBodyOfSize(60_000) });
    expect(r.status).toBe(200);
  });
});
