/**
 * The serialised form of one cluster's codes (rabitq.ts ClusterCodes): one contiguous, self-describing byte range,
 * so a query fetches a cluster with one ranged GET. Little-endian, 8-byte aligned sections:
 *
 *   offset  size            field
 *   0       4               magic "EIVC" (45 49 56 43)
 *   4       2               layout version (1; 2 when flag bit 1 is set)
 *   6       2               flags: bit 0 = explicit row ids, bit 1 = refine codes (version 2)
 *   8       4               n, vectors in the cluster
 *   12      4               padded dimension D (multiple of 64)
 *   16      4               firstRow (rows firstRow … firstRow + n − 1 when ids are implicit; 0 otherwise)
 *   20      4               f32 radius (max ‖x − c‖)
 *   24      4               dims of the refine codes (flag bit 1), else 0
 *   28      4               reserved, 0
 *   32      n·D/8           codes, one after another (D/8 is a multiple of 8: codes stay 8-byte aligned)
 *   …       4n              f32 add
 *   …       4n              f32 rescale
 *   …       4n              f32 err
 *   …       4n              u32 row ids (only with flag bit 0)
 *   …       0–4             zero padding to a multiple of 8
 *   with flag bit 1 (refine.ts), from there:
 *   …       4·dims          f32 lo per dimension
 *   …       4·dims          f32 step per dimension
 *   …       4n              f32 radius per vector
 *   …       n·dims          u8 refine codes, one vector after another
 *   …       0–7             zero padding to a multiple of 8
 *
 * Per vector at 128-d: 16 + 12 = 28 bytes (32 with explicit row ids), plus 32 bytes per cluster; refine codes add
 * 132 bytes per vector and 1 KiB per cluster. Version 1 (no refine codes) is written byte for byte as before.
 */
import { ElaxError } from '../core/index.js';
import type { ClusterCodes } from './rabitq.js';
import type { RefineCodes } from './refine.js';

export const CLUSTER_MAGIC = 0x43564945; // "EIVC" read as a little-endian u32
/** The newest layout this build writes and reads; it also reads every older one. */
export const CLUSTER_LAYOUT_VERSION = 2;
export const CLUSTER_HEADER_BYTES = 32;
const FLAG_ROW_IDS = 1;
const FLAG_REFINE = 2;

/** Bytes of the encoded cluster (refineDims: the refine codes' dimension, 0 without them). */
export function clusterByteLength(n: number, padded: number, explicitRowIds: boolean, refineDims = 0): number {
  const raw = CLUSTER_HEADER_BYTES + n * (padded / 8) + n * (explicitRowIds ? 16 : 12);
  const base = Math.ceil(raw / 8) * 8;
  return refineDims === 0 ? base : base + Math.ceil((8 * refineDims + 4 * n + n * refineDims) / 8) * 8;
}

