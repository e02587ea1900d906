/**
 * Dictionary filter indexes (RFC-0009 §1, slice 2): per filterable attribute of a part, its distinct values in sorted
 * order and per value a portable roaring bitmap of the ordinals holding it (for an array attribute: holding it as an
 * element), plus the rows where it is missing/null and, for arrays, the rows holding an empty array.
 *
 * File `fidx-{n}.blk`, a block file of kind `filter-dict` (footer: dict_version, attr, values, array):
 *   block 0: the distinct values, one json column block (sorted: bools, numbers, strings);
 *   block 1: the missing/null bitmap; block 2: the empty-array bitmap (empty for scalar attributes);
 *   blocks 3..: bitmap groups, each [u32 count][u32 byte length × count][portable bitmaps], the values in order,
 *   a group ending near 64 KiB. The head's entry (`filter_indexes`) carries the block table, so readers fetch blocks
 *   by range and check each CRC-32.
 *
 * Built when every value is a scalar (or every non-null value an array of scalars) and the distinct values are few:
 * ≤ max(64, rows/4) for a scalar attribute of one type, number or string (above that it gets a sorted index,
 * sorted-index.ts, slice 3), else ≤ max(65,536, rows/4) (booleans, arrays and mixed types have no other index).
 * A bitmap per value of a near-unique attribute costs more than it saves.
 */
import { Bitmap, RoaringFormatError, serializeSorted } from '../bitmap/index.js';
import { ElaxError, type AttrValue, type Schema } from '../core/index.js';
import { blockOf, BlockFileWriter, corruptBlock, openBlockFile, type BlockTable } from './block-file.js';
import { ColumnBlock, encodeColumnBlock } from './column-block.js';
import { buildSortedIndex, sortedIndexFileName } from './sorted-index.js';

export const FILTER_DICT_VERSION = 1;
export const MAX_DICT_VALUES = 65_536;
/** Distinct values a single-typed scalar attribute may have and still get a dictionary, whatever its rows (slice 3). */
export const MIN_DICT_VALUES = 64;
const GROUP_TARGET_BYTES = 64 * 1024;

export function filterIndexFileName(n: number): string {
  return `fidx-${n}.blk`;
}

/** A part head's entry for one filter index: a dictionary, or (slice 3) a sorted index (sorted-index.ts). */
export interface FilterIndexInfo {
  attr: string;
  kind: 'dict' | 'sorted';
  file: string;
  blocks: BlockTable;
  /** Distinct values (elements, for arrays); for a sorted index, its (value, ordinal) pairs: the non-null rows. */
  values: number;
  /** Rows where the attribute is missing or null. */
  nulls: number;
  /** The attribute's values are arrays (bitmaps per element); always false for a sorted index. */
  array: boolean;
  /** Sorted index only: the type of every non-null value. */
  type?: 'number' | 'string';
}

/** A dictionary index in memory. */
export interface DictIndex {
  kind: 'dict';
  attr: string;
  array: boolean;
  values: (string | number | boolean)[];
  bitmaps: Bitmap[];
  nulls: Bitmap;
  empty: Bitmap;
}

type Scalar = string | number | boolean;
const isScalar = (v: unknown): v is Scalar => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
const rank = (v: Scalar) => (typeof v === 'boolean' ? 0 : typeof v === 'number' ? 1 : 2);
/** Dictionary key: the value's type and JSON text (a json block stores it so; 1 and "1" stay apart). */
const keyOf = (v: Scalar) => `${rank(v)}${JSON.stringify(v)}`;

function compareScalars(a: Scalar, b: Scalar): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether the schema lets filters read the attribute by value (turbopuffer: not when full-text or regex is on). */
function filterable(schema: Schema, name: string): boolean {
  const s = schema[name];
  if (!s) return true;
  if (s.filterable !== undefined) return s.filterable;
  return !s.full_text_search && !s.regex;
}

/**
 * The dictionary index of one attribute's values (ordinal order), or null when it does not qualify (too many distinct
 * values, values that are neither scalars nor arrays of scalars, a mix of both, or no values at all).
 */
