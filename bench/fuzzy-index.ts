/**
 * The Fuzzy filter over one part's values, in process: the fuzzy index (a sorted dictionary of folded values walked
 * with a bounded Levenshtein automaton, part/fuzzy-index.ts) against comparing the query with every distinct value
 * (what a dictionary index or a scan does: filter/fuzzy-ops.ts's matcher once per value), at N distinct values.
 *
 *   node bin/run-ts.mjs bench/fuzzy-index.ts [--values 100000,1000000] [--queries 50]
 *
 * Values: seeded "first last" names from syllables (8–20 characters), plus typo variants. Queries: values with 0–2
 * random edits, thresholds [{1, 6}, {2, 9}], case-insensitive. Both paths' answers are checked to agree.
 */
import { parseArgs } from 'node:util';
import { parseFuzzy } from '../crates-ts/filter/index.js';
import { fuzzyMatcher } from '../crates-ts/filter/fuzzy-ops.js';
import { buildFuzzyIndex, fuzzyLookup, readFuzzyIndex, type FuzzyIndexInfo } from '../crates-ts/part/fuzzy-index.js';
import { machine } from './lib.js';

const { values: args } = parseArgs({ options: { values: { type: 'string', default: '100000,1000000' }, queries: { type: 'string', default: '50' } } });

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const SYL = ['an', 'ber', 'ca', 'dor', 'el', 'fi', 'gar', 'ho', 'is', 'jo', 'ka', 'lu', 'mar', 'ne', 'or', 'pe', 'qui', 'ro', 'sa', 'ti', 'ur', 'va', 'wen', 'xa', 'yo', 'ze'];
const nameOf = (r: () => number) => {
  const word = () => Array.from({ length: 2 + Math.floor(r() * 2) }, () => SYL[Math.floor(r() * SYL.length)]!).join('');
  const s = `${word()} ${word()}`;
  return r() < 0.3 ? s[0]!.toUpperCase() + s.slice(1) : s;
};
const typo = (r: () => number, s: string) => {
  const c = Array.from(s);
  const n = Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * c.length);
    const op = Math.floor(r() * 3);
    if (op === 0) c[at] = 'abcdefghij'[Math.floor(r() * 10)]!;
    else if (op === 1 && c.length > 1) c.splice(at, 1);
    else c.splice(at, 0, 'x');
  }
  return c.join('');
};

console.log(`# bench/fuzzy-index.ts, ${new Date().toISOString()}, ${machine()}`);
const P = { max_edit_distance: [{ distance: 1, min_query_chars: 6 }, { distance: 2, min_query_chars: 9 }], case_sensitive: false };
for (const n of args.values.split(',').map(Number)) {
  const r = seeded(n);
  const values: string[] = [];
  const seen = new Set<string>();
  while (values.length < n) {
    const v = values.length > 0 && r() < 0.2 ? typo(r, values[Math.floor(r() * values.length)]!) : nameOf(r);
    if (!seen.has(v)) seen.add(v), values.push(v);
  }
  let t0 = performance.now();
  const built = buildFuzzyIndex('name', values)!;
  const buildMs = performance.now() - t0;
  const info: FuzzyIndexInfo = { ...built.info, file: 'ffz-0.blk' };
  t0 = performance.now();
  const idx = readFuzzyIndex(built.bytes, info, values.length, 'ffz-0.blk');
  const loadMs = performance.now() - t0;
  const queries = Array.from({ length: Number(args.queries) }, () => typo(r, values[Math.floor(r() * values.length)]!));
  let idxMs = 0;
  let scanMs = 0;
  let rowsVisited = 0;
  let hits = 0;
  for (const q of queries) {
    const spec = parseFuzzy(q, P);
    if ('error' in spec) throw new Error(spec.error);
    t0 = performance.now();
    const got = fuzzyLookup(idx, spec, values.length);
    idxMs += performance.now() - t0;
    rowsVisited += got.visited;
    t0 = performance.now();
    const m = fuzzyMatcher(spec);
    const want: number[] = [];
    for (let i = 0; i < values.length; i++) if (m(values[i]!)) want.push(i);
    scanMs += performance.now() - t0;
    const a = Array.from(got.bits.toArray());
    if (a.length !== want.length || a.some((x, i) => x !== want[i])) throw new Error(`disagree on ${JSON.stringify(q)}`);
    hits += want.length;
  }
  const k = queries.length;
  console.log(
    `values ${n.toLocaleString('en-US')}: file ${(built.bytes.byteLength / 2 ** 20).toFixed(1)} MiB, build ${buildMs.toFixed(0)} ms, decode ${loadMs.toFixed(0)} ms; ` +
      `per query: index ${(idxMs / k).toFixed(2)} ms (${Math.round(rowsVisited / k).toLocaleString('en-US')} automaton rows), every value ${(scanMs / k).toFixed(1)} ms; ${(hits / k).toFixed(1)} matches`,
  );
}
