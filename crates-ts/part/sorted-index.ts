/**
 * Sorted filter indexes (RFC-0009 §1, slice 3): for a scalar attribute with too many distinct values for a dictionary
 * (near-unique prices, timestamps, names), its (value, ordinal) pairs sorted by value, ties by ordinal, plus the rows
 * where it is missing/null. A range filter is then one run of pairs found by binary search, a prefix glob the run
 * [prefix, …) it matches, and `rank_by [attr, asc|desc]` walks the pairs in order (order-walk.ts).
 *
 * File `fsrt-{n}.blk`, a block file of kind `filter-sorted` (footer: sorted_version, attr, type, values):
 *   block 0: the missing/null bitmap (portable roaring);
 *   blocks 1..: runs of ≤ SORTED_BLOCK_PAIRS pairs, each [u32 n][u32 ordinal × n][one column block of the n values]
 *   (f64 for numbers, utf8 for strings and datetimes, whose stored ISO form sorts chronologically).
 * The head's entry (`filter_indexes`, kind 'sorted') carries the block table, so each block's CRC-32 is checked.
 *
 * Built only when every non-null value has one type, number or string: the filter compares values of another type
 * never (filter/value-ops.ts), so within one type the order of the pairs is the order the filter's comparisons use,
 * and each indexed operator matches a contiguous run (filter-eval.ts finds its ends with the leaf's own closure).
 */
import { Bitmap, RoaringFormatError, serializeSorted } from '../bitmap/index.js';
import type { AttrValue } from '../core/index.js';
import { blockOf, BlockFileWriter, corruptBlock, openBlockFile } from './block-file.js';
import { ColumnBlock, encodeColumnBlock } from './column-block.js';
import type { FilterIndexInfo } from './filter-index.js';

export const FILTER_SORTED_VERSION = 1;
export const SORTED_BLOCK_PAIRS = 16_384;

export function sortedIndexFileName(n: number): string {
  return `fsrt-${n}.blk`;
}

/** A sorted index in memory: values ascending (ties by ordinal), ords[i] the row holding values[i]. */
export interface SortedIndex {
  kind: 'sorted';
  attr: string;
  type: 'number' | 'string';
  values: Float64Array | string[];
  ords: Uint32Array;
  nulls: Bitmap;
}

/**
 * The sorted index of one attribute's values (ordinal order), or null when it does not qualify (arrays, booleans,
 * mixed types, or no value at all).
 */
export function buildSortedIndex(attr: string, values: readonly (AttrValue | undefined)[]): { bytes: Uint8Array; info: Omit<FilterIndexInfo, 'file'> } | null {
  let type: 'number' | 'string' | null = null;
  const nulls: number[] = [];
  const ords: number[] = [];
  for (let o = 0; o < values.length; o++) {
    const v = values[o];
    if (v === null || v === undefined) {
      nulls.push(o);
      continue;
    }
    const t = typeof v;
    if (t !== 'number' && t !== 'string') return null;
    if (type === null) type = t as 'number' | 'string';
    else if (type !== t) return null;
    ords.push(o);
  }
  if (type === null) return null;
  const num = type === 'number';
  ords.sort((a, b) => {
    const x = values[a] as number | string;
    const y = values[b] as number | string;
    return num ? (x as number) - (y as number) || a - b : x < y ? -1 : x > y ? 1 : a - b;
  });
  const w = new BlockFileWriter();
  w.add(serializeSorted(nulls));
  for (let at = 0; at < ords.length; at += SORTED_BLOCK_PAIRS) {
    const run = ords.slice(at, at + SORTED_BLOCK_PAIRS);
    const col = encodeColumnBlock(run.map((o) => values[o]), num ? 'f64' : 'utf8');
    const out = new Uint8Array(4 + 4 * run.length + col.byteLength);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, run.length, true);
    run.forEach((o, i) => dv.setUint32(4 + 4 * i, o, true));
    out.set(col, 4 + 4 * run.length);
    w.add(out);
  }
  const info = { attr, kind: 'sorted' as const, blocks: w.table(), values: ords.length, nulls: nulls.length, array: false, type };
  return { bytes: w.finish('filter-sorted', { sorted_version: FILTER_SORTED_VERSION, attr, type, values: ords.length }), info };
}

