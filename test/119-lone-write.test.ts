/**
 * Issue 17, a lone writer's acknowledgement: the group-commit window waits for other writes to share the WAL entry,
 * and a write that is the only request in flight on the node has none to wait for (write/coordinator.ts `alone`,
 * server/app.ts). With a window of 6 s, a lone write is still acknowledged well within it, and one whose node has
 * another request in flight (a body still arriving) waits for it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from './helpers/server.js';

const WINDOW_MS = 6_000;

async function write(s: TestServer, ns: string, id: number): Promise<number> {
  const r = await fetch(`${s.url}/v2/namespaces/${ns}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ upsert_rows: [{ id, x: id }] }) });
  expect(r.status).toBe(200);
  return r.status;
}

describe('a lone write and the group-commit window', () => {
  let s: TestServer;
  afterAll(async () => {
    await s?.close();
  });

  it('commits a write at once when no other request is in flight, and waits the window when one is', async () => {
    s = await startTestServer({ groupCommitMs: WINDOW_MS });
    const timeout = (ms: number) => sleep(ms).then(() => 'timed out' as const);
    expect(await Promise.race([write(s, 'lone', 1), timeout(WINDOW_MS / 2)])).toBe(200);
    expect(await Promise.race([write(s, 'lone', 2), timeout(WINDOW_MS / 2)])).toBe(200);

    // Another request in flight: a write whose body has not finished arriving (its head is admitted).
    const body = JSON.stringify({ upsert_rows: [{ id: 3 }] });
    const slow = request(`${s.url}/v2/namespaces/other`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    slow.on('error', () => undefined);
    slow.write(body.slice(0, 5));
    await sleep(200);
    expect(await Promise.race([write(s, 'lone', 4), timeout(1_500)])).toBe('timed out');
    slow.destroy();
  }, 30_000);
});
