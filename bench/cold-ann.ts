/**
 * Cold first ANN query against an object store, counted in sequential round trips (issue 15: "cold first ANN query
 * at 10M, radosgw: ≤ 4 round trips after the router; report ms and bytes"), then warm ANN latency over HTTP.
 *
 *   ELAX_S3_ENDPOINT=... node bin/run-ts.mjs bench/cold-ann.ts --store s3://elax-test/bench-10m --dims 128 \
 *        [--ns bench] [--runs 3] [--warm-set 30] [--warm-passes 5] [--cache-memory 1400MiB] [--trace-dir DIR]
 *   node bin/run-ts.mjs bench/cold-ann.ts --from-trace DIR/trace-*.jsonl     # waves of kept traces
 *
 * Each run starts a fresh `elax serve --no-indexer --cache-dir temp` with ELAX_STORE_TRACE (one line per store
 * request, server/serve.ts), sends one strong ANN query and reads back the requests made while it ran. A wave is a
 * step of the longest chain of requests in which each starts after the previous one ended: the number of waves is
 * the query's sequential round trips (an upper bound on its real dependency depth: two independent requests that
 * happened to run one after the other count as two). Waves are counted after the router GET ends.
 */
import { parseArgs } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { StoreTraceEvent } from '../crates-ts/store/index.js';
import { gaussianMixture, latencySummary, machine, processMemory, rng, startServerProcess, type ServerProcess } from './lib.js';