/** `into`: write into this zero-filled view of exactly clusterByteLength bytes (a file's own buffer) and return it. */
export function encodeClusterBytes(c: ClusterCodes, into?: Uint8Array): Uint8Array {
  const bytesPerCode = c.padded / 8;
  const refine = c.refine ?? null;
  const length = clusterByteLength(c.n, c.padded, c.rowIds !== null, refine?.dims ?? 0);
  if (into !== undefined && into.byteLength !== length) throw new RangeError(`cluster bytes: a ${into.byteLength}-byte view for ${length} bytes`);
  const out = into ?? new Uint8Array(length);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint32(0, CLUSTER_MAGIC, true);
  dv.setUint16(4, refine !== null ? 2 : 1, true);
  dv.setUint16(6, (c.rowIds !== null ? FLAG_ROW_IDS : 0) | (refine !== null ? FLAG_REFINE : 0), true);
  dv.setUint32(8, c.n, true);
  dv.setUint32(12, c.padded, true);
  dv.setUint32(16, c.firstRow, true);
  dv.setFloat32(20, c.radius, true);
  if (refine !== null) dv.setUint32(24, refine.dims, true);
  out.set(c.codes.subarray(0, c.n * bytesPerCode), CLUSTER_HEADER_BYTES);
  let off = CLUSTER_HEADER_BYTES + c.n * bytesPerCode;
  for (const col of [c.add, c.rescale, c.err]) {
    for (let i = 0; i < c.n; i++, off += 4) dv.setFloat32(off, col[i]!, true);
  }
  if (c.rowIds !== null) for (let i = 0; i < c.n; i++, off += 4) dv.setUint32(off, c.rowIds[i]!, true);
  if (refine !== null) {
    off = Math.ceil(off / 8) * 8;
    if (refine.codes.length !== c.n * refine.dims || refine.radius.length !== c.n) throw new RangeError(`refine codes for ${refine.radius.length} vectors in a cluster of ${c.n}`);
    for (const col of [refine.lo, refine.step, refine.radius]) {
      for (let i = 0; i < col.length; i++, off += 4) dv.setFloat32(off, col[i]!, true);
    }
    out.set(refine.codes, off);
  }
  return out;
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes an encoded cluster. On a little-endian host the arrays are views of `bytes` when it is 4-byte aligned
 * (no copy: the block cache's buffer is the decoded cluster), else of an aligned copy.
 */
export function decodeClusterBytes(bytes: Uint8Array): ClusterCodes {
  if (bytes.length < CLUSTER_HEADER_BYTES) throw corrupt(`${bytes.length} bytes is shorter than the ${CLUSTER_HEADER_BYTES}-byte header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== CLUSTER_MAGIC) throw corrupt(`bad magic 0x${dv.getUint32(0, true).toString(16)}`);
  const version = dv.getUint16(4, true);
  if (version < 1 || version > CLUSTER_LAYOUT_VERSION) {
    throw new ElaxError('ELAX_ERR_INCOMPATIBLE_FORMAT', `vector cluster layout version ${version}; this build reads versions 1 to ${CLUSTER_LAYOUT_VERSION}`);
  }
  const flags = dv.getUint16(6, true);
  const known = version === 1 ? FLAG_ROW_IDS : FLAG_ROW_IDS | FLAG_REFINE;
  if ((flags & ~known) !== 0) throw corrupt(`unknown flags 0x${flags.toString(16)} for layout version ${version}`);
  if (version === 2 && (flags & FLAG_REFINE) === 0) throw corrupt('layout version 2 without refine codes');
  const explicit = (flags & FLAG_ROW_IDS) !== 0;
  const n = dv.getUint32(8, true);
  const padded = dv.getUint32(12, true);
  if (padded === 0 || padded % 64 !== 0) throw corrupt(`padded dimension ${padded} is not a positive multiple of 64`);
  const refineDims = (flags & FLAG_REFINE) !== 0 ? dv.getUint32(24, true) : 0;
  if ((flags & FLAG_REFINE) !== 0 && (refineDims === 0 || refineDims > padded)) throw corrupt(`refine codes of ${refineDims} dimensions with ${padded}-bit codes`);
  const expected = clusterByteLength(n, padded, explicit, refineDims);
  if (bytes.length !== expected) throw corrupt(`${bytes.length} bytes for ${n} vectors of ${padded} bits; expected ${expected}`);
  const refineAt = clusterByteLength(n, padded, explicit);
  const firstRow = dv.getUint32(16, true);
  const radius = dv.getFloat32(20, true);
  const codeBytes = n * (padded / 8);
  const f0 = CLUSTER_HEADER_BYTES + codeBytes;
  if (!littleEndianHost) {
    const f32 = (k: number) => Float32Array.from({ length: n }, (_, i) => dv.getFloat32(f0 + 4 * (k * n + i), true));
    return {
      n,
      padded,
      codes: bytes.slice(CLUSTER_HEADER_BYTES, f0),
      add: f32(0),
      rescale: f32(1),
      err: f32(2),
      rowIds: explicit ? Uint32Array.from({ length: n }, (_, i) => dv.getUint32(f0 + 4 * (3 * n + i), true)) : null,
      firstRow,
      radius,
      ...(refineDims === 0 ? {} : { refine: {
        dims: refineDims,
        lo: Float32Array.from({ length: refineDims }, (_, i) => dv.getFloat32(refineAt + 4 * i, true)),
        step: Float32Array.from({ length: refineDims }, (_, i) => dv.getFloat32(refineAt + 4 * (refineDims + i), true)),
        radius: Float32Array.from({ length: n }, (_, i) => dv.getFloat32(refineAt + 8 * refineDims + 4 * i, true)),
        codes: bytes.slice(refineAt + 8 * refineDims + 4 * n, refineAt + 8 * refineDims + 4 * n + n * refineDims),
      } }),
    };
  }
  const b = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const base = b.byteOffset;
  return {
    n,
    padded,
    codes: b.subarray(CLUSTER_HEADER_BYTES, f0),
    add: new Float32Array(b.buffer, base + f0, n),
    rescale: new Float32Array(b.buffer, base + f0 + 4 * n, n),
    err: new Float32Array(b.buffer, base + f0 + 8 * n, n),
    rowIds: explicit ? new Uint32Array(b.buffer, base + f0 + 12 * n, n) : null,
    firstRow,
    radius,
    ...(refineDims === 0 ? {} : { refine: {
      dims: refineDims,
      lo: new Float32Array(b.buffer, base + refineAt, refineDims),
      step: new Float32Array(b.buffer, base + refineAt + 4 * refineDims, refineDims),
      radius: new Float32Array(b.buffer, base + refineAt + 8 * refineDims, n),
      codes: b.subarray(refineAt + 8 * refineDims + 4 * n, refineAt + 8 * refineDims + 4 * n + n * refineDims),
    } }),
  };
}

function corrupt(what: string): ElaxError {
  return new ElaxError('ELAX_ERR_CORRUPT', `vector cluster codes: ${what}`);
}
