/**
 * The exact scan of the unindexed WAL tail that every query makes (RFC-0004 §5 goal: ≤ 100 ns per 128-d row).
 * Measures a kNN query (cosine, 128-d) over a tail of N rows, unfiltered and with a filter on an attribute, through
 * the view's tail segment and the segment executor, against the document-array executor it replaced.
 *
 * The tail segment is measured with the WebAssembly SIMD kernel (vectors in an arena, vector-arena.ts) — as a full
 * scan (every row's exact distance) and as a code scan (query/code-scan.ts: bounds from the rows' int8 codes, exact
 * distances only for rows that can enter the top k; the share of rows ranked exactly is reported), the two
 * alternating query by query — and, in a child process with ELAX_SCAN_KERNEL=js, with the JS kernel, in one run.
 * The fold time of the rows (apply + settle) and the tail's bytes per row are reported too; a second child with
 * ELAX_TAIL_CODES=0 (no codes kept) gives them without codes.
 *
 *   node bin/run-ts.mjs bench/tail-scan.ts [--rows 100000] [--dims 128] [--queries 50]
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { MemoryStore } from '../crates-ts/store/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { Witness } from '../crates-ts/store/index.js';
import { NamespaceView } from '../crates-ts/namespace/index.js';
import { codeScanStats, executeOnSegments, executeQuery, parseQuery, setCodeScanMode } from '../crates-ts/query/index.js';
import type { Doc } from '../crates-ts/core/index.js';
import { gaussianMixture, machine, percentile, rng } from './lib.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, dims: { type: 'string', default: '128' }, queries: { type: 'string', default: '50' }, 'segments-only': { type: 'boolean', default: false } } });
const child = values['segments-only'];
const kernel = process.env.ELAX_SCAN_KERNEL === 'js' ? 'JS kernel' : 'wasm SIMD kernel';
const N = Number(values.rows);
const D = Number(values.dims);
const Q = Number(values.queries);
void MemoryStore;

const rand = rng(7);
const gen = gaussianMixture(rand, D);
const router = RouterStore.initial('tail', 1, new Date(0).toISOString());
const view = new NamespaceView(router, Witness.neverMatches(), []);
const docs: Doc[] = [];
const PER_ENTRY = 1000;
const tFold = performance.now();
for (let seq = 1, id = 0; id < N; seq++) {
  const ops = [];
  for (let j = 0; j < PER_ENTRY && id < N; j++, id++) {
    const doc: Doc = { id, vector: Float32Array.from(gen()), attrs: { cat: id % 10, name: `row ${id}` } };
    docs.push(doc);
    ops.push({ kind: 'upsert' as const, doc });
  }
  view.apply({ seq, meta: { format_version: 1, namespace: 'tail', committed_at: seq, requests: 1 }, ops }, 0);
}
await view.settle(); // large entries fold in slices (RFC-0010): measure the whole tail
const foldMs = performance.now() - tFold; // includes making the documents
const codesTag = process.env.ELAX_TAIL_CODES === '0' ? ' (no codes kept)' : '';
/**
 * Bytes the tail's vectors take per row of room in their chunks (a chunk holds 2^14 rows, allocated whole): arenas
 * (f32 rows, and codes when kept) or plain buffers, Σ y², and the codes' per-row numbers.
 */
function vectorBytesPerRow(): number {
  const tail = view.segments().at(-1)!;
  const v = tail.vectors();
  let bytes = 0;
  let room = 0;
  for (const c of v?.chunks ?? []) {
    if (c === undefined) continue;
    room += c.sqNorms.length;
    bytes += (c.shared?.memory.buffer.byteLength ?? c.data.byteLength) + c.sqNorms.byteLength;
    if (c.codes) bytes += c.codes.scale.byteLength + c.codes.errNorm.byteLength + c.codes.codeNorm.byteLength;
  }
  return bytes / Math.max(1, room);
}
const ctx = { schema: { vector: { type: `[${D}]f32` }, cat: { type: 'int' }, name: { type: 'string' } }, distanceMetric: 'cosine_distance' as const };
const queries = Array.from({ length: Q }, () => gen());

