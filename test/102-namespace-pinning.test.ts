/**
 * Namespace pinning through the official client (@turbopuffer/turbopuffer 2.8.0): `updateMetadata({pinning})`
 * (PATCH /v1/namespaces/:ns/metadata) and `metadata()` report it as documented, router.json keeps it across restarts,
 * the node holds the namespace in its cache (/metrics), bad input is a 400, and queries answer the same with a
 * namespace in parts and a WAL tail, pinned or not. Expected rows come from a model the test keeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Turbopuffer from '@turbopuffer/turbopuffer';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { Indexer } from '../indexer/indexer.js';
import { parsePrometheusText } from '../server/prom-text.js';
import { ELAX_BIN, startServerProcess, startTestServer, tempStoreDir, type TestServer } from './helpers/server.js';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';

type Row = { id: number; color: string; v: [number, number] };
const COLORS = ['red', 'green', 'blue'];
const row = (id: number, gen = 0): Row => ({ id, color: COLORS[(id + gen) % 3]!, v: [id % 11, ((id * 7 + gen) % 13) / 2] });

let storeDir: string;
let server: TestServer;
let tpuf: Turbopuffer;
let store: LocalDirStore;
let n = 0;
const clock = { now: () => Date.now() };
const index = (ns: string) => new Indexer(store, { clock, nonce: () => `pin${n++}`, hnsw: { flatThreshold: 4 } }).indexNamespace(ns, true);

async function start(opts: { pinnedCacheShare?: number; memoryCacheBytes?: number } = {}) {
  server = await startTestServer({ storeDir, indexer: false, ...opts });
  tpuf = server.client();
}

beforeAll(async () => {
  storeDir = tempStoreDir('pin');
  store = new LocalDirStore(storeDir);
  await start();
});
afterAll(async () => {
  await store?.close();
  await server?.close();
  rmSync(storeDir, { recursive: true, force: true });
});

/** A namespace with two parts and a WAL tail (deletes in both), and the model of its rows. */
async function partsAndTail(ns: string): Promise<Map<number, Row>> {
  const model = new Map<number, Row>();
  const up = async (rows: Row[]) => {
    await tpuf.namespace(ns).write({ upsert_rows: rows.map((r) => ({ id: r.id, color: r.color, vector: r.v })), distance_metric: 'euclidean_squared' });
    for (const r of rows) model.set(r.id, r);
  };
  await up(Array.from({ length: 40 }, (_, i) => row(i)));
  await index(ns);
  await up(Array.from({ length: 10 }, (_, i) => row(30 + i, 1)));
  await tpuf.namespace(ns).write({ deletes: [0, 1] });
  model.delete(0);
  model.delete(1);
  await index(ns);
  await up([row(2, 2), row(100)]); // the tail
  await tpuf.namespace(ns).write({ deletes: [3] });
  model.delete(3);
  expect((await new RouterStore(store).read(ns))!.router.parts.length).toBeGreaterThan(0);
  return model;
}

/** The same two queries against the server and against the model. */
async function expectQueriesMatch(ns: string, model: Map<number, Row>) {
  await expectQueriesMatchOn(tpuf, ns, model);
}

async function expectQueriesMatchOn(tpuf: Turbopuffer, ns: string, model: Map<number, Row>) {
  const red = await tpuf.namespace(ns).query({ filters: ['color', 'Eq', 'red'], rank_by: ['id', 'asc'], top_k: 1000, include_attributes: ['color'] });
  expect((red.rows ?? []).map((r) => r.id)).toEqual([...model.values()].filter((r) => r.color === 'red').map((r) => r.id).sort((a, b) => a - b));
  const q: [number, number] = [3.2, 1.7];
  const near = await tpuf.namespace(ns).query({ rank_by: ['vector', 'ANN', q], top_k: 5 });
  const dist = (v: [number, number]) => (v[0] - q[0]) ** 2 + (v[1] - q[1]) ** 2;
  const want = [...model.values()].map((r) => dist(r.v)).sort((a, b) => a - b).slice(0, 5);
  const got = (near.rows ?? []).map((r) => r.$dist as number);
  expect(got.length).toBe(5);
  got.forEach((d, i) => expect(d).toBeCloseTo(want[i]!, 4));
}

