/**
 * Fuzzy indexes (RFC-0009 "Fuzzy indexes"; issue 14 item 13): for an attribute whose schema sets `fuzzy: true`, the
 * part's distinct string values (for []string: elements) as a sorted term dictionary of their case folds, walked with
 * a Levenshtein automaton bounded by the query's edit distance (filter/edit-distance.ts walkWithinDistance), so a
 * Fuzzy filter visits the trie nodes within reach of the query, not every value.
 *
 * File `ffz-{n}.blk`, a block file of kind `filter-fuzzy` (footer: fuzzy_version, attr, terms, variants, array):
 *   block 0: the terms: distinct foldCase(value), sorted by code point (a string list: encodeStrings);
 *   block 1: the variants: the distinct original values, by term, then in UTF-16 order (a string list);
 *   block 2: u32 LE arrays [T + 1 term → first variant][V + 1 variant → first posting][the postings: each variant's
 *   rows, ascending].
 * The head lists it in `fuzzy_indexes` (a field of its own: a reader that does not know it ignores it and answers
 * Fuzzy by scanning, as it would any filter, so parts without the index stay correct).
 *
 * A case-insensitive query accepts every variant of a term within reach; a case-sensitive one checks each variant
 * exactly (lev(fold a, fold b) ≤ lev(a, b): the folded walk misses no case-sensitive match).
 */
import { Bitmap } from '../bitmap/index.js';
import { ElaxError, type AttrValue, type Schema } from '../core/index.js';
import { codePoints, compareCodePoints, foldCase, walkWithinDistance, withinDistance } from '../filter/edit-distance.js';
import { blockOf, BlockFileWriter, corruptBlock, openBlockFile, type BlockTable } from './block-file.js';
import { decodeStrings, encodeStrings, sortByCodePoint } from './string-list.js';

/** The version of fuzzy_version 1 files (read whole); builds write version 2 (fuzzy-blocks.ts). */
export const FILTER_FUZZY_VERSION = 1;

export function fuzzyIndexFileName(n: number): string {
  return `ffz-${n}.blk`;
}

/** A part head's entry for one fuzzy index. */
export interface FuzzyIndexInfo {
  attr: string;
  file: string;
  blocks: BlockTable;
  /** Distinct folded values (terms) and distinct original values (variants). */
  terms: number;
  variants: number;
  /** The attribute's values are arrays (postings per element). */
  array: boolean;
  /**
   * Absent: fuzzy_version 1, `blocks` its three blocks (read whole). 2: term blocks read by range (fuzzy-blocks.ts),
   * `blocks` the directory block alone (the directory lists the term blocks, with their CRC-32s).
   */
  version?: 2;
}

/** A fuzzy index in memory. */
export interface FuzzyIndex {
  kind: 'fuzzy';
  attr: string;
  /** Term t's code points: cps[off[t]] .. cps[off[t + 1]]. */
  cps: Uint32Array;
  off: Uint32Array;
  variants: string[];
  /** Term t's variants: termVariants[t] .. termVariants[t + 1]. */
  termVariants: Uint32Array;
  /** Variant v's rows: posts[postOff[v]] .. posts[postOff[v + 1]]. */
  postOff: Uint32Array;
  posts: Uint32Array;
}

/** What a Fuzzy leaf asks (filter/fuzzy-ops.ts FuzzySpec). */
export interface FuzzyQuery {
  /** The query's code points as compared (folded when case-insensitive). */
  q: Uint32Array;
  /** The query folded (the walk's key). */
  folded: Uint32Array;
  distance: number;
  caseSensitive: boolean;
}

/** Whether the schema asks for Fuzzy filters on `name`. */
export function wantsFuzzyIndex(schema: Schema, name: string): boolean {
  return schema[name]?.fuzzy === true;
}

/**
 * The fuzzy index of one attribute's values (ordinal order), or null when no row holds a string (non-string values
 * never match a Fuzzy filter and are not indexed).
 */
