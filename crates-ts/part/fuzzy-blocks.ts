/**
 * Fuzzy indexes read by byte ranges (RFC-0009 "Fuzzy indexes", fuzzy_version 2): the sorted folded terms of
 * fuzzy-index.ts cut into term blocks, each self-contained (its terms, their variants and the variants' rows), and a
 * small directory of the blocks' first and last terms. A query reads the directory, runs the bounded Levenshtein
 * automaton over each block's range [first, last] (filter/edit-interval.ts: skipped when no string of the range can
 * be within the distance), and reads only the surviving blocks, by range, each checked by its CRC-32; inside a block
 * the term walk is version 1's (walkWithinDistance). The answer is version 1's by construction.
 *
 * File `ffz-{n}.blk`, a block file of kind `filter-fuzzy`, footer {fuzzy_version: 2, attr, terms, variants, array,
 * term_blocks}; B term blocks cut along the implicit trie of the terms (blockStarts), each in two blocks so the walk
 * reads only terms and the rows are read only for blocks with a match:
 *   blocks 0 .. B - 1, term text: block b's terms (a string list, string-list.ts);
 *   blocks B .. 2B - 1, rows: u32 LE [variant list bytes], block b's variants (a string list), then u32 LE
 *     [n + 1 term → first variant][v + 1 variant → first posting][postings, rows ascending];
 *   block 2B, the directory: u32 LE [B][length × 2B][CRC-32 × 2B][first term × (B + 1)][first variant × (B + 1)],
 *     then a string list of 2B boundary terms (block b's first and last).
 * Blocks lie back to back from offset 0. The head's `fuzzy_indexes` entry says `version: 2` and its block table holds
 * the directory alone (the directory has the other blocks' lengths and CRC-32s), so the head stays small.
 */
import { Bitmap } from '../bitmap/index.js';
import type { AttrValue, Schema } from '../core/index.js';
import { IntervalAutomaton } from '../filter/edit-interval.js';
import { codePoints, compareCodePoints, walkWithinDistance, withinDistance } from '../filter/edit-distance.js';
import { BlockFileWriter, corruptBlock, openBlockFile, blockOf, type BlockTable } from './block-file.js';
import {
  assembleFuzzyIndex,
  buildFuzzyIndex,
  collectFuzzyTerms,
  fuzzyIndexFileName,
  fuzzyLookup,
  packPostings,
  packSortedTerms,
  rowsOf,
  wantsFuzzyIndex,
  type FuzzyIndex,
  type FuzzyIndexInfo,
  type FuzzyQuery,
} from './fuzzy-index.js';
import { decodeStrings, encodeStrings } from './string-list.js';

export const FUZZY_BLOCKED_VERSION = 2;
/** A term block closes at this many terms, or once its text and rows reach FUZZY_BLOCK_BYTES. */
export const FUZZY_BLOCK_TERMS = 128;
export const FUZZY_BLOCK_BYTES = 8 * 1024;

/** A version 2 index's directory, decoded. */
export interface FuzzyDirectory {
  kind: 'fuzzy-dir';
  attr: string;
  blocks: number;
  /** Block b < B: term block b's terms; block B + b: its rows (offset, length, CRC-32 in the file). */
  table: BlockTable;
  firstTerm: Uint32Array;
  firstVariant: Uint32Array;
  /** Block b's first and last term's code points: bounds[2b], bounds[2b + 1]. */
  bounds: Uint32Array[];
  bytes: number;
}

/** A version 2 index as a query sees it: the directory and the term blocks prepared for it. */
export interface FuzzyBlocked {
  kind: 'fuzzy-blocked';
  dir: FuzzyDirectory;
  /** Block b's terms if prepared (PartData pins those of the blocks `fuzzySurvivors` names), else undefined. */
  terms(b: number): FuzzyTermsBlock | undefined;
  /** Block b's rows if prepared (those of the blocks where a query's walk matched), else undefined. */
  rows(b: number): FuzzyRowsBlock | undefined;
}

export type FuzzyReader = FuzzyIndex | FuzzyBlocked;

