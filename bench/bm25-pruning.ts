/**
 * What the BM25 postings and max-score pruning buy, in process (no HTTP): top-10 latency for 1-, 2- and 5-term
 * queries scored (a) from postings with max-score pruning (the query path), (b) from postings scoring every matching
 * document (no pruning), (c) by analysing every live document (the path without parts; analysis memoised, so
 * this is the warm exhaustive cost). All three must return the same top 10; the run checks it.
 *
 *   node bin/run-ts.mjs bench/bm25-pruning.ts [--docs 200000] [--queries 100]
 *
 * Data: seeded short documents (8-20 tokens) over a Zipf(1.07) vocabulary of 50k synthetic words.
 */
import { parseArgs } from 'node:util';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { planTextRank } from '../crates-ts/fts/index.js';
import { textSources } from '../crates-ts/query/index.js';
import { Indexer } from '../indexer/indexer.js';
import { percentile, rng, machine } from './lib.js';
import { zipfSampler } from './data/zipf.js';

const { values } = parseArgs({ options: { docs: { type: 'string', default: '200000' }, queries: { type: 'string', default: '100' } } });
const N = Number(values.docs);
const Q = Number(values.queries);
const VOCAB = 50_000;
const rand = rng(11);
const word = (i: number) => `w${i.toString(36)}`;
const zipf = zipfSampler(VOCAB, 1.07, rand);

const store = new MemoryStore();
let t = Date.now();
const engine = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
const ns = 'bm25';
await engine.updateSchema(ns, { text: { type: 'string', full_text_search: true } });
const started = performance.now();
for (let b = 0; b < N; b += 10_000) {
  const rows = [];
  for (let i = b; i < Math.min(N, b + 10_000); i++) {
    const len = 8 + Math.floor(rand() * 13);
    rows.push({ id: i, text: Array.from({ length: len }, () => word(zipf())).join(' ') });
  }
  await engine.write(ns, { upsert_rows: rows });
}
const writeS = (performance.now() - started) / 1000;
const indexer = new Indexer(store, { clock: { now: () => Date.now() }, nonce: () => 'b' });
const idxStart = performance.now();
while ((await indexer.indexNamespace(ns, true)).result === 'published');
const indexS = (performance.now() - idxStart) / 1000;
const view = await engine.catalog.require(ns, 'strong');
console.log(`# ${machine()}`);
console.log(`docs ${N}, parts ${view.parts.length}, write ${writeS.toFixed(1)} s, index (postings + rows) ${indexS.toFixed(1)} s = ${Math.round(N / indexS)} docs/s`);

const rows: string[] = ['| terms | pruned p50 | pruned p99 | all matches p50 | all matches p99 | analyse-all p50 | avg matches |', '|---|---|---|---|---|---|---|'];
for (const nTerms of [1, 2, 5]) {
  const times = { pruned: [] as number[], all: [] as number[], exhaustive: [] as number[] };
  let matches = 0;
  for (let qi = 0; qi < Q; qi++) {
    // Mix frequent and rare terms: half from the head of the Zipf curve, half uniformly from the vocabulary.
    const terms = Array.from({ length: nTerms }, (_, j) => word(j % 2 === 0 ? zipf() : Math.floor(rand() * 2000)));
    const rankBy = ['text', 'BM25', terms.join(' ')];
    const plan = planTextRank(rankBy, view.schema);
    await view.prepare({ postings: plan.needs }); // fetch the lists (the engine does this before every query)
    const top = (s: Array<{ doc: { id: unknown }; score: number }>) =>
      [...s].sort((a, b) => b.score - a.score || (a.doc.id as number) - (b.doc.id as number)).slice(0, 10).map((x) => x.doc.id).join(',');
    const segs = view.segments();
    const asDocs = (hits: { source: number; ord: number; score: number }[]) => hits.map((h) => ({ doc: { id: segs[h.source]!.id(h.ord) }, score: h.score }));
    let t0 = performance.now();
    const pruned = asDocs(plan.evaluateSources(textSources(segs), 10));
    times.pruned.push(performance.now() - t0);
    t0 = performance.now();
    const all = asDocs(plan.evaluateSources(textSources(segs), null));
    times.all.push(performance.now() - t0);
    matches += all.length;
    if (qi < 20 || nTerms === 1) {
      const live = [];
      for await (const d of view.liveDocs()) live.push(d);
      if (qi === 0) plan.evaluate(live); // first pass analyses every document (memoised after)
      t0 = performance.now();
      const ex = plan.evaluate(live);
      times.exhaustive.push(performance.now() - t0);
      if (top(ex) !== top(all)) throw new Error(`exhaustive and postings top-10 differ for ${terms.join(' ')}`);
    }
    if (top(pruned) !== top(all)) throw new Error(`pruned and full top-10 differ for ${terms.join(' ')}`);
  }
  for (const k of Object.keys(times) as Array<keyof typeof times>) times[k].sort((a, b) => a - b);
  const f = (v: number) => `${v.toFixed(2)} ms`;
  rows.push(`| ${nTerms} | ${f(percentile(times.pruned, 50))} | ${f(percentile(times.pruned, 99))} | ${f(percentile(times.all, 50))} | ${f(percentile(times.all, 99))} | ${f(percentile(times.exhaustive, 50))} | ${Math.round(matches / Q)} |`);
}
console.log(rows.join('\n'));
