/**
 * CPU of building one format-3 part (crates-ts/part/build-v3.ts) as the indexer builds it in a pass after the first
 * (indexer/indexer.ts step 4 → indexer/shards.ts buildGroups → buildPartFiles with `{kind: 'ivf', codebook, others}`):
 * a first part of `--rows` rows trains the namespace codebook (not timed), then a second part of `--rows` other rows is
 * built against it, `--reps` times. Rows as bench/mixed-load.ts's `doc()`: 128-d gaussian mixture (cosine), an 8-word
 * full_text_search `text` drawn Zipf-like from 2,000 words, a filterable 10-value string `category`.
 *
 *   nice -n 19 node bin/run-ts.mjs bench/micro/part-build.ts [--rows 50000] [--dims 128] [--reps 5] [--profile true] [--phases true]
 *     [--sequence 0] [--part-rows 18000]
 *
 * Per rep: CPU ms (process.cpuUsage: this thread plus V8's GC helpers) of the whole build and µs/row, and a sha256 of
 * the built files (manifest included): the same digest before and after a change means byte-identical parts. With
 * --profile, one more build under V8's sampling profiler (bench/cpu-profile.ts) charged to phases (inclusive of what
 * each phase calls) and the top self-time functions; the profiler's own overhead makes those ms a little larger.
 * With --phases, the build's steps alone over the second part's rows (best of 7 each, µs per row, and a digest of
 * what each returns): its postings (part/build.ts buildPostingsFiles), its assignment to the first part's codebook
 * (ivf/codebook.ts assignToCodebook) and that codebook's extension by splits (extendCodebook), the RaBitQ codes (ivf encodeCluster) and
 * refine codes (encodeRefine) of its clusters in the first part's codebook, the rotation of every row, the probe
 * estimate, and its text column's blocks (column-block.ts encodeColumnBlock, 1,500 rows a block).
 * With --sequence n, the indexer's passes under a sustained writer (bench/mixed-load.ts): after the first part's
 * codebook, n consecutive parts of `--part-rows` new rows each, every one assigned to the codebook the previous one
 * left (ivf/codebook.ts assignToCodebook, then extendCodebook with `others` = the earlier parts' rows per centroid,
 * as indexer/cluster-usage.ts rowsPerCentroid counts them from their cluster tables), so clusters grow past maxSize
 * through `others` and are split. Per part: the codebook's k, the splits' centroids appended, CPU µs/row of the
 * assignment and of extendCodebook (best of 3), and at the end a digest of every part's codebook and clusters.
 */
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { buildPartFiles, IVF_SEED, type BuiltPart, type PartBuildInput } from '../../crates-ts/part/index.js';
import type { Doc, Id, Schema } from '../../crates-ts/core/index.js';
import { assignToCodebook, codebookRotation, encodeCluster, extendCodebook, encodeRefine, estimateProbes, indexSpace, seededRandom, type Codebook } from '../../crates-ts/ivf/index.js';
import { buildPostingsFiles } from '../../crates-ts/part/build.js';
import { encodeColumnBlock } from '../../crates-ts/part/column-block.js';
import { parseSchemaUpdate } from '../../crates-ts/schema/schema-update.js';
import { gaussianMixture, machine, rng } from '../lib.js';
import { profiled, type Category } from '../cpu-profile.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '50000' },
    dims: { type: 'string', default: '128' },
    reps: { type: 'string', default: '5' },
    profile: { type: 'string', default: 'false' },
    phases: { type: 'string', default: 'false' },
    sequence: { type: 'string', default: '0' },
    'part-rows': { type: 'string', default: '18000' },
  },
});
const N = Number(values.rows);
const dims = Number(values.dims);
const reps = Number(values.reps);

const rand = rng(17);
const vectorOf = gaussianMixture(rand, dims);
const WORDS = 2000;
/** Zipf-ish word choice, as bench/mixed-load.ts: word i with weight ~ 1/(i+1). */
const word = () => `w${Math.floor(Math.exp(rand() * Math.log(WORDS + 1))) - 1}`;
const docs: Doc[] = [];
for (let i = 0; i < 2 * N; i++) {
  // As the WAL decodes mixed-load's JSON rows: the vector a Float32Array, attributes plain values.
  docs.push({ id: i, vector: Float32Array.from(vectorOf()), attrs: { category: `c${i % 10}`, text: Array.from({ length: 8 }, word).join(' ') } });
}
const schema: Schema = parseSchemaUpdate({ text: { type: 'string', full_text_search: true }, category: { type: 'string', filterable: true } });

