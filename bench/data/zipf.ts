/**
 * A seeded synthetic corpus: N short documents (8–20 tokens) drawn from a Zipf(s) distribution over a vocabulary of
 * V synthetic words — the shape of natural text term frequencies at any size, for full-text benchmarks beyond the
 * 117k WordNet glosses.
 *
 *   node bin/run-ts.mjs bench/data/zipf.ts [--docs 1000000] [--vocab 100000] [--s 1.07] [--seed 1]   # prints stats
 *
 * Word r (0-based frequency rank) is r written in bijective base 80 over consonant-vowel syllables ("ba", "ce",
 * ...): distinct by construction, pronounceable, and shorter for frequent words, as in real languages. Same
 * arguments, same documents (mulberry32 from bench/lib.ts).
 */
import { parseArgs } from 'node:util';
import { rng, isMain } from '../lib.js';

const CONSONANTS = 'bcdfghjklmnprstv';
const VOWELS = 'aeiou';
const SYLLABLES = [...CONSONANTS].flatMap((c) => [...VOWELS].map((v) => c + v));

/** The word of frequency rank r. */
export function zipfWord(r: number): string {
  let n = r + 1;
  let w = '';
  while (n > 0) {
    n -= 1;
    w = SYLLABLES[n % SYLLABLES.length]! + w;
    n = Math.floor(n / SYLLABLES.length);
  }
  return w;
}

export interface ZipfOptions {
  docs: number;
  vocab?: number;
  s?: number;
  seed?: number;
  minLen?: number;
  maxLen?: number;
}

export interface ZipfDoc {
  id: number;
  text: string;
}

/** Samples ranks 0..vocab-1 with P(r) ∝ 1/(r+1)^s, by binary search on the cumulative distribution. */
export function zipfSampler(vocab: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(vocab);
  let acc = 0;
  for (let r = 0; r < vocab; r++) cdf[r] = acc += 1 / (r + 1) ** s;
  return () => {
    const u = rand() * acc;
    let lo = 0;
    let hi = vocab - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** The documents, ids 0..docs-1, generated lazily (1M documents are ~100 MB of text). */
export function* zipfDocs(o: ZipfOptions): Generator<ZipfDoc> {
  const vocab = o.vocab ?? 100_000;
  const rand = rng(o.seed ?? 1);
  const next = zipfSampler(vocab, o.s ?? 1.07, rand);
  const words = Array.from({ length: vocab }, (_, r) => zipfWord(r));
  const minLen = o.minLen ?? 8;
  const span = (o.maxLen ?? 20) - minLen + 1;
  for (let id = 0; id < o.docs; id++) {
    const len = minLen + Math.floor(rand() * span);
    const toks = new Array<string>(len);
    for (let i = 0; i < len; i++) toks[i] = words[next()]!;
    yield { id, text: toks.join(' ') };
  }
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { docs: { type: 'string', default: '1000000' }, vocab: { type: 'string', default: '100000' }, s: { type: 'string', default: '1.07' }, seed: { type: 'string', default: '1' } },
  });
  const t = performance.now();
  const df = new Map<string, number>();
  let tokens = 0;
  let chars = 0;
  let first = '';
  for (const d of zipfDocs({ docs: Number(values.docs), vocab: Number(values.vocab), s: Number(values.s), seed: Number(values.seed) })) {
    if (d.id === 0) first = d.text;
    const toks = d.text.split(' ');
    tokens += toks.length;
    chars += d.text.length;
    for (const w of new Set(toks)) df.set(w, (df.get(w) ?? 0) + 1);
  }
  const dfs = [...df.values()].sort((a, b) => b - a);
  console.log(JSON.stringify({ docs: Number(values.docs), tokens, text_mb: +(chars / 2 ** 20).toFixed(1), distinct_terms: df.size, top_df: dfs.slice(0, 5), singletons: dfs.filter((x) => x === 1).length, ms: Math.round(performance.now() - t) }));
  console.log('doc 0:', first);
}
