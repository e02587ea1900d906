/**
 * Several server PROCESSES (`node bin/elax.mjs serve`) on one store writing one namespace concurrently:
 *  - every acknowledged id is present afterwards, seen from EACH server (strong consistency), carrying the value
 *    of the write that acknowledged it, and the WAL seqs are gapless — on a local dir and on S3 (radosgw);
 *  - kill -9 of one server mid-writes loses none of the writes it acknowledged before dying;
 *  - SIGTERM: in-flight writes are acknowledged and kept (graceful shutdown).
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { rmSync } from 'node:fs';
import { ELAX_BIN, startServerProcess, startTestServer, tempStoreDir, type ServerProcess } from './helpers/server.js';
import { s3ChildEnv, s3TestConfig, uniquePrefix } from './helpers/s3-env.js';

const run = promisify(execFile);
const CLIENTS_PER_SERVER = 8;
const ROWS_PER_REQUEST = 20;

/** One write of `ids`, each row tagged with the server that handled it. True iff acknowledged (2xx). */
async function write(url: string, ns: string, ids: number[]): Promise<boolean> {
  try {
    const r = await fetch(`${url}/v2/namespaces/${ns}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ upsert_rows: ids.map((id) => ({ id, vector: [id % 7, id % 11], node: url })), distance_metric: 'euclidean_squared' }),
      signal: AbortSignal.timeout(30_000),
    });
    await r.arrayBuffer();
    if (!r.ok && r.status < 500) throw new Error(`write to ${url} answered ${r.status}`); // a 4xx is a test bug
    return r.ok;
  } catch (e) {
    if ((e as Error).message.startsWith('write to')) throw e;
    return false; // connection refused / reset (killed server): not acknowledged
  }
}

/** Every row of `ns` as seen by `url`: id → node (the server that wrote it). Pages by id. */
async function rowsSeenBy(url: string, ns: string): Promise<Map<number, string>> {
  const seen = new Map<number, string>();
  let after = -1;
  for (;;) {
    const r = await fetch(`${url}/v2/namespaces/${ns}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rank_by: ['id', 'asc'], top_k: 1200, filters: ['id', 'Gt', after], include_attributes: ['node'] }),
    });
    expect(r.status).toBe(200);
    const rows = ((await r.json()) as { rows: { id: number; node: string }[] }).rows;
    for (const row of rows) seen.set(row.id, row.node);
    if (rows.length < 1200) return seen;
    after = rows[rows.length - 1]!.id;
  }
}

interface Hammer {
  /** id → url of the server that acknowledged it. */
  acked: Map<number, string>;
  /** Acknowledged requests per server url. */
  ackedRequests: Map<string, number>;
  inFlight: Map<string, number>;
  done: Promise<void>;
}

/** CLIENTS_PER_SERVER concurrent clients per server share `requests` requests of ROWS_PER_REQUEST disjoint ids. */
function hammer(servers: ServerProcess[], ns: string, requests: number): Hammer {
  const h: Hammer = { acked: new Map(), ackedRequests: new Map(), inFlight: new Map(), done: Promise.resolve() };
  let next = 0;
  h.done = Promise.all(
    servers.flatMap((s) =>
      Array.from({ length: CLIENTS_PER_SERVER }, async () => {
        while (next < requests) {
          const req = next++;
          const ids = Array.from({ length: ROWS_PER_REQUEST }, (_, i) => req * ROWS_PER_REQUEST + i);
          h.inFlight.set(s.url, (h.inFlight.get(s.url) ?? 0) + 1);
          const ok = await write(s.url, ns, ids);
          h.inFlight.set(s.url, h.inFlight.get(s.url)! - 1);
          if (ok) {
            for (const id of ids) h.acked.set(id, s.url);
            h.ackedRequests.set(s.url, (h.ackedRequests.get(s.url) ?? 0) + 1);
          }
        }
      }),
    ),
  ).then(() => undefined);
  return h;
}

/** Every acknowledged id is present with the value its acknowledging server wrote. */
function expectAllAcked(acked: Map<number, string>, seen: Map<number, string>, by: string) {
  const missing = [...acked.keys()].filter((id) => !seen.has(id));
  expect(missing, `acknowledged ids missing when read through ${by}`).toEqual([]);
  const wrong = [...acked].filter(([id, url]) => seen.get(id) !== url);
  expect(wrong, `ids whose value is not the acknowledged write's (read through ${by})`).toEqual([]);
}

