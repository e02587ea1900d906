/**
 * Full-text (BM25) benchmark: index build rate and query latency for 1-, 2- and 5-term queries, elax next to
 * minisearch and flexsearch on the same documents in the same run.
 *
 *   node bin/run-ts.mjs bench/fts.ts --dataset wordnet                       # 117,791 WordNet 3.1 glosses
 *   node --max-old-space-size=16000 bin/run-ts.mjs bench/fts.ts --dataset zipf --docs 1000000
 *   options: --queries 200 --warmup 50 --batch 5000 --clients 2 --systems elax,minisearch,flexsearch --seed 1
 *            --server-heap-mib 20000 (the elax server's --max-old-space-size)
 *
 * elax: `elax serve` as a child process on a fresh local-directory store with its embedded indexer; documents go
 * in through the HTTP API in batches; "searchable" = all writes acknowledged + metadata reports the index
 * up-to-date; queries are `rank_by: ['text', 'BM25', q]`, top_k 10, over HTTP (client latency) with the server's own
 * `performance` fields recorded alongside (in-process cost without HTTP/JSON). The query set runs three times: a
 * first pass (parts read each term's postings on first use), then warm with strong consistency (the headline
 * numbers), then warm with eventual consistency (no router.json read / WAL listing per query). A cold first query
 * on a fresh process and the GET /health round trip (the HTTP floor) are reported too. The text attribute keeps stop words
 * (remove_stopwords: false) so that all three systems index the same tokens: lowercased alphanumeric runs.
 * Correctness: the script keeps a plain inverted index of the same tokens and checks every elax top-10 against
 * exact exhaustive BM25 (same formula, k1 1.2, b 0.75): the score lists must be equal.
 * minisearch: in-process, BM25 with k1 1.2, b 0.75, d 0 (i.e. not BM25+); its ranking still differs from textbook
 * BM25: document length is its number of *distinct* terms, and a document's sum is multiplied by the number of
 * query terms it matches; it returns every match, sorted (no top-k cut). flexsearch: in-process, a matcher without BM25
 * (contextual term-position scoring; multi-term queries are AND by default): a speed reference only.
 * Systems run one after another (the elax server is stopped before the in-process peers build), so none shares the
 * 2 cores with another.
 *
 * Queries: each term is, with probability 1/2, drawn in proportion to its corpus frequency (frequent terms: 'of',
 * 'a', 'the' dominate on WordNet since stop words are kept) and otherwise uniformly from the vocabulary (mostly rare
 * terms); terms in one query are distinct. Seeded: the same queries for every system and every run.
 */
import { parseArgs } from 'node:util';
import MiniSearch from 'minisearch';
import FlexSearch from 'flexsearch';
import { startServerProcess, rng, machine, latencySummary, postJson, writeRows, waitIndexed, processMemory, localParts, httpFloor, removeServerFiles } from './lib.js';
import { loadWordnet, normalize } from './data/wordnet.js';
import { zipfDocs } from './data/zipf.js';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'wordnet' },
    docs: { type: 'string' },
    queries: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '50' },
    batch: { type: 'string', default: '5000' },
    clients: { type: 'string', default: '2' },
    systems: { type: 'string', default: 'elax,minisearch,flexsearch' },
    seed: { type: 'string', default: '1' },
    'server-heap-mib': { type: 'string', default: '20000' },
  },
});
const Q = Number(values.queries);
const WARMUP = Number(values.warmup);
const SEED = Number(values.seed);
const systems = new Set(values.systems!.split(','));
const CLASSES = [1, 2, 5];
const TOP_K = 10;

interface BenchDoc {
  id: string | number;
  text: string;
  words?: string[];
}

function loadDocs(): BenchDoc[] {
  if (values.dataset === 'wordnet') {
    const all = loadWordnet();
    return values.docs ? all.slice(0, Number(values.docs)) : all;
  }
  if (values.dataset === 'zipf') return [...zipfDocs({ docs: Number(values.docs ?? 1_000_000), seed: SEED })];
  throw new Error(`--dataset must be wordnet or zipf, got ${values.dataset}`);
}