export function buildFuzzyIndex(attr: string, values: readonly (AttrValue | undefined)[]): { bytes: Uint8Array; info: Omit<FuzzyIndexInfo, 'file'> } | null {
  const c = collectFuzzyTerms(values);
  if (c === null) return null;
  const { terms, entries, termVariants, array } = c;
  const ints = packPostings(termVariants, entries);
  const w = new BlockFileWriter();
  w.add(encodeStrings(terms));
  w.add(encodeStrings(entries.map((e) => e.value)));
  w.add(new Uint8Array(ints.buffer));
  const info = { attr, blocks: w.table(), terms: terms.length, variants: entries.length, array };
  return { bytes: w.finish('filter-fuzzy', { fuzzy_version: FILTER_FUZZY_VERSION, attr, terms: terms.length, variants: entries.length, array }), info };
}

/** One attribute's terms, in code point order, with their variants (UTF-16 order) and each variant's rows. */
export interface FuzzyTerms {
  terms: string[];
  entries: { value: string; ords: number[] }[];
  /** Term t's variants: entries[termVariants[t] .. termVariants[t + 1]]. */
  termVariants: number[];
  array: boolean;
}

/** The distinct string values (or array elements) of a column by folded term, or null when it holds no string. */
export function collectFuzzyTerms(values: readonly (AttrValue | undefined)[]): FuzzyTerms | null {
  const byValue = new Map<string, number[]>();
  let array = false;
  const add = (s: string, o: number) => {
    const e = byValue.get(s);
    if (e === undefined) byValue.set(s, [o]);
    else if (e[e.length - 1] !== o) e.push(o); // an element repeated within one array
  };
  for (let o = 0; o < values.length; o++) {
    const v = values[o];
    if (typeof v === 'string') add(v, o);
    else if (Array.isArray(v)) {
      array = true;
      for (const e of v) if (typeof e === 'string') add(e, o);
    }
  }
  if (byValue.size === 0) return null;
  // Terms (folded values) in code point order, each with its variants (original values) in UTF-16 order.
  const byTerm = new Map<string, string[]>();
  for (const value of byValue.keys()) {
    const term = foldCase(value);
    const vs = byTerm.get(term);
    if (vs === undefined) byTerm.set(term, [value]);
    else vs.push(value);
  }
  const terms = sortByCodePoint([...byTerm.keys()]);
  const entries: { value: string; ords: number[] }[] = [];
  const termVariants: number[] = [0];
  for (const t of terms) {
    for (const value of byTerm.get(t)!.sort()) entries.push({ value, ords: byValue.get(value)! });
    termVariants.push(entries.length);
  }
  return { terms, entries, termVariants, array };
}

/** Checks a head's `fuzzy_indexes` (absent: none); ELAX_ERR_CORRUPT naming the part when malformed. */
export function checkFuzzyIndexes(raw: unknown, files: Set<string>, columns: Set<string>, where: string): void {
  if (raw === undefined) return;
  const bad = (what: string) => new ElaxError('ELAX_ERR_CORRUPT', `${where}: fuzzy_indexes ${what}`);
  if (!Array.isArray(raw)) throw bad('is not a list');
  const seen = new Set<string>();
  for (const e of raw as FuzzyIndexInfo[]) {
    if (typeof e !== 'object' || e === null) throw bad('holds a non-object entry');
    const name = JSON.stringify(e.attr);
    if (typeof e.attr !== 'string' || !columns.has(e.attr) || seen.has(e.attr)) throw bad(`entry for ${name} names no column of the part, or repeats one`);
    seen.add(e.attr);
    if (typeof e.file !== 'string' || !files.has(e.file)) throw bad(`entry for ${name} names no listed file`);
    if (typeof e.array !== 'boolean' || !Number.isSafeInteger(e.terms) || e.terms < 1 || !Number.isSafeInteger(e.variants) || e.variants < e.terms) throw bad(`entry for ${name} is malformed`);
    if (e.version !== undefined && e.version !== 2) throw bad(`entry for ${name} has version ${JSON.stringify(e.version)}; this reader knows 1 and 2`);
    const want = e.version === 2 ? 1 : 3;
    if (!e.blocks || e.blocks.offset.length !== want) throw bad(`entry for ${name} has ${e.blocks?.offset.length ?? 0} blocks, expected ${want}`);
  }
}