/** The version 2 fuzzy index of one attribute's values (ordinal order), or null when no row holds a string. */
export function buildFuzzyIndexV2(
  attr: string,
  values: readonly (AttrValue | undefined)[],
  opts: { blockTerms?: number; blockBytes?: number } = {},
): { bytes: Uint8Array; info: Omit<FuzzyIndexInfo, 'file'> } | null {
  const c = collectFuzzyTerms(values);
  if (c === null) return null;
  const { terms, entries, termVariants, array } = c;
  const maxTerms = opts.blockTerms ?? FUZZY_BLOCK_TERMS;
  const maxBytes = opts.blockBytes ?? FUZZY_BLOCK_BYTES;
  const w = new BlockFileWriter();
  const starts = blockStarts(terms, termVariants, entries, maxTerms, maxBytes);
  const B = starts.length - 1;
  for (let b = 0; b < B; b++) w.add(encodeStrings(terms.slice(starts[b]!, starts[b + 1]!)));
  for (let b = 0; b < B; b++) {
    const from = starts[b]!;
    const t = starts[b + 1]!;
    w.add(encodeRowsBlock(entries.slice(termVariants[from]!, termVariants[t]!), termVariants.slice(from, t + 1)));
  }
  const table = w.table();
  const head = new Uint32Array(1 + 4 * B + 2 * (B + 1));
  head[0] = B;
  head.set(table.length, 1);
  head.set(table.crc32, 1 + 2 * B);
  head.set(starts, 1 + 4 * B);
  head.set(
    starts.map((s) => termVariants[s]!),
    1 + 4 * B + B + 1,
  );
  const bounds: string[] = [];
  for (let b = 0; b < B; b++) bounds.push(terms[starts[b]!]!, terms[starts[b + 1]! - 1]!);
  const list = encodeStrings(bounds);
  const dir = new Uint8Array(head.byteLength + list.byteLength);
  dir.set(new Uint8Array(head.buffer), 0);
  dir.set(list, head.byteLength);
  const d = w.add(dir);
  const all = w.table();
  const dirTable: BlockTable = { offset: all.offset.slice(d, d + 1), length: all.length.slice(d, d + 1), crc32: all.crc32.slice(d, d + 1) };
  const info = { attr, blocks: dirTable, terms: terms.length, variants: entries.length, array, version: FUZZY_BLOCKED_VERSION as 2 };
  const bytes = w.finish('filter-fuzzy', { fuzzy_version: FUZZY_BLOCKED_VERSION, attr, terms: terms.length, variants: entries.length, array, term_blocks: B });
  return { bytes, info };
}

/**
 * Where the term blocks start (and T at the end): blocks follow the implicit trie of the sorted terms (like a block
 * tree), so a block's first and last terms share a long prefix and the automaton can rule the block out early. A run of
 * terms sharing p code points that is too large (maxTerms, maxBytes) is split by its (p + 1)-th code point; adjacent
 * small groups are merged up to the limits.
 */
function blockStarts(terms: string[], termVariants: number[], entries: { value: string; ords: number[] }[], maxTerms: number, maxBytes: number): number[] {
  const T = terms.length;
  const cps = terms.map(codePoints);
  const size = new Float64Array(T + 1); // prefix sums of the bytes a term brings to its block (estimate)
  for (let t = 0; t < T; t++) {
    let s = 2 * terms[t]!.length;
    for (let v = termVariants[t]!; v < termVariants[t + 1]!; v++) s += 2 * entries[v]!.value.length + 4 * entries[v]!.ords.length + 8;
    size[t + 1] = size[t]! + s;
  }
  const fits = (i: number, j: number) => j - i <= maxTerms && (j - i === 1 || size[j]! - size[i]! <= maxBytes);
  const starts: number[] = [];
  // Groups of [i, j) sharing p code points, split into blocks; iterative (a term may be long).
  const stack: [number, number, number][] = [[0, T, 0]];
  let open = -1; // start of the block being filled (-1: none), whose terms end at `openEnd`
  let openEnd = -1;
  const emit = (i: number, j: number) => {
    // Merge [i, j) into the open block when it follows it and fits; else close it and open a new one.
    if (open >= 0 && openEnd === i && fits(open, j)) {
      openEnd = j;
      return;
    }
    if (open >= 0) starts.push(open);
    open = i;
    openEnd = j;
  };
  while (stack.length > 0) {
    const [i, j, p] = stack.pop()!;
    if (fits(i, j)) {
      emit(i, j);
      continue;
    }
    // Children by the code point at p (a term of length p, equal to the prefix, sorts first and stands alone).
    const children: [number, number][] = [];
    let k = i;
    while (k < j) {
      const c = cps[k]!.length > p ? cps[k]![p]! : -1;
      let e = k + 1;
      if (c >= 0) while (e < j && cps[e]!.length > p && cps[e]![p] === c) e++;
      children.push([k, e]);
      k = e;
    }
    // Pushed in reverse so they are handled in term order.
    for (let c = children.length - 1; c >= 0; c--) stack.push([children[c]![0], children[c]![1], children.length === 1 ? p + 1 : p + 1]);
  }
  if (open >= 0) starts.push(open);
  starts.push(T);
  return starts;
}

