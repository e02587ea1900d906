/**
 * A query node's memory after a query mix, and where it is (storage engine v2: "memory independent of N"). Starts
 * `elax serve --no-indexer --cache-memory 256MiB --cache-dir temp` on a store that bench/engine-v2.ts built, runs two
 * passes of BM25 / filtered order-by / filtered count queries, then prints the server's RSS, its smaps_rollup, the
 * caches' accounting and V8's heap and external memory. With --snapshot DIR the server also writes a V8 heap
 * snapshot there (node --heapsnapshot-signal) for attributing the heap.
 *
 *   node bin/run-ts.mjs bench/node-memory.ts --store /tmp/elax-bench-v2-10000000-0 [--queries 150] [--snapshot DIR]
 *
 * The server starts as `npm start` does (bench/lib.ts serverEnv); allocator settings in this process's environment
 * override it (e.g. MALLOC_MMAP_THRESHOLD_=4194304).
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { machine, processMemory, rng, serverEnv, serverStart, startServerProcess } from './lib.js';
import { zipfSampler, zipfWord } from './data/zipf.js';

const { values } = parseArgs({ options: { store: { type: 'string' }, queries: { type: 'string', default: '150' }, snapshot: { type: 'string' }, 'cache-memory': { type: 'string', default: '256MiB' } } });
if (!values.store) throw new Error('--store DIR is required (a store bench/engine-v2.ts built)');
const Q = Number(values.queries);
if (values.snapshot) mkdirSync(values.snapshot, { recursive: true });
const server = await startServerProcess({
  store: values.store,
  args: ['--no-indexer', '--cache-memory', values['cache-memory']!],
  env: { ELAX_ADMIN_TOKEN: 'bench' },
  nodeArgs: values.snapshot ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${values.snapshot}`] : [],
});
const { child, url } = server;
for (let i = 0; i < 600 && !(await fetch(`${url}/readyz`)).ok; i++) await new Promise((r) => setTimeout(r, 100));
const rand = rng(99);
const word = zipfSampler(20_000, 1.07, rand);
const queries = [
  () => ({ rank_by: ['text', 'BM25', Array.from({ length: 1 + Math.floor(rand() * 2) }, () => zipfWord(word())).join(' ')], top_k: 10, include_attributes: ['cat'] }),
  () => ({ rank_by: ['price', 'desc'], filters: ['cat', 'Eq', `c${Math.floor(rand() * 100)}`], top_k: 10, include_attributes: ['price', 'cat'] }),
  () => ({ aggregate_by: { n: ['Count'] }, filters: ['price', 'Lt', Math.round(rand() * 1000)] }),
];
try {
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < Q; i++) {
      const r = await fetch(`${url}/v2/namespaces/bench/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(queries[i % queries.length]!()) });
      if (!r.ok) throw new Error(`query failed ${r.status}: ${await r.text()}`);
      await r.arrayBuffer();
    }
  }
  const mem = processMemory(child.pid!);
  const smaps = readFileSync(`/proc/${child.pid}/smaps_rollup`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(smaps)?.[1] ?? 0);
  const metrics = await (await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer bench' } })).text();
  const metric = (re: RegExp) => Number(re.exec(metrics)?.[1] ?? 0);
  const MiB = (n: number) => (n / 1024 / 1024).toFixed(0);
  const env = serverEnv();
  const malloc = Object.keys(env).filter((k) => k.startsWith('MALLOC_')).map((k) => `${k}=${env[k]}`).join(' ') || 'glibc defaults';
  console.log(`# ${machine()}`);
  console.log(`# server: ${serverStart()}`);
  console.log(`store ${values.store}, --cache-memory ${values['cache-memory']}, ${2 * Q} queries, allocator: ${malloc}`);
  console.log(
    [
      `RSS ${mem.rss_mib} MiB (peak ${mem.peak_rss_mib})`,
      `anonymous ${(kib('Anonymous') / 1024).toFixed(0)} MiB, file-backed ${((kib('Shared_Clean') + kib('Private_Clean')) / 1024).toFixed(0)} MiB`,
      `block cache ${MiB(metric(/^elax_cache_bytes\{cache="blocks"\} (\d+)/m))} MiB (pinned peak ${MiB(metric(/^elax_cache_pinned_peak_bytes\{cache="blocks"\} (\d+)/m))})`,
      `V8 heap used ${MiB(metric(/^nodejs_heap_size_used_bytes (\d+)/m))} / committed ${MiB(metric(/^nodejs_heap_size_total_bytes (\d+)/m))} MiB`,
      `external ${MiB(metric(/^nodejs_external_memory_bytes (\d+)/m))} MiB`,
    ].join('; '),
  );
  if (values.snapshot) {
    child.kill('SIGUSR2');
    for (let i = 0; i < 600 && !readdirSync(values.snapshot).some((f) => f.endsWith('.heapsnapshot')); i++) await new Promise((r) => setTimeout(r, 1000));
    await new Promise((r) => setTimeout(r, 5000)); // the file is written in one go after it appears
    console.log(`heap snapshot in ${values.snapshot}`);
  }
} finally {
  await server.stop();
}
