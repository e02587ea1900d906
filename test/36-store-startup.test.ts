/**
 * Start-up against a store that is not reachable yet (issue 12, item 3): `elax serve` must not exit claiming the
 * store lacks conditional writes. It listens, answers /health, keeps /readyz and the API at 503 naming the store
 * as unreachable, retries the probe with backoff, and serves once the store answers.
 */
import { describe, it, expect, afterEach } from 'vitest';
import net from 'node:net';
import { startServerProcess, freePort, type ServerProcess } from './helpers/server.js';
import { s3ChildEnv, s3TestConfig, uniquePrefix } from './helpers/s3-env.js';

describe('start-up with an unreachable store', () => {
  let proc: ServerProcess | undefined;
  let forwarder: net.Server | undefined;
  afterEach(async () => {
    await proc?.stop();
    await new Promise<void>((r) => (forwarder ? forwarder.close(() => r()) : r()));
  });

  it('should stay up with /readyz at 503 while the store is unreachable, then serve once it answers', async () => {
    const c = s3TestConfig();
    const upstream = new URL(c.endpoint);
    const port = await freePort(); // nothing listens here yet: connections are refused
    proc = await startServerProcess({
      store: `s3://${c.bucket}/${uniquePrefix('startup')}`,
      args: ['--no-indexer'],
      env: { ...s3ChildEnv(), ELAX_S3_ENDPOINT: `http://127.0.0.1:${port}` },
    });
    const ready = await fetch(`${proc.url}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { code: string; error: string };
    expect(body.code).toBe('ELAX_ERR_STORE_UNAVAILABLE');
    expect(body.error).toMatch(/unreachable/);
    expect(body.error).not.toMatch(/conditional writes/);

    const write = () =>
      fetch(`${proc!.url}/v2/namespaces/startup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ upsert_rows: [{ id: 1, a: 'x' }] }) });
    const early = await write();
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBeTruthy();
    expect(((await early.json()) as { code: string }).code).toBe('ELAX_ERR_STORE_UNAVAILABLE');

    await new Promise((r) => setTimeout(r, 1_500));
    expect(proc.child.exitCode, proc.stderr()).toBeNull();

    // The store comes up: a TCP forwarder to radosgw on the port the server was given.
    forwarder = net.createServer((client) => {
      const up = net.connect(Number(upstream.port), upstream.hostname);
      client.pipe(up).pipe(client);
      client.on('error', () => up.destroy());
      up.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => forwarder!.listen(port, '127.0.0.1', () => r()));
    const deadline = Date.now() + 30_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await fetch(`${proc.url}/readyz`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status, proc.stderr()).toBe(200);
    expect((await write()).status).toBe(200);
    const q = await fetch(`${proc.url}/v2/namespaces/startup/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rank_by: ['id', 'asc'], top_k: 5 }) });
    expect(((await q.json()) as { rows: { id: number }[] }).rows.map((r) => r.id)).toEqual([1]);
  });
});
