/**
 * Per-document analysis, memoised.
 *
 * Exhaustive BM25 scans and token filters analyse every live document's text on every query. Documents are
 * immutable once decoded (the WAL tail and parts are cached as Doc objects), so the analysis is cached per
 * (analyser, attribute) in a WeakMap keyed by the Doc: it lives exactly as long as the Doc does, and repeated
 * queries pay one lookup per document. Each entry remembers the value it was computed from, so a Doc whose
 * attribute was replaced is re-analysed, never stale.
 *
 * Term lookups scan the token list of short texts (cheaper than building a map) and use a term -> count map,
 * built on first use, for longer ones.
 */
import type { AttrValue, Doc } from '../core/index.js';
import type { TextAnalyzer } from './analyzer.js';

export interface DocTerms {
  /** Tokens in order (all array elements concatenated). */
  readonly tokens: readonly string[];
  /** Occurrences of `term`. */
  count(term: string): number;
  /** Summed occurrences of the terms starting with `prefix` (0 when none). */
  prefixCount(prefix: string): number;
  /** Term -> occurrences. */
  counts(): ReadonlyMap<string, number>;
}

/** Texts with at most this many tokens answer lookups by scanning instead of building a map. */
const SCAN_LIMIT = 24;

class Entry implements DocTerms {
  private map: Map<string, number> | null = null;
  constructor(
    readonly source: AttrValue | undefined,
    readonly tokens: readonly string[],
  ) {}

  counts(): ReadonlyMap<string, number> {
    if (this.map === null) {
      const m = new Map<string, number>();
      for (const t of this.tokens) m.set(t, (m.get(t) ?? 0) + 1);
      this.map = m;
    }
    return this.map;
  }

  count(term: string): number {
    if (this.tokens.length <= SCAN_LIMIT) {
      let n = 0;
      for (const t of this.tokens) if (t === term) n++;
      return n;
    }
    return this.counts().get(term) ?? 0;
  }

  prefixCount(prefix: string): number {
    let n = 0;
    if (this.tokens.length <= SCAN_LIMIT) {
      for (const t of this.tokens) if (t.startsWith(prefix)) n++;
    } else {
      for (const [t, c] of this.counts()) if (t.startsWith(prefix)) n += c;
    }
    return n;
  }
}

/** True for the values analysis accepts: a string or an array (non-string elements are ignored). */
export function isTextValue(v: unknown): v is string | readonly string[] {
  return typeof v === 'string' || Array.isArray(v);
}

export type DocTermsReader = (doc: Doc) => DocTerms | null;

// analyser -> attribute -> reader. Analysers are singletons per analysis config (analyzerFor), so their identity
// stands for the config without building a key string.
const readers = new Map<TextAnalyzer, Map<string, DocTermsReader>>();

/**
 * A reader of the analysed terms of `attr` (null when the attribute is missing, null or not text). Resolve it
 * once per scan: each call then costs one WeakMap lookup for an already analysed document.
 */
export function docTermsReader(attr: string, analyzer: TextAnalyzer): DocTermsReader {
  let perAnalyzer = readers.get(analyzer);
  if (perAnalyzer === undefined) {
    perAnalyzer = new Map();
    readers.set(analyzer, perAnalyzer);
  }
  let r = perAnalyzer.get(attr);
  if (r === undefined) {
    const cache = new WeakMap<Doc, Entry>();
    r = (doc) => {
      const value = doc.attrs[attr];
      if (value === null || value === undefined || !isTextValue(value)) return null;
      let e = cache.get(doc);
      if (e === undefined || e.source !== value) {
        e = new Entry(value, analyzer.tokens(value));
        cache.set(doc, e);
      }
      return e;
    };
    perAnalyzer.set(attr, r);
  }
  return r;
}

/** The analysed terms of `doc.attrs[attr]`, or null when the attribute is missing, null or not text. */
export function docTerms(doc: Doc, attr: string, analyzer: TextAnalyzer): DocTerms | null {
  return docTermsReader(attr, analyzer)(doc);
}

/**
 * The analysed terms of a value, not cached here: for callers that memoise per row themselves (the WAL tail, whose rows
 * outnumber valueTerms' bounded cache: a scan of more distinct texts than it holds re-analysed every row each query).
 */
export function analyzeValue(value: AttrValue | undefined, analyzer: TextAnalyzer): DocTerms | null {
  if (value === null || value === undefined || !isTextValue(value)) return null;
  return new Entry(value, analyzer.tokens(value));
}

/** Analyses of text values by string, per analyser: bounded (oldest dropped), for rows that are not Doc objects. */
const byValue = new Map<TextAnalyzer, Map<string, Entry>>();
const BY_VALUE_MAX = 50_000;

/**
 * The analysed terms of a value read from a column (segments have no Doc objects to key a cache on): cached by the
 * string itself, so the tail's texts are analysed once across queries; arrays are analysed each time.
 */
export function valueTerms(value: AttrValue | undefined, analyzer: TextAnalyzer): DocTerms | null {
  if (value === null || value === undefined || !isTextValue(value)) return null;
  if (typeof value !== 'string') return new Entry(value, analyzer.tokens(value));
  let cache = byValue.get(analyzer);
  if (cache === undefined) byValue.set(analyzer, (cache = new Map()));
  let e = cache.get(value);
  if (e === undefined) {
    e = new Entry(value, analyzer.tokens(value));
    if (cache.size >= BY_VALUE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(value, e);
  }
  return e;
}
