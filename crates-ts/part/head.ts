/**
 * The part head of format v2 (RFC-0004 §2): `manifest.json` with format_version 2. Everything a node needs to
 * address a part's data by range: counts, id range, the block tables of every block file, column kinds and
 * statistics, the vector file's geometry. Written last (the part's commit point), cached per part.
 *
 * Format 3 (RFC-0008 §2) is format 2 plus a clustered vector index instead of an HNSW graph: the same fields, and
 * `ivf` (the cluster table's file, the codes file's block table, the codebook version). Rows are ordered by
 * (cluster, id), so readers never assume id order (the id index maps ids to ordinals in both).
 */
import { checkVectorAttrIndexes, type VectorAttrIndexInfo } from './vector-attr-index.js';
import { ElaxError, type AttrValue, type Id } from '../core/index.js';
import { decodeTable, encodeTable, type BlockTable, type EncodedBlockTable } from './block-file.js';
import type { ColumnKind } from './column-block.js';
import type { PartManifestV1 } from './manifest.js';
import { checkFilterIndexes, type FilterIndexInfo } from './filter-index.js';
import { checkFuzzyIndexes, type FuzzyIndexInfo } from './fuzzy-index.js';

export const PART_FORMAT_V2 = 2;
export const PART_FORMAT_V3 = 3;

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

/** The clustered vector index of a format-3 part (RFC-0008 §2). */
export interface IvfPartInfo extends RowBlockedFile {
  /** `ivf.blk`, one block: the cluster table (cluster-table.ts). */
  file: string;
  /** The codebook version the part was built against (valid under every later version: ids keep their meaning). */
  codebook_version: number;
  /** Clusters present in the part (at least one row each), in centroid-id order. */
  clusters: number;
  /** Rows in clusters: ordinals [0, vectors); the rows without a vector follow, in id order. */
  vectors: number;
  /** Bits per RaBitQ code (the rotation's padded dimension). */
  padded: number;
  /** `codes.blk`: block i holds the codes of the table's cluster i (ivf/cluster-layout.ts); `start` is its first ordinal. */
  codes: RowBlockedFile;
  /**
   * The probe depth the builder estimated these clusters need for recall ESTIMATE_TARGET (ivf/probe-estimate.ts),
   * counted among the part's own clusters as queries probe them (namespace/ivf-query.ts): the default depth of ANN
   * queries (engine/ivf-probes.ts). Absent in parts built before it existed, and in parts too
   * small to estimate.
   */
  probes_hint?: number;
}

/** Head of a format 2 or 3 part (block files), decoded (block tables as typed arrays). */
export interface PartHeadV2 extends Omit<PartManifestV1, 'format_version'> {
  format_version: 2 | 3;
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
  /** Format 3 only. */
  ivf?: IvfPartInfo;
  /** Dictionary filter indexes (RFC-0009 slice 2); absent in parts built before them (readers then scan). */
  filter_indexes?: FilterIndexInfo[];
  /**
   * Fuzzy indexes (RFC-0009 "Fuzzy indexes") of the attributes with schema `fuzzy: true`; absent in parts built before
   * them (readers then answer Fuzzy by scanning). A field of its own, so older readers ignore it.
   */
  fuzzy_indexes?: FuzzyIndexInfo[];
  /**
   * Sparse kNN indexes (RFC-0012), one per `{}f16` / `{}f32` attribute with `sparse_knn` when the part was built;
   * absent otherwise (SparseKNN then scores the part from its column).
   */
  sparse?: SparseIndexInfo[];
  /**
   * ANN indexes of the other vector columns (RFC-0014, part/vector-attr-index.ts), one per indexed attribute; absent in
   * parts built before them or without such attributes (readers then rank those columns by exact scan).
   */
  vector_attr_indexes?: VectorAttrIndexInfo[];
  /**
   * MUVERA indexes (RFC-0015 §3), one per `[][N]f32` attribute with `ann.late_interaction` when the part was built;
   * absent otherwise (ANN then ranks the part's rows exactly). Additive: older readers ignore it.
   */
  multivec_fde?: SparseIndexInfo[];
  /**
   * Token-level IVF indexes (RFC-0015 §4, `mvivf-{n}.bin`), one per `[][N]f32` attribute with `ann.late_interaction`
   * in parts built since; they replace `multivec_fde` in new parts. Additive: older readers ignore it (and rank such
   * parts exactly).
   */
  multivec_ivf?: SparseIndexInfo[];
}

export interface SparseIndexInfo {
  attr: string;
  /** `sparse-{n}.idx`: sparse/index-file.ts, verified by the file list's SHA-256. */
  file: string;
}

/** A format-3 head: a format-2 head with its clustered index. */
export type PartHeadV3 = PartHeadV2 & { format_version: 3; ivf: IvfPartInfo };