function input(from: number, to: number, vectorIndex: PartBuildInput['vectorIndex']): PartBuildInput {
  const changes = new Map<Id, Doc | null>();
  const seqs = new Map<Id, number>();
  for (let i = from; i < to; i++) {
    changes.set(docs[i]!.id, docs[i]!);
    seqs.set(docs[i]!.id, Math.floor(i / 1000));
  }
  return { namespace: 'bench', partId: `p${from}`, walStart: Math.floor(from / 1000), walEnd: Math.floor((to - 1) / 1000), level: 0, changes, seqs, schema, distanceMetric: 'cosine_distance', createdAt: '2026-01-01T00:00:00.000Z', vectorIndex };
}

function digest(p: BuiltPart): string {
  const h = createHash('sha256');
  for (const f of p.files) h.update(f.name).update(f.bytes);
  h.update(JSON.stringify(p.manifest));
  return h.digest('hex').slice(0, 16);
}

const cpuMs = (t0: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(t0);
  return (u.user + u.system) / 1000;
};

console.log(`# micro/part-build: ${N} rows × ${dims}-d cosine + text + category, second part against the first's codebook; ${machine()}`);
const first = await buildPartFiles(input(0, N, { kind: 'ivf', codebook: null }));
const codebook: Codebook = first.codebook!.codebook;
// The first part's rows per centroid (indexer/vector-index.ts passes the other parts' as `others`), not timed.
const raw = new Float32Array(N * dims);
for (let i = 0; i < N; i++) raw.set(docs[i]!.vector!, i * dims);
const others = new Array<number>(codebook.k).fill(0);
for (const c of assignToCodebook(codebook, indexSpace('cosine_distance', raw, dims), N)) others[c]!++;
const second = input(N, 2 * N, { kind: 'ivf', codebook, others });
console.log(`codebook v${codebook.version} k ${codebook.k}; first part digest ${digest(first)}`);

const times: number[] = [];
for (let r = 0; r < reps; r++) {
  const w0 = performance.now();
  const t0 = process.cpuUsage();
  const built = await buildPartFiles(second);
  const ms = cpuMs(t0);
  times.push(ms);
  console.log(`rep ${r}: ${ms.toFixed(0)} ms cpu (${(performance.now() - w0).toFixed(0)} wall), ${((1000 * ms) / N).toFixed(2)} µs/row, digest ${digest(built)}`);
}
if (reps > 0) {
  const sorted = [...times].sort((a, b) => a - b);
  const med = sorted[Math.floor(sorted.length / 2)]!;
  console.log(`best ${((1000 * sorted[0]!) / N).toFixed(2)} µs/row, median ${((1000 * med) / N).toFixed(2)} µs/row`);
}

if (values.profile === 'true') {
  const categories: Category[] = [
    { name: 'postings (fts/postings.ts buildPostings, analyzer)', file: 'fts/postings.ts', fns: ['buildPostings'], sticky: true },
    { name: 'rabitq encode (encodeCluster)', file: 'ivf/rabitq.ts', fns: ['encodeCluster'], sticky: true },
    { name: 'refine encode (encodeRefine)', file: 'ivf/refine.ts', fns: ['encodeRefine'], sticky: true },
    { name: 'probe estimate', file: 'ivf/probe-estimate.ts', fns: ['estimateProbes'], sticky: true },
    { name: 'assign + extend codebook', file: 'part/build-v3.ts', fns: ['assignRows'], sticky: true },
    { name: 'index space (ivfRows)', file: 'part/build-v3.ts', fns: ['ivfRows'], sticky: true },
    { name: 'vectorFile', file: 'part/build-v2.ts', fns: ['vectorFile'], sticky: true },
    { name: 'columnFile / keyedFile', file: 'part/build-v2.ts', fns: ['columnFile', 'keyedFile'], sticky: true },
    { name: 'filter indexes', file: 'part/filter-index.ts', fns: ['buildFilterIndexes'], sticky: true },
    { name: 'column stats', file: 'part/head.ts', fns: ['columnStats'], sticky: true },
    { name: 'sha256', file: 'part/manifest.ts', fns: ['sha256'], sticky: true },
    { name: 'other (build-v3.ts)', file: 'part/build-v3.ts' },
    { name: 'other (build-v2.ts)', file: 'part/build-v2.ts' },
  ];
  const { ms, top } = await profiled(() => buildPartFiles(second), categories);
  console.log('profile (ms, inclusive per phase):');
  for (const [k, v] of Object.entries(ms).sort((a, b) => b[1] - a[1])) console.log(`  ${String(v).padStart(6)}  ${k}`);
  console.log('top self:');
  for (const t of top) console.log(`  ${String(t.ms).padStart(6)}  ${t.fn}  [${t.category}]`);
}

