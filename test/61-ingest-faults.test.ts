/**
 * `elax writes ingest` against a server that fails at random: a seeded fault-injecting proxy answers 429 and 503,
 * resets connections, and sometimes lets a write land and then reports failure anyway. Every row must land
 * exactly once (idempotency keys make the retries of landed writes harmless), and the summary must account for
 * every fault: retries, 429s, 5xx, connection errors, throttling, WAL-lag pauses.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng } from '../bench/lib.js';
import { runIngest } from '../cli/ingest/index.js';
import { expectNamespaceHolds, makeRows, toNdjson, walKeys } from '../cli/ingest/testing.js';
import { startFaultProxy } from './helpers/fault-proxy.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer();
  dir = mkdtempSync(path.join(tmpdir(), 'elax-ingest-faults-'));
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const fastRetry = { baseDelayMs: 5, maxDelayMs: 60, maxRetries: 40 };

describe('ingest through a faulty network', () => {
  it('should land every row once and count every retry when the server answers 429/503 and drops connections at random', async () => {
    const rows = makeRows(15_000, 16, 61);
    const file = path.join(dir, 'faults.ndjson');
    writeFileSync(file, toNdjson(rows));
    const proxy = await startFaultProxy(server.url, 6101, {
      p429: 0.1, p503Before: 0.07, pResetBefore: 0.03, p503After: 0.07, pResetAfter: 0.03,
      retryAfter: ['0', '0', '0', '0', '0', '1'], lagPolls: 3, lagBytes: 8 * 1024 ** 3,
    });
    try {
      const summary = await runIngest({
        url: proxy.url, ns: 'faults', files: [file], distanceMetric: 'cosine_distance',
        batchBytes: 40 * 1024, concurrency: 4, maxLagBytes: 64 * 1024 ** 2, lagPollMs: 100,
        checkpoint: path.join(dir, 'faults.cp'), retry: fastRetry, random: rng(7), quiet: true,
      });
      const s = proxy.stats;
      expect(summary.aborted).toBeUndefined();
      expect(summary.ok).toBe(true);
      expect(summary.rows_ok).toBe(rows.length);
      expect(summary.rows_failed).toBe(0);
      // The faults really happened, of every kind.
      expect(s.e429).toBeGreaterThan(0);
      expect(s.e503).toBeGreaterThan(0);
      expect(s.resets).toBeGreaterThan(0);
      expect(s.landedThenFailed).toBeGreaterThan(0);
      // Each injected fault cost exactly one retry, and the summary classifies them as the proxy injected them.
      expect(summary.retries).toBe(s.e429 + s.e503 + s.resets);
      expect(summary.rate_limited).toBe(s.e429);
      expect(summary.server_errors).toBe(s.e503);
      expect(summary.network_errors).toBe(s.resets);
      // Every write that landed but was reported failed came back as "already applied" on its retry.
      expect(summary.requests_deduplicated).toBe(proxy.landedKeys.size);
      expect(summary.requests).toBe(summary.chunks);
      // Throttling: the fake WAL lag paused the run; 429s shrank the window.
      expect(s.lagAnswers).toBe(3);
      expect(summary.lag_paused_ms).toBeGreaterThan(0);
      expect(summary.throttled_ms).toBeGreaterThanOrEqual(summary.lag_paused_ms);
      expect(summary.min_concurrency).toBeLessThan(4);

      await expectNamespaceHolds(server.url, 'faults', rows);
      const wal = await walKeys(server.storeDir, 'faults');
      expect(wal.keys.size).toBe(summary.chunks);
      expect([...wal.keys.values()].every((n) => n === 1)).toBe(true);
      for (const k of proxy.landedKeys) expect(wal.keys.get(k)).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it('should stop when the server stays down, keep its checkpoint, and finish the rest exactly once on --resume', async () => {
    const rows = makeRows(6_000, 8, 62, 1_000_000);
    const file = path.join(dir, 'outage.ndjson');
    writeFileSync(file, toNdjson(rows));
    const checkpoint = path.join(dir, 'outage.cp');
    const proxy = await startFaultProxy(server.url, 6102);
    const common = {
      url: proxy.url, ns: 'outage', files: [file], distanceMetric: 'euclidean_squared', batchBytes: 16 * 1024,
      concurrency: 3, maxLagBytes: 0, checkpoint, random: rng(8), quiet: true,
    };
    try {
      // Healthy for the first writes, then a hard outage mid-run.
      let writes = 0;
      const outage = setInterval(() => {
        if (proxy.stats.writes > 10 && writes === 0) {
          writes = proxy.stats.writes;
          proxy.set({ p503Before: 1 });
        }
      }, 1);
      const first = await runIngest({ ...common, retry: { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 3 } });
      clearInterval(outage);
      expect(first.ok).toBe(false);
      expect(first.aborted).toMatch(/gave up after 4 attempts; last answer 503/);
      expect(first.rows_ok).toBeGreaterThan(0);
      expect(first.rows_ok).toBeLessThan(rows.length);

      proxy.set({ p503After: 0.2 });
      const second = await runIngest({ ...common, resume: true, retry: fastRetry });
      expect(second.ok).toBe(true);
      expect(second.rows_skipped).toBeGreaterThan(0);
      // Chunks settled before the outage are skipped; the ones in flight when it stopped are re-sent (deduplicated
      // if they had landed).
      expect(second.rows_skipped + second.rows_ok).toBe(rows.length);
      expect(second.rows_ok).toBeLessThanOrEqual(rows.length - first.rows_ok + 3 * 300);
      await expectNamespaceHolds(server.url, 'outage', rows);
      const wal = await walKeys(server.storeDir, 'outage');
      expect([...wal.keys.values()].every((n) => n === 1)).toBe(true);
      expect(wal.keys.size).toBe(second.chunks);
    } finally {
      await proxy.close();
    }
  });

  it('should stop at once, without retrying, when the API key is missing or wrong, and work with the right one', async () => {
    const secured = await startTestServer({ apiKeys: ['s3cret'] });
    try {
      const file = path.join(dir, 'auth.ndjson');
      writeFileSync(file, toNdjson(makeRows(100, 4, 63)));
      const common = { url: secured.url, ns: 'auth', files: [file], distanceMetric: 'cosine_distance', checkpoint: false as const, quiet: true, retry: fastRetry };
      const none = await runIngest(common);
      expect(none.aborted).toMatch(/401.*missing API key/);
      const wrong = await runIngest({ ...common, apiKey: 'nope' });
      expect(wrong.aborted).toMatch(/invalid API key/);
      expect(wrong.retries).toBe(0);
      const right = await runIngest({ ...common, apiKey: 's3cret' });
      expect(right).toMatchObject({ ok: true, rows_ok: 100 });
    } finally {
      await secured.close();
    }
  });
});
