/**
 * Slow and stalled clients, over raw sockets (timeouts shortened to fractions of a second):
 *  - a body that stops arriving gets a 408 JSON answer and the connection is closed (idle timeout);
 *  - headers that stop arriving likewise (idle timeout), and headers trickled too slowly (headers timeout);
 *  - a body trickled for longer than the whole-request timeout gets the 408 too;
 *  - a slow but steady upload, a server that takes longer than the idle timeout to answer, and a kept-alive
 *    connection are NOT answered 408 (the kept-alive one is closed silently after the keep-alive timeout);
 *  - an oversized request head gets 431 and a malformed one 400, both as the usual JSON error body;
 *  - `elax serve` takes all of it from its flags.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { MemoryStore } from '../crates-ts/store/index.js';
import { rawConnect, postHead, writeBodyOfSize, sleep, type RawResponse } from './helpers/raw-http.js';
import { startMemoryApp, slowStore, type MemoryApp } from './helpers/memory-app.js';
import { startServerProcess } from './helpers/server.js';
import { parsePrometheusText } from '../server/prom-text.js';

const IDLE = 300;
let app: MemoryApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

function expectErrorBody(r: RawResponse, status: number, code: string, message: RegExp) {
  expect(r.status).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  const body = r.json();
  expect(Object.keys(body).sort()).toEqual(['code', 'error', 'status']);
  expect(body).toMatchObject({ status: 'error', code });
  expect(body.error).toMatch(message);
}

describe('slow and stalled clients', () => {
  it('should answer 408 and close the connection when a body stops arriving', async () => {
    app = await startMemoryApp({ timeouts: { idleTimeoutMs: IDLE, headersTimeoutMs: 10_000, requestTimeoutMs: 20_000 } });
    const c = await rawConnect(app.port);
    const started = Date.now();
    c.sock.write(postHead('/v2/namespaces/stall', 1000) + '{"upsert_rows":[');
    const r = await c.response();
    expectErrorBody(r, 408, 'ELAX_ERR_REQUEST_TIMEOUT', /body|idle|timeout/i);
    expect(r.headers.connection).toBe('close');
    const closedAt = await c.closed;
    expect(closedAt - started).toBeLessThan(IDLE + 2_000);
    // Nothing was written.
    expect((await app.store.list('stall/')).objects).toEqual([]);
  });

  it('should answer 408 and close the connection when headers stop arriving', async () => {
    app = await startMemoryApp({ timeouts: { idleTimeoutMs: IDLE, headersTimeoutMs: 10_000, requestTimeoutMs: 20_000 } });
    const c = await rawConnect(app.port);
    const started = Date.now();
    c.sock.write('POST /v2/namespaces/stall HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty');
    expectErrorBody(await c.response(), 408, 'ELAX_ERR_REQUEST_TIMEOUT', /header|idle|timeout/i);
    expect((await c.closed) - started).toBeLessThan(IDLE + 2_000);
  });

  it('should answer 408 when headers trickle in for longer than the headers timeout', async () => {
    app = await startMemoryApp({ timeouts: { idleTimeoutMs: 5_000, headersTimeoutMs: 400, requestTimeoutMs: 20_000 } });
    const c = await rawConnect(app.port);
    const started = Date.now();
    c.sock.write('GET /health HTTP/1.1\r\n');
    // One header line every 100 ms: never idle, never finished.
    const trickle = setInterval(() => !c.sock.destroyed && c.sock.write(`X-Slow-${Date.now()}: 1\r\n`), 100);
    try {
      expectErrorBody(await c.response(), 408, 'ELAX_ERR_REQUEST_TIMEOUT', /timeout/i);
      expect((await c.closed) - started).toBeLessThan(4_000);
    } finally {
      clearInterval(trickle);
    }
  });

  it('should answer 408 when a steady body takes longer than the whole-request timeout', async () => {
    app = await startMemoryApp({ timeouts: { idleTimeoutMs: 5_000, headersTimeoutMs: 400, requestTimeoutMs: 800 } });
    const body = writeBodyOfSize(4000);
    const c = await rawConnect(app.port);
    c.sock.write(postHead('/v2/namespaces/trickle', body.length));
    let sent = 0;
    const trickle = setInterval(() => {
      if (c.sock.destroyed || sent >= body.length) return;
      c.sock.write(body.slice(sent, sent + 50));
      sent += 50;
    }, 50);
    try {
      expectErrorBody(await c.response(), 408, 'ELAX_ERR_REQUEST_TIMEOUT', /timeout/i);
      await c.closed;
      expect(sent).toBeLessThan(body.length);
    } finally {
      clearInterval(trickle);
    }
  });

  it('should not cut a slow but steady upload that pauses less than the idle timeout', async () => {
    app = await startMemoryApp({ timeouts: { idleTimeoutMs: IDLE, headersTimeoutMs: 10_000, requestTimeoutMs: 20_000 } });
    const body = writeBodyOfSize(1200);
    const c = await rawConnect(app.port);
    c.sock.write(postHead('/v2/namespaces/steady', body.length));
    // 12 pieces, one every IDLE/3: the upload lasts four idle periods.
    for (let i = 0; i < body.length; i += 100) {
      await sleep(IDLE / 3);
      c.sock.write(body.slice(i, i + 100));
    }
    const r = await c.response();
    expect(r.status, r.body).toBe(200);
    expect(r.json().rows_upserted).toBe(1);
    c.sock.destroy();
  });

  it('should not answer 408 while the server takes longer than the idle timeout to answer', async () => {
    app = await startMemoryApp({ timeouts: { idleTimeoutMs: 200, headersTimeoutMs: 10_000, requestTimeoutMs: 20_000 } }, slowStore(new MemoryStore(), 150));
    const body = writeBodyOfSize(300);
    const c = await rawConnect(app.port);
    const started = Date.now();
    c.sock.write(postHead('/v2/namespaces/slowstore', body.length) + body);
    const r = await c.response();
    expect(r.status, r.body).toBe(200);
    expect(Date.now() - started).toBeGreaterThan(200); // the write really took longer than the idle timeout
    c.sock.destroy();
  });

  it('should close an idle kept-alive connection after the keep-alive timeout without sending anything', async () => {
    app = await startMemoryApp({ timeouts: { idleTimeoutMs: 200, keepAliveTimeoutMs: 500, headersTimeoutMs: 10_000, requestTimeoutMs: 20_000 } });
    const c = await rawConnect(app.port);
    c.sock.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const r = await c.response();
    expect(r.status).toBe(200);
    const answeredAt = Date.now();
    const afterFirst = c.received().length;
    const closedAt = await c.closed;
    expect(closedAt - answeredAt).toBeGreaterThanOrEqual(400); // the keep-alive timeout, not the idle one
    expect(c.received().length).toBe(afterFirst); // no stray 408 after a finished exchange
  });
});

describe('malformed and oversized request heads', () => {
  it('should answer 431 ELAX_ERR_HEADERS_TOO_LARGE to a URL over the header limit', async () => {
    app = await startMemoryApp();
    const r = await fetch(`${app.url}/v2/namespaces/${'n'.repeat(20_000)}/metadata`);
    expect(r.status).toBe(431);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await r.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'error', code: 'ELAX_ERR_HEADERS_TOO_LARGE' });
    expect(body.error).toMatch(/header/i);
  });

  it('should answer 431 over a raw socket too, and close the connection', async () => {
    app = await startMemoryApp();
    const c = await rawConnect(app.port);
    c.sock.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(40_000)}\r\n\r\n`);
    expectErrorBody(await c.response(), 431, 'ELAX_ERR_HEADERS_TOO_LARGE', /header/i);
    await c.closed;
  });

  it('should answer 400 ELAX_ERR_INVALID_REQUEST to a malformed request line', async () => {
    app = await startMemoryApp();
    const c = await rawConnect(app.port);
    c.sock.write('THIS IS NOT HTTP\r\n\r\n');
    expectErrorBody(await c.response(), 400, 'ELAX_ERR_INVALID_REQUEST', /malformed/i);
    await c.closed;
  });
});

describe('elax serve flags', () => {
  it('should take the timeouts and in-flight limits from its flags', { timeout: 60_000 }, async () => {
    const server = await startServerProcess({ args: ['--no-indexer', '--idle-timeout-ms', '300', '--max-inflight-requests', '7', '--max-inflight-bytes', '300000000'] });
    try {
      const port = Number(new URL(server.url).port);
      const c = await rawConnect(port);
      c.sock.write(postHead('/v2/namespaces/flags', 500) + '{"upsert_rows"');
      expectErrorBody(await c.response(), 408, 'ELAX_ERR_REQUEST_TIMEOUT', /idle/);
      await c.closed;
      const m = parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text());
      expect(m.get('elax_http_inflight_requests_limit')).toBe(7);
      expect(m.get('elax_http_inflight_bytes_limit')).toBe(300_000_000);
      expect(m.get('elax_http_client_errors_total', { reason: 'body_idle' })).toBe(1);
    } finally {
      await server.stop();
    }
  });

  it('should refuse a headers timeout longer than the request timeout', { timeout: 60_000 }, async () => {
    await expect(startServerProcess({ args: ['--headers-timeout-ms', '5000', '--request-timeout-ms', '1000'] })).rejects.toThrow(/headers timeout.*request timeout/);
  });
});