if (values.phases === 'true') {
  const rows = docs.slice(N, 2 * N);
  const raw2 = new Float32Array(N * dims);
  for (let i = 0; i < N; i++) raw2.set(rows[i]!.vector!, i * dims);
  const data = indexSpace('cosine_distance', raw2, dims);
  const clusterOf = assignToCodebook(codebook, data, N);
  const members: number[][] = Array.from({ length: codebook.k }, () => []);
  clusterOf.forEach((c, r) => members[c]!.push(r));
  const clusters = members.map((m) => Uint32Array.from(m));
  const rotation = codebookRotation(codebook);
  const out = new Float64Array(rotation.padded);
  const texts = rows.map((d) => d.attrs.text);
  const bytesOf = (x: unknown): Uint8Array[] =>
    x instanceof Uint8Array ? [x] : ArrayBuffer.isView(x) ? [new Uint8Array(x.buffer, x.byteOffset, x.byteLength)] : Array.isArray(x) ? x.flatMap(bytesOf) : x !== null && typeof x === 'object' ? Object.keys(x).sort().flatMap((k) => bytesOf((x as Record<string, unknown>)[k])) : [Buffer.from(JSON.stringify(x ?? null))];
  const phase = (name: string, f: () => unknown) => {
    const h = createHash('sha256');
    for (const b of bytesOf(f())) h.update(b);
    let best = Infinity;
    for (let r = 0; r < 7; r++) {
      const t0 = process.cpuUsage();
      f();
      best = Math.min(best, cpuMs(t0));
    }
    console.log(`  ${name.padEnd(16)} ${((1000 * best) / N).toFixed(3).padStart(7)} µs/row  digest ${h.digest('hex').slice(0, 12)}`);
  };
  console.log('phases (alone, best of 7):');
  phase('postings', () => buildPostingsFiles(second, rows).files);
  phase('assign', () => assignToCodebook(codebook, data, N));
  phase('extendCodebook', () => extendCodebook(codebook, data, N, clusterOf, { random: seededRandom(IVF_SEED), others }));
  phase('encodeCluster', () => clusters.map((r, c) => (r.length > 0 ? encodeCluster(data, r, codebook.centroids, c * dims, rotation, 0) : null)));
  phase('encodeRefine', () => clusters.map((r, c) => (r.length > 0 ? encodeRefine(data, r, codebook.centroids, c * dims, dims, true) : null)));
  phase('rotation', () => {
    for (let r = 0; r < N; r++) rotation.apply(data, r * dims, out);
    return out;
  });
  phase('estimateProbes', () => estimateProbes({ data, n: N, dims, clusterOf, centroids: codebook.centroids, k: codebook.k, random: seededRandom(2) }));
  phase('text column', () => {
    const blocks: Uint8Array[] = [];
    for (let s = 0; s < N; s += 1500) blocks.push(encodeColumnBlock(texts.slice(s, s + 1500), 'utf8'));
    return blocks;
  });
}

const sequence = Number(values.sequence);
if (sequence > 0) {
  // The sequence's vectors come after the documents' (same generator), not timed.
  const partRows = Number(values['part-rows']);
  let cb = codebook;
  const seqOthers = [...others];
  const h = createHash('sha256');
  let assignMs = 0;
  let extendMs = 0;
  console.log(`sequence: ${sequence} parts of ${partRows} rows, each against the codebook the previous one left (v${cb.version}, k ${cb.k}), others as the indexer counts them:`);
  for (let p = 0; p < sequence; p++) {
    const raw3 = new Float32Array(partRows * dims);
    for (let i = 0; i < partRows; i++) raw3.set(vectorOf(), i * dims);
    const data = indexSpace('cosine_distance', raw3, dims);
    let t0 = process.cpuUsage();
    const nearest = assignToCodebook(cb, data, partRows);
    const aMs = cpuMs(t0);
    let best = Infinity;
    let out: ReturnType<typeof extendCodebook> | undefined;
    for (let r = 0; r < 3; r++) {
      t0 = process.cpuUsage();
      out = extendCodebook(cb, data, partRows, nearest, { random: seededRandom(IVF_SEED), others: seqOthers });
      best = Math.min(best, cpuMs(t0));
    }
    assignMs += aMs;
    extendMs += best;
    const next = out!.codebook;
    console.log(`  part ${p}: k ${cb.k} -> ${next.k}, assign ${((1000 * aMs) / partRows).toFixed(2)} µs/row, extendCodebook ${((1000 * best) / partRows).toFixed(2)} µs/row`);
    h.update(new Uint8Array(next.centroids.buffer, next.centroids.byteOffset, next.centroids.byteLength)).update(new Uint8Array(next.radii.buffer)).update(new Uint8Array(out!.clusterOf.buffer));
    for (const c of out!.clusterOf) seqOthers[c] = (seqOthers[c] ?? 0) + 1;
    cb = next;
  }
  const total = sequence * partRows;
  console.log(`sequence total: assign ${((1000 * assignMs) / total).toFixed(2)} µs/row, extendCodebook ${((1000 * extendMs) / total).toFixed(2)} µs/row (best of 3 per part); final k ${cb.k}; digest ${h.digest('hex').slice(0, 16)}`);
}
