/**
 * API keys may also be sent as `X-Api-Key: <key>` (for clients and proxies that cannot set a bearer token). A
 * wrong X-Api-Key is a 401 like a wrong bearer token; when both headers are sent, the bearer token decides.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startMemoryApp, type MemoryApp } from './helpers/memory-app.js';

let app: MemoryApp;
beforeAll(async () => {
  app = await startMemoryApp({ apiKeys: ['key-one'] });
});
afterAll(async () => {
  await app.close();
});

const write = (headers: Record<string, string>) =>
  fetch(`${app.url}/v2/namespaces/xk`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ upsert_rows: [{ id: 1 }] }) });

describe('X-Api-Key header', () => {
  it('should accept a configured key in X-Api-Key', async () => {
    const r = await write({ 'x-api-key': 'key-one' });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { rows_upserted: number }).rows_upserted).toBe(1);
    const q = await fetch(`${app.url}/v2/namespaces/xk/metadata`, { headers: { 'x-api-key': 'key-one' } });
    expect(q.status).toBe(200);
  });

  it('should answer 401 ELAX_ERR_UNAUTHORIZED to a wrong X-Api-Key', async () => {
    const r = await write({ 'x-api-key': 'key-two' });
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ status: 'error', code: 'ELAX_ERR_UNAUTHORIZED', error: 'invalid API key' });
  });

  it('should name both headers when no key is sent', async () => {
    const r = await write({});
    expect(r.status).toBe(401);
    const body = (await r.json()) as { error: string };
    expect(body.error).toMatch(/Authorization: Bearer/);
    expect(body.error).toMatch(/X-Api-Key/i);
  });

  it('should let the bearer token decide when both headers are sent', async () => {
    expect((await write({ authorization: 'Bearer wrong', 'x-api-key': 'key-one' })).status).toBe(401);
    expect((await write({ authorization: 'Bearer key-one', 'x-api-key': 'wrong' })).status).toBe(200);
  });
});