function encodeRowsBlock(entries: { value: string; ords: number[] }[], tv: number[]): Uint8Array {
  const v = encodeStrings(entries.map((e) => e.value));
  const ints = packPostings(tv.map((x) => x - tv[0]!), entries);
  const out = new Uint8Array(4 + v.byteLength + ints.byteLength);
  new DataView(out.buffer).setUint32(0, v.byteLength, true);
  out.set(v, 4);
  out.set(new Uint8Array(ints.buffer), 4 + v.byteLength);
  return out;
}

/** Decodes the directory block (already checked against the head's CRC-32); `where` names the file. */
export function decodeFuzzyDirectory(info: FuzzyIndexInfo, raw: Uint8Array, where: string): FuzzyDirectory {
  const w = `${where} directory`;
  if (raw.byteLength < 4) throw corruptBlock(w, 'is truncated');
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const B = dv.getUint32(0, true);
  const headBytes = 4 * (1 + 4 * B + 2 * (B + 1));
  if (B < 1 || headBytes > raw.byteLength) throw corruptBlock(w, `is truncated (${B} term blocks)`);
  const ints = new Uint32Array(headBytes / 4);
  new Uint8Array(ints.buffer).set(raw.subarray(0, headBytes));
  const length = ints.slice(1, 1 + 2 * B);
  const crc32 = ints.slice(1 + 2 * B, 1 + 4 * B);
  const firstTerm = ints.slice(1 + 4 * B, 1 + 4 * B + B + 1);
  const firstVariant = ints.slice(1 + 4 * B + B + 1);
  const offset = new Float64Array(2 * B);
  let at = 0;
  for (let b = 0; b < 2 * B; b++) {
    offset[b] = at;
    at += length[b]!;
  }
  for (let b = 0; b < B; b++) {
    if (firstTerm[b + 1]! <= firstTerm[b]! || firstVariant[b + 1]! < firstVariant[b]! + (firstTerm[b + 1]! - firstTerm[b]!)) throw corruptBlock(w, `block ${b}'s term or variant range is malformed`);
  }
  if (firstTerm[0] !== 0 || firstTerm[B] !== info.terms || firstVariant[0] !== 0 || firstVariant[B] !== info.variants) {
    throw corruptBlock(w, `covers ${firstTerm[B]} terms and ${firstVariant[B]} variants; the head says ${info.terms} and ${info.variants}`);
  }
  // The term blocks end where the directory starts (the head's table).
  if (at !== info.blocks.offset[0]) throw corruptBlock(w, `term blocks end at byte ${at}; the directory starts at ${info.blocks.offset[0]}`);
  const list = decodeStrings(raw.subarray(headBytes), w);
  if (list.length !== 2 * B) throw corruptBlock(w, `holds ${list.length} boundary terms for ${B} blocks`);
  const bounds = list.map(codePoints);
  for (let b = 0; b < B; b++) {
    const c = compareCodePoints(bounds[2 * b]!, bounds[2 * b + 1]!);
    // first < last, or equal when the block holds one term; the previous block's last < this first.
    if (c > 0 || (c === 0) !== (firstTerm[b + 1]! - firstTerm[b]! === 1) || (b > 0 && compareCodePoints(bounds[2 * b - 1]!, bounds[2 * b]!) >= 0)) throw corruptBlock(w, `boundary terms of block ${b} are not sorted`);
  }
  let bytes = raw.byteLength + 256;
  for (const b of bounds) bytes += b.byteLength + 48;
  return { kind: 'fuzzy-dir', attr: info.attr, blocks: B, table: { offset, length, crc32 }, firstTerm, firstVariant, bounds, bytes };
}