/** Decodes a fuzzy index from its three blocks (each already checked against its CRC-32). */
export function decodeFuzzyIndex(info: FuzzyIndexInfo, blocks: readonly Uint8Array[], rows: number, where: string): FuzzyIndex {
  const termList = decodeStrings(blocks[0]!, `${where} block 0`);
  const variants = decodeStrings(blocks[1]!, `${where} block 1`);
  const raw = blocks[2]!;
  if (raw.byteLength % 4 !== 0) throw corruptBlock(where, 'postings block is not whole u32s');
  const ints = new Uint32Array(raw.byteLength / 4);
  new Uint8Array(ints.buffer).set(raw);
  return assembleFuzzyIndex(info.attr, termList, variants, ints, info.terms, info.variants, rows, where);
}

/**
 * A fuzzy index (or a term block of one) from its terms, variants and u32s [T + 1 term → first variant][V + 1 variant
 * → first posting][postings], checked: counts, offsets, rows within the part, terms sorted by code point.
 */
export function assembleFuzzyIndex(attr: string, termList: string[], variants: string[], ints: Uint32Array, T: number, V: number, rows: number, where: string, withTerms = true): FuzzyIndex {
  if (termList.length !== T || variants.length !== V) throw corruptBlock(where, `holds ${termList.length} terms and ${variants.length} variants; expected ${T} and ${V}`);
  if (ints.length < T + 1 + V + 1) throw corruptBlock(where, 'postings block is truncated');
  const termVariants = ints.subarray(0, T + 1);
  const postOff = ints.subarray(T + 1, T + 1 + V + 1);
  const posts = ints.subarray(T + 1 + V + 1);
  if (termVariants[0] !== 0 || termVariants[T] !== V || postOff[0] !== 0 || postOff[V] !== posts.length) throw corruptBlock(where, 'offsets do not cover the variants and postings');
  for (let t = 0; t < T; t++) if (termVariants[t + 1]! <= termVariants[t]!) throw corruptBlock(where, `term ${t} has no variant`);
  for (let v = 0; v < V; v++) if (postOff[v + 1]! < postOff[v]!) throw corruptBlock(where, `variant ${v}'s postings run backwards`);
  for (let i = 0; i < posts.length; i++) if (posts[i]! >= rows) throw corruptBlock(where, `posting ${posts[i]} is outside the part's ${rows} rows`);
  if (!withTerms) return { kind: 'fuzzy', attr, cps: new Uint32Array(0), off: new Uint32Array(T + 1), variants, termVariants, postOff, posts };
  const { cps, off } = packSortedTerms(termList, where);
  return { kind: 'fuzzy', attr, cps, off, variants, termVariants, postOff, posts };
}


/**
 * Sorted terms as their code points in one array (`off[t]..off[t + 1]` is term t), checked strictly increasing:
 * ELAX_ERR_CORRUPT naming `where` otherwise. A term has at most as many code points as UTF-16 units.
 */
export function packSortedTerms(list: readonly string[], where: string): { cps: Uint32Array; off: Uint32Array } {
  let units = 0;
  for (const t of list) units += t.length;
  const all = new Uint32Array(units);
  const off = new Uint32Array(list.length + 1);
  let n = 0;
  for (let t = 0; t < list.length; t++) {
    const s = list[t]!;
    for (let i = 0; i < s.length; i++) {
      const c = s.codePointAt(i)!;
      all[n++] = c;
      if (c > 0xffff) i++;
    }
    off[t + 1] = n;
    if (t > 0 && compareCodePoints(all.subarray(off[t - 1]!, off[t]!), all.subarray(off[t]!, n)) >= 0) throw corruptBlock(where, `terms are not sorted at ${t}`);
  }
  return { cps: n === units ? all : all.slice(0, n), off };
}