/** Decodes a sorted index from its blocks (each already checked against its CRC-32); checks order and ordinals. */
export function decodeSortedIndex(info: FilterIndexInfo, blocks: readonly Uint8Array[], rows: number, where: string): SortedIndex {
  const type = info.type!;
  try {
    const nulls = Bitmap.deserialize(rows, blocks[0]!);
    if (nulls.cardinality !== info.nulls) throw corruptBlock(where, `null bitmap holds ${nulls.cardinality} rows; the head says ${info.nulls}`);
    const n = info.values;
    const ords = new Uint32Array(n);
    const values: Float64Array | string[] = type === 'number' ? new Float64Array(n) : new Array<string>(n);
    let at = 0;
    for (let b = 1; b < blocks.length; b++) {
      const g = blocks[b]!;
      if (g.byteLength < 4) throw corruptBlock(where, `block ${b} is truncated`);
      const dv = new DataView(g.buffer, g.byteOffset, g.byteLength);
      const m = dv.getUint32(0, true);
      if (at + m > n || 4 + 4 * m > g.byteLength) throw corruptBlock(where, `block ${b} holds more pairs than the head says`);
      for (let i = 0; i < m; i++) ords[at + i] = dv.getUint32(4 + 4 * i, true);
      const col = ColumnBlock.decode(g.subarray(4 + 4 * m), `${where} block ${b}`);
      if (col.rows !== m) throw corruptBlock(where, `block ${b} holds ${col.rows} values for ${m} ordinals`);
      for (let i = 0; i < m; i++) {
        const v = col.get(i);
        if (typeof v !== type) throw corruptBlock(where, `value ${at + i} is not a ${type}`);
        values[at + i] = v as never;
      }
      at += m;
    }
    if (at !== n) throw corruptBlock(where, `holds ${at} pairs; the head says ${n}`);
    for (let i = 0; i < n; i++) {
      if (ords[i]! >= rows) throw corruptBlock(where, `ordinal ${ords[i]} is outside the part's ${rows} rows`);
      if (i > 0 && values[i - 1]! > values[i]!) throw corruptBlock(where, `values ${i - 1} and ${i} are out of order`);
    }
    return { kind: 'sorted', attr: info.attr, type, values, ords, nulls };
  } catch (e) {
    if (e instanceof RoaringFormatError || e instanceof RangeError) throw corruptBlock(where, `malformed bitmap: ${e.message}`);
    throw e;
  }
}

/** A whole sorted index file (tools, fixtures): its footer checked against the head's entry, then decoded. */
export function readSortedIndex(bytes: Uint8Array, info: FilterIndexInfo, rows: number, where: string): SortedIndex {
  const { footer } = openBlockFile(bytes, where);
  if (footer.kind !== 'filter-sorted' || footer.sorted_version !== FILTER_SORTED_VERSION || footer.attr !== info.attr || footer.type !== info.type) {
    throw corruptBlock(where, `footer says ${JSON.stringify(footer.kind)} v${String(footer.sorted_version)} of ${JSON.stringify(footer.attr)}; the head says a sorted index of ${JSON.stringify(info.attr)}`);
  }
  const blocks = Array.from({ length: info.blocks.offset.length }, (_, b) => blockOf(bytes, info.blocks, b, where));
  return decodeSortedIndex(info, blocks, rows, where);
}

/** The first position i in [lo, hi) where `pred(i)` holds, for a predicate false…false true…true over it (else hi). */
export function firstTrue(lo: number, hi: number, pred: (i: number) => boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The rows of pairs [lo, hi) as a bitmap over the part's rows. */
export function runBitmap(idx: SortedIndex, rows: number, lo: number, hi: number): Bitmap {
  return hi <= lo ? Bitmap.empty(rows) : Bitmap.fromUnsorted(rows, idx.ords.subarray(lo, hi));
}