/** WAL sequence numbers of `ns`, through the CLI. */
async function walSeqs(store: string, ns: string, env: Record<string, string> = {}): Promise<number[]> {
  const { stdout } = await run(process.execPath, [ELAX_BIN, 'wal', 'list', '--ns', ns, '--store', store, '--json'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return (JSON.parse(stdout) as { seq: number }[]).map((e) => e.seq);
}

function expectGapless(seqs: number[]) {
  expect(seqs.length).toBeGreaterThan(0);
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
  expect(seqs[0]).toBe(1); // nothing deleted or garbage-collected here: the log starts at 1
}

async function twoServers(store: string, env: Record<string, string> = {}) {
  const ns = 'shared';
  const requests = 60;
  const servers = await Promise.all([startServerProcess({ store, env, args: ['--no-indexer'] }), startServerProcess({ store, env, args: ['--no-indexer'] })]);
  try {
    const h = hammer(servers, ns, requests);
    await h.done;
    expect(h.acked.size).toBe(requests * ROWS_PER_REQUEST); // nobody died: every write is acknowledged
    for (const s of servers) expect(h.ackedRequests.get(s.url), `requests acknowledged by ${s.url}`).toBeGreaterThan(0);
    const [seqs, ...views] = await Promise.all([walSeqs(store, ns, env), ...servers.map((s) => rowsSeenBy(s.url, ns))]);
    views.forEach((seen, i) => {
      expectAllAcked(h.acked, seen, servers[i]!.url);
      expect(seen.size).toBe(h.acked.size);
    });
    expectGapless(seqs);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

describe('two server processes, one store', () => {
  // The local and S3 runs are independent (own stores, own processes): run them side by side to save wall time.
  it.concurrent('should keep every acknowledged write on a local store, visible from both servers, with a gapless WAL', async () => {
    const store = tempStoreDir('two');
    try {
      await twoServers(store);
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  });

  it.concurrent('should keep every acknowledged write on S3 (radosgw), visible from both servers, with a gapless WAL', async () => {
    const c = s3TestConfig();
    await twoServers(`s3://${c.bucket}/${uniquePrefix('two')}`, s3ChildEnv());
  });

  it('should keep every write a server acknowledged before it was killed -9 mid-writes', async () => {
    const store = tempStoreDir('kill');
    const ns = 'killed';
    const [victim, survivor] = await Promise.all([
      startServerProcess({ store, args: ['--no-indexer'] }),
      startServerProcess({ store, args: ['--no-indexer'] }),
    ]);
    try {
      const h = hammer([victim, survivor], ns, 200);
      // Kill once the victim has acknowledged some writes, while it has others in flight.
      const deadline = Date.now() + 20_000;
      while (!((h.ackedRequests.get(victim.url) ?? 0) >= 10 && (h.inFlight.get(victim.url) ?? 0) > 0)) {
        if (Date.now() > deadline) throw new Error('the victim never acknowledged 10 writes');
        await new Promise((r) => setTimeout(r, 2));
      }
      victim.child.kill('SIGKILL');
      const ackedByVictim = new Map([...h.acked].filter(([, url]) => url === victim.url));
      await h.done;
      expect(ackedByVictim.size).toBeGreaterThanOrEqual(10 * ROWS_PER_REQUEST);
      expect(h.ackedRequests.get(survivor.url)).toBeGreaterThan(0);
      // The survivor sees everything acknowledged by either server, and so does a fresh server on the same store.
      const fresh = await startTestServer({ storeDir: store });
      try {
        const [seqs, bySurvivor, byFresh] = await Promise.all([walSeqs(store, ns), rowsSeenBy(survivor.url, ns), rowsSeenBy(fresh.url, ns)]);
        expectAllAcked(ackedByVictim, bySurvivor, 'the survivor');
        expectAllAcked(h.acked, bySurvivor, 'the survivor');
        expectAllAcked(h.acked, byFresh, 'a server started after the kill');
        expectGapless(seqs);
        // The survivor still accepts writes after its peer died mid-commit (no lock or lease left behind).
        expect(await write(survivor.url, ns, [1_000_000])).toBe(true);
      } finally {
        await fresh.close();
      }
    } finally {
      await Promise.all([victim.stop(), survivor.stop()]);
      rmSync(store, { recursive: true, force: true });
    }
  });

  it('should acknowledge every queued write and lose none of them on SIGTERM (graceful shutdown)', async () => {
    const store = tempStoreDir('term');
    // A 2 s group-commit window: the writes below are received and queued, not yet committed, when SIGTERM lands.
    const server = await startServerProcess({ store, args: ['--no-indexer', '--group-commit-ms', '2000'] });
    const ns = 'term';
    try {
      const writes = Array.from({ length: 20 }, (_, i) => write(server.url, ns, [i]));
      await new Promise((r) => setTimeout(r, 500));
      server.child.kill('SIGTERM');
      const acked = (await Promise.all(writes)).map((ok, i) => (ok ? i : -1)).filter((i) => i >= 0);
      await server.stop();
      expect(server.child.exitCode, server.stderr()).toBe(0);
      expect(acked).toEqual(Array.from({ length: 20 }, (_, i) => i));
      const again = await startTestServer({ storeDir: store });
      try {
        const seen = await rowsSeenBy(again.url, ns);
        expect(acked.filter((id) => !seen.has(id))).toEqual([]);
      } finally {
        await again.close();
      }
    } finally {
      await server.stop();
      rmSync(store, { recursive: true, force: true });
    }
  });

  it('should accept a write on a server whose cached view predates a delete by another server', async () => {
    const store = tempStoreDir('stale');
    const [a, b] = [await startTestServer({ storeDir: store }), await startTestServer({ storeDir: store })];
    try {
      const ns = a.client().namespace('stale');
      await ns.write({ upsert_rows: [{ id: 1, vector: [1, 2], tag: 'a' }], distance_metric: 'cosine_distance' });
      await b.client().namespace('stale').deleteAll();
      // A still caches the deleted incarnation (schema: vector [2]f32, tag string). The new write is valid on its own.
      const res = await ns.write({ upsert_rows: [{ id: 2, vector: [3, 4], tag: 'b' }], distance_metric: 'euclidean_squared' });
      expect(res.rows_upserted).toBe(1);
      for (const s of [a, b]) {
        const q = await s.client().namespace('stale').query({ rank_by: ['id', 'asc'], include_attributes: true });
        expect(q.rows).toEqual([{ id: 2, vector: [3, 4], tag: 'b' }]);
      }
    } finally {
      await a.close();
      await b.close();
      rmSync(store, { recursive: true, force: true });
    }
  });

  it('should keep writes that start after a concurrent namespace delete on another server returned', async () => {
    // Two in-process servers (separate engines and caches) on one store: one deletes while the other writes.
    const store = tempStoreDir('delrace');
    const writer = await startTestServer({ storeDir: store });
    const deleter = await startTestServer({ storeDir: store });
    const ns = 'delrace';
    try {
      const log: { ids: number[]; start: number; end: number; status: number; body: string }[] = [];
      const deletes: { start: number; end: number }[] = [];
      let next = 0;
      let stop = false;
      const clients = Array.from({ length: 4 }, async () => {
        while (!stop) {
          const ids = Array.from({ length: 5 }, (_, i) => next * 5 + i);
          next++;
          const start = performance.now();
          const r = await fetch(`${writer.url}/v2/namespaces/${ns}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ upsert_rows: ids.map((id) => ({ id, vector: [id % 7, id % 11], node: writer.url })), distance_metric: 'euclidean_squared' }),
          });
          log.push({ ids, start, end: performance.now(), status: r.status, body: await r.text() });
        }
      });
      for (let round = 0; round < 4; round++) {
        await new Promise((r) => setTimeout(r, 60));
        const start = performance.now();
        const r = await fetch(`${deleter.url}/v2/namespaces/${ns}`, { method: 'DELETE' });
        expect([200, 404]).toContain(r.status); // 404: the namespace was between incarnations
        deletes.push({ start, end: performance.now() });
      }
      // Let writes that start after the last delete returned complete (the assertions below need some). Waiting
      // for them rather than a fixed time: on a loaded CI machine one write can take longer than any fixed pause.
      const lastEnd = deletes[deletes.length - 1]!.end;
      const waitUntil = performance.now() + 20_000;
      while (log.filter((w) => w.start > lastEnd).length < 4 && performance.now() < waitUntil) {
        await new Promise((r) => setTimeout(r, 20));
      }
      stop = true;
      await Promise.all(clients);
      // Every write is valid on its own: a delete racing it must not turn it into a client error.
      expect(log.filter((w) => w.status !== 200).map((w) => `${w.status} ${w.body}`)).toEqual([]);
      const lastDelete = deletes[deletes.length - 1]!;
      const firstDelete = deletes[0]!;
      const [byWriter, byDeleter] = await Promise.all([rowsSeenBy(writer.url, ns), rowsSeenBy(deleter.url, ns)]);
      expect([...byDeleter.keys()].sort((a, b) => a - b)).toEqual([...byWriter.keys()].sort((a, b) => a - b));
      // Written after the last delete returned: must be there. Acknowledged before the first delete started: gone.
      const after = log.filter((w) => w.start > lastDelete.end).flatMap((w) => w.ids);
      const before = log.filter((w) => w.end < firstDelete.start).flatMap((w) => w.ids);
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter((id) => !byWriter.has(id)), 'writes after the last delete, missing').toEqual([]);
      expect(before.filter((id) => byWriter.has(id)), 'writes before the first delete, still present').toEqual([]);
    } finally {
      await writer.close();
      await deleter.close();
      rmSync(store, { recursive: true, force: true });
    }
  });
});
