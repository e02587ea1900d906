/**
 * The event loop's cost of folding committed rows into a namespace's tail (issue 17), in process, no store: entries
 * of `--per-entry` rows shaped as bench/mixed-load.ts writes them (a `--dims`-d vector, a 10-value `category`, an
 * 8-word Zipf `text` whose text index a BM25 query asked for), folded through TailSegment.upsert as
 * NamespaceView.applyOps does. Prints µs per row (total and per stage: vectors only, + attributes, + text), the
 * young-generation and full GCs and their pause, and the heap after.
 *
 *   node --expose-gc bin/run-ts.mjs bench/micro/fold.ts [--rows 200000] [--dims 128] [--per-entry 1000] [--repeat 3]
 */
import { parseArgs } from 'node:util';
import { PerformanceObserver } from 'node:perf_hooks';
import { TailSegment } from '../../crates-ts/namespace/tail-segment.js';
import { analyzerFor, DEFAULT_FULL_TEXT_CONFIG } from '../../crates-ts/fts/index.js';
import type { Doc } from '../../crates-ts/core/index.js';
import { machine, rng } from '../lib.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '200000' }, dims: { type: 'string', default: '128' }, 'per-entry': { type: 'string', default: '1000' }, repeat: { type: 'string', default: '3' } },
});
const N = Number(values.rows);
const D = Number(values.dims);
const PER = Number(values['per-entry']);
const REPEAT = Number(values.repeat);
const rand = rng(17);
const word = () => `w${Math.floor(Math.exp(rand() * Math.log(2001))) - 1}`;
const analyzer = analyzerFor(DEFAULT_FULL_TEXT_CONFIG);
const gc = (globalThis as { gc?: () => void }).gc;

/** One entry's documents as the write path hands them to the fold: vectors are views of one buffer per request. */
function entryDocs(from: number, n: number, stage: 'vector' | 'attrs' | 'text'): Doc[] {
  const buf = new Float32Array(n * D);
  for (let i = 0; i < buf.length; i++) buf[i] = rand() * 2 - 1;
  const docs: Doc[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const id = from + i;
    const attrs: Doc['attrs'] = stage === 'vector' ? {} : { category: `c${id % 10}`, text: Array.from({ length: 8 }, word).join(' ') };
    docs[i] = { id, vector: buf.subarray(i * D, (i + 1) * D), attrs };
  }
  return docs;
}

let gcMs = 0;
let gcCount = 0;
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    gcCount++;
  }
});
obs.observe({ entryTypes: ['gc'] });

console.log(`# ${machine()}`);
console.log(`${N} rows of ${D}-d vectors in entries of ${PER}; best of ${REPEAT}`);
for (const stage of ['vector', 'attrs', 'text'] as const) {
  let best = Infinity;
  let bestGc = 0;
  for (let rep = 0; rep < REPEAT; rep++) {
    const entries: Doc[][] = [];
    for (let from = 0; from < N; from += PER) entries.push(entryDocs(from, Math.min(PER, N - from), stage));
    gc?.();
    await new Promise((r) => setTimeout(r, 10));
    gcMs = 0;
    gcCount = 0;
    const tail = new TailSegment();
    if (stage === 'text') tail.loosePostings('text', analyzer);
    const t0 = performance.now();
    for (const docs of entries) {
      tail.beginEntry();
      for (const d of docs) {
        tail.has(d.id);
        tail.upsert(d);
      }
      tail.endEntry();
    }
    const ms = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 10));
    if (ms < best) {
      best = ms;
      bestGc = gcMs;
    }
    if (tail.rows !== N) throw new Error('rows lost');
  }
  console.log(`${stage.padEnd(6)}: ${((1000 * best) / N).toFixed(2)} µs/row (GC during the fold ${bestGc.toFixed(0)} ms)`);
}
obs.disconnect();
