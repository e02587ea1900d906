/**
 * Graceful shutdown answers like everything else (issue 12 soak finding): a request that reaches a closing server
 * gets 503 ELAX_ERR_CLOSED as JSON with Retry-After, not fastify's bare 503, and queued writes still complete.
 */
import { describe, it, expect } from 'vitest';
import { startTestServer } from './helpers/server.js';
import { rawConnect } from './helpers/raw-http.js';

describe('a closing server', () => {
  it('should answer requests that arrive while it closes with ELAX_ERR_CLOSED and Retry-After', async () => {
    // A long group-commit window keeps the first (pipelined) request in flight while close() begins. (A write alone on
    // the node is committed without waiting the window, write/coordinator.ts `alone`: here it waits.)
    const s = await startTestServer({ groupCommitMs: 400 });
    s.engine.writer.alone = () => false;
    const port = new URL(s.url).port;
    const c = await rawConnect(Number(port));
    const body = JSON.stringify({ upsert_rows: [{ id: 1, a: 'x' }] });
    c.sock.write(`POST /v2/namespaces/closing HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    await new Promise((r) => setTimeout(r, 100));
    const closed = s.close();
    await new Promise((r) => setTimeout(r, 30));
    // The connection is busy (its write is in flight), so it stays open: a request on it now meets the closing server.
    c.sock.write('GET /v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n');
    const first = await c.response();
    expect(first.status).toBe(200); // the queued write is flushed and acknowledged
    const deadline = Date.now() + 5000;
    while (!/HTTP\/1\.1 \d+[^]*HTTP\/1\.1 (\d+)/.test(c.received()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const second = /HTTP\/1\.1 200[^]*?(HTTP\/1\.1 (\d+)[^]*)$/.exec(c.received());
    expect(second?.[2]).toBe('503');
    expect(second![1]).toMatch(/retry-after: 1/i);
    expect(second![1]).toContain('"code":"ELAX_ERR_CLOSED"');
    await closed;
  });
});
