/**
 * Text analysis: text -> tokens, the same way for documents, BM25 queries and token filters.
 *
 * Pipeline per raw token (the order tantivy's analyzers use):
 *   1. tokenizer (below) splits text into raw tokens;
 *   2. tokens longer than max_token_length UTF-8 bytes are dropped;
 *   3. lowercased unless case_sensitive;
 *   4. dropped if a stop word (remove_stopwords; checked on the lowercase form, so "The" is a stop word even
 *      when case_sensitive);
 *   5. ASCII-folded (ascii_folding): a character whose compatibility decomposition is ASCII letters/digits plus
 *      combining marks becomes those letters (é -> e, ﬁ -> fi), plus a table for letters that do not decompose
 *      (ß -> ss, ø -> o, ł -> l ...); other scripts are left alone;
 *   6. stemmed with the language's Snowball stemmer (stemming).
 *
 * Tokenizers (turbopuffer's descriptions, docs/fts):
 *   - word_v0: maximal runs of alphanumeric code points (Unicode Alphabetic or Numeric, as Rust's
 *     char::is_alphanumeric); everything else, emoji included, separates tokens.
 *   - word_v1: word_v0 plus emoji: a sequence of emoji code points forming one glyph is one token.
 *   - word_v2, word_v3, word_v4: word_v1, except that each ideographic code point (CJK) is a token of its own.
 *     elax does not distinguish v2..v4 (turbopuffer changed Unicode versions and details between them).
 *   - pre_tokenized_array: the value is already an array of tokens, used as-is (no case folding, stop words,
 *     folding or stemming).
 *
 * Analysers are cached per analysis-relevant config (config.ts analysisKey); they are pure and reentrant.
 */
import type { FullTextConfig } from '../core/index.js';
import { analysisKey } from './config.js';
import { stemmerFor, stopWordSet } from './languages.js';

// One emoji glyph: a regional-indicator pair (flag), or a pictographic code point with modifiers / variation
// selectors / keycap, optionally joined to more by ZWJ.
const EMOJI =
  '(?:\\p{Regional_Indicator}\\p{Regional_Indicator}|\\p{Extended_Pictographic}(?:\\p{Emoji_Modifier}|\\uFE0F|\\u20E3)*' +
  '(?:\\u200D\\p{Extended_Pictographic}(?:\\p{Emoji_Modifier}|\\uFE0F)*)*)';
const ALNUM_RUN = '[\\p{Alphabetic}\\p{N}]+';

const WORD_V0 = new RegExp(ALNUM_RUN, 'gu');
const WORD_V1 = new RegExp(`${ALNUM_RUN}|${EMOJI}`, 'gu');
// The `v` flag (set subtraction) is constructed at run time: Node 20 supports it, the ES2022 lib typing does not.
const WORD_V2 = new RegExp(`\\p{Ideographic}|[[\\p{Alphabetic}\\p{N}]--\\p{Ideographic}]+|${EMOJI}`, 'gv');

function tokenizerRegex(tokenizer: string): RegExp {
  switch (tokenizer) {
    case 'word_v0':
      return WORD_V0;
    case 'word_v1':
      return WORD_V1;
    default:
      return WORD_V2;
  }
}

/** Raw tokens of `text` (no filtering). */
function splitWords(text: string, re: RegExp): string[] {
  return asciiWords(text) ?? text.match(re) ?? [];
}

/** ASCII letters and digits: the only ASCII code points in \p{Alphabetic} or \p{N}. */
const ASCII_WORD_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) ASCII_WORD_CHAR[c] = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ? 1 : 0;

/**
 * The raw tokens of an all-ASCII `text` without the regular expression (null as soon as a code point is not ASCII):
 * every tokenizer's expression matches exactly the maximal runs of ASCII letters and digits there — no ASCII code
 * point is ideographic, an emoji or a regional indicator (analyzer.test.ts checks every ASCII code point and random
 * ASCII texts against the expressions). A tail row is analysed as it is appended, on the event loop: the Unicode
 * property expressions cost about as much as the rest of the analysis.
 */
