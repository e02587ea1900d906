/**
 * Write throughput and ack latency: batches of 1k rows of 128-d vectors (+2 attributes) against a server process
 * on the local store, with 1 and 16 concurrent clients. Group commit shows as fewer WAL entries than requests.
 *
 *   node bin/run-ts.mjs bench/write-throughput.ts [--batches 200] [--rows 1000] [--dims 128] [--clients 1,16] [--pool-threads N]
 *     [--vectors json|base64] [--server-args '...'] [--node-args '--cpu-prof ...'] [--wait-pool] [--wait-indexed] [--warm-up-seconds S]
 *     [--store s3://bucket/prefix]
 *
 * --pool-threads is passed to `elax serve` (WAL encoding on worker threads; 0 = on the event loop; unset = the
 * server's default, cores - 1). One write warms the server before timing; pool threads that are still loading then
 * (the first 1-2 s) leave the first timed writes to run inline (elax_pool_cold_inline_total; `cold_inline_tasks`
 * counts those of the timed phase: each costs the event loop an entry's encode or a body's parse). `--wait-pool`
 * times the steady state instead: one-row writes first, until one runs nothing inline; `--wait-indexed` also waits
 * until the embedded indexer has loaded and indexed the warm-up namespace. `--warm-up-seconds S` then has the clients
 * write the same bodies into the warm-up namespace for S seconds before timing: a fresh server spends its first ≈ 3 s
 * of writes compiling its hot paths (V8's optimizing compiler on its background threads took ≈ 20 % of the server's
 * CPU then, ≈ 3 % after), which a run of a few seconds otherwise counts. `host speed before/after` (bench/lib.ts
 * hostSpeed): a fixed loop's time on each CPU alone and on all at once, to read the run against the host's contention. `--store s3://bucket/prefix`
 * runs the server on an S3-compatible store instead (ELAX_S3_ENDPOINT and credentials in the environment, e.g. from
 * `scripts/s3-test-server.sh start`; each client count writes a fresh namespace under the prefix, left there).
 */
import { parseArgs } from 'node:util';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { startServerProcess, removeServerFiles, percentile, rng, machine, serverCpuSeconds, serverRunDelaySeconds, serverStart, waitIndexed, hostSpeed } from './lib.js';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '200' },
    rows: { type: 'string', default: '1000' },
    dims: { type: 'string', default: '128' },
    clients: { type: 'string', default: '1,16' },
    'pool-threads': { type: 'string' },
    vectors: { type: 'string', default: 'json' },
    'server-args': { type: 'string', default: '' },
    'node-args': { type: 'string', default: '' },
    'wait-indexed': { type: 'boolean', default: false },
    'wait-pool': { type: 'boolean', default: false },
    'warm-up-seconds': { type: 'string', default: '0' },
    store: { type: 'string' },
  },
});
const batches = Number(values.batches);
const rowsPer = Number(values.rows);
const dims = Number(values.dims);
const clientCounts = values.clients!.split(',').map(Number);
const vectorEncoding = values.vectors!;
if (vectorEncoding !== 'json' && vectorEncoding !== 'base64') throw new Error('--vectors is json or base64');

function makeBody(batch: number, rand: () => number): string {
  const rows = [];
  for (let i = 0; i < rowsPer; i++) {
    const v = new Array(dims);
    for (let d = 0; d < dims; d++) v[d] = Math.round((rand() * 2 - 1) * 1e6) / 1e6;
    // base64: little-endian f32 bytes, as turbopuffer's API allows (and its client sends).
    const vector = vectorEncoding === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v;
    rows.push({ id: batch * rowsPer + i, vector, category: `c${i % 10}`, n: i });
  }
  return JSON.stringify({ upsert_rows: rows, distance_metric: 'cosine_distance' });
}

/** The server's elax_pool_cold_inline_total (pool tasks run inline before a thread had loaded). */
async function coldInlineTasks(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^elax_pool_cold_inline_total(?:\{[^}]*\})? (\d+)/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

