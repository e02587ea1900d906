/**
 * Backfill end to end: file → acknowledged (every row durable in the WAL) → searchable from parts (index status
 * up-to-date), through `elax writes ingest` (runIngest) against an `elax serve` process with its embedded indexer.
 *
 *   node bin/run-ts.mjs bench/backfill.ts [--rows 1000000] [--dims 128] [--store local|s3] [--max-lag-mb 1024]
 *
 * Data: a seeded NDJSON file (clustered 128-d vectors + 4 attributes), cached under bench/.cache/. `--store s3`
 * needs the S3 test server (scripts/s3-test-server.sh start; its env lines exported). `--max-lag-mb` is the ingest
 * throttle (pause while the namespace's unindexed WAL exceeds it); 0 disables it.
 */
import { parseArgs } from 'node:util';
import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { runIngest } from '../cli/ingest/index.js';
import { machine, rng, startServerProcess } from './lib.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    dims: { type: 'string', default: '128' },
    store: { type: 'string', default: 'local' },
    'max-lag-mb': { type: 'string', default: '1024' },
    concurrency: { type: 'string', default: '4' },
  },
});
const N = Number(values.rows);
const D = Number(values.dims);
const maxLagBytes = Number(values['max-lag-mb']) * 1024 * 1024;
const cacheDir = path.resolve('bench/.cache');
mkdirSync(cacheDir, { recursive: true });
const file = path.join(cacheDir, `backfill-${N}x${D}.ndjson`);

async function generate(): Promise<void> {
  if (existsSync(file)) return;
  const rand = rng(42);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const centers = Array.from({ length: 256 }, () => Array.from({ length: D }, gauss));
  const out = createWriteStream(`${file}.tmp`);
  const kinds = ['article', 'comment', 'page', 'note'];
  for (let i = 0; i < N; i++) {
    const c = centers[Math.floor(rand() * centers.length)]!;
    const row = {
      id: i,
      vector: c.map((x) => +(x + 0.35 * gauss()).toFixed(4)),
      kind: kinds[i % 4],
      score: Math.floor(rand() * 1000),
      title: `document ${i} about topic ${i % 997}`,
      published: i % 2 === 0,
    };
    if (!out.write(`${JSON.stringify(row)}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(r));
  const { renameSync } = await import('node:fs');
  renameSync(`${file}.tmp`, file);
}

async function waitSearchable(url: string, ns: string): Promise<void> {
  for (;;) {
    const r = (await (await fetch(`${url}/v1/namespaces/${ns}/metadata`)).json()) as { index?: { status: string } };
    if (r.index?.status === 'up-to-date') return;
    await new Promise((res) => setTimeout(res, 500));
  }
}

const genStart = performance.now();
await generate();
console.log(`# ${machine()}`);
console.log(`data: ${file} (${(statSync(file).size / 2 ** 20).toFixed(0)} MiB, ${N} rows × ${D}-d; ready in ${((performance.now() - genStart) / 1000).toFixed(0)} s)`);

let store: string | undefined;
if (values.store === 's3') {
  const bucket = process.env.ELAX_TEST_S3_BUCKET ?? 'elax-test';
  store = `s3://${bucket}/bench-backfill-${Date.now()}`;
}
// The server reads S3 settings from ELAX_S3_ENDPOINT and the AWS_* variables (the test server's env lines).
const server = await startServerProcess({ store, env: process.env.ELAX_TEST_S3_ENDPOINT ? { ELAX_S3_ENDPOINT: process.env.ELAX_TEST_S3_ENDPOINT } : {} });
try {
  const ns = 'backfill';
  const t0 = performance.now();
  const summary = await runIngest({
    url: server.url,
    ns,
    files: [file],
    distanceMetric: 'cosine_distance',
    maxLagBytes,
    concurrency: Number(values.concurrency),
    checkpoint: false,
    progress: 'lines',
    progressIntervalMs: 15_000,
  });
  const ackS = (performance.now() - t0) / 1000;
  await waitSearchable(server.url, ns);
  const searchableS = (performance.now() - t0) / 1000;
  const mb = summary.source_bytes / 2 ** 20;
  console.log(JSON.stringify({ store: values.store, rows: N, max_lag_mb: values['max-lag-mb'], ok: summary.ok, rows_failed: summary.rows_failed, retries: summary.retries, rate_limited: summary.rate_limited, throttled_s: +(summary.throttled_ms / 1000).toFixed(1), lag_paused_s: +(summary.lag_paused_ms / 1000).toFixed(1) }));
  console.log(`| ${values.store} | ${values['max-lag-mb'] === '0' ? 'off' : `${values['max-lag-mb']} MiB`} | ${ackS.toFixed(0)} s | ${Math.round(N / ackS)} rows/s, ${(mb / ackS).toFixed(1)} MB/s | ${searchableS.toFixed(0)} s | ${Math.round(N / searchableS)} rows/s, ${(mb / searchableS).toFixed(1)} MB/s | ${(summary.throttled_ms / 1000).toFixed(0)} s |`);
} finally {
  await server.stop();
}