function asciiWords(text: string): string[] | null {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) return null;
    if (ASCII_WORD_CHAR[c] === 1) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      out.push(text.slice(start, i));
      start = -1;
    }
  }
  if (start >= 0) out.push(text.slice(start));
  return out;
}

/** The tokenizer's raw tokens by its regular expression alone (tests: the reference of the ASCII path). */
export function splitWordsByRegex(text: string, tokenizer: string): string[] {
  return text.match(tokenizerRegex(tokenizer)) ?? [];
}

/** The tokenizer's raw tokens as analysis splits them. */
export function splitWordsFor(text: string, tokenizer: string): string[] {
  return splitWords(text, tokenizerRegex(tokenizer));
}

// Letters without a canonical/compatibility decomposition to ASCII (a subset of Lucene's ASCIIFoldingFilter).
const FOLD_TABLE: Record<string, string> = {
  ß: 'ss', ẞ: 'SS', æ: 'ae', Æ: 'AE', œ: 'oe', Œ: 'OE', ø: 'o', Ø: 'O', đ: 'd', Đ: 'D', ð: 'd', Ð: 'D', ł: 'l',
  Ł: 'L', þ: 'th', Þ: 'TH', ı: 'i', ŋ: 'n', Ŋ: 'N', ſ: 's', ƒ: 'f', ħ: 'h', Ħ: 'H', ŧ: 't', Ŧ: 'T', ĸ: 'q',
};
const ASCII_ONLY = /^[\x00-\x7f]*$/;
const COMBINING_MARKS = /\p{M}+/gu;
const ASCII_ALNUM = /^[A-Za-z0-9]+$/;

/** ASCII equivalent of each character that has one; other characters unchanged. */
export function asciiFold(s: string): string {
  if (ASCII_ONLY.test(s)) return s;
  let out = '';
  for (const ch of s) {
    if (ch.charCodeAt(0) < 0x80) {
      out += ch;
      continue;
    }
    const t = FOLD_TABLE[ch];
    if (t !== undefined) {
      out += t;
      continue;
    }
    const base = ch.normalize('NFKD').replace(COMBINING_MARKS, '');
    out += base.length > 0 && ASCII_ALNUM.test(base) ? base : ch;
  }
  return out;
}

/** UTF-8 length of `s`, without allocating for the common short/ASCII cases. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4; // surrogate pair: one astral code point
      i++;
    } else n += 3;
  }
  return n;
}

export interface QueryTerms {
  /** Analysed query terms in order, repeats kept (a repeated term counts once per occurrence). */
  terms: string[];
  /** With last_as_prefix: the analysed (unstemmed) last word, matched as a literal prefix; else null. */
  prefix: string | null;
}

export interface TextAnalyzer {
  readonly config: FullTextConfig;
  /** Tokens of a value: a string, or the elements of a []string value (concatenated). */
  tokens(text: string | readonly string[]): string[];
  /** Tokens of each element separately (phrase matching must not span two array elements). */
  tokensPerValue(text: string | readonly string[]): string[][];
  /** Analysis of a query (BM25 clause or token filter operand). */
  query(text: string | readonly string[], lastAsPrefix: boolean): QueryTerms;
  /**
   * The raw tokens of one string with their UTF-16 [start, end) in it and their analysed term (null when analysis
   * drops the token, e.g. a stop word): what highlighting needs to find matched tokens in the original text.
   */
  spans(text: string): TokenSpan[];
}

export interface TokenSpan {
  start: number;
  end: number;
  term: string | null;
}

