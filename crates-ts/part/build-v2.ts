/**
 * Building a part in format v2 (RFC-0004 §1-2): block files for ids, WAL seqs, the id index, deleted ids, vectors,
 * one per attribute, and idempotency keys; the HNSW index and postings as in v1; the head (`manifest.json`) last.
 * Rows are in id order here; the format lets a builder choose any order (the id index maps ids to ordinals).
 * Deterministic: the same input gives byte-identical files.
 */
import { compareIds, type AttrValue, type Doc, type Id } from '../core/index.js';
import { sha256 } from './manifest.js';
import { BlockFileWriter } from './block-file.js';
import { encodeColumnBlock, type ColumnKind } from './column-block.js';
import {
  BLOCK_ROWS, BLOCK_TARGET_BYTES, IDX_BLOCK_ENTRIES, PART_FORMAT_V2, VECTOR_BLOCK_ROWS, columnStats,
  type ColumnInfo, type KeyedFileInfo, type PartHeadV2, type RowBlockedFile, type VectorFileInfo,
} from './head.js';
import { IDS_FILE, IDX_FILE, KEYS_FILE, SEQ_FILE, TOMB_FILE, VECTORS_FILE, columnFileName, multiFdeFileName, multiIvfFileName, sparseIndexFileName } from './paths.js';
import { buildFdeFile, buildMvIvfFile, defaultFdeParams, multiVectorDims } from '../multivec/index.js';
import { buildSparseIndex } from '../sparse/index.js';
import type { SparseIndexInfo } from './head.js';
import { buildIndexFile, buildPostingsFiles, foldedRows, sortedKeys, vectorDims, type BuiltPart, type PartBuildInput } from './build.js';
import type { PartIndexInfo } from './manifest.js';
import { tryParseType } from '../schema/index.js';
import { buildFilterIndexes } from './filter-index.js';
import { buildFuzzyIndexes } from './fuzzy-blocks.js';
import { buildVectorAttrIndexes } from './vector-attr-index.js';
import { DEFAULT_FLAT_THRESHOLD } from './build.js';

export type File = { name: string; bytes: Uint8Array };

const KIND_OF_SCALAR: Record<string, ColumnKind> = { string: 'utf8', uuid: 'utf8', datetime: 'utf8', int: 'f64', uint: 'f64', float: 'f64', bool: 'bool' };

/** The preferred block kind of an attribute (blocks whose values do not fit fall back to json). */
function kindOf(type: string | undefined): ColumnKind {
  const t = type ? tryParseType(type) : null;
  if (t && t.kind === 'scalar' && !t.array) return KIND_OF_SCALAR[t.scalar]!;
  if (t && t.kind === 'sparse') return 'sparse';
  if (t && t.kind === 'multivec') return 'multivec';
  // [N]f32 / [N]f16 attributes other than `vector` (RFC-0014 §4): fixed-stride f32 blocks.
  if (t && t.kind === 'vector') return 'fvec';
  return 'json';
}

function idKind(ids: readonly Id[]): ColumnKind {
  return ids.length > 0 && typeof ids[0] === 'number' ? 'f64' : 'utf8';
}

/** Rough encoded size of a value, to end variable-width blocks near BLOCK_TARGET_BYTES. */
function approxBytes(v: unknown, kind: ColumnKind): number {
  if (v === null || v === undefined) return 0;
  if (kind === 'fvec' && Array.isArray(v)) return 4 * v.length;
  if (typeof v === 'string') return v.length + 4;
  if (typeof v === 'number') return 8;
  if (typeof v === 'boolean') return 1;
  return JSON.stringify(v).length + 4;
}

