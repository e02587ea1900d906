/**
 * Query latency while a writer ingests into the same namespace (issue 17's mixed-load measure).
 *
 *   node bin/run-ts.mjs bench/mixed-load.ts [--rows 100000] [--dims 128] [--seconds 30] [--write-rate 10000]
 *     [--batch 1000] [--vectors json|base64] [--server-args '...'] [--node-args='--cpu-prof ...']
 *     [--consistency strong|eventual]
 *
 * One `elax serve` (local store, embedded indexer on, as by default) gets `--rows` documents (a vector, a 10-value
 * `category`, an 8-word `text` with full-text search) and waits until they are indexed. Then two phases of
 * `--seconds` each, with one closed-loop query client cycling through ANN, BM25 and filtered ANN (category = one of
 * 10 values, strong consistency, top 10):
 *   1. idle: nothing else runs;
 *   2. loaded: a writer upserts new documents at `--write-rate` rows/s in `--batch`-row requests (paced: a request
 *      leaves every batch/rate seconds, up to 8 in flight). The writer is another client: it runs on a worker thread
 *      of this process (`--writer thread`, the default), so that sending its multi-MB bodies does not hold up the
 *      event loop that times the queries (`--writer same-loop`: on that loop, as until 2026-12-06).
 * `host speed before/after`: bench/lib.ts hostSpeed (a fixed loop's time per CPU, alone and all at once).
 * Per phase: query p50/p99 by kind, the event-loop lag the server reports (/metrics elax_event_loop_lag_seconds,
 * scraped at the phase's start and end: the histogram covers the phase), the writer's achieved rate and ack
 * latency, and the CPU the server and this load generator used (both share the machine).
 */
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { startServerProcess, serverCpuSeconds, latencySummary, rng, gaussianMixture, machine, waitIndexed, removeServerFiles, type ServerProcess, serverStart, hostSpeed } from './lib.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '128' },
    seconds: { type: 'string', default: '30' },
    'write-rate': { type: 'string', default: '10000' },
    batch: { type: 'string', default: '1000' },
    vectors: { type: 'string', default: 'json' },
    'server-args': { type: 'string', default: '' },
    'node-args': { type: 'string', default: '' },
    consistency: { type: 'string', default: 'strong' },
    writer: { type: 'string', default: 'thread' },
  },
});
if (values.writer !== 'thread' && values.writer !== 'same-loop') throw new Error('--writer is thread or same-loop');
const rows = Number(values.rows);
const dims = Number(values.dims);
const seconds = Number(values.seconds);
const writeRate = Number(values['write-rate']);
const batch = Number(values.batch);
const base64 = values.vectors === 'base64';
const NS = 'mixed';
const TOKEN = 'bench-admin-token';

const rand = rng(17);
const vectorOf = gaussianMixture(rand, dims);
const WORDS = 2000;
/** Zipf-ish word choice: word i with weight ~ 1/(i+1). */
const word = () => `w${Math.floor(Math.exp(rand() * Math.log(WORDS + 1))) - 1}`;
function doc(id: number): Record<string, unknown> {
  const v = vectorOf();
  return {
    id,
    vector: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v,
    category: `c${id % 10}`,
    text: Array.from({ length: 8 }, word).join(' '),
  };
}
const schema = { text: { type: 'string', full_text_search: true }, category: { type: 'string', filterable: true } };
const bodyOf = (from: number, n: number) => JSON.stringify({ distance_metric: 'cosine_distance', schema, upsert_rows: Array.from({ length: n }, (_, i) => doc(from + i)) });

async function scrapeLag(s: ServerProcess): Promise<{ p50_ms: number; p99_ms: number; max_ms: number }> {
  const text = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const q = (quantile: string) => {
    const m = text.match(new RegExp(`^elax_event_loop_lag_seconds\\{quantile="${quantile.replace('.', '\\.')}"\\} (\\S+)$`, 'm'));
    if (!m) throw new Error(`no elax_event_loop_lag_seconds{quantile="${quantile}"} in /metrics`);
    return +(Number(m[1]) * 1000).toFixed(1);
  };
  return { p50_ms: q('0.5'), p99_ms: q('0.99'), max_ms: q('1') };
}