function makeAnalyzer(config: FullTextConfig): TextAnalyzer {
  if (config.tokenizer === 'pre_tokenized_array') {
    const asArray = (t: string | readonly string[]): string[] => (typeof t === 'string' ? [t] : t.filter((x) => typeof x === 'string'));
    return {
      config,
      tokens: asArray,
      tokensPerValue: (t) => asArray(t).map((x) => [x]),
      spans: (t) => [{ start: 0, end: t.length, term: t }],
      query(t, lastAsPrefix) {
        const terms = asArray(t);
        if (lastAsPrefix && terms.length > 0) return { terms: terms.slice(0, -1), prefix: terms[terms.length - 1]! };
        return { terms, prefix: null };
      },
    };
  }

  const re = tokenizerRegex(config.tokenizer);
  const maxBytes = config.max_token_length;
  const lower = !config.case_sensitive;
  const stops = config.remove_stopwords ? stopWordSet(config.language) : null;
  const fold = config.ascii_folding;
  const stem = config.stemming ? stemmerFor(config.language) : null;

  /** Steps 2-5 for one raw token; null when it is dropped. */
  const normalize = (raw: string, isPrefix: boolean): string | null => {
    if (raw.length > maxBytes) return null; // UTF-8 bytes >= UTF-16 units
    if (raw.length * 3 > maxBytes && utf8Length(raw) > maxBytes) return null;
    let t = lower ? raw.toLowerCase() : raw;
    // A prefix is what the user is still typing: "an" may become "another", so it is never a stop word.
    if (stops !== null && !isPrefix && stops.has(lower ? t : t.toLowerCase())) return null;
    if (fold) t = asciiFold(t);
    return t;
  };

  const analyzeOne = (text: string, out: string[]): void => {
    for (const raw of splitWords(text, re)) {
      const t = normalize(raw, false);
      if (t !== null) out.push(stem === null ? t : stem(t));
    }
  };

  return {
    config,
    tokens(text) {
      const out: string[] = [];
      if (typeof text === 'string') analyzeOne(text, out);
      else for (const v of text) if (typeof v === 'string') analyzeOne(v, out);
      return out;
    },
    tokensPerValue(text) {
      const vals = typeof text === 'string' ? [text] : text;
      const res: string[][] = [];
      for (const v of vals) {
        if (typeof v !== 'string') continue;
        const out: string[] = [];
        analyzeOne(v, out);
        res.push(out);
      }
      return res;
    },
    query(text, lastAsPrefix) {
      const raws: string[] = [];
      for (const v of typeof text === 'string' ? [text] : text) if (typeof v === 'string') raws.push(...splitWords(v, re));
      const terms: string[] = [];
      const n = lastAsPrefix ? raws.length - 1 : raws.length;
      for (let i = 0; i < n; i++) {
        const t = normalize(raws[i]!, false);
        if (t !== null) terms.push(stem === null ? t : stem(t));
      }
      // The prefix is not stemmed: a stem of a partial word is meaningless.
      const prefix = lastAsPrefix && raws.length > 0 ? normalize(raws[raws.length - 1]!, true) : null;
      return { terms, prefix };
    },
    spans(text) {
      const out: TokenSpan[] = [];
      // matchAll works on a copy of the (global) expression, so the shared one's lastIndex is never touched.
      for (const m of text.matchAll(re)) {
        const t = normalize(m[0], false);
        out.push({ start: m.index!, end: m.index! + m[0].length, term: t === null ? null : stem === null ? t : stem(t) });
      }
      return out;
    },
  };
}

const analyzers = new Map<string, TextAnalyzer>();

/** The (cached) analyser for a validated config. */
export function analyzerFor(config: FullTextConfig): TextAnalyzer {
  const key = analysisKey(config);
  let a = analyzers.get(key);
  if (a === undefined) {
    a = makeAnalyzer(config);
    analyzers.set(key, a);
  }
  return a;
}

/** Analyse text (a string, or the elements of a []string / pre_tokenized_array value) into tokens. */
export function tokenize(text: string | readonly string[], config: FullTextConfig): string[] {
  return analyzerFor(config).tokens(text);
}
