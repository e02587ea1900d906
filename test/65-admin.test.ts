/**
 * The admin surface end to end, against `elax serve` processes on a local store:
 *  - GET /admin/status with ELAX_ADMIN_TOKEN (401 without or with a wrong token), its numbers after known writes;
 *  - GET /metrics parsed as Prometheus text, the write route's counter up by exactly the writes made;
 *  - `elax status --json` / `--check` exit codes on a namespace planted stalled (server with --no-indexer, tiny
 *    --stall-after), cleared by an indexer pass, and on planted failure records;
 *  - one JSON log line per request and JSON indexer lines without --quiet, nothing with it.
 */
import { describe, it, expect } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { ELAX_BIN, freePort, startServerProcess, tempStoreDir } from './helpers/server.js';
import { openStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { WalLog } from '../crates-ts/wal/index.js';
import { parsePrometheusText } from '../server/prom-text.js';
import type { NamespaceStatus } from '../server/admin-status.js';

const TOKEN = 'e2e-admin-token';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the elax CLI; resolves with its exit code and output (never rejects on a non-zero exit). */
function elax(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ELAX_BIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function post(url: string, body: unknown) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return r.status;
}

describe('admin surface of elax serve', () => {
  it('should report status and metrics over HTTP and make `elax status --check` fail on a stalled namespace', { timeout: 120_000 }, async () => {
    const storeDir = tempStoreDir('admin');
    const server = await startServerProcess({ store: storeDir, args: ['--no-indexer'], env: { ELAX_ADMIN_TOKEN: TOKEN } });
    try {
      const entries = 4;
      for (let i = 0; i < entries; i++) expect(await post(`${server.url}/v2/namespaces/lagging`, { upsert_rows: [{ id: i, v: i }, { id: 100 + i }] })).toBe(200);
      expect(await post(`${server.url}/v2/namespaces/fine`, { upsert_rows: [{ id: 1 }] })).toBe(200);
      const writes = entries + 1;

      // Authentication.
      const status = (headers: Record<string, string>, q = '') => fetch(`${server.url}/admin/status${q}`, { headers });
      expect((await status({})).status).toBe(401);
      expect((await status({ authorization: 'Bearer nope' })).status).toBe(401);
      const ok = await status({ authorization: `Bearer ${TOKEN}` });
      expect(ok.status).toBe(200);
      const body = (await ok.json()) as { namespaces: NamespaceStatus[] };
      const store = await openStore(storeDir);
      try {
        const wal = await new WalLog(store, 'lagging').listAfter(0);
        expect(wal.length).toBe(entries);
        const lagging = body.namespaces.find((n) => n.namespace === 'lagging')!;
        expect(lagging).toMatchObject({
          wal_highwater: entries,
          indexed_wal: 0,
          unindexed_entries: entries,
          unindexed_bytes: wal.reduce((s, o) => s + o.size, 0),
          parts: 0,
          last_indexed_at: null,
          failed_entries: [],
          stalled: false,
        });
        expect(lagging.epoch).toBe((await new RouterStore(store).read('lagging'))!.router.epoch);

        // Metrics: the write route counted exactly once per write; WAL appends and lag from the same process.
        expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
        const m = parsePrometheusText(await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
        expect(m.sum('elax_http_requests_total', { route: '/v2/namespaces/:ns', method: 'POST' })).toBe(writes);
        expect(m.get('elax_http_requests_total', { route: '/admin/status', method: 'GET', status_code: '401' })).toBe(2);
        expect(m.get('elax_wal_appends_total')).toBe(writes);
        expect(m.get('elax_write_rows_total', { op: 'upsert' })).toBe(2 * entries + 1);
        expect(m.get('elax_indexer_unindexed_bytes', { namespace: 'lagging' })).toBe(lagging.unindexed_bytes);
        expect(m.get('elax_indexer_unindexed_entries', { namespace: 'lagging' })).toBe(entries);
        expect(m.types.get('process_resident_memory_bytes')).toBe('gauge');

        // CLI: not stalled under the default threshold.
        const calm = await elax(['status', '--store', storeDir, '--json', '--check']);
        expect(calm.code, calm.stderr).toBe(0);
        const calmRows = JSON.parse(calm.stdout) as NamespaceStatus[];
        expect(calmRows.map((r) => [r.namespace, r.stalled, r.unindexed_entries])).toEqual([['fine', false, 1], ['lagging', false, entries]]);
        expect(calmRows.find((r) => r.namespace === 'lagging')).toEqual(lagging);

        // Older than a 1 s threshold with no indexer running: stalled, and --check fails.
        await sleep(1_200);
        const stalled = await elax(['status', '--store', storeDir, '--json', '--check', '--stall-after', '1']);
        expect(stalled.code).toBe(1);
        expect(stalled.stderr).toContain('lagging: stalled: 4 unindexed entries');
        expect((JSON.parse(stalled.stdout) as NamespaceStatus[]).every((r) => r.stalled)).toBe(true);
        expect((await elax(['status', '--store', storeDir, '--json', '--stall-after', '1'])).code).toBe(0); // without --check
        const table = await elax(['status', '--store', storeDir, '--stall-after', '1', '--ns', 'lagging']);
        expect(table.stdout).toMatch(/^namespace .* failed +stalled$/m);
        expect(table.stdout).toMatch(/^lagging .* 0 +STALLED$/m);
        const viaHttp = (await (await status({ authorization: `Bearer ${TOKEN}` }, '?stall_after=1')).json()) as { namespaces: NamespaceStatus[] };
        expect(viaHttp.namespaces.map((n) => n.stalled)).toEqual([true, true]);

        // An indexer pass over `lagging` clears its stall; `fine` still has its old unindexed entry.
        const ix = await elax(['indexer', '--store', storeDir, '--once', '--ns', 'lagging', '--json']);
        expect(ix.code, ix.stderr).toBe(0);
        const after = await elax(['status', '--store', storeDir, '--json', '--check', '--stall-after', '1', '--ns', 'lagging']);
        expect(after.code, after.stderr).toBe(0);
        const row = (JSON.parse(after.stdout) as NamespaceStatus[])[0]!;
        expect(row).toMatchObject({ namespace: 'lagging', indexed_wal: entries, wal_highwater: entries, unindexed_entries: 0, unindexed_bytes: 0, stalled: false });
        expect(row.parts).toBeGreaterThan(0);
        expect(row.last_indexed_at).not.toBeNull();
        expect((await elax(['status', '--store', storeDir, '--check', '--stall-after', '1'])).code).toBe(1); // `fine`

        // A recorded indexer failure fails --check even under the default threshold.
        const routers = new RouterStore(store);
        const read = (await routers.read('fine'))!;
        const failed = { seq: 1, wal_end: 1, stage: 'decode', error: 'checksum mismatch', attempts: 5, first_failed_at: new Date().toISOString(), last_failed_at: new Date().toISOString(), next_retry_at: new Date().toISOString() };
        const next = RouterStore.next(read.router, { indexer: { ...read.router.indexer, failed_entries: [failed], last_failure_at: failed.last_failed_at, last_error: 'WAL 1 (decode): checksum mismatch' } }, new Date().toISOString());
        expect((await routers.publish(read.router, read.witness, next)).ok).toBe(true);
        const broken = await elax(['status', '--store', storeDir, '--json', '--check', '--ns', 'fine']);
        expect(broken.code).toBe(1);
        expect(broken.stderr).toContain('fine: WAL 1 failed 5 times (decode): checksum mismatch');
        expect((JSON.parse(broken.stdout) as NamespaceStatus[])[0]).toMatchObject({ stalled: false, last_error: 'WAL 1 (decode): checksum mismatch', failed_entries: [{ seq: 1, attempts: 5 }] });
        const fineHttp = (await (await status({ authorization: `Bearer ${TOKEN}` }, '?ns=fine')).json()) as { namespaces: NamespaceStatus[] };
        expect(fineHttp.namespaces[0]!.failed_entries).toHaveLength(1);
        const m2 = parsePrometheusText(await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
        expect(m2.get('elax_indexer_failed_entries', { namespace: 'fine' })).toBe(1);
        expect(m2.get('elax_indexer_unindexed_bytes', { namespace: 'lagging' })).toBe(0);
      } finally {
        await store.close();
      }
    } finally {
      await server.stop();
      rmSync(storeDir, { recursive: true, force: true });
    }
  });

  it('should answer 404 with how to enable it when no admin token is set', async () => {
    const server = await startServerProcess({ args: ['--no-indexer'], env: { ELAX_ADMIN_TOKEN: '' } });
    try {
      const res = await fetch(`${server.url}/admin/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: string }).error).toContain('ELAX_ADMIN_TOKEN=<token>');
      expect((await fetch(`${server.url}/metrics`)).status).toBe(200); // no admin token, no API keys: open
    } finally {
      await server.stop();
      rmSync(server.store, { recursive: true, force: true });
    }
  });

  for (const quiet of [false, true]) {
    it(`should log ${quiet ? 'nothing with --quiet' : 'JSON lines: one per request, and the embedded indexer’s'}`, { timeout: 60_000 }, async () => {
      const storeDir = tempStoreDir('logs');
      const port = await freePort();
      const args = [ELAX_BIN, 'serve', '--port', String(port), '--store', storeDir, '--index-min-entries', '1', '--index-max-age-ms', '10', '--cache-dir', 'temp', ...(quiet ? ['--quiet'] : [])];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      const url = `http://127.0.0.1:${port}`;
      try {
        for (let i = 0; ; i++) {
          if ((await fetch(`${url}/health`).catch(() => null))?.ok) break;
          if (i > 300) throw new Error(`server did not start:\n${out}`);
          await sleep(50);
        }
        expect(await post(`${url}/v2/namespaces/logged`, { upsert_rows: [{ id: 1, vector: [1, 0] }], distance_metric: 'cosine_distance' })).toBe(200);
        // Wait for the embedded indexer to publish (visible in the store), then for its line to be flushed.
        const store = await openStore(storeDir);
        for (let i = 0; (await new RouterStore(store).read('logged'))?.router.indexed_wal !== 1; i++) {
          if (i > 400) throw new Error(`the embedded indexer did not index:\n${out}`);
          await sleep(50);
        }
        await store.close();
        await sleep(200);
      } finally {
        child.kill('SIGTERM');
        await exited;
        rmSync(storeDir, { recursive: true, force: true });
      }
      const json = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      if (quiet) {
        expect(json).toEqual([]);
        return;
      }
      const requests = json.filter((l) => l.msg === 'request');
      expect(requests.map((l) => [l.method, l.route, l.status])).toEqual([
        ...requests.filter((l) => l.route === '/health').map(() => ['GET', '/health', 200]),
        ['POST', '/v2/namespaces/:ns', 200],
      ]);
      for (const l of requests) expect(typeof l.duration_ms).toBe('number');
      expect(json.some((l) => l.msg === 'incoming request' || l.msg === 'request completed')).toBe(false);
      expect(json.filter((l) => l.component === 'indexer').length).toBeGreaterThan(0);
    });
  }
});
