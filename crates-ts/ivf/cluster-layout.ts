/**
 * The serialised form of one cluster's codes (rabitq.ts ClusterCodes): one contiguous, self-describing byte range,
 * so a query fetches a cluster with one ranged GET. Little-endian, 8-byte aligned sections:
 *
 *   offset  size            field
 *   0       4               magic "EIVC" (45 49 56 43)
 *   4       2               layout version (1)
 *   6       2               flags: bit 0 = explicit row ids
 *   8       4               n, vectors in the cluster
 *   12      4               padded dimension D (multiple of 64)
 *   16      4               firstRow (rows firstRow … firstRow + n − 1 when ids are implicit; 0 otherwise)
 *   20      4               f32 radius (max ‖x − c‖)
 *   24      8               reserved, 0
 *   32      n·D/8           codes, one after another (D/8 is a multiple of 8: codes stay 8-byte aligned)
 *   …       4n              f32 add
 *   …       4n              f32 rescale
 *   …       4n              f32 err
 *   …       4n              u32 row ids (only with flag bit 0)
 *   …       0–4             zero padding to a multiple of 8
 *
 * Per vector at 128-d: 16 + 12 = 28 bytes (32 with explicit row ids), plus 32 bytes per cluster.
 */
import { ElaxError } from '../core/index.js';
import type { ClusterCodes } from './rabitq.js';

export const CLUSTER_MAGIC = 0x43564945; // "EIVC" read as a little-endian u32
export const CLUSTER_LAYOUT_VERSION = 1;
export const CLUSTER_HEADER_BYTES = 32;
const FLAG_ROW_IDS = 1;

/** Bytes of the encoded cluster. */
export function clusterByteLength(n: number, padded: number, explicitRowIds: boolean): number {
  const raw = CLUSTER_HEADER_BYTES + n * (padded / 8) + n * (explicitRowIds ? 16 : 12);
  return Math.ceil(raw / 8) * 8;
}

export function encodeClusterBytes(c: ClusterCodes): Uint8Array {
  const bytesPerCode = c.padded / 8;
  const out = new Uint8Array(clusterByteLength(c.n, c.padded, c.rowIds !== null));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, CLUSTER_MAGIC, true);
  dv.setUint16(4, CLUSTER_LAYOUT_VERSION, true);
  dv.setUint16(6, c.rowIds !== null ? FLAG_ROW_IDS : 0, true);
  dv.setUint32(8, c.n, true);
  dv.setUint32(12, c.padded, true);
  dv.setUint32(16, c.firstRow, true);
  dv.setFloat32(20, c.radius, true);
  out.set(c.codes.subarray(0, c.n * bytesPerCode), CLUSTER_HEADER_BYTES);
  let off = CLUSTER_HEADER_BYTES + c.n * bytesPerCode;
  for (const col of [c.add, c.rescale, c.err]) {
    for (let i = 0; i < c.n; i++, off += 4) dv.setFloat32(off, col[i]!, true);
  }
  if (c.rowIds !== null) for (let i = 0; i < c.n; i++, off += 4) dv.setUint32(off, c.rowIds[i]!, true);
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
  if (version !== CLUSTER_LAYOUT_VERSION) {
    throw new ElaxError('ELAX_ERR_INCOMPATIBLE_FORMAT', `vector cluster layout version ${version}; this build reads version ${CLUSTER_LAYOUT_VERSION}`);
  }
  const flags = dv.getUint16(6, true);
  if ((flags & ~FLAG_ROW_IDS) !== 0) throw corrupt(`unknown flags 0x${flags.toString(16)}`);
  const explicit = (flags & FLAG_ROW_IDS) !== 0;
  const n = dv.getUint32(8, true);
  const padded = dv.getUint32(12, true);
  if (padded === 0 || padded % 64 !== 0) throw corrupt(`padded dimension ${padded} is not a positive multiple of 64`);
  const expected = clusterByteLength(n, padded, explicit);
  if (bytes.length !== expected) throw corrupt(`${bytes.length} bytes for ${n} vectors of ${padded} bits; expected ${expected}`);
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
  };
}

function corrupt(what: string): ElaxError {
  return new ElaxError('ELAX_ERR_CORRUPT', `vector cluster codes: ${what}`);
}