/** Whether a manifest is a head of block files (format 2 or 3), read through PartData and id-index lookups. */
export function isBlockHead(m: { format_version: number }): m is PartHeadV2 {
  return m.format_version === PART_FORMAT_V2 || m.format_version === PART_FORMAT_V3;
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
    if (typeof c.name !== 'string' || !['f64', 'bool', 'utf8', 'json', 'sparse', 'multivec', 'fvec'].includes(c.kind)) throw corrupt(where, `column ${String(c.name)} is malformed`);
  }
  if (h.sparse !== undefined) {
    if (!Array.isArray(h.sparse)) throw corrupt(where, 'sparse is malformed');
    for (const f of h.sparse) {
      if (typeof f?.attr !== 'string' || typeof f.file !== 'string' || !files.has(f.file)) throw corrupt(where, `malformed sparse index entry ${JSON.stringify(f)}`);
    }
  }
  if (h.multivec_fde !== undefined) {
    if (!Array.isArray(h.multivec_fde)) throw corrupt(where, 'multivec_fde is malformed');
    for (const f of h.multivec_fde) {
      if (typeof f?.attr !== 'string' || typeof f.file !== 'string' || !files.has(f.file)) throw corrupt(where, `malformed MUVERA index entry ${JSON.stringify(f)}`);
    }
  }
  if (h.multivec_ivf !== undefined) {
    if (!Array.isArray(h.multivec_ivf)) throw corrupt(where, 'multivec_ivf is malformed');
    for (const f of h.multivec_ivf) {
      if (typeof f?.attr !== 'string' || typeof f.file !== 'string' || !files.has(f.file)) throw corrupt(where, `malformed multi-vector IVF index entry ${JSON.stringify(f)}`);
    }
  }
  if (h.keys !== null) checkFile(h.keys, files, where, 'keys');
  if (!Array.isArray(h.idx.first_keys) || h.idx.first_keys.length !== h.idx.blocks.offset.length) throw corrupt(where, 'idx first_keys do not match its blocks');
  if ((h.format_version === PART_FORMAT_V3) !== (h.ivf !== undefined)) throw corrupt(where, `format ${h.format_version} with${h.ivf ? '' : 'out'} a clustered index`);
  if (h.ivf !== undefined) checkIvf(h as PartHeadV3, files, where);
  checkFilterIndexes(h.filter_indexes, files, new Set(h.columns.map((c) => c.name)), `part ${where}`);
  checkFuzzyIndexes(h.fuzzy_indexes, files, new Set(h.columns.map((c) => c.name)), `part ${where}`);
  checkVectorAttrIndexes(h.vector_attr_indexes, files, `part ${where}`);
  return h;
}

function checkIvf(h: PartHeadV3, files: Set<string>, where: string): void {
  const v = h.ivf;
  checkFile(v, files, where, 'ivf');
  checkFile(v.codes, files, where, 'ivf codes');
  if (!isNat(v.codebook_version) || v.codebook_version < 1 || !isNat(v.clusters) || !isNat(v.vectors) || !isNat(v.padded) || v.padded === 0 || v.padded % 64 !== 0) {
    throw corrupt(where, 'ivf is malformed');
  }
  if (h.index.kind !== 'ivf' || h.vectors === null || h.dims === null || v.padded !== Math.max(64, Math.ceil(h.dims / 64) * 64)) throw corrupt(where, 'ivf does not match the index kind or the vector geometry');
  if (v.vectors !== h.vectors.present || v.vectors !== h.index.vectors || v.vectors > h.rows) throw corrupt(where, `ivf holds ${v.vectors} vectors; the part has ${h.vectors.present}`);
  if (v.blocks.offset.length !== 1) throw corrupt(where, `ivf cluster table has ${v.blocks.offset.length} blocks, expected 1`);
  if (v.probes_hint !== undefined && !(Number.isSafeInteger(v.probes_hint) && v.probes_hint >= 1)) throw corrupt(where, `ivf probes_hint ${JSON.stringify(v.probes_hint)} is not a positive integer`);
  const c = v.codes.blocks;
  if (c.offset.length !== v.clusters || (v.clusters > 0 && !c.start)) throw corrupt(where, `ivf codes have ${c.offset.length} blocks for ${v.clusters} clusters`);
  const start = c.start ?? new Uint32Array(0);
  for (let i = 0; i < v.clusters; i++) {
    // Clusters are non-empty and back to back from row 0.
    if (start[i]! >= (i + 1 < v.clusters ? start[i + 1]! : v.vectors) || (i === 0 && start[0] !== 0)) throw corrupt(where, `ivf codes block ${i} starts at row ${start[i]}`);
  }
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
