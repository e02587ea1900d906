/**
 * The Fuzzy filter over one part's values, in process: the fuzzy index (a sorted dictionary of folded values walked
 * with a bounded Levenshtein automaton, part/fuzzy-index.ts) against comparing the query with every distinct value
 * (what a dictionary index or a scan does: filter/fuzzy-ops.ts's matcher once per value), at N distinct values.
 *
 *   node bin/run-ts.mjs bench/fuzzy-index.ts [--values 100000,1000000] [--queries 50] [--scan]
 *
 * Values: seeded "first last" names from syllables (8–20 characters), plus typo variants. Queries: values with 0–2
 * random edits, thresholds [{1, 6}, {2, 9}], case-insensitive. All paths' answers are checked to agree.
 *
 * Version 1 (read whole) against version 2 (fuzzy-blocks.ts: a directory, then only the term blocks whose range may
 * hold a match, by range), side by side in one run: "cold" is a query on nothing decoded (v1: decode the whole file
 * then walk; v2: decode the directory, pick the blocks, decode those, walk them), with the bytes it needs; "warm" a
 * query with everything it needs decoded. --scan also times comparing the query with every value (what a scan does).
 */
import { parseArgs } from 'node:util';
import { parseFuzzy } from '../crates-ts/filter/index.js';
import { fuzzyMatcher } from '../crates-ts/filter/fuzzy-ops.js';
import { buildFuzzyIndex, fuzzyLookup, readFuzzyIndex, type FuzzyIndexInfo } from '../crates-ts/part/fuzzy-index.js';
import { buildFuzzyIndexV2, decodeFuzzyDirectory, decodeFuzzyRows, decodeFuzzyTerms, fuzzyLookupBlocked, fuzzySurvivors, fuzzyWalkBlocks, type FuzzyRowsBlock, type FuzzyTermsBlock } from '../crates-ts/part/fuzzy-blocks.js';
import { readFuzzyIndexV2 } from '../crates-ts/part/fuzzy-blocks.js';
import { blockOf } from '../crates-ts/part/block-file.js';
import { machine, rng as seeded } from './lib.js'; // rng: ivf/random.ts seededRandom (mulberry32)

