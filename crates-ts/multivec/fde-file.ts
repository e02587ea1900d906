/**
 * A part's MUVERA index of one `[][N]f32` attribute with late_interaction (RFC-0015 §3): each row's FDE (fde.ts) with
 * the parameters it was encoded with, so queries encode the same way. File `mvfde-{n}.bin`, little-endian:
 *
 *   header, 36 bytes: "EMVF" | u8 version | u8 metric (0 cosine_distance, 1 euclidean_squared) | u16 0 |
 *                     u32 rows | u32 dims | u32 seed | u16 kSim | u16 reps | u32 dProj | u32 length (floats a row) | u32 0
 *   presence bitmap, ceil(rows / 8) bytes (bit set: the row has a value), zero-padded to a multiple of 4
 *   version 1: rows × length f32 (zeros for rows without a value)
 *   version 2 (written since): rows × f32 scale, then rows × length i8 codes; a row's encoding is scale × code
 *             (scale = max |x| / 127, codes rounded): 4× smaller than version 1; candidates are re-ranked exactly, so
 *             the rounding only moves rows near the candidate cut.
 *
 * Read whole, verified by the part head's SHA-256 of the file. Both versions read; the builder is deterministic.
 */
import { ElaxError, type DistanceMetric } from '../core/index.js';
import { fdeEncoder, fdeLength, type FdeParams } from './fde.js';

const MAGIC = 0x46564d45; // "EMVF" little-endian
const HEADER = 36;

/** The version builds write. */
export const FDE_FILE_VERSION = 2;

export function buildFdeFile(values: readonly unknown[], params: FdeParams, metric: DistanceMetric, version: 1 | 2 = FDE_FILE_VERSION): Uint8Array {
  const rows = values.length;
  const len = fdeLength(params);
  const bitmapBytes = (((rows + 7) >> 3) + 3) & ~3;
  const bodyBytes = version === 1 ? rows * len * 4 : rows * 4 + rows * len;
  const out = new Uint8Array(HEADER + bitmapBytes + bodyBytes);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  out[4] = version;
  out[5] = metric === 'euclidean_squared' ? 1 : 0;
  dv.setUint32(8, rows, true);
  dv.setUint32(12, params.dims, true);
  dv.setUint32(16, params.seed >>> 0, true);
  dv.setUint16(20, params.kSim, true);
  dv.setUint16(22, params.reps, true);
  dv.setUint32(24, params.dProj, true);
  dv.setUint32(28, len, true);
  const enc = fdeEncoder(params);
  const data = version === 1 ? new Float32Array(out.buffer, HEADER + bitmapBytes, rows * len) : null;
  const scales = version === 2 ? new Float32Array(out.buffer, HEADER + bitmapBytes, rows) : null;
  const codes = version === 2 ? new Int8Array(out.buffer, HEADER + bitmapBytes + rows * 4, rows * len) : null;
  for (let o = 0; o < rows; o++) {
    const v = values[o];
    if (!Array.isArray(v) || v.length === 0 || !Array.isArray(v[0]) || (v[0] as unknown[]).length !== params.dims) continue;
    out[HEADER + (o >> 3)]! |= 1 << (o & 7);
    const f = enc.encodeDoc(v as number[][], metric);
    if (data !== null) data.set(f, o * len);
    else {
      let max = 0;
      for (let j = 0; j < len; j++) max = Math.max(max, Math.abs(f[j]!));
      const scale = Math.fround(max / 127);
      scales![o] = scale;
      if (scale > 0) for (let j = 0; j < len; j++) codes![o * len + j] = Math.max(-127, Math.min(127, Math.round(f[j]! / scale)));
    }
  }
  return out;
}

export class FdeFile {
  readonly rows: number;
  readonly params: FdeParams;
  readonly metric: DistanceMetric;
  readonly length: number;
  readonly present: Uint8Array;
  readonly version: number;
  /** Version 1: the encodings. */
  private readonly data: Float32Array | null = null;
  /** Version 2: per-row scales and i8 codes. */
  private readonly scales: Float32Array | null = null;
  private readonly codes: Int8Array | null = null;