/** Views made for new part sets so far (elax_view_builds_total; absent on servers before issue 17's carry-over). */
async function scrapeViews(s: ServerProcess): Promise<{ carried_over: number; rebuilt: number; replayed_entries: number } | null> {
  const text = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const get = (re: RegExp) => Number(text.match(re)?.[1] ?? NaN);
  const carried = get(/^elax_view_builds_total\{how="carried_over"\} (\S+)$/m);
  if (Number.isNaN(carried)) return null;
  return { carried_over: carried, rebuilt: get(/^elax_view_builds_total\{how="rebuilt"\} (\S+)$/m), replayed_entries: get(/^elax_view_replayed_entries_total (\S+)$/m) };
}

type Kind = 'ann' | 'bm25' | 'filtered_ann';
const queryVectors = Array.from({ length: 50 }, () => vectorOf());
const consistency = values.consistency === 'eventual' ? { consistency: { level: 'eventual' } } : {};
function queryBody(kind: Kind, i: number): string {
  const q = queryVectors[i % queryVectors.length]!;
  if (kind === 'ann') return JSON.stringify({ rank_by: ['vector', 'ANN', q], top_k: 10, ...consistency });
  if (kind === 'bm25') return JSON.stringify({ rank_by: ['text', 'BM25', `${word()} ${word()}`], top_k: 10, ...consistency });
  return JSON.stringify({ rank_by: ['vector', 'ANN', q], top_k: 10, filters: ['category', 'Eq', `c${i % 10}`], ...consistency });
}

/**
 * The paced writer on a worker thread (plain JavaScript, evaluated): workerData holds the URL, the bodies (bytes,
 * transferred) and the pacing; it posts 'ready', waits for the phase's start and end (epoch ms), sends, and posts its
 * counts. Times are epoch ms (performance.timeOrigin + now()): the threads' performance.now() origins differ.
 */