async function time(label: string, run: (q: number[]) => Promise<unknown> | unknown): Promise<string> {
  for (let i = 0; i < 3; i++) await run(queries[i % Q]!); // warm up
  const ms: number[] = [];
  for (const q of queries) {
    const t0 = performance.now();
    await run(q);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return row(label, ms);
}

const lines = child ? [] : [`# ${machine()}`, `tail of ${N} rows × ${D}-d (cosine), top 10, ${Q} queries`, '', '| path | p50 | p99 | per row (p50) |', '|---|---|---|---|'];
const inline = process.env.ELAX_SCAN_KERNEL !== 'js';
for (const filtered of [false, true]) {
  const body = (q: number[]) => ({ rank_by: ['vector', 'kNN', q], top_k: 10, ...(filtered ? { filters: ['cat', 'Lt', 5] } : {}) });
  const tag = filtered ? ', filter cat < 5' : '';
  const run = (q: number[]) => executeOnSegments(parseQuery(body(q), ctx), view.segments());
  if (inline && !codesTag) {
    // Full scan and code scan, alternating query by query (a shared machine's load falls on both alike).
    const before = { ...codeScanStats };
    const [full, coded] = await timeAB((q) => (setCodeScanMode('never'), run(q)), (q) => (setCodeScanMode('auto'), run(q)));
    setCodeScanMode('auto');
    const share = (codeScanStats.exact - before.exact) / Math.max(1, codeScanStats.coded - before.coded);
    lines.push(row(`tail segment, ${kernel}, full scan${tag}`, full));
    lines.push(row(`tail segment, ${kernel}, code scan${tag} (${(share * 100).toFixed(2)}% of rows ranked exactly)`, coded));
  } else lines.push(await time(`tail segment, ${kernel}${codesTag}${tag}`, run));
  if (!child) lines.push(await time(`Doc[] executor${tag}`, (q) => executeQuery(parseQuery(body(q), ctx), docs, ctx)));
}
lines.push(`| fold of ${N} rows${codesTag} (${kernel}): ${foldMs.toFixed(0)} ms; vector bytes per row ${vectorBytesPerRow().toFixed(0)} | | | |`);
if (!child) {
  const runTs = new URL('../bin/run-ts.mjs', import.meta.url).pathname;
  const args = [...process.execArgv, runTs, process.argv[1]!, '--rows', String(N), '--dims', String(D), '--queries', String(Q), '--segments-only'];
  lines.push(execFileSync(process.execPath, args, { env: { ...process.env, ELAX_SCAN_KERNEL: 'js' }, encoding: 'utf8' }).trim());
  lines.push(execFileSync(process.execPath, args, { env: { ...process.env, ELAX_TAIL_CODES: '0' }, encoding: 'utf8' }).trim());
}
console.log(lines.join('\n'));

/** Times two ways of running each query, alternating A B A B (after a warm-up of each); their sorted latencies. */
async function timeAB(a: (q: number[]) => Promise<unknown>, b: (q: number[]) => Promise<unknown>): Promise<[number[], number[]]> {
  for (let i = 0; i < 3; i++) {
    await a(queries[i % Q]!);
    await b(queries[i % Q]!);
  }
  const [ma, mb]: [number[], number[]] = [[], []];
  for (const q of queries) {
    let t0 = performance.now();
    await a(q);
    ma.push(performance.now() - t0);
    t0 = performance.now();
    await b(q);
    mb.push(performance.now() - t0);
  }
  return [ma.sort((x, y) => x - y), mb.sort((x, y) => x - y)];
}

function row(label: string, ms: number[]): string {
  const p50 = percentile(ms, 50);
  return `| ${label} | ${p50.toFixed(2)} ms | ${percentile(ms, 99).toFixed(2)} ms | ${((p50 * 1e6) / N).toFixed(0)} ns |`;
}
