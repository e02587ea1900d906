/**
 * GET /admin/status and GET /metrics over an in-memory store (fastify inject): authentication in every
 * configuration, the status fields after writes, and the metrics counted from requests, WAL commits, conflicts and
 * the caches.
 */
import { BlockCache } from '../crates-ts/cache/block-cache.js';
import { describe, it, expect } from 'vitest';
import { Writable } from 'node:stream';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, type ObjectStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { WalLog } from '../crates-ts/wal/index.js';
import { LoadedPartCache, PartFileCache } from '../crates-ts/part/index.js';
import { buildApp, type AppOptions } from './app.js';
import { ServerMetrics } from './metrics.js';
import { parsePrometheusText } from './prom-text.js';
import type { NamespaceStatus } from './admin-status.js';

const TOKEN = 'admin-secret';
const clock = { now: () => Date.now() };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(opts: Partial<AppOptions> & { store?: ObjectStore; caches?: boolean } = {}) {
  const store = opts.store ?? new MemoryStore();
  const metrics = new ServerMetrics({ processMetrics: false });
  const caches = opts.caches ? { partFiles: new PartFileCache('/nonexistent-elax-test-cache', 1024), loadedParts: new LoadedPartCache(1024) } : {};
  const engine = new Engine(store, { clock, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0, ...metrics.engineHooks(), catalog: caches });
  metrics.setSources({ engine, ...caches });
  const app = buildApp({ engine, metrics, ...opts });
  return { store, engine, metrics, app };
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const write = (app: ReturnType<typeof setup>['app'], ns: string, rows: object[], headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `/v2/namespaces/${ns}`, payload: { upsert_rows: rows }, headers });