/** Bytes a decoded fuzzy index holds (the part cache's accounting). */
export function fuzzyIndexBytes(d: FuzzyIndex): number {
  let strings = 0;
  for (const v of d.variants) strings += 2 * v.length + 32;
  return d.cps.byteLength + d.off.byteLength + d.termVariants.byteLength + d.postOff.byteLength + d.posts.byteLength + strings + 256;
}

/**
 * The rows (ordinals, dead included) holding a value within the query's distance, as a bitmap over [0, rows), with
 * the work done: terms matched and trie rows computed (filter-eval.ts traces them for explain_query).
 */
export function fuzzyLookup(d: FuzzyIndex, query: FuzzyQuery, rows: number): { bits: Bitmap; terms: number; visited: number } {
  if (query.distance < 0) return { bits: Bitmap.empty(rows), terms: 0, visited: 0 };
  const lists: Uint32Array[] = [];
  const { terms, visited } = fuzzyMatches(d, query, lists);
  return { bits: rowsOf(lists, rows), terms, visited };
}

/** Walks one sorted term dictionary (a whole v1 index or one v2 term block): each match's postings into `lists`. */
export function fuzzyMatches(d: FuzzyIndex, query: FuzzyQuery, lists: Uint32Array[]): { terms: number; visited: number } {
  let terms = 0;
  const visited = walkWithinDistance(d.cps, d.off, query.folded, query.distance, (t) => {
    terms++;
    for (let v = d.termVariants[t]!; v < d.termVariants[t + 1]!; v++) {
      if (query.caseSensitive && !withinDistance(codePoints(d.variants[v]!), query.q, query.distance)) continue;
      lists.push(d.posts.subarray(d.postOff[v]!, d.postOff[v + 1]!));
    }
  });
  return { terms, visited };
}

/** The union of row lists as a bitmap over [0, rows). */
export function rowsOf(lists: readonly Uint32Array[], rows: number): Bitmap {
  let n = 0;
  for (const l of lists) n += l.length;
  const ords = new Uint32Array(n);
  let at = 0;
  for (const l of lists) {
    ords.set(l, at);
    at += l.length;
  }
  ords.sort();
  // An array row may hold several matching elements: keep each row once.
  let k = 0;
  for (let i = 0; i < ords.length; i++) if (i === 0 || ords[i] !== ords[i - 1]) ords[k++] = ords[i]!;
  return Bitmap.fromSorted(rows, ords.subarray(0, k));
}

/** A whole fuzzy index file (tools, fixtures): its footer checked against the head's entry, then decoded. */
export function readFuzzyIndex(bytes: Uint8Array, info: FuzzyIndexInfo, rows: number, where: string): FuzzyIndex {
  const { footer } = openBlockFile(bytes, where);
  if (footer.kind !== 'filter-fuzzy' || footer.fuzzy_version !== FILTER_FUZZY_VERSION || footer.attr !== info.attr) {
    throw corruptBlock(where, `footer says ${JSON.stringify(footer.kind)} v${String(footer.fuzzy_version)} of ${JSON.stringify(footer.attr)}; the head says a fuzzy index of ${JSON.stringify(info.attr)}`);
  }
  const blocks = Array.from({ length: info.blocks.offset.length }, (_, b) => blockOf(bytes, info.blocks, b, where));
  return decodeFuzzyIndex(info, blocks, rows, where);
}

/**
 * `head`, then each entry's first posting index (entries.length + 1 offsets), then every entry's ordinals in order:
 * the integer section of a fuzzy index (and of a version-2 fuzzy block, fuzzy-blocks.ts).
 */
export function packPostings(head: ArrayLike<number>, entries: readonly { ords: readonly number[] }[]): Uint32Array {
  let postings = 0;
  for (const e of entries) postings += e.ords.length;
  const ints = new Uint32Array(head.length + entries.length + 1 + postings);
  ints.set(head, 0);
  let at = head.length;
  let p = 0;
  for (const e of entries) {
    ints[at++] = p;
    p += e.ords.length;
  }
  ints[at++] = p;
  for (const e of entries) for (const o of e.ords) ints[at++] = o;
  return ints;
}
