/**
 * Object keys of a part (docs/ARCHITECTURE.md, Object layout). The prefix comes from store/paths.ts; the file names inside it live here.
 *   {ns}/parts/{part-id}/rows.parquet     ROWS_FILE
 *   {ns}/parts/{part-id}/vectors.hnsw     HNSW_FILE (only when the part has an HNSW index)
 *   {ns}/parts/{part-id}/tombstones.json  TOMBSTONES_FILE
 *   {ns}/parts/{part-id}/idempotency.json IDEMPOTENCY_FILE (only when requests in the range carried Idempotency-Keys)
 *   {ns}/parts/{part-id}/fts-{n}.postings  postingsFileName(n) (one per full_text_search attribute)
 *   {ns}/parts/{part-id}/manifest.json    MANIFEST_FILE (written last: a part without it is incomplete)
 * Format v2 (RFC-0004) replaces rows.parquet, tombstones.json and idempotency.json with block files:
 *   ids.blk IDS_FILE, seq.blk SEQ_FILE, idx.blk IDX_FILE, tomb.blk TOMB_FILE, vec.blk VECTORS_FILE,
 *   col-{n}.blk columnFileName(n), keys.blk KEYS_FILE, sparse-{n}.idx sparseIndexFileName(n) (RFC-0012)
 * Format 3 (RFC-0008 §2) adds the clustered vector index instead of vectors.hnsw:
 *   ivf.blk IVF_FILE (cluster table), codes.blk CODES_FILE (RaBitQ codes, one block per cluster)
 */
import { ElaxError } from '../core/index.js';
import { partPrefix } from '../store/index.js';

export const ROWS_FILE = 'rows.parquet';
export const HNSW_FILE = 'vectors.hnsw';
export const TOMBSTONES_FILE = 'tombstones.json';
export const MANIFEST_FILE = 'manifest.json';
export const IDEMPOTENCY_FILE = 'idempotency.json';
export const IDS_FILE = 'ids.blk';
export const SEQ_FILE = 'seq.blk';
export const IDX_FILE = 'idx.blk';
export const TOMB_FILE = 'tomb.blk';
export const VECTORS_FILE = 'vec.blk';
export const KEYS_FILE = 'keys.blk';
export const IVF_FILE = 'ivf.blk';
export const CODES_FILE = 'codes.blk';

/** The block file of the n-th attribute column (head.columns[n]; names may hold any character, n is safe). */
export function columnFileName(n: number): string {
  return `col-${n}.blk`;
}

/** The postings file of the n-th full_text_search attribute (attribute names may hold any character; n is safe). */
export function postingsFileName(n: number): string {
  return `fts-${n}.postings`;
}

export function partFileKey(ns: string, partId: string, fileName: string): string {
  return `${partPrefix(ns, partId)}${fileName}`;
}

export function manifestKey(ns: string, partId: string): string {
  return partFileKey(ns, partId, MANIFEST_FILE);
}

/** Same width as WAL keys (store/paths.ts padSeq): part ids sort by WAL range in LIST order. */
const SEQ_WIDTH = 20;
const NONCE_RE = /^[A-Za-z0-9_.-]{1,64}$/;

function pad(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new ElaxError('ELAX_ERR_INTERNAL', `part WAL bounds are non-negative safe integers, got ${seq}`);
  }
  return String(seq).padStart(SEQ_WIDTH, '0');
}

/**
 * `{walStart:020d}-{walEnd:020d}-{nonce}`: sortable by WAL range, unique across racing indexers through the nonce
 * (the caller's IdGen; no '/', so the id stays one key segment; the fixed-width bounds keep it parseable).
 */
export function newPartId(walStart: number, walEnd: number, nonce: string): string {
  if (walEnd < walStart) throw new ElaxError('ELAX_ERR_INTERNAL', `part WAL range is empty: ${walStart}..${walEnd}`);
  if (!NONCE_RE.test(nonce)) {
    throw new ElaxError('ELAX_ERR_INTERNAL', `part id nonce must be 1-64 characters of [A-Za-z0-9_.-], got ${JSON.stringify(nonce)}`);
  }
  return `${pad(walStart)}-${pad(walEnd)}-${nonce}`;
}

const PART_ID_RE = /^(\d{20})-(\d{20})-([A-Za-z0-9_.-]{1,64})$/;

/** The WAL range encoded in a part id, or null if the string is not a part id. */
export function parsePartId(partId: string): { walStart: number; walEnd: number; nonce: string } | null {
  const m = PART_ID_RE.exec(partId);
  if (!m) return null;
  const walStart = Number(m[1]);
  const walEnd = Number(m[2]);
  if (!Number.isSafeInteger(walStart) || !Number.isSafeInteger(walEnd)) return null;
  return { walStart, walEnd, nonce: m[3]! };
}

/** The MUVERA index of the n-th `[][N]f32` attribute with late_interaction (RFC-0015 §3; parts built before §4). */
export function multiFdeFileName(n: number): string {
  return `mvfde-${n}.bin`;
}

/** The token-level IVF of the n-th `[][N]f32` attribute with late_interaction (RFC-0015 §4). */
export function multiIvfFileName(n: number): string {
  return `mvivf-${n}.bin`;
}

/** The sparse kNN index of the n-th sparse_knn attribute of a part (RFC-0012 §2). */

export function sparseIndexFileName(n: number): string {
  return `sparse-${n}.idx`;
}