describe('GET /admin/status', () => {
  it('should answer 404 naming ELAX_ADMIN_TOKEN when no admin token is configured', async () => {
    const { app } = setup();
    const res = await app.inject({ url: '/admin/status', headers: bearer(TOKEN) });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'ELAX_ERR_NOT_FOUND' });
    expect(res.json().error).toContain('ELAX_ADMIN_TOKEN');
  });

  it('should answer 401 without or with a wrong token, and the per-namespace status with the right one', async () => {
    const { app, store } = setup({ adminToken: TOKEN });
    const writes = 5;
    for (let i = 0; i < writes; i++) expect((await write(app, 'alpha', [{ id: i, v: i }])).statusCode).toBe(200);
    expect((await write(app, 'beta', [{ id: 1 }])).statusCode).toBe(200);

    for (const headers of [{}, bearer('wrong'), { authorization: TOKEN }, { 'x-api-key': TOKEN }]) {
      const res = await app.inject({ url: '/admin/status', headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.json().code).toBe('ELAX_ERR_UNAUTHORIZED');
    }
    const res = await app.inject({ url: '/admin/status', headers: bearer(TOKEN) });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { namespaces: NamespaceStatus[]; stall_after_seconds: number; generated_at: string };
    expect(body.stall_after_seconds).toBe(600);
    expect(body.namespaces.map((n) => n.namespace)).toEqual(['alpha', 'beta']);
    const alpha = body.namespaces[0]!;
    const wal = await new WalLog(store, 'alpha').listAfter(0);
    const router = (await new RouterStore(store).read('alpha'))!.router;
    expect(alpha).toEqual({
      namespace: 'alpha',
      epoch: router.epoch,
      wal_highwater: writes,
      indexed_wal: 0,
      unindexed_entries: writes,
      unindexed_bytes: wal.reduce((s, o) => s + o.size, 0),
      parts: 0,
      last_write: new Date(wal[writes - 1]!.lastModified).toISOString(),
      oldest_unindexed_at: new Date(wal[0]!.lastModified).toISOString(),
      last_indexed_at: null,
      last_failure_at: null,
      last_error: null,
      failed_entries: [],
      stalled: false,
    });
    expect(alpha.unindexed_bytes).toBeGreaterThan(0);

    // ?ns= narrows, ?stall_after= overrides the threshold.
    await sleep(5);
    const one = await app.inject({ url: '/admin/status?ns=beta&stall_after=0', headers: bearer(TOKEN) });
    expect(one.json().namespaces).toMatchObject([{ namespace: 'beta', wal_highwater: 1, stalled: true }]);
    expect((await app.inject({ url: '/admin/status?ns=nope', headers: bearer(TOKEN) })).statusCode).toBe(404);
    expect((await app.inject({ url: '/admin/status?stall_after=-1', headers: bearer(TOKEN) })).statusCode).toBe(400);
  });

  it('should show recorded indexer failures and ignore resolved ones', async () => {
    const { app, store } = setup({ adminToken: TOKEN });
    for (let i = 0; i < 3; i++) await write(app, 'stuck', [{ id: i }]);
    const routers = new RouterStore(store);
    const read = (await routers.read('stuck'))!;
    const rec = (seq: number) => ({ seq, wal_end: seq, stage: 'decode', error: 'bad bytes', attempts: 6, first_failed_at: 'f', last_failed_at: 'l', next_retry_at: 'n' });
    const next = RouterStore.next(read.router, { indexed_wal: 1, indexer: { last_failure_at: 'l', last_error: 'WAL 2 (decode): bad bytes', failed_entries: [rec(1), rec(2)] } }, new Date().toISOString());
    expect((await routers.publish(read.router, read.witness, next)).ok).toBe(true);
    const s = (await app.inject({ url: '/admin/status', headers: bearer(TOKEN) })).json().namespaces[0] as NamespaceStatus;
    expect(s).toMatchObject({ indexed_wal: 1, wal_highwater: 3, unindexed_entries: 2, last_error: 'WAL 2 (decode): bad bytes', epoch: read.router.epoch + 1 });
    expect(s.failed_entries).toEqual([{ seq: 2, wal_end: 2, stage: 'decode', error: 'bad bytes', attempts: 6, first_failed_at: 'f', last_failed_at: 'l' }]);
  });

  it('should take the admin token, not an API key, when both are configured', async () => {
    const { app } = setup({ adminToken: TOKEN, apiKeys: ['k1'] });
    expect((await app.inject({ url: '/admin/status', headers: bearer('k1') })).statusCode).toBe(401);
    expect((await app.inject({ url: '/admin/status', headers: bearer(TOKEN) })).statusCode).toBe(200);
    // The admin token is no API key either.
    expect((await app.inject({ url: '/v1/namespaces', headers: bearer(TOKEN) })).statusCode).toBe(401);
    expect((await app.inject({ url: '/v1/namespaces', headers: bearer('k1') })).statusCode).toBe(200);
  });
});