console.log(`machine: ${machine()}`);
console.log(`host speed before: ${JSON.stringify(await hostSpeed())}`);
console.log(`server: ${serverStart()}`);
const poolArgs = values['pool-threads'] !== undefined ? ['--pool-threads', values['pool-threads']] : [];
poolArgs.push(...values['server-args']!.split(' ').filter(Boolean));
console.log(`batches=${batches} rows/batch=${rowsPer} dims=${dims} vectors=${vectorEncoding} pool-threads=${values['pool-threads'] ?? 'default'} warm-up-seconds=${values['warm-up-seconds']}`);
const rand = rng(42);
const bodies = Array.from({ length: batches }, (_, b) => makeBody(b, rand));
const bodyBytes = bodies.reduce((s, b) => s + Buffer.byteLength(b), 0);
const results = [];
for (const clients of clientCounts) {
  const s3 = values.store?.startsWith('s3://') ?? false;
  const server = await startServerProcess({ args: poolArgs, nodeArgs: values['node-args']!.split(' ').filter(Boolean), ...(values.store ? { store: values.store } : {}) });
  const ns = s3 ? `bench-${clients}-${Date.now()}` : `bench-${clients}`;
  const warm = await fetch(`${server.url}/v2/namespaces/warm-up`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: makeBody(batches, rng(1)) });
  if (!warm.ok) throw new Error(`warm-up write failed: ${warm.status} ${await warm.text()}`);
  if (values['wait-pool']) {
    // Steady state: one-row writes until one runs no task inline (a pool thread has loaded), at most 60 s.
    for (let i = 0, before = await coldInlineTasks(server.url); i < 300; i++) {
      const w = await fetch(`${server.url}/v2/namespaces/warm-up`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ upsert_rows: [{ id: 1e9 + i, vector: Array(dims).fill(0.5) }] }) });
      if (!w.ok) throw new Error(`warm-up write failed: ${w.status} ${await w.text()}`);
      const after = await coldInlineTasks(server.url);
      if (after === before) break;
      before = after;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  // --wait-indexed: the embedded indexer has loaded and indexed the warm-up writes before timing starts.
  if (values['wait-indexed'] && !values['server-args']!.includes('--no-indexer')) await waitIndexed(server.url, 'warm-up', 120_000);
  // --warm-up-seconds: the timed run's clients and bodies, into the warm-up namespace, until the time is up.
  const warmUntil = performance.now() + 1000 * Number(values['warm-up-seconds']);
  let warmNext = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < warmUntil) {
        const r = await fetch(`${server.url}/v2/namespaces/warm-up`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[warmNext++ % batches]! });
        if (!r.ok) throw new Error(`warm-up write failed: ${r.status} ${await r.text()}`);
        await r.arrayBuffer();
      }
    }),
  );
  const coldInline0 = await coldInlineTasks(server.url);
  const latencies: number[] = [];
  let next = 0;
  const cpu0 = process.cpuUsage();
  const cpu0Server = serverCpuSeconds(server.child.pid!);
  const wait0Server = serverRunDelaySeconds(server.child.pid!);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < batches) {
        const body = bodies[next++]!;
        const s = performance.now();
        const r = await fetch(`${server.url}/v2/namespaces/${ns}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        if (!r.ok) throw new Error(`write failed: ${r.status} ${await r.text()}`);
        await r.arrayBuffer();
        latencies.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpu1Server = serverCpuSeconds(server.child.pid!);
  const wait1Server = serverRunDelaySeconds(server.child.pid!);
  const childCpu = cpu1Server.children - cpu0Server.children;
  const serverCpu = cpu1Server.threads - cpu0Server.threads + childCpu;
  const loopCpu = cpu1Server.loop - cpu0Server.loop;
  const coldInline = (await coldInlineTasks(server.url)) - coldInline0;
  const meta = (await (await fetch(`${server.url}/v2/namespaces/${ns}/metadata`)).json()) as { approx_row_count: number };
  await server.stop();
  const walEntries = s3 ? null : readdirSync(path.join(server.store, ns, 'wal')).filter((f) => f.endsWith('.parquet')).length;
  removeServerFiles(server, { keepStore: s3 }); // its store (hundreds of MB a run) and temporary cache
  latencies.sort((a, b) => a - b);
  const row = {
    clients,
    rows_per_s: Math.round((batches * rowsPer) / secs),
    mb_per_s: +(bodyBytes / 2 ** 20 / secs).toFixed(1),
    p50_ms: +percentile(latencies, 50).toFixed(1),
    p99_ms: +percentile(latencies, 99).toFixed(1),
    rows_visible: meta.approx_row_count,
    requests: batches,
    wal_entries: walEntries,
    // CPU seconds per wall second during the timed run (2.0 = both cores): the server (all its threads, and its
    // embedded indexer's child process: indexer_proc_cores of it) and this load generator, which shares the machine.
    server_cores: +(serverCpu / secs).toFixed(2),
    indexer_proc_cores: +(childCpu / secs).toFixed(2),
    client_cores: +((cpu.user + cpu.system) / 1e6 / secs).toFixed(2),
    // CPU per row written: the server's (all threads, its indexer process included) and its main thread's (the event loop: what the write path
    // takes from queries). Less sensitive than rows/s to other processes on a shared machine.
    server_us_per_row: +((1e6 * serverCpu) / (batches * rowsPer)).toFixed(1),
    loop_us_per_row: +((1e6 * loopCpu) / (batches * rowsPer)).toFixed(1),
    // Time the server's threads (all; the event loop) were runnable but waited for a core, per row written: what
    // other processes on the machine, the embedded indexer among them, took from it (/proc schedstat).
    server_wait_us_per_row: +((1e6 * (wait1Server.threads - wait0Server.threads)) / (batches * rowsPer)).toFixed(1),
    loop_wait_us_per_row: +((1e6 * (wait1Server.loop - wait0Server.loop)) / (batches * rowsPer)).toFixed(1),
    // Timed tasks the event loop ran itself because no pool thread had loaded yet (entries encoded, bodies parsed
    // inline): ≈ 3 ms of the loop each for a 1,000-row entry, so a run with more of them has a higher loop_us_per_row.
    cold_inline_tasks: coldInline,
  };
  results.push(row);
  console.log(JSON.stringify(row));
}
console.table(results);
console.log(`host speed after: ${JSON.stringify(await hostSpeed())}`);