/** A row-blocked column file of `values` (ordinal order). */
function columnFile(name: string, values: readonly unknown[], kind: ColumnKind): { file: File; info: RowBlockedFile } {
  const w = new BlockFileWriter();
  let start = 0;
  while (start < values.length || (start === 0 && w.blocks === 0)) {
    let end = start;
    let bytes = 0;
    while (end < values.length && end - start < BLOCK_ROWS && (kind === 'f64' || kind === 'bool' || bytes < BLOCK_TARGET_BYTES)) {
      bytes += approxBytes(values[end], kind);
      end++;
    }
    w.add(encodeColumnBlock(values.slice(start, end), kind), start);
    if (end === start) break; // an empty file still has one (empty) block
    start = end;
  }
  return { file: { name, bytes: w.finish('column', { rows: values.length, kind }) }, info: { file: name, blocks: w.table() } };
}

/** A sorted key file: blocks of `entries` keys (plus, for the id index, each key's ordinal), first keys kept. */
function keyedFile(name: string, keys: readonly (Id | string)[], kind: ColumnKind, ordinals: Uint32Array | null, entries: number): { file: File; info: KeyedFileInfo } {
  const w = new BlockFileWriter();
  const firstKeys: (Id | string)[] = [];
  for (let start = 0; start < keys.length; start += entries) {
    const end = Math.min(keys.length, start + entries);
    const keyBlock = encodeColumnBlock(keys.slice(start, end), kind);
    let block = keyBlock;
    if (ordinals !== null) {
      // [u32 key-block length][key block][u32 ordinals]
      block = new Uint8Array(4 + keyBlock.byteLength + (end - start) * 4);
      new DataView(block.buffer).setUint32(0, keyBlock.byteLength, true);
      block.set(keyBlock, 4);
      block.set(new Uint8Array(ordinals.slice(start, end).buffer), 4 + keyBlock.byteLength);
    }
    w.add(block, start);
    firstKeys.push(keys[start]!);
  }
  return {
    file: { name, bytes: w.finish(ordinals ? 'id-index' : 'keys', { count: keys.length, first_keys: firstKeys }) },
    info: { file: name, blocks: w.table(), count: keys.length, first_keys: firstKeys },
  };
}

function vectorFile(docs: readonly Doc[], dims: number, blockRows: number): { file: File; info: VectorFileInfo } {
  // The blocks are built in place in the file's own buffer (BlockFileWriter arena): no copy of the whole file.
  const vectorBytes = docs.length * dims * 4;
  const presenceBytes = (docs.length + 7) >> 3;
  const blocks = Math.ceil(docs.length / blockRows) + 1;
  const extra = { rows: docs.length, dims, block_rows: blockRows };
  const arena = new Uint8Array(vectorBytes + presenceBytes + BlockFileWriter.tailBytes('vectors', blocks, true, extra));
  const w = new BlockFileWriter(arena);
  const presence = arena.subarray(vectorBytes, vectorBytes + presenceBytes);
  let present = 0;
  for (let start = 0; start < docs.length; start += blockRows) {
    const end = Math.min(docs.length, start + blockRows);
    const block = new Float32Array(arena.buffer, arena.byteOffset + start * dims * 4, (end - start) * dims);
    for (let r = start; r < end; r++) {
      const v = docs[r]!.vector;
      if (v === null) continue;
      block.set(v, (r - start) * dims);
      presence[r >> 3]! |= 1 << (r & 7);
      present++;
    }
    w.add(new Uint8Array(block.buffer, block.byteOffset, block.byteLength), start);
  }
  w.add(presence, docs.length); // last block: which rows have a vector
  return {
    file: { name: VECTORS_FILE, bytes: w.finish('vectors', extra) },
    info: { file: VECTORS_FILE, blocks: w.table(), dims, block_rows: blockRows, present },
  };
}

/**
 * Rows per vector block of a format-3 part (RFC-0008 "Rerank reads"): an ANN rerank reads the blocks of its
 * candidates, scattered over the part, so a block is ≈32 KiB (64 rows at 128-d, 8 at 768-d) instead of format 2's
 * 256 rows (128 KiB at 128-d), whose scans read the file whole. A power of two between 8 and 256.
 */
export function rerankBlockRows(dims: number): number {
  const rows = Math.max(1, Math.floor((32 * 1024) / (dims * 4)));
  return Math.min(VECTOR_BLOCK_ROWS, Math.max(8, 2 ** Math.floor(Math.log2(rows))));
}