/** Block b's terms as code points (a sorted term dictionary), decoded from its block (checked by its CRC-32). */
export interface FuzzyTermsBlock {
  cps: Uint32Array;
  off: Uint32Array;
  bytes: number;
}

/** Block b's variants and their rows. */
export interface FuzzyRowsBlock {
  variants: string[];
  termVariants: Uint32Array;
  postOff: Uint32Array;
  posts: Uint32Array;
  bytes: number;
}

/** Decodes block b's terms and checks them against the directory (count, first and last, sorted). */
export function decodeFuzzyTerms(dir: FuzzyDirectory, b: number, raw: Uint8Array, where: string): FuzzyTermsBlock {
  const w = `${where} block ${b}`;
  const n = dir.firstTerm[b + 1]! - dir.firstTerm[b]!;
  const list = decodeStrings(raw, w);
  if (list.length !== n) throw corruptBlock(w, `holds ${list.length} terms; the directory says ${n}`);
  const { cps, off } = packSortedTerms(list, w);
  const k = cps.length;
  if (compareCodePoints(cps.subarray(0, off[1]!), dir.bounds[2 * b]!) !== 0 || compareCodePoints(cps.subarray(off[n - 1]!, k), dir.bounds[2 * b + 1]!) !== 0) throw corruptBlock(w, 'first or last term differs from the directory');
  return { cps, off, bytes: cps.byteLength + off.byteLength + 64 };
}

/** Decodes block b's rows (block B + b) and checks them: counts against the directory, offsets, rows within the part. */
export function decodeFuzzyRows(dir: FuzzyDirectory, b: number, raw: Uint8Array, rows: number, where: string): FuzzyRowsBlock {
  const w = `${where} block ${dir.blocks + b}`;
  const T = dir.firstTerm[b + 1]! - dir.firstTerm[b]!;
  const V = dir.firstVariant[b + 1]! - dir.firstVariant[b]!;
  if (raw.byteLength < 4) throw corruptBlock(w, 'is truncated');
  const vb = new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getUint32(0, true);
  if (4 + vb > raw.byteLength || (raw.byteLength - 4 - vb) % 4 !== 0) throw corruptBlock(w, 'is truncated');
  const variants = decodeStrings(raw.subarray(4, 4 + vb), w);
  const ints = new Uint32Array((raw.byteLength - 4 - vb) / 4);
  new Uint8Array(ints.buffer).set(raw.subarray(4 + vb));
  // The checks of a version 1 index, on this block's share (no terms here: assembled with empty ones).
  const d = assembleFuzzyIndex(dir.attr, new Array<string>(T).fill(''), variants, ints, T, V, rows, w, false);
  let bytes = d.termVariants.byteLength + d.postOff.byteLength + d.posts.byteLength + 64;
  for (const v of variants) bytes += 2 * v.length + 32;
  return { variants, termVariants: d.termVariants, postOff: d.postOff, posts: d.posts, bytes };
}

/** The term blocks that may hold a match of the query (the others cannot: no string of their range is within reach). */
export function fuzzySurvivors(dir: FuzzyDirectory, query: FuzzyQuery): { blocks: number[]; visited: number } {
  if (query.distance < 0) return { blocks: [], visited: 0 };
  const a = new IntervalAutomaton(query.folded, query.distance);
  const out: number[] = [];
  for (let b = 0; b < dir.blocks; b++) if (a.mayHold(dir.bounds[2 * b]!, dir.bounds[2 * b + 1]!)) out.push(b);
  return { blocks: out, visited: a.computed };
}

/**
 * Walks the surviving blocks' terms; `onMatch(b, t)` for each term within reach (t local to block b). The blocks' terms
 * come from `terms(b)`; one not prepared is an internal error (never a silent miss).
 */
export function fuzzyWalkBlocks(
  dir: FuzzyDirectory,
  terms: (b: number) => FuzzyTermsBlock | undefined,
  query: FuzzyQuery,
  onMatch: (b: number, t: number) => void,
): { blocks: number; visited: number } {
  const s = fuzzySurvivors(dir, query);
  let visited = s.visited;
  for (const b of s.blocks) {
    const tb = terms(b);
    if (tb === undefined) throw new Error(`fuzzy index of ${JSON.stringify(dir.attr)}: the terms of block ${b} were not prepared for this query`);
    visited += walkWithinDistance(tb.cps, tb.off, query.folded, query.distance, (t) => onMatch(b, t));
  }
  return { blocks: s.blocks.length, visited };
}