export function buildDictIndex(
  attr: string,
  values: readonly (AttrValue | undefined)[],
  limit = Math.max(MAX_DICT_VALUES, Math.floor(values.length / 4)),
): { bytes: Uint8Array; info: Omit<FilterIndexInfo, 'file'> } | null {
  const rows = values.length;
  let array: boolean | null = null;
  const byKey = new Map<string, { value: Scalar; ords: number[] }>();
  const nulls: number[] = [];
  const empty: number[] = [];
  const add = (v: Scalar, o: number) => {
    const k = keyOf(v);
    const e = byKey.get(k);
    if (e === undefined) byKey.set(k, { value: v, ords: [o] });
    else if (e.ords[e.ords.length - 1] !== o) e.ords.push(o); // an element repeated within one array
  };
  for (let o = 0; o < rows; o++) {
    const v = values[o];
    if (v === null || v === undefined) {
      nulls.push(o);
      continue;
    }
    const isArray = Array.isArray(v);
    if (array === null) array = isArray;
    else if (array !== isArray) return null;
    if (isArray) {
      if (v.length === 0) empty.push(o);
      for (const e of v) {
        if (!isScalar(e)) return null;
        add(e, o);
      }
    } else if (isScalar(v)) add(v, o);
    else return null;
    if (byKey.size > limit) return null;
  }
  if (array === null) return null;
  const entries = [...byKey.values()].sort((a, b) => compareScalars(a.value, b.value));
  const w = new BlockFileWriter();
  w.add(encodeColumnBlock(entries.map((e) => e.value), 'json'));
  w.add(serializeSorted(nulls));
  w.add(serializeSorted(empty));
  let group: Uint8Array[] = [];
  let groupBytes = 0;
  const flush = () => {
    const head = new Uint32Array(1 + group.length);
    head[0] = group.length;
    group.forEach((g, i) => (head[1 + i] = g.byteLength));
    const out = new Uint8Array(head.byteLength + groupBytes);
    out.set(new Uint8Array(head.buffer));
    let at = head.byteLength;
    for (const g of group) {
      out.set(g, at);
      at += g.byteLength;
    }
    w.add(out);
    group = [];
    groupBytes = 0;
  };
  for (const e of entries) {
    const b = serializeSorted(e.ords);
    group.push(b);
    groupBytes += b.byteLength;
    if (groupBytes >= GROUP_TARGET_BYTES) flush();
  }
  if (group.length > 0) flush();
  const info = { attr, kind: 'dict' as const, blocks: w.table(), values: entries.length, nulls: nulls.length, array };
  return { bytes: w.finish('filter-dict', { dict_version: FILTER_DICT_VERSION, attr, values: entries.length, array }), info };
}

/**
 * The filter index of every qualifying filterable attribute (`columns`: name and values in ordinal order): a
 * dictionary when its distinct values are few, else a sorted index when its values are numbers or strings, else a
 * dictionary up to MAX_DICT_VALUES (arrays, booleans, mixed types), else none.
 */
export function buildFilterIndexes(
  schema: Schema,
  columns: readonly { name: string; values: readonly (AttrValue | undefined)[] }[],
): { files: { name: string; bytes: Uint8Array }[]; infos: FilterIndexInfo[] } {
  const files: { name: string; bytes: Uint8Array }[] = [];
  const infos: FilterIndexInfo[] = [];
  for (const c of columns) {
    if (!filterable(schema, c.name)) continue;
    const few = buildDictIndex(c.name, c.values, Math.max(MIN_DICT_VALUES, Math.floor(c.values.length / 4)));
    const sorted = few === null ? buildSortedIndex(c.name, c.values) : null;
    const built = few ?? sorted ?? buildDictIndex(c.name, c.values);
    if (built === null) continue;
    const name = sorted !== null ? sortedIndexFileName(infos.length) : filterIndexFileName(infos.length);
    files.push({ name, bytes: built.bytes });
    infos.push({ ...built.info, file: name });
  }
  return { files, infos };
}

/** Checks a head's `filter_indexes` (absent: none); ELAX_ERR_CORRUPT naming the part when malformed. */
export function checkFilterIndexes(raw: unknown, files: Set<string>, columns: Set<string>, where: string): void {
  if (raw === undefined) return;
  const bad = (what: string) => new ElaxError('ELAX_ERR_CORRUPT', `${where}: filter_indexes ${what}`);
  if (!Array.isArray(raw)) throw bad('is not a list');
  const seen = new Set<string>();
  for (const e of raw as FilterIndexInfo[]) {
    if (typeof e !== 'object' || e === null) throw bad('holds a non-object entry');
    const name = JSON.stringify(e.attr);
    if (typeof e.attr !== 'string' || !columns.has(e.attr) || seen.has(e.attr)) throw bad(`entry for ${name} names no column of the part, or repeats one`);
    seen.add(e.attr);
    if (e.kind !== 'dict' && e.kind !== 'sorted') throw bad(`entry for ${name} has unknown kind ${JSON.stringify(e.kind)}`);
    if (typeof e.file !== 'string' || !files.has(e.file)) throw bad(`entry for ${name} names no listed file`);
    if (typeof e.array !== 'boolean' || !Number.isSafeInteger(e.values) || e.values < 0 || !Number.isSafeInteger(e.nulls) || e.nulls < 0) throw bad(`entry for ${name} is malformed`);
    if (e.kind === 'sorted') {
      if ((e.type !== 'number' && e.type !== 'string') || e.array) throw bad(`entry for ${name} is malformed`);
      if (!e.blocks || e.blocks.offset.length < 1 + (e.values > 0 ? 1 : 0)) throw bad(`entry for ${name} has too few blocks`);
      continue;
    }
    if (!e.blocks || e.blocks.offset.length < 3 + (e.values > 0 ? 1 : 0)) throw bad(`entry for ${name} has too few blocks`);
  }
}