describe('GET /metrics', () => {
  it('should need the admin token when one is set, an API key when only those are, nothing otherwise', async () => {
    const cases: [Partial<AppOptions>, Record<string, string>, number][] = [
      [{}, {}, 200],
      [{ apiKeys: ['k1'] }, {}, 401],
      [{ apiKeys: ['k1'] }, bearer('k1'), 200],
      [{ adminToken: TOKEN }, {}, 401],
      [{ adminToken: TOKEN }, bearer('wrong'), 401],
      [{ adminToken: TOKEN }, bearer(TOKEN), 200],
      [{ adminToken: TOKEN, apiKeys: ['k1'] }, bearer('k1'), 401],
      [{ adminToken: TOKEN, apiKeys: ['k1'] }, bearer(TOKEN), 200],
    ];
    for (const [opts, headers, status] of cases) {
      const { app } = setup(opts);
      const res = await app.inject({ url: '/metrics', headers });
      expect(res.statusCode, `${JSON.stringify(opts)} ${JSON.stringify(headers)}`).toBe(status);
      if (status === 200) expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    }
  });

  it('should count requests by route, WAL appends, acknowledged rows and indexer lag exactly', async () => {
    const { app, store } = setup({ adminToken: TOKEN });
    const scrape = async () => {
      const res = await app.inject({ url: '/metrics', headers: bearer(TOKEN) });
      expect(res.statusCode).toBe(200);
      return parsePrometheusText(res.body);
    };
    const before = await scrape();
    const writeLabels = { method: 'POST', route: '/v2/namespaces/:ns', status_code: '200' };
    expect(before.sum('elax_http_requests_total', writeLabels)).toBe(0);

    const n = 7;
    let rows = 0;
    for (let i = 0; i < n; i++) {
      const batch = Array.from({ length: i + 1 }, (_, j) => ({ id: i * 100 + j, t: 'x' }));
      rows += batch.length;
      expect((await write(app, i % 2 ? 'odd' : 'even', batch)).statusCode).toBe(200);
    }
    expect((await app.inject({ method: 'POST', url: '/v2/namespaces/even', payload: { upsert_rows: [{ nope: 1 }] } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/v2/namespaces/even/query', payload: { rank_by: ['id', 'asc'], top_k: 3 } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/no/such/route' })).statusCode).toBe(404);

    const after = await scrape();
    expect(after.types.get('elax_http_requests_total')).toBe('counter');
    expect(after.types.get('elax_http_request_duration_seconds')).toBe('histogram');
    expect(after.sum('elax_http_requests_total', writeLabels) - before.sum('elax_http_requests_total', writeLabels)).toBe(n);
    expect(after.sum('elax_http_requests_total', { route: '/v2/namespaces/:ns', status_code: '400' })).toBe(1);
    expect(after.sum('elax_http_requests_total', { route: '/v2/namespaces/:ns/query', method: 'POST' })).toBe(1);
    expect(after.sum('elax_http_requests_total', { route: 'unmatched', status_code: '404' })).toBe(1);
    // The first scrape was answered before the second one counted it.
    expect(after.sum('elax_http_requests_total', { route: '/metrics' })).toBe(1);
    expect(after.get('elax_http_request_duration_seconds_count', writeLabels)).toBe(n);
    expect(after.get('elax_http_request_duration_seconds_bucket', { ...writeLabels, le: '+Inf' })).toBe(n);

    // groupCommitMs 0 and sequential writes: one WAL entry per write.
    const walEntries = (await new WalLog(store, 'even').listAfter(0)).length + (await new WalLog(store, 'odd').listAfter(0)).length;
    expect(walEntries).toBe(n);
    expect(after.get('elax_wal_appends_total')).toBe(n);
    expect(after.get('elax_wal_append_rows_total')).toBe(rows);
    expect(after.get('elax_wal_append_bytes_total')).toBeGreaterThan(0);
    expect(after.get('elax_write_rows_total', { op: 'upsert' })).toBe(rows);
    expect(after.get('elax_wal_append_conflicts_total')).toBe(0);

    // Lag of the namespaces this process served equals what /admin/status reports.
    const status = (await app.inject({ url: '/admin/status', headers: bearer(TOKEN) })).json().namespaces as NamespaceStatus[];
    for (const s of status) {
      expect(after.get('elax_indexer_unindexed_bytes', { namespace: s.namespace })).toBe(s.unindexed_bytes);
      expect(after.get('elax_indexer_unindexed_entries', { namespace: s.namespace })).toBe(s.unindexed_entries);
      expect(after.get('elax_indexer_stalled', { namespace: s.namespace })).toBe(0);
      expect(after.get('elax_indexer_failed_entries', { namespace: s.namespace })).toBe(0);
      expect(after.get('elax_indexer_lag_seconds', { namespace: s.namespace })).toBeGreaterThanOrEqual(0);
    }

    // A deleted namespace leaves the lag gauges.
    expect((await app.inject({ method: 'DELETE', url: '/v2/namespaces/odd' })).statusCode).toBe(200);
    const gone = await scrape();
    expect(gone.get('elax_indexer_unindexed_bytes', { namespace: 'odd' })).toBeUndefined();
    expect(gone.get('elax_indexer_unindexed_bytes', { namespace: 'even' })).toBe(status.find((s) => s.namespace === 'even')!.unindexed_bytes);
  });

  it('should count a lost WAL append race', async () => {
    const shared = new MemoryStore();
    // A's store lets B commit right before A's next WAL append: A's seq is then taken and A must retry.
    let interpose: (() => Promise<unknown>) | null = null;
    const storeA = new Proxy(shared, {
      get(target, prop) {
        if (prop === 'putIfAbsent') {
          return async (key: string, bytes: Uint8Array) => {
            const f = interpose;
            interpose = null;
            if (f) await f();
            return target.putIfAbsent(key, bytes);
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const a = setup({ store: storeA });
    const b = setup({ store: shared });
    expect((await write(a.app, 'race', [{ id: 1 }])).statusCode).toBe(200);
    interpose = async () => expect((await write(b.app, 'race', [{ id: 2 }])).statusCode).toBe(200);
    expect((await write(a.app, 'race', [{ id: 3 }])).statusCode).toBe(200);
    expect(interpose).toBeNull();
    expect((await new WalLog(shared, 'race').listAfter(0)).map((o) => o.seq)).toEqual([1, 2, 3]);
    const m = parsePrometheusText((await a.app.inject({ url: '/metrics' })).body);
    expect(m.get('elax_wal_append_conflicts_total')).toBe(1);
    expect(m.get('elax_wal_appends_total')).toBe(2);
    const mb = parsePrometheusText((await b.app.inject({ url: '/metrics' })).body);
    expect(mb.get('elax_wal_append_conflicts_total')).toBe(0);
    expect(mb.get('elax_wal_appends_total')).toBe(1);
  });

  it('should count write batches planned while the batch ahead was being appended', async () => {
    // The next WAL append waits at a gate: a write sent meanwhile is planned and encoded behind it.
    let gate: { reached: () => void; open: Promise<void> } | null = null;
    const store = new Proxy(new MemoryStore(), {
      get(target, prop) {
        if (prop === 'putIfAbsent') {
          return async (key: string, bytes: Uint8Array) => {
            const g = key.includes('/wal/') ? gate : null;
            gate = null;
            if (g) {
              g.reached();
              await g.open;
            }
            return target.putIfAbsent(key, bytes);
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const { app, engine } = setup({ store });
    expect((await write(app, 'pl', [{ id: 1 }])).statusCode).toBe(200);
    let open!: () => void;
    const reached = new Promise<void>((r) => (gate = { reached: r, open: new Promise<void>((o) => (open = o)) }));
    const first = write(app, 'pl', [{ id: 2 }]);
    await reached;
    const second = write(app, 'pl', [{ id: 3 }]);
    for (let i = 0; i < 500 && engine.writer.pipeline.planned === 0; i++) await new Promise((r) => setTimeout(r, 2));
    open();
    expect((await first).statusCode).toBe(200);
    expect((await second).statusCode).toBe(200);
    const m = parsePrometheusText((await app.inject({ url: '/metrics' })).body);
    expect(m.get('elax_write_batches_planned_ahead_total', { outcome: 'kept' })).toBe(1);
    expect(m.get('elax_write_batches_planned_ahead_total', { outcome: 'replanned' })).toBe(0);
    expect(m.get('elax_write_entries_voided_total')).toBe(0);
  });

  it('should mirror the caches’ hit and miss counts and ratio', async () => {
    const { app, engine } = setup({ caches: true });
    await write(app, 'c', [{ id: 1 }]);
    await app.inject({ method: 'POST', url: '/v2/namespaces/c/query', payload: { rank_by: ['id', 'asc'] } });
    const m = parsePrometheusText((await app.inject({ url: '/metrics' })).body);
    const st = engine.catalog.stats;
    expect(m.get('elax_cache_requests_total', { cache: 'namespace_state', result: 'hit' })).toBe(st.entryHits);
    expect(m.get('elax_cache_requests_total', { cache: 'namespace_state', result: 'miss' })).toBe(st.entryMisses);
    expect(st.entryHits + st.entryMisses).toBeGreaterThan(0);
    expect(m.get('elax_cache_hit_ratio', { cache: 'namespace_state' })).toBeCloseTo(st.entryHits / (st.entryHits + st.entryMisses), 10);
    expect(m.get('elax_cache_requests_total', { cache: 'part_files', result: 'miss' })).toBe(0);
    expect(m.get('elax_cache_hit_ratio', { cache: 'part_files' })).toBeUndefined(); // no lookup yet
    expect(m.get('elax_cache_bytes', { cache: 'decoded_parts' })).toBe(0);
  });

  it('should report the block and graph caches apart: lookups, bytes and entries', async () => {
    const { app, metrics, engine } = setup();
    const blocks = new BlockCache(1 << 20);
    const graphs = new BlockCache(1 << 20);
    metrics.setSources({ engine, blocks, graphs });
    await graphs.getOrLoad('g', async () => ({ value: {}, bytes: 1000 })); // miss, loaded
    await graphs.getOrLoad('g', async () => ({ value: {}, bytes: 1000 })); // hit
    await blocks.getOrLoad('b', async () => ({ value: {}, bytes: 0 }));
    const m = parsePrometheusText((await app.inject({ url: '/metrics' })).body);
    expect(m.get('elax_cache_requests_total', { cache: 'graphs', result: 'hit' })).toBe(1);
    expect(m.get('elax_cache_requests_total', { cache: 'graphs', result: 'miss' })).toBe(1);
    expect(m.get('elax_cache_bytes', { cache: 'graphs' })).toBe(1000);
    expect(m.get('elax_cache_entries', { cache: 'graphs' })).toBe(1);
    expect(m.get('elax_cache_requests_total', { cache: 'blocks', result: 'miss' })).toBe(1);
    expect(m.get('elax_cache_bytes', { cache: 'blocks' })).toBe(0);
  });

  it('should report what running queries hold of the block and graph caches, now and at the most', async () => {
    const { app, metrics, engine } = setup();
    const blocks = new BlockCache(1 << 20);
    const graphs = new BlockCache(1 << 20);
    metrics.setSources({ engine, blocks, graphs });
    const a = await blocks.getPinned('a', async () => ({ value: {}, bytes: 300 }));
    const b = await blocks.getPinned('b', async () => ({ value: {}, bytes: 200 }));
    a.release();
    const m = parsePrometheusText((await app.inject({ url: '/metrics' })).body);
    expect(m.get('elax_cache_pinned_bytes', { cache: 'blocks' })).toBe(200);
    expect(m.get('elax_cache_pinned_peak_bytes', { cache: 'blocks' })).toBe(500);
    expect(m.get('elax_cache_pinned_bytes', { cache: 'graphs' })).toBe(0);
    b.release();
  });

  it('should count the indexer events it is told about, by kind, and ignore other log lines', async () => {
    const { app, metrics } = setup();
    for (const msg of ['indexer: published part', 'indexer: published part', 'indexer: router publish conflict', 'indexer: namespace failed', 'gc']) metrics.indexerEvent(msg);
    const m = parsePrometheusText((await app.inject({ url: '/metrics' })).body);
    const value = (event: string) => m.samples.find((x) => x.name === 'elax_indexer_events_total' && x.labels.event === event)?.value;
    expect([value('published'), value('publish_conflict'), value('failure'), value('compacted')]).toEqual([2, 1, 1, undefined]);
  });

  it('should include the default process metrics unless disabled', async () => {
    const engine = new Engine(new MemoryStore(), { clock, sleep: () => Promise.resolve(), random: Math.random });
    const app = buildApp({ engine });
    const m = parsePrometheusText((await app.inject({ url: '/metrics' })).body);
    expect(m.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(m.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
  });
});

describe('request logging', () => {
  it('should write one JSON line per request with method, route, status and duration', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const { app } = setup({ logger: { level: 'info', stream } });
    await write(app, 'logged', [{ id: 1 }]);
    await app.inject({ url: '/v2/namespaces/missing/metadata' });
    expect(lines.map((l) => l.msg)).toEqual(['request', 'request']);
    expect(lines[0]).toMatchObject({ level: 30, method: 'POST', route: '/v2/namespaces/:ns', url: '/v2/namespaces/logged', status: 200 });
    expect(lines[1]).toMatchObject({ method: 'GET', route: '/v2/namespaces/:ns/metadata', status: 404 });
    for (const l of lines) expect(typeof l.duration_ms === 'number' && l.duration_ms >= 0).toBe(true);
  });
});
