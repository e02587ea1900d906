/**
 * Per-request overhead of small queries over HTTP: a server process on the local store, 10k rows of 128-d vectors
 * (+2 attributes, left in the WAL tail or indexed with --index), then sequential queries of a few shapes, one client.
 * Reports latency percentiles and the server's CPU per query (all its threads; less sensitive to a shared machine
 * than wall time). Meant for before/after comparisons of the HTTP layer (route schemas, hooks, parsing).
 *
 *   node bin/run-ts.mjs bench/query-overhead.ts [--queries 2000] [--rows 10000] [--index]
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServerProcess, percentile, rng, machine } from './lib.js';

const { values } = parseArgs({
  options: {
    queries: { type: 'string', default: '2000' },
    rows: { type: 'string', default: '10000' },
    index: { type: 'boolean', default: false },
  },
});
const queries = Number(values.queries);
const rows = Number(values.rows);
const dims = 128;
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function procCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const rand = rng(42);
const vec = () => Array.from({ length: dims }, () => Math.round((rand() * 2 - 1) * 1e6) / 1e6);

console.log(`machine: ${machine()}`);
console.log(`rows=${rows} dims=${dims} queries=${queries} per shape, ${values.index ? 'indexed' : 'WAL tail'}; repo ${repo}`);
// No embedded indexer: the rows stay where --index put them for the whole run.
const server = await startServerProcess({ args: ['--no-indexer'] });
const ns = 'qbench';
const post = async (p: string, body: unknown) => {
  const r = await fetch(`${server.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${p}: ${r.status} ${text}`);
  return text;
};
try {
  for (let b = 0; b * 1000 < rows; b++) {
    const upsert_rows = Array.from({ length: Math.min(1000, rows - b * 1000) }, (_, i) => ({ id: b * 1000 + i, vector: vec(), category: `c${i % 10}`, n: i }));
    await post(`/v2/namespaces/${ns}`, { upsert_rows, distance_metric: 'cosine_distance' });
  }
  if (values.index) execFileSync(process.execPath, [path.join(repo, 'bin/elax.mjs'), 'indexer', '--store', server.store, '--ns', ns, '--once'], { stdio: 'ignore' });
  const shapes: { name: string; body: () => unknown }[] = [
    { name: 'order by n, top_k 10', body: () => ({ rank_by: ['n', 'desc'], top_k: 10 }) },
    { name: 'filter Eq, top_k 10', body: () => ({ filters: ['category', 'Eq', 'c3'], top_k: 10, include_attributes: ['n'] }) },
    { name: 'kNN 128-d, top_k 10', body: () => ({ rank_by: ['vector', 'ANN', vec()], top_k: 10 }) },
  ];
  const out = [];
  for (const s of shapes) {
    for (let i = 0; i < 50; i++) await post(`/v2/namespaces/${ns}/query`, s.body());
    const bodies = Array.from({ length: queries }, () => s.body());
    const lat: number[] = [];
    const cpu0 = procCpuSeconds(server.child.pid!);
    const t0 = performance.now();
    for (const b of bodies) {
      const t = performance.now();
      await post(`/v2/namespaces/${ns}/query`, b);
      lat.push(performance.now() - t);
    }
    const secs = (performance.now() - t0) / 1000;
    const cpu = procCpuSeconds(server.child.pid!) - cpu0;
    lat.sort((a, b) => a - b);
    out.push({
      shape: s.name,
      qps: Math.round(queries / secs),
      p50_ms: +percentile(lat, 50).toFixed(3),
      p99_ms: +percentile(lat, 99).toFixed(3),
      server_cpu_us_per_query: Math.round((cpu * 1e6) / queries),
    });
    console.log(JSON.stringify(out.at(-1)));
  }
  console.table(out);
} finally {
  await server.stop();
}
