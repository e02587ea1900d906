/**
 * A part's MUVERA index of one `[][N]f32` attribute with late_interaction (RFC-0015 §3): each row's FDE (fde.ts) with
 * the parameters it was encoded with, so queries encode the same way. File `mvfde-{n}.bin`, little-endian:
 *
 *   header, 36 bytes: "EMVF" | u8 version = 1 | u8 metric (0 cosine_distance, 1 euclidean_squared) | u16 0 |
 *                     u32 rows | u32 dims | u32 seed | u16 kSim | u16 reps | u32 dProj | u32 length (floats a row) | u32 0
 *   presence bitmap, ceil(rows / 8) bytes (bit set: the row has a value), zero-padded to a multiple of 4
 *   rows × length f32 (zeros for rows without a value)
 *
 * Read whole, verified by the part head's SHA-256 of the file. The builder is deterministic.
 */
import { ElaxError, type DistanceMetric } from '../core/index.js';
import { fdeEncoder, fdeLength, type FdeParams } from './fde.js';

const MAGIC = 0x46564d45; // "EMVF" little-endian
const HEADER = 36;

export function buildFdeFile(values: readonly unknown[], params: FdeParams, metric: DistanceMetric): Uint8Array {
  const rows = values.length;
  const len = fdeLength(params);
  const bitmapBytes = (((rows + 7) >> 3) + 3) & ~3;
  const out = new Uint8Array(HEADER + bitmapBytes + rows * len * 4);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  out[4] = 1;
  out[5] = metric === 'euclidean_squared' ? 1 : 0;
  dv.setUint32(8, rows, true);
  dv.setUint32(12, params.dims, true);
  dv.setUint32(16, params.seed >>> 0, true);
  dv.setUint16(20, params.kSim, true);
  dv.setUint16(22, params.reps, true);
  dv.setUint32(24, params.dProj, true);
  dv.setUint32(28, len, true);
  const enc = fdeEncoder(params);
  const data = new Float32Array(out.buffer, HEADER + bitmapBytes, rows * len);
  for (let o = 0; o < rows; o++) {
    const v = values[o];
    if (!Array.isArray(v) || v.length === 0 || !Array.isArray(v[0]) || (v[0] as unknown[]).length !== params.dims) continue;
    out[HEADER + (o >> 3)]! |= 1 << (o & 7);
    data.set(enc.encodeDoc(v as number[][], metric), o * len);
  }
  return out;
}

export class FdeFile {
  readonly rows: number;
  readonly params: FdeParams;
  readonly metric: DistanceMetric;
  readonly length: number;
  readonly present: Uint8Array;
  readonly data: Float32Array;

  constructor(bytes: Uint8Array, where: string) {
    const bad = (m: string) => new ElaxError('ELAX_ERR_CORRUPT', `${where}: ${m}`);
    if (bytes.byteLength < HEADER) throw bad('MUVERA index header is truncated');
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (dv.getUint32(0, true) !== MAGIC) throw bad('not a MUVERA index (bad magic)');
    if (bytes[4] !== 1) throw bad(`unknown MUVERA index version ${bytes[4]}`);
    if (bytes[5]! > 1) throw bad(`unknown MUVERA index metric ${bytes[5]}`);
    this.metric = bytes[5] === 1 ? 'euclidean_squared' : 'cosine_distance';
    this.rows = dv.getUint32(8, true);
    this.params = { dims: dv.getUint32(12, true), seed: dv.getUint32(16, true), kSim: dv.getUint16(20, true), reps: dv.getUint16(22, true), dProj: dv.getUint32(24, true) };
    this.length = dv.getUint32(28, true);
    if (this.params.kSim > 8 || this.params.dProj < 1 || this.params.dProj > this.params.dims || this.length !== fdeLength(this.params)) {
      throw bad(`MUVERA index parameters are inconsistent: ${JSON.stringify(this.params)}, ${this.length} floats a row`);
    }
    const bitmapBytes = (((this.rows + 7) >> 3) + 3) & ~3;
    if (bytes.byteLength !== HEADER + bitmapBytes + this.rows * this.length * 4) throw bad('MUVERA index size does not match its header');
    this.present = bytes.slice(HEADER, HEADER + bitmapBytes);
    this.data = new Float32Array(this.rows * this.length);
    new Uint8Array(this.data.buffer).set(bytes.subarray(HEADER + bitmapBytes));
  }

  has(o: number): boolean {
    return (this.present[o >> 3]! & (1 << (o & 7))) !== 0;
  }

  memoryBytes(): number {
    return this.data.byteLength + this.present.byteLength + 256;
  }

  /**
   * The `c` rows (among those `accept` lets through, or among `only`) with the largest inner product with the
   * query's FDE (encoded with this file's parameters), best first, ties by ordinal.
   */
  candidates(query: readonly Float32Array[], c: number, accept: (o: number) => boolean, check: () => void): number[] {
    const q = fdeEncoder(this.params).encodeQuery(query, this.metric);
    const len = this.length;
    const data = this.data;
    // A bounded min-heap on (score, -ord) of size c.
    const hs = new Float64Array(c);
    const ho = new Int32Array(c);
    let size = 0;
    const worse = (a: number, b: number) => hs[a]! < hs[b]! || (hs[a] === hs[b] && ho[a]! > ho[b]!);
    const swap = (a: number, b: number) => {
      const s = hs[a]!;
      hs[a] = hs[b]!;
      hs[b] = s;
      const o = ho[a]!;
      ho[a] = ho[b]!;
      ho[b] = o;
    };
    const down = (i: number) => {
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < size && worse(l, m)) m = l;
        if (r < size && worse(r, m)) m = r;
        if (m === i) return;
        swap(i, m);
        i = m;
      }
    };
    for (let o = 0; o < this.rows; o++) {
      if ((o & 1023) === 0) check();
      if (!this.has(o) || !accept(o)) continue;
      let s = 0;
      const off = o * len;
      for (let j = 0; j < len; j++) s += q[j]! * data[off + j]!;
      if (size < c) {
        hs[size] = s;
        ho[size] = o;
        let i = size++;
        while (i > 0) {
          const p = (i - 1) >> 1;
          if (!worse(i, p)) break;
          swap(i, p);
          i = p;
        }
      } else if (c > 0 && (s > hs[0]! || (s === hs[0] && o < ho[0]!))) {
        hs[0] = s;
        ho[0] = o;
        down(0);
      }
    }
    const out = Array.from({ length: size }, (_, i) => i).sort((a, b) => hs[b]! - hs[a]! || ho[a]! - ho[b]!);
    return out.map((i) => ho[i]!);
  }
}