  constructor(bytes: Uint8Array, where: string) {
    const bad = (m: string) => new ElaxError('ELAX_ERR_CORRUPT', `${where}: ${m}`);
    if (bytes.byteLength < HEADER) throw bad('MUVERA index header is truncated');
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (dv.getUint32(0, true) !== MAGIC) throw bad('not a MUVERA index (bad magic)');
    if (bytes[4] !== 1 && bytes[4] !== 2) throw bad(`unknown MUVERA index version ${bytes[4]}`);
    this.version = bytes[4]!;
    if (bytes[5]! > 1) throw bad(`unknown MUVERA index metric ${bytes[5]}`);
    this.metric = bytes[5] === 1 ? 'euclidean_squared' : 'cosine_distance';
    this.rows = dv.getUint32(8, true);
    this.params = { dims: dv.getUint32(12, true), seed: dv.getUint32(16, true), kSim: dv.getUint16(20, true), reps: dv.getUint16(22, true), dProj: dv.getUint32(24, true) };
    this.length = dv.getUint32(28, true);
    if (this.params.kSim > 8 || this.params.dProj < 1 || this.params.dProj > this.params.dims || this.length !== fdeLength(this.params)) {
      throw bad(`MUVERA index parameters are inconsistent: ${JSON.stringify(this.params)}, ${this.length} floats a row`);
    }
    const bitmapBytes = (((this.rows + 7) >> 3) + 3) & ~3;
    const bodyBytes = this.version === 1 ? this.rows * this.length * 4 : this.rows * 4 + this.rows * this.length;
    if (bytes.byteLength !== HEADER + bitmapBytes + bodyBytes) throw bad('MUVERA index size does not match its header');
    this.present = bytes.slice(HEADER, HEADER + bitmapBytes);
    const body = bytes.subarray(HEADER + bitmapBytes);
    if (this.version === 1) {
      this.data = new Float32Array(this.rows * this.length);
      new Uint8Array(this.data.buffer).set(body);
    } else {
      this.scales = new Float32Array(this.rows);
      new Uint8Array(this.scales.buffer).set(body.subarray(0, this.rows * 4));
      this.codes = new Int8Array(this.rows * this.length);
      new Uint8Array(this.codes.buffer).set(body.subarray(this.rows * 4));
    }
  }

  /** Row `o`'s encoding as stored (version 2: scale × codes). */
  encodingOf(o: number): Float32Array {
    const len = this.length;
    if (this.data !== null) return this.data.slice(o * len, (o + 1) * len);
    const out = new Float32Array(len);
    const s = this.scales![o]!;
    for (let j = 0; j < len; j++) out[j] = s * this.codes![o * len + j]!;
    return out;
  }

  /** ⟨q, row o's stored encoding⟩. */
  private score(q: Float32Array, o: number): number {
    const len = this.length;
    const off = o * len;
    let s = 0;
    if (this.data !== null) {
      const d = this.data;
      for (let j = 0; j < len; j++) s += q[j]! * d[off + j]!;
      return s;
    }
    const c = this.codes!;
    for (let j = 0; j < len; j++) s += q[j]! * c[off + j]!;
    return s * this.scales![o]!;
  }

  has(o: number): boolean {
    return (this.present[o >> 3]! & (1 << (o & 7))) !== 0;
  }

  memoryBytes(): number {
    return (this.data?.byteLength ?? 0) + (this.scales?.byteLength ?? 0) + (this.codes?.byteLength ?? 0) + this.present.byteLength + 256;
  }

  /**
   * The `c` rows (among those `accept` lets through, or among `only`) with the largest inner product with the
   * query's FDE (encoded with this file's parameters), best first, ties by ordinal.
   */
  candidates(query: readonly Float32Array[], c: number, accept: (o: number) => boolean, check: () => void): number[] {
    const q = fdeEncoder(this.params).encodeQuery(query, this.metric);
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
      const s = this.score(q, o);
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