async function metric(name: string, labels?: Record<string, string>): Promise<number | undefined> {
  return parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text()).get(name, labels);
}

describe('namespace pinning through the client', () => {
  it('should pin, report the status in metadata, hold the namespace in the cache and keep queries exact', async () => {
    const model = await partsAndTail('pin-a');
    await expectQueriesMatch('pin-a', model);
    expect((await tpuf.namespace('pin-a').metadata()).pinning).toBeUndefined();

    const patched = await tpuf.namespace('pin-a').updateMetadata({ pinning: true });
    expect(patched.approx_row_count).toBe(model.size);
    expect(patched.pinning?.replicas).toBe(1);
    expect(patched.pinning?.status).toBeDefined();
    expect(typeof patched.pinning!.status!.updated_at).toBe('string');
    const router = (await new RouterStore(store).read('pin-a'))!.router;
    expect(router.pinning).toEqual({ replicas: 1, pinned_at: expect.any(String) });

    await server.engine.pins.settled('pin-a');
    const meta = await tpuf.namespace('pin-a').metadata();
    expect(meta.pinning).toEqual({ replicas: 1, status: { ready_replicas: 1, updated_at: expect.any(String), utilization: expect.any(Number) } });
    expect(Number.isFinite(Date.parse(meta.pinning!.status!.updated_at))).toBe(true);
    const u = meta.pinning!.status!.utilization;
    expect(u).toBeGreaterThan(0);
    expect(u).toBeLessThanOrEqual(1);
    // The held bytes are the utilization's numerator: what /metrics reports for both caches.
    const held = (await metric('elax_cache_pinned_namespace_bytes', { cache: 'blocks' }))! + (await metric('elax_cache_pinned_namespace_bytes', { cache: 'graphs' }))!;
    const budget = (await metric('elax_cache_pinned_namespace_budget_bytes', { cache: 'blocks' }))! + (await metric('elax_cache_pinned_namespace_budget_bytes', { cache: 'graphs' }))!;
    expect(held).toBeGreaterThan(0);
    expect(held / budget).toBeCloseTo(u, 9);
    expect(await metric('elax_pinned_namespaces')).toBe(1);
    // updated_at is the data's and schema's: pinning does not move it.
    expect(meta.updated_at).toBe(patched.updated_at);
    await expectQueriesMatch('pin-a', model);

    // Rows written after pinning are in the tail, then in a new part (loaded again): still exact, still ready.
    await tpuf.namespace('pin-a').write({ upsert_rows: [{ id: 200, color: 'red', vector: [3, 2] }], deletes: [4] });
    model.set(200, { id: 200, color: 'red', v: [3, 2] });
    model.delete(4);
    await expectQueriesMatch('pin-a', model);
    await index('pin-a');
    await expectQueriesMatch('pin-a', model);
    await server.engine.pins.settled('pin-a');
    expect((await tpuf.namespace('pin-a').metadata()).pinning?.status?.ready_replicas).toBe(1);
  });

  it('should change replicas keeping the pin time, change nothing on {}, and unpin with false or null', async () => {
    await tpuf.namespace('pin-b').write({ upsert_rows: [{ id: 1, color: 'red' }] });
    await tpuf.namespace('pin-b').updateMetadata({ pinning: {} });
    const first = (await new RouterStore(store).read('pin-b'))!.router.pinning!;
    expect(first.replicas).toBe(1);
    const two = await tpuf.namespace('pin-b').updateMetadata({ pinning: { replicas: 2 } });
    expect(two.pinning?.replicas).toBe(2);
    expect((await new RouterStore(store).read('pin-b'))!.router.pinning).toEqual({ replicas: 2, pinned_at: first.pinned_at });
    const same = await tpuf.namespace('pin-b').updateMetadata({});
    expect(same.pinning?.replicas).toBe(2);
    const epoch = (await new RouterStore(store).read('pin-b'))!.router.epoch;
    await tpuf.namespace('pin-b').updateMetadata({ pinning: { replicas: 2 } }); // no change: nothing published
    expect((await new RouterStore(store).read('pin-b'))!.router.epoch).toBe(epoch);

    const off = await tpuf.namespace('pin-b').updateMetadata({ pinning: false });
    expect(off.pinning).toBeUndefined();
    expect((await new RouterStore(store).read('pin-b'))!.router.pinning).toBeUndefined();
    expect(server.engine.pins.namespaces).not.toContain('pin-b');
    await tpuf.namespace('pin-b').updateMetadata({ pinning: true });
    expect((await tpuf.namespace('pin-b').metadata()).pinning?.replicas).toBe(1);
    const nul = await tpuf.namespace('pin-b').updateMetadata({ pinning: null });
    expect(nul.pinning).toBeUndefined();
  });

  it('should answer 400 naming the problem for bad input and 404 for a missing namespace', async () => {
    await tpuf.namespace('pin-c').write({ upsert_rows: [{ id: 1, color: 'red' }] });
    const bad: [unknown, RegExp][] = [
      [{ pinning: 'yes' }, /pinning must be true, false, null or an object/],
      [{ pinning: 1 }, /pinning must be true, false, null or an object/],
      [{ pinning: [] }, /pinning must be/],
      [{ pinning: { replicas: 0 } }, /pinning.replicas must be a positive integer, got 0/],
      [{ pinning: { replicas: 1.5 } }, /pinning.replicas must be a positive integer, got 1.5/],
      [{ pinning: { replicas: '2' } }, /pinning.replicas must be a positive integer/],
      [{ pinning: { replicas: 1, ssd: true } }, /unknown field 'pinning.ssd'/],
      [{ pinning: true, schema: {} }, /unknown field 'schema' in the metadata patch/],
    ];
    for (const [body, message] of bad) {
      const err = await tpuf
        .namespace('pin-c')
        .updateMetadata(body as never)
        .catch((e: { status: number; error: { code: string; error: string } }) => e);
      expect(err, JSON.stringify(body)).toMatchObject({ status: 400, error: { code: 'ELAX_ERR_INVALID_REQUEST' } });
      expect((err as { error: { error: string } }).error.error, JSON.stringify(body)).toMatch(message);
    }
    expect((await new RouterStore(store).read('pin-c'))!.router.pinning).toBeUndefined();
    await expect(tpuf.namespace('pin-missing').updateMetadata({ pinning: true })).rejects.toMatchObject({ status: 404, error: { code: 'ELAX_ERR_NAMESPACE_NOT_FOUND' } });
  });

  it('should keep pinning across a restart and load the namespace when the new node opens it', async () => {
    const model = await partsAndTail('pin-r');
    await tpuf.namespace('pin-r').updateMetadata({ pinning: { replicas: 3 } });
    await server.close();
    await start();
    expect(server.engine.catalog.blocks.heldBytes).toBe(0);
    const opened = await tpuf.namespace('pin-r').metadata();
    expect(opened.pinning?.replicas).toBe(3);
    await server.engine.pins.settled('pin-r');
    const meta = await tpuf.namespace('pin-r').metadata();
    expect(meta.pinning?.status?.ready_replicas).toBe(1);
    expect(server.engine.catalog.blocks.heldBytes).toBeGreaterThan(0);
    await expectQueriesMatch('pin-r', model);
  });

  it('should be seen by another node on the same store, which holds and loads it when it opens the namespace', async () => {
    const model = await partsAndTail('pin-2');
    const other = await startTestServer({ storeDir, indexer: false });
    try {
      const otherClient = other.client();
      await expectQueriesMatchOn(otherClient, 'pin-2', model); // opened there before the pin: unpinned
      expect(other.engine.pins.namespaces).toEqual([]);
      await tpuf.namespace('pin-2').updateMetadata({ pinning: { replicas: 2 } });
      await expectQueriesMatchOn(otherClient, 'pin-2', model); // a strong query re-reads router.json
      expect(other.engine.pins.namespaces).toEqual(['pin-2']);
      await other.engine.pins.settled('pin-2');
      expect((await otherClient.namespace('pin-2').metadata()).pinning).toMatchObject({ replicas: 2, status: { ready_replicas: 1 } });
      expect(other.engine.catalog.blocks.heldStatus(['pin-2']).heldBytes).toBeGreaterThan(0);
      await tpuf.namespace('pin-2').updateMetadata({ pinning: false });
      expect((await otherClient.namespace('pin-2').metadata()).pinning).toBeUndefined();
      expect(other.engine.pins.namespaces).toEqual([]);
      expect(other.engine.catalog.blocks.heldBytes).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('should unpin a deleted namespace: its next incarnation starts unpinned', async () => {
    await tpuf.namespace('pin-d').write({ upsert_rows: [{ id: 1, color: 'red' }] });
    await tpuf.namespace('pin-d').updateMetadata({ pinning: true });
    await server.engine.pins.settled('pin-d');
    await tpuf.namespace('pin-d').deleteAll();
    expect(server.engine.pins.namespaces).not.toContain('pin-d');
    await tpuf.namespace('pin-d').write({ upsert_rows: [{ id: 2, color: 'blue' }] });
    expect((await tpuf.namespace('pin-d').metadata()).pinning).toBeUndefined();
  });

  it('should not pass pinning to a branch, and hold the parts a pinned branch borrows', async () => {
    const model = await partsAndTail('pin-src');
    await tpuf.namespace('pin-src').updateMetadata({ pinning: true });
    await tpuf.namespace('pin-br').branchFrom({ source_namespace: 'pin-src' });
    expect((await tpuf.namespace('pin-br').metadata()).pinning).toBeUndefined();
    await tpuf.namespace('pin-src').updateMetadata({ pinning: false });
    expect(server.engine.catalog.blocks.heldStatus(['pin-src']).heldBytes).toBe(0);
    await tpuf.namespace('pin-br').updateMetadata({ pinning: true });
    await server.engine.pins.settled('pin-br');
    // The branch's parts live under the source's prefix (RFC-0011): held for the branch.
    expect(server.engine.catalog.blocks.heldStatus(['pin-src']).heldBytes).toBeGreaterThan(0);
    expect((await tpuf.namespace('pin-br').metadata()).pinning?.status?.ready_replicas).toBe(1);
    await expectQueriesMatch('pin-br', model);
  });

  it('should keep a pinned namespace resident under cache pressure that evicts an unpinned one', async () => {
    await server.close();
    await start({ memoryCacheBytes: 128 * 1024, pinnedCacheShare: 0.5 });
    try {
      const pinnedModel = await partsAndTail('pz-a');
      const unpinnedModel = await partsAndTail('pz-c');
      await tpuf.namespace('pz-a').updateMetadata({ pinning: true });
      await server.engine.pins.settled('pz-a');
      await tpuf.namespace('pz-c').hintCacheWarm();
      const blocks = server.engine.catalog.blocks;
      const held = blocks.heldStatus(['pz-a']);
      expect(held.heldBytes).toBeGreaterThan(0);
      expect(held.spilledBytes).toBe(0);
      const headKey = async (ns: string) => `head:${ns}/${(await new RouterStore(store).read(ns))!.router.parts[0]!.id}`;
      expect(blocks.get(await headKey('pz-c'))).toBeDefined();
      // Pressure: four parts of 500 rows × 16 dimensions (32 KiB of vectors each), scanned exactly.
      const dims = 16;
      for (let p = 0; p < 4; p++) {
        const rows = Array.from({ length: 500 }, (_, i) => ({ id: p * 500 + i, vector: Array.from({ length: dims }, (_, d) => ((p * 500 + i) * (d + 1)) % 97) }));
        await tpuf.namespace('pz-b').write({ upsert_rows: rows, distance_metric: 'euclidean_squared' });
        await index('pz-b');
      }
      const evictionsBefore = blocks.stats.evictions;
      for (let k = 0; k < 2; k++) await tpuf.namespace('pz-b').query({ rank_by: ['vector', 'kNN', Array.from({ length: dims }, () => 1)], top_k: 3 });
      expect(blocks.stats.evictions).toBeGreaterThan(evictionsBefore);
      expect(blocks.bytes).toBeLessThanOrEqual(128 * 1024);
      expect(blocks.get(await headKey('pz-c'))).toBeUndefined(); // the unpinned namespace went
      expect(blocks.get(await headKey('pz-a'))).toBeDefined(); // the pinned one stayed
      expect(blocks.heldStatus(['pz-a'])).toEqual({ heldBytes: held.heldBytes, spilledBytes: 0, evictions: 0 });
      expect((await tpuf.namespace('pz-a').metadata()).pinning?.status?.ready_replicas).toBe(1);
      await expectQueriesMatch('pz-a', pinnedModel);
      await expectQueriesMatch('pz-c', unpinnedModel);
    } finally {
      await server.close();
      await start();
    }
  });

  it('should report a pinned namespace that does not fit the share as not ready, and still answer exactly', async () => {
    await server.close();
    await start({ pinnedCacheShare: 0 });
    try {
      const model = await partsAndTail('pin-z');
      const m = await tpuf.namespace('pin-z').updateMetadata({ pinning: true });
      expect(m.pinning?.replicas).toBe(1);
      await server.engine.pins.settled('pin-z');
      const meta = await tpuf.namespace('pin-z').metadata();
      expect(meta.pinning?.status).toMatchObject({ ready_replicas: 0, utilization: 0 });
      expect(await metric('elax_cache_pinned_namespace_budget_bytes', { cache: 'blocks' })).toBe(0);
      await expectQueriesMatch('pin-z', model);
    } finally {
      await server.close();
      await start();
    }
  });
});

describe('elax serve --pinned-cache-share', () => {
  const serveExit = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [ELAX_BIN, 'serve', '--store', 'memory://', '--port', '0', '--no-indexer', ...args], { timeout: 30_000, env: { ...process.env, ...env } }, (err, _out, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stderr }),
      ),
    );

  it('should refuse a share outside [0, 1], naming the flag or the variable', async () => {
    const flag = await serveExit(['--pinned-cache-share', '1.5']);
    expect(flag.code).not.toBe(0);
    expect(flag.stderr).toContain("--pinned-cache-share must be a number from 0 to 1, got '1.5'");
    const env = await serveExit([], { ELAX_PINNED_CACHE_SHARE: 'half' });
    expect(env.code).not.toBe(0);
    expect(env.stderr).toContain("ELAX_PINNED_CACHE_SHARE must be a number from 0 to 1, got 'half'");
  });

  it('should size the pinned share of each memory cache from the flag, else the variable', { timeout: 60_000 }, async () => {
    for (const [args, env, share] of [
      [['--pinned-cache-share', '0.25'], { ELAX_PINNED_CACHE_SHARE: '0.75' }, 0.25],
      [[], { ELAX_PINNED_CACHE_SHARE: '0.75' }, 0.75],
      [[], {}, 0.5],
    ] as const) {
      const p = await startServerProcess({ store: 'memory://', args: ['--no-indexer', '--cache-memory', '1MiB', '--cache-graph-memory', '2MiB', ...args], env: { ...env } });
      try {
        const m = parsePrometheusText(await (await fetch(`${p.url}/metrics`)).text());
        expect(m.get('elax_cache_pinned_namespace_budget_bytes', { cache: 'blocks' })).toBe(Math.floor(1024 * 1024 * share));
        expect(m.get('elax_cache_pinned_namespace_budget_bytes', { cache: 'graphs' })).toBe(Math.floor(2 * 1024 * 1024 * share));
        expect(m.get('elax_cache_pinned_namespace_bytes', { cache: 'blocks' })).toBe(0);
      } finally {
        await p.stop();
      }
    }
  });
});