const gc = (globalThis as { gc?: () => void }).gc;
const heapMib = () => {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

type Top = { id: string | number; score: number }[];
const docs = loadDocs();
console.log(`machine: ${machine()}; dataset=${values.dataset} docs=${docs.length} queries/class=${Q} warmup=${WARMUP} seed=${SEED}`);

// Corpus statistics for query sampling, and a plain inverted index: the exact BM25 reference (exhaustive top-k)
// that elax's results are checked against.
const cf = new Map<string, number>();
const df = new Map<string, number>();
const postings = new Map<string, number[]>(); // docIdx, tf, docIdx, tf, ...
const docLen = new Uint32Array(docs.length);
let tokenCount = 0;
for (let i = 0; i < docs.length; i++) {
  const toks = normalize(docs[i]!.text).split(' ').filter(Boolean);
  tokenCount += toks.length;
  docLen[i] = toks.length;
  const tf = new Map<string, number>();
  for (const t of toks) tf.set(t, (tf.get(t) ?? 0) + 1);
  for (const [t, n] of tf) {
    cf.set(t, (cf.get(t) ?? 0) + n);
    df.set(t, (df.get(t) ?? 0) + 1);
    let p = postings.get(t);
    if (!p) postings.set(t, (p = []));
    p.push(i, n);
  }
}
const avgLen = tokenCount / docs.length;
/** Exact BM25 (k1 1.2, b 0.75, elax's formula, see crates-ts/fts/bm25.ts) top-k by exhaustive accumulation. */
function referenceTop(q: string): Top {
  const acc = new Map<number, number>();
  for (const t of q.split(' ')) {
    const p = postings.get(t);
    if (!p) continue;
    const n = p.length / 2;
    const idf = Math.log(1 + (docs.length - n + 0.5) / (n + 0.5));
    for (let j = 0; j < p.length; j += 2) {
      const tf = p[j + 1]!;
      const s = (idf * (tf * 2.2)) / (tf + 1.2 * (0.25 + (0.75 * docLen[p[j]!]!) / avgLen));
      acc.set(p[j]!, (acc.get(p[j]!) ?? 0) + s);
    }
  }
  return [...acc].sort((a, b) => b[1] - a[1]).slice(0, TOP_K).map(([i, score]) => ({ id: docs[i]!.id, score }));
}
const vocab = [...cf.keys()].sort((a, b) => cf.get(b)! - cf.get(a)! || (a < b ? -1 : 1));
const cum = new Float64Array(vocab.length);
vocab.reduce((acc, t, i) => (cum[i] = acc + cf.get(t)!), 0);
console.log(JSON.stringify({ tokens: tokenCount, distinct_terms: vocab.length, top_terms: vocab.slice(0, 5).map((t) => [t, df.get(t)]) }));

function makeQueries(n: number, terms: number, rand: () => number): string[] {
  const pickFrequent = () => {
    const u = rand() * cum[cum.length - 1]!;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return vocab[lo]!;
  };
  return Array.from({ length: n }, () => {
    const q = new Set<string>();
    while (q.size < terms) q.add(rand() < 0.5 ? pickFrequent() : vocab[Math.floor(rand() * vocab.length)]!);
    return [...q].join(' ');
  });
}
const qrand = rng(SEED * 1000 + 17);
const warmupQueries = makeQueries(WARMUP, 2, qrand);
const queryClasses = CLASSES.map((k) => ({ terms: k, queries: makeQueries(Q, k, qrand) }));
const dfSum = (q: string) => q.split(' ').reduce((s, t) => s + (df.get(t) ?? 0), 0);
console.log(JSON.stringify({ query_postings_mean: queryClasses.map((c) => [c.terms, Math.round(c.queries.reduce((s, q) => s + dfSum(q), 0) / Q)]) }));

interface ClassResult {
  terms: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  server?: Record<string, number>;
  tops: Top[];
}
interface SystemResult {
  system: string;
  build: Record<string, number | string>;
  classes: ClassResult[];
  extra?: Record<string, unknown>;
}
const results: SystemResult[] = [];

async function timeClasses(run: (q: string) => Promise<Top> | Top, server?: (q: string) => Promise<Record<string, number>>): Promise<ClassResult[]> {
  for (const q of warmupQueries) await run(q);
  const out: ClassResult[] = [];
  for (const c of queryClasses) {
    const lat: number[] = [];
    const tops: Top[] = [];
    for (const q of c.queries) {
      const s = performance.now();
      tops.push(await run(q));
      lat.push(performance.now() - s);
    }
    const l = latencySummary(lat);
    out.push({ terms: c.terms, p50_ms: l.p50, p99_ms: l.p99, mean_ms: l.mean, tops, ...(server ? { server: await server(c.queries.join('\n')) } : {}) });
  }
  return out;
}

async function runElax(): Promise<SystemResult> {
  const env = { NODE_OPTIONS: `--max-old-space-size=${values['server-heap-mib']}` };
  const server = await startServerProcess({ env });
  const ns = 'fts';
  const schema = { text: { type: 'string', full_text_search: { remove_stopwords: false } }, ...(docs[0]!.words ? { words: { type: '[]string' } } : {}) };
  try {
    const t0 = performance.now();
    const w = await writeRows(server.url, ns, docs as unknown as Record<string, unknown>[], { batch: Number(values.batch), clients: Number(values.clients), extra: { schema } });
    const writeS = (performance.now() - t0) / 1000;
    const memAfterWrite = processMemory(server.child.pid!);
    const meta = await waitIndexed(server.url, ns);
    const searchableS = (performance.now() - t0) / 1000;
    if (meta.approx_row_count !== docs.length) throw new Error(`elax reports ${String(meta.approx_row_count)} rows, wrote ${docs.length}`);
    const memIndexed = processMemory(server.child.pid!);
    const parts = localParts(server.store, ns);
    const floor = await httpFloor(server.url);
    const perf: Record<string, number>[] = [];
    const query = (consistency: 'strong' | 'eventual') => async (q: string): Promise<Top> => {
      const body = { rank_by: ['text', 'BM25', q], top_k: TOP_K, ...(consistency === 'eventual' ? { consistency: { level: 'eventual' } } : {}) };
      const r = await postJson<{ rows: { id: string | number; $dist: number }[]; performance: Record<string, number> }>(`${server.url}/v2/namespaces/${ns}/query`, body);
      perf.push(r.performance);
      return r.rows.map((x) => ({ id: x.id, score: x.$dist }));
    };
    // Server-side cost per class: means of the response's performance fields over that class's queries.
    const serverFields = async () => {
      const mine = perf.splice(0, perf.length).slice(-Q);
      const mean = (k: string) => +(mine.reduce((s, p) => s + (p[k] ?? 0), 0) / mine.length).toFixed(2);
      return { server_total_ms_mean: mean('server_total_ms'), query_execution_ms_mean: mean('query_execution_ms'), exhaustive_search_count_max: Math.max(...mine.map((p) => p.exhaustive_search_count ?? 0)) };
    };
    // First touch: a part loads a term's postings on first use, so the first pass over the query set pays those
    // reads; the measured passes below run after it (warm), first strong, then eventual.
    const firstTouch = (await timeClasses(query('strong'), serverFields)).map(({ tops: _t, ...c }) => c);
    const classes = await timeClasses(query('strong'), serverFields);
    // The same queries with eventual consistency: no router.json read / WAL listing per query.
    const eventual = (await timeClasses(query('eventual'), serverFields)).map(({ tops: _t, ...c }) => c);
    const memQueried = processMemory(server.child.pid!);
    await server.stop();
    removeServerFiles(server, { keepStore: true });
    // Cold: a new process on the same store (empty part caches; the OS page cache is still warm). Without the
    // embedded indexer: there is nothing to index, and its worker's start-up would compete for the 2 cores.
    const cold = await startServerProcess({ store: server.store, env, args: ['--no-indexer'] });
    const tc = performance.now();
    await postJson(`${cold.url}/v2/namespaces/${ns}/query`, { rank_by: ['text', 'BM25', queryClasses[1]!.queries[0]!], top_k: TOP_K });
    const coldMs = performance.now() - tc;
    const tc2 = performance.now();
    await postJson(`${cold.url}/v2/namespaces/${ns}/query`, { rank_by: ['text', 'BM25', queryClasses[1]!.queries[1]!], top_k: TOP_K });
    const secondMs = performance.now() - tc2;
    const coldMem = processMemory(cold.child.pid!);
    await cold.stop();
    removeServerFiles(cold);
    return {
      system: 'elax (HTTP)',
      build: {
        write_s: +writeS.toFixed(1),
        searchable_s: +searchableS.toFixed(1),
        docs_per_s: Math.round(docs.length / searchableS),
        write_docs_per_s: Math.round(docs.length / writeS),
        requests: w.requests,
        ...parts,
        server_rss_mib_after_write: memAfterWrite.rss_mib,
        server_rss_mib_indexed: memIndexed.rss_mib,
        server_peak_rss_mib: memQueried.peak_rss_mib,
      },
      classes,
      extra: { http_floor_ms: floor, first_touch: firstTouch, eventual, cold_first_query_ms: Math.round(coldMs), cold_second_query_ms: Math.round(secondMs), cold_server_rss_mib: coldMem.rss_mib },
    };
  } catch (e) {
    await server.stop();
    throw e;
  }
}

async function runMinisearch(): Promise<SystemResult> {
  const before = heapMib();
  const t0 = performance.now();
  const ms = new MiniSearch<BenchDoc>({
    fields: ['text'],
    idField: 'id',
    tokenize: (s) => normalize(s).split(' '),
    processTerm: (t) => t || null,
    searchOptions: { bm25: { k: 1.2, b: 0.75, d: 0 } },
  });
  ms.addAll(docs);
  const buildS = (performance.now() - t0) / 1000;
  const heap = heapMib() - before;
  const matches: number[] = [];
  const classes = await timeClasses((q) => {
    const r = ms.search(q);
    matches.push(r.length);
    return r.slice(0, TOP_K).map((x) => ({ id: x.id as string | number, score: x.score }));
  });
  const perClass = CLASSES.map((k, i) => Math.round(matches.slice(WARMUP + i * Q, WARMUP + (i + 1) * Q).reduce((s, x) => s + x, 0) / Q));
  return { system: 'minisearch 7.2.0 (in-process)', build: { build_s: +buildS.toFixed(1), docs_per_s: Math.round(docs.length / buildS), heap_mib: Math.round(heap) }, classes, extra: { mean_matches_per_class: perClass } };
}

async function runFlexsearch(): Promise<SystemResult> {
  const before = heapMib();
  const t0 = performance.now();
  const index = new FlexSearch.Index({ encode: (s: string) => normalize(s).split(' ') });
  for (let i = 0; i < docs.length; i++) index.add(i, docs[i]!.text);
  const buildS = (performance.now() - t0) / 1000;
  const heap = heapMib() - before;
  let empty = 0;
  const classes = await timeClasses((q) => {
    const r = index.search(q, { limit: TOP_K }) as number[];
    if (r.length === 0) empty++;
    return r.map((i) => ({ id: docs[i]!.id, score: NaN }));
  });
  return { system: 'flexsearch 0.8.212 (in-process, AND, no BM25)', build: { build_s: +buildS.toFixed(1), docs_per_s: Math.round(docs.length / buildS), heap_mib: Math.round(heap) }, classes, extra: { queries_without_hits: empty } };
}

for (const [name, run] of [['elax', runElax], ['minisearch', runMinisearch], ['flexsearch', runFlexsearch]] as const) {
  if (!systems.has(name)) continue;
  const r = await run();
  results.push(r);
  // One line per system as soon as it is done (a long run shows progress; the summary follows at the end).
  console.log(JSON.stringify({ ...r, classes: r.classes.map(({ tops: _t, ...c }) => c) }));
}

// Agreement with the exact reference: elax must return the reference's top-10 scores (ids may differ only among
// equal scores at the cut). minisearch's ranking differs by design (its length normalisation counts distinct terms,
// and it multiplies by the number of matched query terms): its id overlap shows by how much.
const agreement = results
  .filter((r) => !r.system.startsWith('flexsearch'))
  .map((r) => ({
    system: r.system,
    classes: CLASSES.map((k, i) => {
      let scoresEqual = 0;
      let idOverlap = 0;
      let worst = 0;
      for (let j = 0; j < Q; j++) {
        const a = r.classes[i]!.tops[j]!;
        const b = referenceTop(queryClasses[i]!.queries[j]!);
        if (a.length === b.length && a.every((x, m) => Math.abs(x.score - b[m]!.score) <= 1e-9 * Math.max(1, Math.abs(x.score)))) scoresEqual++;
        for (let m = 0; m < Math.min(a.length, b.length); m++) worst = Math.max(worst, Math.abs(a[m]!.score - b[m]!.score));
        const ids = new Set(b.map((x) => x.id));
        idOverlap += b.length === 0 ? 1 : a.filter((x) => ids.has(x.id)).length / b.length;
      }
      return { terms: k, top10_scores_equal: `${scoresEqual}/${Q}`, mean_id_overlap: +(idOverlap / Q).toFixed(3), max_score_diff: +worst.toExponential(2) };
    }),
  }));
console.log(JSON.stringify({ agreement_with_exact_bm25: agreement }));

console.log('\n| system | build (docs/s) | build detail | ' + CLASSES.map((k) => `${k}-term p50 / p99 ms`).join(' | ') + ' |');
console.log('|---|---:|---|' + CLASSES.map(() => '---:').join('|') + '|');
for (const r of results) {
  const { docs_per_s, ...detail } = r.build;
  console.log(`| ${r.system} | ${Number(docs_per_s).toLocaleString('en-US')} | ${Object.entries(detail).map(([k, v]) => `${k} ${v}`).join(', ')} | ` + r.classes.map((c) => `${c.p50_ms} / ${c.p99_ms}`).join(' | ') + ' |');
}
const elax = results.find((r) => r.system.startsWith('elax'));
if (elax) {
  console.log('| elax server-side (server_total_ms mean) | | | ' + elax.classes.map((c) => `${c.server!.server_total_ms_mean} (exec ${c.server!.query_execution_ms_mean})`).join(' | ') + ' |');
  const ft = elax.extra!.first_touch as ClassResult[];
  console.log('| elax (HTTP), first touch of each term | | | ' + ft.map((c) => `${c.p50_ms} / ${c.p99_ms}`).join(' | ') + ' |');
  const ev = elax.extra!.eventual as ClassResult[];
  console.log('| elax (HTTP), eventual consistency | | | ' + ev.map((c) => `${c.p50_ms} / ${c.p99_ms}`).join(' | ') + ' |');
  const f = elax.extra!.http_floor_ms as { p50: number; p99: number };
  console.log(`\nHTTP floor (GET /health round trip): p50 ${f.p50} ms, p99 ${f.p99} ms; elax cold first query ${String(elax.extra!.cold_first_query_ms)} ms, second ${String(elax.extra!.cold_second_query_ms)} ms`);
}
const json = { machine: machine(), dataset: values.dataset, docs: docs.length, tokens: tokenCount, queries_per_class: Q, results: results.map(({ classes, ...r }) => ({ ...r, classes: classes.map(({ tops: _t, ...c }) => c) })), agreement };
console.log('\n' + JSON.stringify(json, null, 1));