/** Decodes a dictionary index from its blocks (each already checked against its CRC-32). */
export function decodeDictIndex(info: FilterIndexInfo, blocks: readonly Uint8Array[], rows: number, where: string): DictIndex {
  try {
    const vals = ColumnBlock.decode(blocks[0]!, `${where} block 0`);
    if (vals.rows !== info.values) throw corruptBlock(where, `holds ${vals.rows} values; the head says ${info.values}`);
    const values: Scalar[] = [];
    for (let i = 0; i < vals.rows; i++) {
      const v = vals.get(i);
      if (!isScalar(v)) throw corruptBlock(where, `value ${i} is not a scalar`);
      values.push(v);
    }
    const nulls = Bitmap.deserialize(rows, blocks[1]!);
    if (nulls.cardinality !== info.nulls) throw corruptBlock(where, `null bitmap holds ${nulls.cardinality} rows; the head says ${info.nulls}`);
    const empty = Bitmap.deserialize(rows, blocks[2]!);
    const bitmaps: Bitmap[] = [];
    for (let b = 3; b < blocks.length; b++) {
      const g = blocks[b]!;
      const dv = new DataView(g.buffer, g.byteOffset, g.byteLength);
      if (g.byteLength < 4) throw corruptBlock(where, `bitmap block ${b} is truncated`);
      const n = dv.getUint32(0, true);
      let at = 4 + 4 * n;
      if (at > g.byteLength) throw corruptBlock(where, `bitmap block ${b} is truncated`);
      for (let i = 0; i < n; i++) {
        const len = dv.getUint32(4 + 4 * i, true);
        if (at + len > g.byteLength) throw corruptBlock(where, `bitmap block ${b} is truncated`);
        bitmaps.push(Bitmap.deserialize(rows, g.subarray(at, at + len)));
        at += len;
      }
    }
    if (bitmaps.length !== values.length) throw corruptBlock(where, `holds ${bitmaps.length} bitmaps for ${values.length} values`);
    return { kind: 'dict', attr: info.attr, array: info.array, values, bitmaps, nulls, empty };
  } catch (e) {
    if (e instanceof RoaringFormatError || e instanceof RangeError) throw corruptBlock(where, `malformed bitmap: ${e.message}`);
    throw e;
  }
}

const codesOf = new WeakMap<DictIndex, Uint16Array | Uint32Array>();

/**
 * Each row's value as its position in a scalar dictionary (`values.length` for a missing value): a filter over the
 * attribute is then a lookup per row in the bytes of the values it accepts (filter-eval.ts valueFilterOf). Built
 * once per decoded index from the value bitmaps (O(rows), 2 bytes a row up to 65,535 values, else 4) and kept with
 * it: the part's cache entry counts it (part-data.ts).
 */
export function dictCodes(d: DictIndex, rows: number): Uint16Array | Uint32Array {
  let codes = codesOf.get(d);
  if (codes !== undefined) return codes;
  if (d.array) throw new RangeError(`dictCodes: ${d.attr} is an array attribute`);
  const n = d.values.length;
  codes = n < 0xffff ? new Uint16Array(rows) : new Uint32Array(rows);
  codes.fill(n);
  for (let i = 0; i < n; i++) {
    const b = d.bitmaps[i]!;
    if (b.cardinality * 32 > rows) b.forEach((o) => (codes![o] = i));
    else {
      const s = b.toArray();
      for (let j = 0; j < s.length; j++) codes[s[j]!] = i;
    }
  }
  codesOf.set(d, codes);
  return codes;
}

/** Bytes dictCodes holds for a scalar dictionary of `values` values over `rows` rows. */
export function dictCodesBytes(values: number, rows: number): number {
  return rows * (values < 0xffff ? 2 : 4);
}

/** A whole dictionary index file (tools, fixtures): its footer checked against the head's entry, then decoded. */
export function readDictIndex(bytes: Uint8Array, info: FilterIndexInfo, rows: number, where: string): DictIndex {
  const { footer } = openBlockFile(bytes, where);
  if (footer.kind !== 'filter-dict' || footer.dict_version !== FILTER_DICT_VERSION || footer.attr !== info.attr) {
    throw corruptBlock(where, `footer says ${JSON.stringify(footer.kind)} v${String(footer.dict_version)} of ${JSON.stringify(footer.attr)}; the head says a dictionary of ${JSON.stringify(info.attr)}`);
  }
  const blocks = Array.from({ length: info.blocks.offset.length }, (_, b) => blockOf(bytes, info.blocks, b, where));
  return decodeDictIndex(info, blocks, rows, where);
}
