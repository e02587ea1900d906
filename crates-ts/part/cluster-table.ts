/**
 * The cluster table of a format-3 part (RFC-0008 §2): `ivf.blk`'s one block, read with the head. One entry per
 * cluster present in the part, in centroid-id order: the centroid, the cluster's rows (ordinals
 * [first, first + rows)), the largest distance of its vectors to the centroid, and where its codes block starts in
 * `codes.blk`. Little-endian, columns (so each is one typed-array view), 8-byte aligned:
 *
 *   offset   size   field
 *   0        4      magic "EIVT" (45 49 56 54)
 *   4        2      layout version (1)
 *   6        2      reserved, 0
 *   8        4      n, clusters
 *   12       4      reserved, 0
 *   16       8n     f64 codes-block offset in codes.blk
 *   …        4n     u32 centroid id (strictly ascending)
 *   …        4n     u32 first ordinal
 *   …        4n     u32 rows (≥ 1)
 *   …        4n     f32 radius: max ‖x − c‖ over the cluster's vectors, in index space
 *   …        0–4    zero padding to a multiple of 8
 *
 * The radius is the part's own: a codebook radius is only what training saw, and the probe bound (RFC-0008 §4
 * step 4) must hold for every part. Per-cluster attribute summaries (RFC-0009) will come as a new layout version.
 */
import { ElaxError } from '../core/index.js';
import type { ClusterCodes } from '../ivf/index.js';
import type { PartHeadV3 } from './head.js';

export const CLUSTER_TABLE_MAGIC = 0x54564945; // "EIVT" read as a little-endian u32
export const CLUSTER_TABLE_VERSION = 1;
const HEADER = 16;

export interface ClusterTable {
  /** Codes-block offset of each entry in codes.blk (equal to the head's codes block table). */
  offset: Float64Array;
  centroid: Uint32Array;
  first: Uint32Array;
  rows: Uint32Array;
  radius: Float32Array;
}

function byteLength(n: number): number {
  return Math.ceil((HEADER + 24 * n) / 8) * 8;
}

export function encodeClusterTable(t: ClusterTable): Uint8Array {
  const n = t.centroid.length;
  const out = new Uint8Array(byteLength(n));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, CLUSTER_TABLE_MAGIC, true);
  dv.setUint16(4, CLUSTER_TABLE_VERSION, true);
  dv.setUint32(8, n, true);
  let o = HEADER;
  for (let i = 0; i < n; i++, o += 8) dv.setFloat64(o, t.offset[i]!, true);
  for (const col of [t.centroid, t.first, t.rows]) for (let i = 0; i < n; i++, o += 4) dv.setUint32(o, col[i]!, true);
  for (let i = 0; i < n; i++, o += 4) dv.setFloat32(o, t.radius[i]!, true);
  return out;
}

/**
 * Decodes the table and checks it against the head (`where` names the object): entries for exactly the head's
 * clusters, in centroid order, covering ordinals [0, vectors) back to back, at the offsets and first ordinals of
 * the head's codes block table.
 */
export function decodeClusterTable(bytes: Uint8Array, head: PartHeadV3, where: string): ClusterTable {
  const corrupt = (what: string) => new ElaxError('ELAX_ERR_CORRUPT', `${where}: cluster table ${what}`);
  if (bytes.byteLength < HEADER) throw corrupt(`has ${bytes.byteLength} bytes, less than its header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== CLUSTER_TABLE_MAGIC) throw corrupt(`has bad magic 0x${dv.getUint32(0, true).toString(16)}`);
  const version = dv.getUint16(4, true);
  if (version !== CLUSTER_TABLE_VERSION) {
    throw new ElaxError('ELAX_ERR_INCOMPATIBLE_FORMAT', `${where}: cluster table layout version ${version}; this build reads ${CLUSTER_TABLE_VERSION}`);
  }
  const n = dv.getUint32(8, true);
  const ivf = head.ivf;
  if (n !== ivf.clusters) throw corrupt(`has ${n} entries; the head says ${ivf.clusters} clusters`);
  if (bytes.byteLength !== byteLength(n)) throw corrupt(`has ${bytes.byteLength} bytes for ${n} entries; expected ${byteLength(n)}`);
  const t: ClusterTable = {
    offset: new Float64Array(n),
    centroid: new Uint32Array(n),
    first: new Uint32Array(n),
    rows: new Uint32Array(n),
    radius: new Float32Array(n),
  };
  let o = HEADER;
  for (let i = 0; i < n; i++, o += 8) t.offset[i] = dv.getFloat64(o, true);
  for (const col of [t.centroid, t.first, t.rows]) for (let i = 0; i < n; i++, o += 4) col[i] = dv.getUint32(o, true);
  for (let i = 0; i < n; i++, o += 4) t.radius[i] = dv.getFloat32(o, true);
  const codes = ivf.codes.blocks;
  let next = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && t.centroid[i]! <= t.centroid[i - 1]!) throw corrupt(`entry ${i} (centroid ${t.centroid[i]}) is not after centroid ${t.centroid[i - 1]}`);
    if (t.rows[i] === 0) throw corrupt(`entry ${i} (centroid ${t.centroid[i]}) has no rows`);
    if (t.first[i] !== next || t.first[i] !== codes.start![i]) throw corrupt(`entry ${i} starts at row ${t.first[i]}, expected ${next}`);
    if (t.offset[i] !== codes.offset[i]) throw corrupt(`entry ${i} puts its codes at ${t.offset[i]}; the head's codes table says ${codes.offset[i]}`);
    if (!(t.radius[i]! >= 0) || !Number.isFinite(t.radius[i]!)) throw corrupt(`entry ${i} has radius ${t.radius[i]}`);
    next += t.rows[i]!;
  }
  if (next !== ivf.vectors) throw corrupt(`covers ${next} rows; the head says ${ivf.vectors} vectors`);
  return t;
}

/** The entry of centroid `c` in the table (binary search), or −1 when the part has no row in that cluster. */
export function clusterEntry(t: ClusterTable, c: number): number {
  let lo = 0;
  let hi = t.centroid.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = t.centroid[mid]!;
    if (v === c) return mid;
    if (v < c) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Checks decoded codes against their table entry: the cluster's own rows, at the part's code width. */
export function checkClusterCodes(codes: ClusterCodes, t: ClusterTable, i: number, padded: number, where: string, dims?: number): ClusterCodes {
  if (codes.n !== t.rows[i] || codes.firstRow !== t.first[i] || codes.rowIds !== null || codes.padded !== padded) {
    throw new ElaxError(
      'ELAX_ERR_CORRUPT',
      `${where}: codes of centroid ${t.centroid[i]} hold ${codes.n} rows from ${codes.firstRow} at ${codes.padded} bits; the cluster table says ${t.rows[i]} from ${t.first[i]} at ${padded}`,
    );
  }
  if (codes.refine && dims !== undefined && codes.refine.dims !== dims) {
    throw new ElaxError('ELAX_ERR_CORRUPT', `${where}: refine codes of centroid ${t.centroid[i]} are ${codes.refine.dims}-d; the part's vectors are ${dims}-d`);
  }
  return codes;
}

/** The codes of a cluster the part does not hold: no vector (a search hook's answer for an absent cluster). */
export function emptyClusterCodes(padded: number): ClusterCodes {
  const z = new Float32Array(0);
  return { n: 0, padded, codes: new Uint8Array(0), add: z, rescale: z, err: z, rowIds: null, firstRow: 0, radius: 0 };
}