const { values, positionals } = parseArgs({
  options: {
    store: { type: 'string' },
    ns: { type: 'string', default: 'bench' },
    dims: { type: 'string', default: '128' },
    runs: { type: 'string', default: '3' },
    'warm-set': { type: 'string', default: '30' },
    'warm-passes': { type: 'string', default: '5' },
    'cache-memory': { type: 'string', default: '1400MiB' },
    // Keep the traces (trace-N.jsonl) here instead of a temporary directory.
    'trace-dir': { type: 'string' },
    // Only print the waves of kept traces (from their first router GET on) and exit.
    'from-trace': { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
function shortKey(k: string): string {
  return k.replace(/^[^/]+\/parts\/(\d{6})\d*-(\d{6})\d*-[^/]+\//, 'part $1-$2 ').replace(/^[^/]+\//, '');
}

if (values['from-trace']) {
  for (const f of positionals) {
    const events = readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as StoreTraceEvent);
    const first = events.findIndex((e) => e.key.endsWith('/router.json') && e.op === 'get');
    const w = waves(events.slice(Math.max(0, first)));
    console.log([`${f}: ${w.length - 1} waves after the router`, ...w.map((l) => `- ${l}`)].join('\n'));
  }
  process.exit(0);
}
if (!values.store) throw new Error('--store is required');
const NS = values.ns!;
const vec = gaussianMixture(rng(7), Number(values.dims));
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
const now = () => performance.timeOrigin + performance.now();

async function serve(trace?: string): Promise<ServerProcess> {
  const s = await startServerProcess({
    store: values.store,
    args: ['--no-indexer', '--cache-memory', values['cache-memory']!, '--query-timeout-ms', '600000'],
    env: { ELAX_ADMIN_TOKEN: 'bench', ...(trace ? { ELAX_STORE_TRACE: trace } : {}) },
  });
  for (let i = 0; i < 600 && !(await fetch(`${s.url}/readyz`)).ok; i++) await new Promise((r) => setTimeout(r, 100));
  return s;
}

async function ann(url: string, q: number[]): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(`${url}/v2/namespaces/${NS}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rank_by: ['vector', 'ANN', q], top_k: 10 }) });
  const body = (await r.json()) as { rows?: unknown[] };
  if (!r.ok || body.rows?.length !== 10) throw new Error(`query failed ${r.status}: ${JSON.stringify(body).slice(0, 300)}`);
  return performance.now() - t0;
}


/** Waves after the router: depth of each request in the longest chain of end-before-start requests. */
function waves(events: StoreTraceEvent[]): string[] {
  const router = events.find((e) => e.key.endsWith('/router.json'));
  if (!router) return ['no router GET in the trace'];
  const after = events.filter((e) => e.start >= router.end).sort((a, b) => a.start - b.start);
  const depth = after.map(() => 1);
  after.forEach((e, i) => {
    for (let j = 0; j < i; j++) if (after[j]!.end <= e.start) depth[i] = Math.max(depth[i]!, depth[j]! + 1);
  });
  const concurrent = events.filter((e) => e !== router && e.start < router.end);
  const out = [`router GET ${(router.end - router.start).toFixed(1)} ms${concurrent.length ? `; alongside it: ${concurrent.map((e) => `${e.op} ${shortKey(e.key)}`).join(', ')}` : ''}`];
  for (let w = 1; w <= Math.max(0, ...depth); w++) {
    const es = after.filter((_, i) => depth[i] === w);
    const bytes = es.reduce((s, e) => s + (e.bytes ?? 0), 0);
    const kinds = new Map<string, { n: number; bytes: number }>();
    for (const e of es) {
      const k = `${e.op} ${shortKey(e.key).replace(/^part \S+ /, '')}`;
      const c = kinds.get(k) ?? { n: 0, bytes: 0 };
      kinds.set(k, { n: c.n + 1, bytes: c.bytes + (e.bytes ?? 0) });
    }
    const t0 = Math.min(...es.map((e) => e.start)) - router.end;
    const t1 = Math.max(...es.map((e) => e.end)) - router.end;
    out.push(`wave ${w}: ${es.length} requests, ${(bytes / 1024).toFixed(0)} KiB, +${t0.toFixed(0)}..+${t1.toFixed(0)} ms after the router: ${[...kinds].map(([k, c]) => `${c.n}× ${k}${c.bytes ? ` (${(c.bytes / c.n / 1024).toFixed(1)} KiB each)` : ''}`).join(', ')}`);
  }
  return out;
}

const lines = [`# ${machine()}`, `store ${values.store}, namespace ${NS}, --cache-memory ${values['cache-memory']}`, ''];
const dir = values['trace-dir'] ?? mkdtempSync(path.join(tmpdir(), 'elax-cold-ann-'));
mkdirSync(dir, { recursive: true });
try {
  for (let run = 1; run <= Number(values.runs); run++) {
    const trace = path.join(dir, `trace-${run}.jsonl`);
    const s = await serve(trace);
    try {
      const before = load();
      const sent = now();
      const ms = await ann(s.url, vec());
      const done = now();
      const events = readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as StoreTraceEvent).filter((e) => e.start >= sent && e.start <= done);
      const reads = events.filter((e) => e.op.startsWith('get') || e.op === 'head');
      const bytes = reads.reduce((a, e) => a + (e.bytes ?? 0), 0);
      const w = waves(events);
      lines.push(`## cold run ${run}: ${ms.toFixed(0)} ms, ${reads.length} GET/HEAD (${reads.filter((e) => e.op === 'get_range').length} ranged), ${events.length - reads.length} other (LIST), ${(bytes / 2 ** 20).toFixed(2)} MiB read, ${w.length - 1} waves after the router; load ${before}`);
      lines.push(...w.map((l) => `- ${l}`), '');
      console.error(lines.slice(-w.length - 2).join('\n'));
    } finally {
      await s.stop();
    }
  }
  const set = Array.from({ length: Number(values['warm-set']) }, () => vec());
  const s = await serve();
  try {
    lines.push(`| warm pass (same ${set.length} ANN queries, strong, HTTP) | p50 | p99 | load |`, '|---|---|---|---|');
    for (let p = 1; p <= Number(values['warm-passes']); p++) {
      const ms: number[] = [];
      for (const q of set) ms.push(await ann(s.url, q));
      const l = latencySummary(ms);
      lines.push(`| ${p} | ${l.p50} ms | ${l.p99} ms | ${load()} |`);
    }
    const mem = processMemory(s.child.pid!);
    lines.push('', `server RSS after the passes: ${mem.rss_mib} MiB (peak ${mem.peak_rss_mib} MiB)`);
  } finally {
    await s.stop();
  }
} finally {
  if (!values['trace-dir']) rmSync(dir, { recursive: true, force: true });
}
console.log(lines.join('\n'));
