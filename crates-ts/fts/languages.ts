/**
 * Per-language resources for text analysis: stop-word lists and Snowball stemmers.
 *
 * - English stop words are Lucene's 33-word list, the one tantivy uses for English (a search engine's stop list
 *   must be short: "not", "about" or "after" carry meaning in queries).
 * - Other languages' stop words come from @orama/stopwords, whose lists are (mostly) the Snowball project's, the
 *   lists tantivy uses for those languages.
 * - Stemmers are the Snowball algorithms (snowball-stemmers, a port generated from Snowball, as rust-stemmers is).
 *   Snowball has no Greek stemmer, so `stemming: true` with greek is rejected as not supported yet.
 *
 * Everything is built lazily and cached: a process pays only for the languages its schemas use.
 */
import * as snowballModule from 'snowball-stemmers';
import { stopwords as arabic } from '@orama/stopwords/arabic';
import { stopwords as danish } from '@orama/stopwords/danish';
import { stopwords as dutch } from '@orama/stopwords/dutch';
import { stopwords as finnish } from '@orama/stopwords/finnish';
import { stopwords as french } from '@orama/stopwords/french';
import { stopwords as german } from '@orama/stopwords/german';
import { stopwords as greek } from '@orama/stopwords/greek';
import { stopwords as hungarian } from '@orama/stopwords/hungarian';
import { stopwords as italian } from '@orama/stopwords/italian';
import { stopwords as norwegian } from '@orama/stopwords/norwegian';
import { stopwords as portuguese } from '@orama/stopwords/portuguese';
import { stopwords as romanian } from '@orama/stopwords/romanian';
import { stopwords as russian } from '@orama/stopwords/russian';
import { stopwords as spanish } from '@orama/stopwords/spanish';
import { stopwords as swedish } from '@orama/stopwords/swedish';
import { stopwords as tamil } from '@orama/stopwords/tamil';
import { stopwords as turkish } from '@orama/stopwords/turkish';

interface SnowballApi {
  newStemmer(language: string): { stem(word: string): string };
  algorithms(): string[];
}

/** turbopuffer's documented languages (Language in the official client). */
export const LANGUAGES: readonly string[] = [
  'arabic', 'danish', 'dutch', 'english', 'finnish', 'french', 'german', 'greek', 'hungarian', 'italian',
  'norwegian', 'portuguese', 'romanian', 'russian', 'spanish', 'swedish', 'tamil', 'turkish',
];

/** turbopuffer's tokenizers (Tokenizer in the official client). */
export const TOKENIZERS: readonly string[] = ['pre_tokenized_array', 'word_v0', 'word_v1', 'word_v2', 'word_v3', 'word_v4'];

/** Lucene's EnglishAnalyzer stop set, which tantivy uses for English. */
const ENGLISH_STOP_WORDS = [
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no', 'not', 'of',
  'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this', 'to', 'was', 'will', 'with',
];

const STOP_LISTS: Record<string, readonly string[]> = {
  arabic, danish, dutch, english: ENGLISH_STOP_WORDS, finnish, french, german, greek, hungarian, italian, norwegian,
  portuguese, romanian, russian, spanish, swedish, tamil, turkish,
};

const stopSets = new Map<string, ReadonlySet<string>>();

/** The stop words of `language` (lowercase). Empty for a language without a list. */
export function stopWordSet(language: string): ReadonlySet<string> {
  let s = stopSets.get(language);
  if (s === undefined) {
    s = new Set(STOP_LISTS[language] ?? []);
    stopSets.set(language, s);
  }
  return s;
}

// snowball-stemmers is a UMD/CommonJS module marked __esModule: under native ESM its API is the default export,
// under a CommonJS transpile (some test runners) it is the namespace itself.
const snowball: SnowballApi = (snowballModule as unknown as { default?: SnowballApi }).default ?? (snowballModule as unknown as SnowballApi);

const SNOWBALL_ALGORITHMS = new Set<string>(snowball.algorithms());

export function stemmingSupported(language: string): boolean {
  return SNOWBALL_ALGORITHMS.has(language);
}

/** Stemming is the costliest analysis step and vocabularies are Zipfian: memoise per language, bounded. */
const STEM_CACHE_LIMIT = 100_000;
const stemmers = new Map<string, (word: string) => string>();

/** A memoising stemmer for `language`; throws if the language has none (configs are validated before this). */
export function stemmerFor(language: string): (word: string) => string {
  let f = stemmers.get(language);
  if (f === undefined) {
    if (!stemmingSupported(language)) throw new Error(`no stemmer for language '${language}'`);
    const s = snowball.newStemmer(language);
    let cache = new Map<string, string>();
    f = (word: string): string => {
      let r = cache.get(word);
      if (r === undefined) {
        r = s.stem(word);
        if (cache.size >= STEM_CACHE_LIMIT) cache = new Map();
        cache.set(word, r);
      }
      return r;
    };
    stemmers.set(language, f);
  }
  return f;
}
