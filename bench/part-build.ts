/**
 * The indexer's CPU per indexed row, in process (issue 17): format-3 part builds (crates-ts/part/build-v3.ts, what
 * the embedded indexer and compaction run per part), no storage, one thread.
 *
 *   node bin/run-ts.mjs bench/part-build.ts [--rows 100000] [--part-rows 25000] [--dims 128] [--reps 3] [--text true]
 *
 * Data: bench/lib.ts gaussianMixture (seed 17, as bench/mixed-load.ts), cosine distance, each row with a 10-value
 * filterable `category` and (with --text) an 8-word full-text `text`, as mixed-load's documents. Phases:
 *   1. index: the rows in `--part-rows` parts, in WAL order, as the indexer builds them: the first part trains the
 *      codebook, each later one is assigned to (and may extend) the codebook its predecessor left;
 *   2. compact: one merge of all those parts into one (IvfBuildOptions.merge, as indexer/compact.ts).
 * With --kernels true, first the per-row kernels of a format-3 build alone over the same rows (best of 5): the
 * rotation, RaBitQ and refine encoding of every row against its nearest of 100 centroids.
 * Per phase: the best of `--reps` runs' CPU time (process.cpuUsage: this thread plus V8's GC helpers), as µs per
 * row, and a sha256 over every built file: the same digest before and after a change means byte-identical parts.
 */
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { buildPartFiles, type BuiltPart, type PartBuildInput } from '../crates-ts/part/index.js';
import type { Doc, Id, Schema } from '../crates-ts/core/index.js';
import { assignToCodebook, encodeCluster, encodeRefine, fhtRotation, indexSpace, seededRandom, trainCodebook, type Codebook } from '../crates-ts/ivf/index.js';
import { parseSchemaUpdate } from '../crates-ts/schema/schema-update.js';
import { gaussianMixture, machine, rng } from './lib.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    'part-rows': { type: 'string', default: '25000' },
    dims: { type: 'string', default: '128' },
    reps: { type: 'string', default: '3' },
    text: { type: 'string', default: 'true' },
    kernels: { type: 'string', default: 'false' },
  },
});
const N = Number(values.rows);
const partRows = Number(values['part-rows']);
const dims = Number(values.dims);
const reps = Number(values.reps);
const withText = values.text !== 'false';

const rand = rng(17);
const vectorOf = gaussianMixture(rand, dims);
const WORDS = 2000;
const word = () => `w${Math.floor(Math.exp(rand() * Math.log(WORDS + 1))) - 1}`;
const docs: Doc[] = [];
for (let i = 0; i < N; i++) {
  const attrs: Doc['attrs'] = { category: `c${i % 10}` };
  if (withText) attrs.text = Array.from({ length: 8 }, word).join(' ');
  docs.push({ id: i, vector: Float32Array.from(vectorOf()), attrs });
}
// As the server stores mixed-load's schema ({text: {type: 'string', full_text_search: true}, category: ...}).
const schema: Schema = parseSchemaUpdate({ category: { type: 'string', filterable: true }, ...(withText ? { text: { type: 'string', full_text_search: true } } : {}) });

function input(from: number, to: number, level: number, vectorIndex: PartBuildInput['vectorIndex']): PartBuildInput {
  const changes = new Map<Id, Doc | null>();
  const seqs = new Map<Id, number>();
  for (let i = from; i < to; i++) {
    changes.set(docs[i]!.id, docs[i]!);
    seqs.set(docs[i]!.id, Math.floor(i / 1000));
  }
  return { namespace: 'bench', partId: `p${from}`, walStart: Math.floor(from / 1000), walEnd: Math.floor((to - 1) / 1000), level, changes, seqs, schema, distanceMetric: 'cosine_distance', createdAt: '2026-01-01T00:00:00.000Z', vectorIndex };
}

function digest(parts: BuiltPart[]): string {
  const h = createHash('sha256');
  for (const p of parts) for (const f of p.files) if (f.name !== 'manifest.json') h.update(f.name).update(f.bytes);
  return h.digest('hex').slice(0, 16);
}

const cpuMs = (t0: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(t0);
  return (u.user + u.system) / 1000;
};

