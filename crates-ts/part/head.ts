/**
 * The part head of format v2 (RFC-0004 §2): `manifest.json` with format_version 2. Everything a node needs to
 * address a part's data by range: counts, id range, the block tables of every block file, column kinds and
 * statistics, the vector file's geometry. Written last (the part's commit point), cached per part.
 */
import { ElaxError, type AttrValue, type Id } from '../core/index.js';
import { decodeTable, encodeTable, type BlockTable, type EncodedBlockTable } from './block-file.js';
import type { ColumnKind } from './column-block.js';
import type { PartManifestV1 } from './manifest.js';

export const PART_FORMAT_V2 = 2;

/** Rows per block of ids, seqs and attribute columns (a variable-width block also ends at ~64 KiB). */
export const BLOCK_ROWS = 4096;
export const BLOCK_TARGET_BYTES = 64 * 1024;
/** Entries per id-index block. */
export const IDX_BLOCK_ENTRIES = 1024;
/** Rows per vector block (fixed geometry: block b holds rows [256 b, 256 b + 256)). */
export const VECTOR_BLOCK_ROWS = 256;

export interface RowBlockedFile {
  file: string;
  blocks: BlockTable;
}

export interface ColumnStats {
  nulls: number;
  /** Smallest / largest non-null value, for number and string columns (skipping parts and blocks later). */
  min?: number | string;
  max?: number | string;
}

export interface ColumnInfo extends RowBlockedFile {
  name: string;
  kind: ColumnKind;
  stats: ColumnStats;
}

export interface VectorFileInfo extends RowBlockedFile {
  dims: number;
  block_rows: number;
  /** Rows that have a vector; the presence bitmap is the file's last block. */
  present: number;
}

export interface KeyedFileInfo extends RowBlockedFile {
  count: number;
  /** First key of each block (ids or idempotency keys), for binary search before any fetch. */
  first_keys: (Id | string)[];
}

/** Head of a v2 part, decoded (block tables as typed arrays). */
export interface PartHeadV2 extends Omit<PartManifestV1, 'format_version'> {
  format_version: 2;
  id_type: 'uint' | 'uuid' | 'string' | 'mixed' | 'none';
  /** Smallest and largest id of the part's rows (null for a part with no rows). */
  id_range: [Id, Id] | null;
  ids: RowBlockedFile;
  seq: RowBlockedFile;
  idx: KeyedFileInfo;
  /** Ids deleted in the part's WAL range, sorted (they shadow older parts under a v1 router). */
  tomb: KeyedFileInfo;
  vectors: VectorFileInfo | null;
  columns: ColumnInfo[];
  keys: KeyedFileInfo | null;
}

type Encoded<T> = T extends BlockTable ? EncodedBlockTable : T extends object ? { [K in keyof T]: Encoded<T[K]> } : T;

function mapTables(v: unknown, f: (t: unknown, where: string) => unknown, where: string): unknown {
  if (Array.isArray(v)) return v.map((x, i) => mapTables(x, f, `${where}[${i}]`));
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = k === 'blocks' ? f(x, `${where}.${k}`) : k === 'schema' ? x : mapTables(x, f, `${where}.${k}`);
  return out;
}

export function encodeHead(h: PartHeadV2): Uint8Array {
  return Buffer.from(JSON.stringify(mapTables(h, (t) => encodeTable(t as BlockTable), 'head') as Encoded<PartHeadV2>));
}

const corrupt = (where: string, what: string) => new ElaxError('ELAX_ERR_CORRUPT', `${where}: ${what}`);
const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function checkFile(f: unknown, files: Set<string>, where: string, what: string): void {
  const r = f as RowBlockedFile | null;
  if (typeof r !== 'object' || r === null || typeof r.file !== 'string' || !files.has(r.file)) throw corrupt(where, `${what} names no listed file`);
}

/** Decodes the v2-specific fields of a manifest already checked as a v1-shaped manifest (manifest.ts). */
export function decodeHeadV2(raw: Record<string, unknown>, where: string): PartHeadV2 {
  const h = mapTables(raw, (t, w) => decodeTable(t, `${where} ${w}`), 'head') as PartHeadV2;
  const files = new Set(h.files.map((f) => f.name));
  for (const [what, f] of [['ids', h.ids], ['seq', h.seq], ['idx', h.idx], ['tomb', h.tomb]] as const) checkFile(f, files, where, what);
  if (h.vectors !== null) {
    checkFile(h.vectors, files, where, 'vectors');
    if (!isNat(h.vectors.dims) || h.vectors.dims !== h.dims || !isNat(h.vectors.block_rows) || h.vectors.block_rows === 0) throw corrupt(where, 'vectors geometry is malformed');
  }
  if (!Array.isArray(h.columns)) throw corrupt(where, 'columns is missing');
  for (const c of h.columns) {
    checkFile(c, files, where, `column ${String(c?.name)}`);
    if (typeof c.name !== 'string' || !['f64', 'bool', 'utf8', 'json'].includes(c.kind)) throw corrupt(where, `column ${String(c.name)} is malformed`);
  }
  if (h.keys !== null) checkFile(h.keys, files, where, 'keys');
  if (!Array.isArray(h.idx.first_keys) || h.idx.first_keys.length !== h.idx.blocks.offset.length) throw corrupt(where, 'idx first_keys do not match its blocks');
  return h;
}

/** min/max/nulls of one column's values. */
export function columnStats(values: readonly unknown[]): ColumnStats {
  let nulls = 0;
  let min: number | string | undefined;
  let max: number | string | undefined;
  for (const v of values) {
    if (v === null || v === undefined) {
      nulls++;
      continue;
    }
    if (typeof v !== 'number' && typeof v !== 'string') continue;
    if (min === undefined || typeof min !== typeof v) {
      if (min === undefined) min = max = v;
      continue;
    }
    if (v < min) min = v;
    if (v > (max as typeof v)) max = v;
  }
  const s: ColumnStats = { nulls };
  if (min !== undefined) {
    s.min = min;
    s.max = max!;
  }
  return s;
}

export type { AttrValue };