export async function buildPartFilesV2(input: PartBuildInput): Promise<BuiltPart> {
  const rows = foldedRows(input);
  const dims = vectorDims(input.schema, rows.docs);
  const { file: hnswFile, index } = buildIndexFile(input, rows.docs, dims);
  return assembleBlockPart(input, rows, dims, { info: index, files: hnswFile ? [hnswFile] : [] }, PART_FORMAT_V2, {});
}

/** The rows of a part in ordinal order (any order: the id index maps ids to ordinals) and its deleted ids. */
export interface OrderedRows {
  docs: Doc[];
  deleted: Id[];
  seqs: number[];
}

/**
 * Every block file of a part over `rows` (ordinal order), its postings, keys and head. The vector index (`index`:
 * its head entry and files, built over the same ordinals) is the format's: HNSW or flat for format 2, clusters and
 * codes for format 3 (`extra` adds its head fields).
 */
export function assembleBlockPart(
  input: PartBuildInput,
  rows: OrderedRows,
  dims: number | null,
  index: { info: PartIndexInfo; files: File[] },
  format: 2 | 3,
  extra: Partial<PartHeadV2>,
): BuiltPart {
  const { docs, deleted, seqs } = rows;
  const files: File[] = [];
  const ids = docs.map((d) => d.id);
  const idsFile = columnFile(IDS_FILE, ids, idKind(ids));
  const seqFile = columnFile(SEQ_FILE, seqs, 'f64');
  // Id index: (id, ordinal) sorted by id. Format 2 rows are in id order (the identity); format 3's are not.
  const order = Uint32Array.from(ids.keys()).sort((a, b) => compareIds(ids[a]!, ids[b]!));
  const idx = keyedFile(IDX_FILE, Array.from(order, (o) => ids[o]!), idKind(ids), order, IDX_BLOCK_ENTRIES);
  const tomb = keyedFile(TOMB_FILE, [...deleted].sort(compareIds), idKind(deleted), null, BLOCK_ROWS);
  files.push(idsFile.file, seqFile.file, idx.file, tomb.file);

  let vectors: VectorFileInfo | null = null;
  if (dims !== null) {
    const v = vectorFile(docs, dims, format === 3 ? rerankBlockRows(dims) : VECTOR_BLOCK_ROWS);
    files.push(v.file);
    vectors = v.info;
  }

  // Every attribute any row has, plus those of the schema: the schema's type picks the block kind.
  const names = new Set<string>();
  for (const name of Object.keys(input.schema)) if (name !== 'id' && name !== 'vector') names.add(name);
  for (const d of docs) for (const name in d.attrs) names.add(name);
  const columns: ColumnInfo[] = [];
  const columnValues: { name: string; values: AttrValue[] }[] = [];
  [...names].sort().forEach((name, n) => {
    const values: AttrValue[] = docs.map((d) => d.attrs[name] ?? null);
    const kind = kindOf(input.schema[name]?.type);
    const c = columnFile(columnFileName(n), values, kind);
    files.push(c.file);
    columns.push({ name, kind, ...c.info, stats: columnStats(values) });
    columnValues.push({ name, values });
  });
  // Dictionary filter indexes (RFC-0009 slice 2): additive head field, no format bump.
  const fidx = buildFilterIndexes(input.schema, columnValues);
  files.push(...fidx.files);
  // Fuzzy indexes (schema fuzzy: true): additive head field of their own, no format bump.
  const ffz = buildFuzzyIndexes(input.schema, columnValues);
  files.push(...ffz.files);
  // Sparse kNN indexes (RFC-0012): additive head field; parts without sparse_knn attributes are unchanged.
  const sparse: SparseIndexInfo[] = [];
  for (const { name, values } of columnValues) {
    const a = input.schema[name];
    if (a?.sparse_knn === undefined || (a.type !== '{}f16' && a.type !== '{}f32')) continue;
    const file = sparseIndexFileName(sparse.length);
    files.push({ name: file, bytes: buildSparseIndex(values) });
    sparse.push({ attr: name, file });
  }
  // ANN indexes of the other vector columns (RFC-0014): additive head field, no format bump.
  const vann = buildVectorAttrIndexes(input.schema, columnValues, {
    distanceMetric: input.distanceMetric,
    M: input.hnsw?.M,
    efConstruction: input.hnsw?.efConstruction,
    flatThreshold: input.hnsw?.flatThreshold ?? DEFAULT_FLAT_THRESHOLD,
  });
  files.push(...vann.files);
  // Multi-vector ANN indexes: the token-level IVF (RFC-0015 §4, additive head field `multivec_ivf`), or, when the
  // builder is asked for it (input.multivecFde: tests and the golden fixtures of §3), the MUVERA index of §3 as parts
  // built before §4 hold it. Parts without late_interaction attributes are unchanged.
  const multivecFde: SparseIndexInfo[] = [];
  const multivecIvf: SparseIndexInfo[] = [];
  for (const { name, values } of columnValues) {
    const a = input.schema[name];
    const mvDims = multiVectorDims(a?.type);
    if (mvDims === null || typeof a!.ann !== 'object' || a!.ann === null || a!.ann.late_interaction !== true) continue;
    const metric = a!.ann.distance_metric ?? 'cosine_distance';
    if (input.multivecFde === true) {
      const file = multiFdeFileName(multivecFde.length);
      files.push({ name: file, bytes: buildFdeFile(values, defaultFdeParams(mvDims), metric) });
      multivecFde.push({ attr: name, file });
    } else {
      const file = multiIvfFileName(multivecIvf.length);
      files.push({ name: file, bytes: buildMvIvfFile(values, mvDims, metric) });
      multivecIvf.push({ attr: name, file });
    }
  }

  files.push(...index.files);
  const postings = buildPostingsFiles(input, docs);
  files.push(...postings.files);
  const keyList = sortedKeys(input);
  let keys: KeyedFileInfo | null = null;
  if (keyList.length > 0) {
    const k = keyedFile(KEYS_FILE, keyList, 'utf8', null, BLOCK_ROWS);
    files.push(k.file);
    keys = k.info;
  }
  const idType: PartHeadV2['id_type'] =
    ids.length === 0 ? 'none' : ids.every((i) => typeof i === 'number') ? 'uint' : ids.every((i) => typeof i === 'string') ? 'string' : 'mixed';
  const head: PartHeadV2 = {
    format_version: format,
    namespace: input.namespace,
    part_id: input.partId,
    wal_start: input.walStart,
    wal_end: input.walEnd,
    rows: docs.length,
    tombstones: deleted.length,
    dims,
    distance_metric: input.distanceMetric,
    schema: input.schema,
    index: index.info,
    files: files.map((f) => ({ name: f.name, bytes: f.bytes.byteLength, sha256: sha256(f.bytes) })),
    created_at: input.createdAt,
    ...(postings.fts.length > 0 ? { fts: postings.fts } : {}),
    level: input.level,
    ...(input.shard !== undefined ? { shard: input.shard } : {}),
    id_type: idType,
    id_range: ids.length > 0 ? [idx.info.first_keys[0] as Id, ids[order[order.length - 1]!]!] : null,
    ids: idsFile.info,
    seq: seqFile.info,
    idx: idx.info,
    tomb: tomb.info,
    vectors,
    columns,
    keys,
    ...(fidx.infos.length > 0 ? { filter_indexes: fidx.infos } : {}),
    ...(ffz.infos.length > 0 ? { fuzzy_indexes: ffz.infos } : {}),
    ...(sparse.length > 0 ? { sparse } : {}),
    ...(vann.infos.length > 0 ? { vector_attr_indexes: vann.infos } : {}),
    ...(multivecFde.length > 0 ? { multivec_fde: multivecFde } : {}),
    ...(multivecIvf.length > 0 ? { multivec_ivf: multivecIvf } : {}),
    ...extra,
  };
  return { files, manifest: head };
}