function rowsPerCentroid(cb: Codebook, to: number): number[] {
  const raw = new Float32Array(to * dims);
  for (let i = 0; i < to; i++) raw.set(docs[i]!.vector!, i * dims);
  const counts = new Array<number>(cb.k).fill(0);
  for (const c of assignToCodebook(cb, indexSpace('cosine_distance', raw, dims), to)) counts[c]!++;
  return counts;
}

async function indexPhase(): Promise<{ ms: number; wall: number; parts: BuiltPart[]; codebook: Codebook }> {
  const w0 = performance.now();
  const parts: BuiltPart[] = [];
  let codebook: Codebook | null = null;
  let ms = 0;
  for (let from = 0; from < N; from += partRows) {
    const to = Math.min(N, from + partRows);
    // Rows per centroid in the earlier parts (vector-index.ts passes them as `others`), not timed.
    const others = codebook && rowsPerCentroid(codebook, from);
    const t0 = process.cpuUsage();
    const built = await buildPartFiles(input(from, to, 0, { kind: 'ivf', codebook, ...(others ? { others } : {}) }));
    ms += cpuMs(t0);
    codebook = built.codebook!.codebook;
    parts.push(built);
  }
  return { ms, wall: performance.now() - w0, parts, codebook: codebook! };
}

async function compactPhase(codebook: Codebook): Promise<{ ms: number; wall: number; parts: BuiltPart[] }> {
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  const built = await buildPartFiles(input(0, N, 1, { kind: 'ivf', codebook, merge: { keep: [] } }));
  return { ms: cpuMs(t0), wall: performance.now() - w0, parts: [built] };
}

function kernels(): void {
  const raw = new Float32Array(N * dims);
  for (let i = 0; i < N; i++) raw.set(docs[i]!.vector!, i * dims);
  const data = indexSpace('cosine_distance', raw, dims);
  const { codebook: cb, clusterOf } = trainCodebook(data, dims, N, 'cosine_distance', { random: seededRandom(1), normalised: true, targetSize: N / 100 });
  const members: number[][] = Array.from({ length: cb.k }, () => []);
  clusterOf.forEach((c, r) => members[c]!.push(r));
  const rotation = fhtRotation(dims, seededRandom(2));
  const out = new Float64Array(rotation.padded);
  const time = (f: () => void) => {
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t = process.cpuUsage();
      f();
      best = Math.min(best, cpuMs(t));
    }
    return `${((1000 * best) / N).toFixed(3)} µs/row`;
  };
  console.log(`kernels (${N} rows, k ${cb.k}, best of 5):`);
  console.log(`  rotation apply: ${time(() => { for (let r = 0; r < N; r++) rotation.apply(data, r * dims, out); })}`);
  console.log(`  encodeCluster:  ${time(() => { members.forEach((rows, c) => encodeCluster(data, rows, cb.centroids, c * dims, rotation, 0)); })}`);
  console.log(`  encodeRefine:   ${time(() => { members.forEach((rows, c) => encodeRefine(data, rows, cb.centroids, c * dims, dims, true)); })}`);
  console.log(`  indexSpace:     ${time(() => indexSpace('cosine_distance', raw, dims))}`);
}

console.log(`# part-build: ${N} rows × ${dims}-d cosine, parts of ${partRows}, text ${withText}; ${machine()}`);
if (values.kernels === 'true') kernels();
const best = { index: Infinity, compact: Infinity };
for (let r = 0; r < reps; r++) {
  const ix = await indexPhase();
  const cp = await compactPhase(ix.codebook);
  best.index = Math.min(best.index, ix.ms);
  best.compact = Math.min(best.compact, cp.ms);
  console.log(
    `rep ${r}: index ${ix.ms.toFixed(0)} ms cpu (${ix.wall.toFixed(0)} wall, ${((1000 * ix.ms) / N).toFixed(2)} µs/row, codebook v${ix.codebook.version} k ${ix.codebook.k}, digest ${digest(ix.parts)}); ` +
      `compact ${cp.ms.toFixed(0)} ms cpu (${cp.wall.toFixed(0)} wall, ${((1000 * cp.ms) / N).toFixed(2)} µs/row, digest ${digest(cp.parts)})`,
  );
}
console.log(`best: index ${((1000 * best.index) / N).toFixed(2)} µs/row, compact ${((1000 * best.compact) / N).toFixed(2)} µs/row`);