/** The rows within the query's distance over a prepared version 2 index, with the work done. */
export function fuzzyLookupBlocked(d: FuzzyBlocked, query: FuzzyQuery, rows: number): { bits: Bitmap; terms: number; visited: number; blocks: number } {
  const lists: Uint32Array[] = [];
  let terms = 0;
  const w = fuzzyWalkBlocks(d.dir, d.terms, query, (b, t) => {
    terms++;
    const r = d.rows(b);
    if (r === undefined) throw new Error(`fuzzy index of ${JSON.stringify(d.dir.attr)}: the rows of block ${b} were not prepared for this query`);
    for (let v = r.termVariants[t]!; v < r.termVariants[t + 1]!; v++) {
      if (query.caseSensitive && !withinDistance(codePoints(r.variants[v]!), query.q, query.distance)) continue;
      lists.push(r.posts.subarray(r.postOff[v]!, r.postOff[v + 1]!));
    }
  });
  return { bits: lists.length === 0 ? Bitmap.empty(rows) : rowsOf(lists, rows), terms, visited: w.visited, blocks: w.blocks };
}

/** A Fuzzy query over either version. */
export function fuzzyLookupAny(d: FuzzyReader, query: FuzzyQuery, rows: number): { bits: Bitmap; terms: number; visited: number } {
  return d.kind === 'fuzzy' ? fuzzyLookup(d, query, rows) : fuzzyLookupBlocked(d, query, rows);
}

/** A whole version 2 file (tools, fixtures, tests): footer checked, every block decoded. */
export function readFuzzyIndexV2(bytes: Uint8Array, info: FuzzyIndexInfo, rows: number, where: string): { dir: FuzzyDirectory; terms: FuzzyTermsBlock[]; rows: FuzzyRowsBlock[]; reader: FuzzyBlocked } {
  const { footer } = openBlockFile(bytes, where);
  if (footer.kind !== 'filter-fuzzy' || footer.fuzzy_version !== FUZZY_BLOCKED_VERSION || footer.attr !== info.attr) {
    throw corruptBlock(where, `footer says ${JSON.stringify(footer.kind)} v${String(footer.fuzzy_version)} of ${JSON.stringify(footer.attr)}; the head says a version 2 fuzzy index of ${JSON.stringify(info.attr)}`);
  }
  const dir = decodeFuzzyDirectory(info, blockOf(bytes, info.blocks, 0, where), where);
  const terms = Array.from({ length: dir.blocks }, (_, b) => decodeFuzzyTerms(dir, b, blockOf(bytes, dir.table, b, where), where));
  const rowBlocks = Array.from({ length: dir.blocks }, (_, b) => decodeFuzzyRows(dir, b, blockOf(bytes, dir.table, dir.blocks + b, where), rows, where));
  return { dir, terms, rows: rowBlocks, reader: { kind: 'fuzzy-blocked', dir, terms: (b) => terms[b], rows: (b) => rowBlocks[b] } };
}

/** The fuzzy index of every attribute with schema `fuzzy: true` (`columns`: name and values in ordinal order). */
export function buildFuzzyIndexes(
  schema: Schema,
  columns: readonly { name: string; values: readonly (AttrValue | undefined)[] }[],
  version: 1 | 2 = FUZZY_BLOCKED_VERSION,
): { files: { name: string; bytes: Uint8Array }[]; infos: FuzzyIndexInfo[] } {
  const files: { name: string; bytes: Uint8Array }[] = [];
  const infos: FuzzyIndexInfo[] = [];
  for (const c of columns) {
    if (!wantsFuzzyIndex(schema, c.name)) continue;
    const built = version === 2 ? buildFuzzyIndexV2(c.name, c.values) : buildFuzzyIndex(c.name, c.values);
    if (built === null) continue;
    const name = fuzzyIndexFileName(infos.length);
    files.push({ name, bytes: built.bytes });
    infos.push({ ...built.info, file: name });
  }
  return { files, infos };
}