const WRITER_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, bodies, interval, batch } = workerData;
const now = () => performance.timeOrigin + performance.now();
parentPort.once('message', async ({ startAt, endAt }) => {
  const acks = [];
  let written = 0, writeErrors = 0;
  const inflight = new Set();
  for (let k = 0; k < bodies.length; k++) {
    const due = startAt + k * interval;
    if (due >= endAt) break;
    const wait = due - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (inflight.size >= 8) await Promise.race(inflight);
    const st = now();
    const p = fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[k] })
      .then(async (r) => {
        await r.arrayBuffer();
        if (r.ok) { written += batch; acks.push(now() - st); } else writeErrors++;
      })
      .catch(() => { writeErrors++; })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  parentPort.postMessage({ written, acks, writeErrors });
});
parentPort.postMessage('ready');
`;

/** Starts the writer thread with `bodies`; resolves once it is ready, with the function that starts it. */
async function writerThread(url: string, bodies: string[]): Promise<(startAt: number, endAt: number) => Promise<{ written: number; acks: number[]; writeErrors: number }>> {
  const bytes = bodies.map((b) => new TextEncoder().encode(b));
  const w = new Worker(WRITER_THREAD, { eval: true, workerData: { url, bodies: bytes, interval: (1000 * batch) / writeRate, batch }, transferList: bytes.map((b) => b.buffer) });
  await new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
  });
  return (startAt, endAt) => {
    const done = new Promise<{ written: number; acks: number[]; writeErrors: number }>((resolve, reject) => {
      w.once('message', (m) => resolve(m));
      w.once('error', reject);
    }).finally(() => w.terminate());
    w.postMessage({ startAt, endAt });
    return done;
  };
}

/** The writer's request bodies, made before the phase so that the load generator's CPU goes to sending them. */
function writeBodies(firstId: number): string[] {
  const n = Math.ceil((seconds * writeRate) / batch);
  return Array.from({ length: n }, (_, k) => bodyOf(firstId + k * batch, batch));
}

async function phase(s: ServerProcess, name: string, writer: boolean, firstId: number) {
  const bodies = writer ? writeBodies(firstId) : [];
  const startWriter = writer && values.writer === 'thread' ? await writerThread(`${s.url}/v2/namespaces/${NS}`, bodies) : null;
  await scrapeLag(s); // resets the server's histogram: the next scrape covers this phase
  const cpu0 = process.cpuUsage();
  const cpu0Server = serverCpuSeconds(s.child.pid!);
  const t0 = performance.now();
  if (writer) console.log(`writer starts at ${new Date().toISOString()} (${bodies.length} bodies made)`);
  const end = t0 + seconds * 1000;
  const lat: Record<Kind, number[]> = { ann: [], bm25: [], filtered_ann: [] };
  // What the server reports for the same queries (performance.server_total_ms, query_execution_ms): the rest of the
  // client's latency is HTTP, body parsing and waiting for the event loop.
  const serverTotal: number[] = [];
  const execution: number[] = [];
  const executionByKind: Record<Kind, number[]> = { ann: [], bm25: [], filtered_ann: [] };
  const kinds: Kind[] = ['ann', 'bm25', 'filtered_ann'];
  let errors = 0;
  let tailRows = 0; // Σ performance.exhaustive_search_count: the unindexed rows the queries scanned
  const queries = (async () => {
    for (let i = 0; performance.now() < end; i++) {
      const kind = kinds[i % 3]!;
      const body = queryBody(kind, i);
      const st = performance.now();
      const r = await fetch(`${s.url}/v2/namespaces/${NS}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await r.text();
      if (!r.ok) errors++;
      else {
        lat[kind].push(performance.now() - st);
        const perf = (JSON.parse(text) as { performance?: { server_total_ms?: number; query_execution_ms?: number; exhaustive_search_count?: number } }).performance;
        tailRows += perf?.exhaustive_search_count ?? 0;
        if (perf?.server_total_ms !== undefined) serverTotal.push(perf.server_total_ms);
        if (perf?.query_execution_ms !== undefined) {
          execution.push(perf.query_execution_ms);
          executionByKind[kind].push(perf.query_execution_ms);
        }
      }
    }
  })();
  const acks: number[] = [];
  let written = 0;
  let writeErrors = 0;
  const writes = (async () => {
    if (!writer) return;
    if (startWriter !== null) {
      const got = await startWriter(performance.timeOrigin + t0, performance.timeOrigin + end);
      written = got.written;
      writeErrors = got.writeErrors;
      acks.push(...got.acks);
      return;
    }
    const interval = (1000 * batch) / writeRate;
    const inflight = new Set<Promise<void>>();
    let next = firstId;
    for (let k = 0; ; k++) {
      const due = t0 + k * interval;
      if (due >= end) break;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      while (inflight.size >= 8) await Promise.race(inflight);
      const body = bodies[k] ?? bodyOf(next, batch);
      next += batch;
      const st = performance.now();
      const p: Promise<void> = fetch(`${s.url}/v2/namespaces/${NS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        .then(async (r) => {
          await r.arrayBuffer();
          if (r.ok) {
            written += batch;
            acks.push(performance.now() - st);
          } else writeErrors++;
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.all(inflight);
  })();
  // The unindexed tail every query scans exhaustively: sampled each second.
  let maxUnindexed = 0;
  let sumUnindexed = 0;
  let samples = 0;
  const sampler = (async () => {
    while (performance.now() < end) {
      const m = (await (await fetch(`${s.url}/v1/namespaces/${NS}/metadata`)).json()) as { index?: { unindexed_bytes?: number } };
      maxUnindexed = Math.max(maxUnindexed, m.index?.unindexed_bytes ?? 0);
      sumUnindexed += m.index?.unindexed_bytes ?? 0;
      samples++;
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  await Promise.all([queries, writes, sampler]);
  const secs = (performance.now() - t0) / 1000;
  const cpu1Server = serverCpuSeconds(s.child.pid!);
  const lag = await scrapeLag(s);
  const views = await scrapeViews(s);
  const cpu = process.cpuUsage(cpu0);
  const out = {
    phase: name,
    ann: latencySummary(lat.ann),
    bm25: latencySummary(lat.bm25),
    filtered_ann: latencySummary(lat.filtered_ann),
    queries: lat.ann.length + lat.bm25.length + lat.filtered_ann.length,
    server_total_ms: latencySummary(serverTotal),
    query_execution_ms: latencySummary(execution),
    execution_by_kind_ms: { ann: latencySummary(executionByKind.ann), bm25: latencySummary(executionByKind.bm25), filtered_ann: latencySummary(executionByKind.filtered_ann) },
    query_errors: errors,
    lag_ms: lag,
    written_rows_per_s: Math.round(written / secs),
    write_ack: writer ? latencySummary(acks, 1) : null,
    write_errors: writeErrors,
    max_unindexed_mib: +(maxUnindexed / 2 ** 20).toFixed(1),
    mean_unindexed_mib: +(sumUnindexed / Math.max(1, samples) / 2 ** 20).toFixed(1),
    tail_rows_per_query: Math.round(tailRows / Math.max(1, lat.ann.length + lat.bm25.length + lat.filtered_ann.length)),
    views_since_start: views,
    // The server, its embedded indexer's child process included (indexer_proc_cores of it).
    server_cores: +((cpu1Server.threads - cpu0Server.threads + cpu1Server.children - cpu0Server.children) / secs).toFixed(2),
    indexer_proc_cores: +((cpu1Server.children - cpu0Server.children) / secs).toFixed(2),
    // The server's main thread (the event loop) alone.
    loop_cores: +((cpu1Server.loop - cpu0Server.loop) / secs).toFixed(2),
    client_cores: +((cpu.user + cpu.system) / 1e6 / secs).toFixed(2),
  };
  console.log(JSON.stringify(out));
  return out;
}

console.log(`machine: ${machine()}`);
console.log(`host speed before: ${JSON.stringify(await hostSpeed())}`);
console.log(`server: ${serverStart()}`);
console.log(`rows=${rows} dims=${dims} seconds=${seconds} write-rate=${writeRate} batch=${batch} vectors=${values.vectors} consistency=${values.consistency} writer=${values.writer}`);
const server = await startServerProcess({
  args: ['--admin-token', TOKEN, ...values['server-args']!.split(' ').filter(Boolean)],
  nodeArgs: values['node-args']!.split(' ').filter(Boolean),
});
try {
  const t = performance.now();
  for (let from = 0; from < rows; from += 5000) {
    const r = await fetch(`${server.url}/v2/namespaces/${NS}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodyOf(from, Math.min(5000, rows - from)) });
    if (!r.ok) throw new Error(`load failed: ${r.status} ${await r.text()}`);
  }
  await waitIndexed(server.url, NS);
  console.log(`loaded and indexed ${rows} rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  // The idle phase is idle: merges the indexer put off while the load was written (RFC-0005 step 6) run once it is
  // indexed. Wait until the indexer's process has used < 5 % of a core for a second (at most 120 s).
  const settleFrom = performance.now();
  for (let quiet = false; !quiet && performance.now() - settleFrom < 120_000; ) {
    const c0 = serverCpuSeconds(server.child.pid!).children;
    await new Promise((r) => setTimeout(r, 1000));
    quiet = serverCpuSeconds(server.child.pid!).children - c0 < 0.05;
  }
  console.log(`indexer settled after ${((performance.now() - settleFrom) / 1000).toFixed(1)} s`);
  const idle = await phase(server, 'idle', false, rows);
  const loaded = await phase(server, 'loaded', true, rows);
  const ratio = (k: Kind) => +(loaded[k].p99 / Math.max(idle[k].p99, 1e-9)).toFixed(2);
  console.log(JSON.stringify({ p99_ratio: { ann: ratio('ann'), bm25: ratio('bm25'), filtered_ann: ratio('filtered_ann') }, loaded_lag_p99_ms: loaded.lag_ms.p99_ms }));
  console.log(`host speed after: ${JSON.stringify(await hostSpeed())}`);
} finally {
  await server.stop();
  removeServerFiles(server);
}