const { values: args } = parseArgs({ options: { values: { type: 'string', default: '100000,1000000' }, queries: { type: 'string', default: '50' }, scan: { type: 'boolean', default: false } } });

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
  const built2 = buildFuzzyIndexV2('name', values)!;
  const build2Ms = performance.now() - t0;
  const info2: FuzzyIndexInfo = { ...built2.info, file: 'ffz-0.blk' };
  const queries = Array.from({ length: Number(args.queries) }, () => typo(r, values[Math.floor(r() * values.length)]!));
  const specs = queries.map((q) => {
    const spec = parseFuzzy(q, P);
    if ('error' in spec) throw new Error(spec.error);
    return spec;
  });
  const same = (a: { bits: { toArray(): ArrayLike<number> } }, b: { bits: { toArray(): ArrayLike<number> } }, q: string) => {
    const x = Array.from(a.bits.toArray());
    const y = Array.from(b.bits.toArray());
    if (x.length !== y.length || x.some((v, i) => v !== y[i])) throw new Error(`disagree on ${JSON.stringify(q)}`);
  };
  // Version 1 cold: decode the whole file, then the first query.
  t0 = performance.now();
  const idx = readFuzzyIndex(built.bytes, info, values.length, 'ffz-0.blk');
  const loadMs = performance.now() - t0;
  const v1First = fuzzyLookup(idx, specs[0]!, values.length);
  const cold1Ms = performance.now() - t0;
  // Version 2 cold, per query: directory, survivors, their blocks decoded, the walk; bytes those need.
  const cold2: number[] = [];
  const bytes2: number[] = [];
  const blocks2: number[] = [];
  let dirBytes = 0;
  for (let i = 0; i < specs.length; i++) {
    t0 = performance.now();
    const dirRaw = blockOf(built2.bytes, info2.blocks, 0, 'ffz-0.blk');
    const dir = decodeFuzzyDirectory(info2, dirRaw, 'ffz-0.blk');
    const terms = new Map<number, FuzzyTermsBlock>();
    const rowsHeld = new Map<number, FuzzyRowsBlock>();
    let bytes = dirRaw.byteLength;
    for (const b of fuzzySurvivors(dir, specs[i]!).blocks) {
      terms.set(b, decodeFuzzyTerms(dir, b, blockOf(built2.bytes, dir.table, b, 'ffz-0.blk'), 'ffz-0.blk'));
      bytes += dir.table.length[b]!;
    }
    const matched = new Set<number>();
    fuzzyWalkBlocks(dir, (b) => terms.get(b), specs[i]!, (b) => matched.add(b));
    for (const b of matched) {
      rowsHeld.set(b, decodeFuzzyRows(dir, b, blockOf(built2.bytes, dir.table, dir.blocks + b, 'ffz-0.blk'), values.length, 'ffz-0.blk'));
      bytes += dir.table.length[dir.blocks + b]!;
    }
    const got = fuzzyLookupBlocked({ kind: 'fuzzy-blocked', dir, terms: (b) => terms.get(b), rows: (b) => rowsHeld.get(b) }, specs[i]!, values.length);
    cold2.push(performance.now() - t0);
    bytes2.push(bytes);
    blocks2.push(got.blocks);
    dirBytes = dirRaw.byteLength;
    if (i === 0) same(got, v1First, queries[0]!);
  }
  // Warm: everything decoded.
  const whole2 = readFuzzyIndexV2(built2.bytes, info2, values.length, 'ffz-0.blk');
  const warm1: number[] = [];
  const warm2: number[] = [];
  let rowsVisited1 = 0;
  let rowsVisited2 = 0;
  let scanMs = 0;
  let hits = 0;
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    t0 = performance.now();
    const a = fuzzyLookup(idx, spec, values.length);
    warm1.push(performance.now() - t0);
    t0 = performance.now();
    const b = fuzzyLookupBlocked(whole2.reader, spec, values.length);
    warm2.push(performance.now() - t0);
    same(a, b, queries[i]!);
    rowsVisited1 += a.visited;
    rowsVisited2 += b.visited;
    hits += a.bits.cardinality;
    if (args.scan) {
      t0 = performance.now();
      const m = fuzzyMatcher(spec);
      const want: number[] = [];
      for (let j = 0; j < values.length; j++) if (m(values[j]!)) want.push(j);
      scanMs += performance.now() - t0;
      same(a, { bits: { toArray: () => want } }, queries[i]!);
    }
  }
  const k = queries.length;
  const p50 = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  console.log(`values ${n.toLocaleString('en-US')}: ${(hits / k).toFixed(1)} matches a query`);
  console.log(`  v1: file ${mib(built.bytes.byteLength)}, build ${buildMs.toFixed(0)} ms; cold first query ${cold1Ms.toFixed(0)} ms (decode ${loadMs.toFixed(0)} ms, reads the whole file); warm p50 ${p50(warm1).toFixed(2)} ms (${Math.round(rowsVisited1 / k).toLocaleString('en-US')} automaton rows)`);
  console.log(
    `  v2: file ${mib(built2.bytes.byteLength)} (${whole2.dir.blocks.toLocaleString('en-US')} term blocks, directory ${(dirBytes / 1024).toFixed(0)} KiB), build ${build2Ms.toFixed(0)} ms; ` +
      `cold first query ${cold2[0]!.toFixed(1)} ms, cold p50 ${p50(cold2).toFixed(1)} ms (reads p50 ${(p50(bytes2) / 1024).toFixed(0)} KiB, max ${(Math.max(...bytes2) / 1024).toFixed(0)} KiB; p50 ${p50(blocks2)} blocks); ` +
      `warm p50 ${p50(warm2).toFixed(2)} ms (${Math.round(rowsVisited2 / k).toLocaleString('en-US')} automaton rows)`,
  );
  if (args.scan) console.log(`  every value: ${(scanMs / k).toFixed(1)} ms a query`);
}
