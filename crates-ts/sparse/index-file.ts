/**
 * The sparse kNN index of one `{}f16` / `{}f32` attribute in a part (docs/rfcs/0012-sparse-vectors.md §2): an inverted
 * index, dimension → postings of (row ordinal, weight), with each dimension's largest and smallest weight (the bounds
 * max-score pruning uses, sparse/score.ts).
 *
 *   "ESPI" | u8 version (1) | u8 0 | u16 0 | u32 rows | u32 dims (count) | u32 entries (total postings)
 *   dimension table, dims × 24 bytes, ascending by dimension:
 *     u32 dim | u32 count | u32 first (index of its first posting) | u32 0 | f32 max weight | f32 min weight
 *   ordinals, entries × u32 LE (each dimension's run ascending)
 *   weights,  entries × f32 LE (parallel to the ordinals)
 *
 * Every weight is f32-exact (stored values are f16- or f32-rounded), so scores from the index are bit-identical to
 * scores computed from the rows' values. The file is verified whole by the part head's SHA-256 before it is parsed.
 */
import { ElaxError, type AttrValue, type SparseVector } from '../core/index.js';

const MAGIC = [0x45, 0x53, 0x50, 0x49]; // "ESPI"
export const SPARSE_INDEX_VERSION = 1;
const HEADER_BYTES = 20;
const DIM_BYTES = 24;

/**
 * Builds the index over `values` (row ordinal order; null: the row has no vector). One pass over the rows' keys into
 * flat (dimension, row, weight) arrays (rows ascending), the distinct dimensions sorted, then a counting sort by
 * dimension rank: every list comes out sorted by row. (Key iteration of the stored objects is most of the cost.)
 */
export function buildSparseIndex(values: readonly (AttrValue | undefined)[]): Uint8Array {
  let cap = 1024;
  let D = new Uint32Array(cap);
  let O = new Uint32Array(cap);
  let W = new Float32Array(cap);
  let entries = 0;
  for (let o = 0; o < values.length; o++) {
    const v = values[o];
    if (v === null || v === undefined) continue;
    if (typeof v !== 'object' || Array.isArray(v)) throw new ElaxError('ELAX_ERR_INTERNAL', `sparse index: row ${o} holds a value that is not a sparse vector`);
    const keys = Object.keys(v);
    for (let i = 0; i < keys.length; i++) {
      const d = Number(keys[i]);
      const w = (v as SparseVector)[keys[i]!];
      if (!(Number.isInteger(d) && d >= 0 && d <= 4294967295) || typeof w !== 'number' || !Number.isFinite(w)) {
        throw new ElaxError('ELAX_ERR_INTERNAL', `sparse index: row ${o} holds a value that is not a sparse vector`);
      }
      if (entries === cap) {
        cap *= 2;
        const d2 = new Uint32Array(cap);
        d2.set(D);
        D = d2;
        const o2 = new Uint32Array(cap);
        o2.set(O);
        O = o2;
        const w2 = new Float32Array(cap);
        w2.set(W);
        W = w2;
      }
      D[entries] = d;
      O[entries] = o;
      W[entries] = w;
      entries++;
    }
  }
  // Distinct dimensions, ascending; each entry's rank among them.
  const sorted = D.slice(0, entries).sort();
  let n = 0;
  for (let i = 0; i < entries; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[n++] = sorted[i]!;
  const dims = sorted.subarray(0, n);
  const rank = new Uint32Array(entries);
  const count = new Uint32Array(n);
  for (let i = 0; i < entries; i++) {
    const d = D[i]!;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (dims[mid]! < d) lo = mid + 1;
      else hi = mid;
    }
    rank[i] = lo;
    count[lo]!++;
  }
  const first = new Uint32Array(n);
  for (let r = 1; r < n; r++) first[r] = first[r - 1]! + count[r - 1]!;
  const fill = first.slice();
  const ords = new Uint32Array(entries);
  const weights = new Float32Array(entries);
  for (let i = 0; i < entries; i++) {
    const at = fill[rank[i]!]!++;
    ords[at] = O[i]!;
    weights[at] = W[i]!;
  }
  const out = new Uint8Array(HEADER_BYTES + n * DIM_BYTES + entries * 8);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = SPARSE_INDEX_VERSION;
  dv.setUint32(8, values.length, true);
  dv.setUint32(12, n, true);
  dv.setUint32(16, entries, true);
  for (let r = 0; r < n; r++) {
    const f = first[r]!;
    let max = -Infinity;
    let min = Infinity;
    for (let j = f; j < f + count[r]!; j++) {
      const w = weights[j]!;
      if (w > max) max = w;
      if (w < min) min = w;
    }
    const t = HEADER_BYTES + r * DIM_BYTES;
    dv.setUint32(t, dims[r]!, true);
    dv.setUint32(t + 4, count[r]!, true);
    dv.setUint32(t + 8, f, true);
    dv.setFloat32(t + 16, max, true);
    dv.setFloat32(t + 20, min, true);
  }
  const ordsAt = HEADER_BYTES + n * DIM_BYTES;
  out.set(new Uint8Array(ords.buffer), ordsAt); // little-endian platforms (as column blocks assume)
  out.set(new Uint8Array(weights.buffer), ordsAt + entries * 4);
  return out;
}

/** One dimension's postings: ordinals ascending, weights parallel, and their bounds. */
export interface SparseList {
  ords: Uint32Array;
  weights: Float32Array;
  max: number;
  min: number;
}

/** A parsed index (the file's bytes copied into aligned arrays once; lists are views of them). */
export class SparseIndexFile {
  readonly rows: number;
  private readonly dims: Uint32Array;
  private readonly table: DataView;
  private readonly ords: Uint32Array;
  private readonly weights: Float32Array;

  constructor(bytes: Uint8Array, where: string) {
    const corrupt = (what: string) => new ElaxError('ELAX_ERR_CORRUPT', `${where}: ${what}`);
    if (bytes.byteLength < HEADER_BYTES || MAGIC.some((b, i) => bytes[i] !== b)) throw corrupt('not a sparse index file');
    if (bytes[4] !== SPARSE_INDEX_VERSION) {
      throw new ElaxError('ELAX_ERR_INCOMPATIBLE_FORMAT', `${where}: sparse index version ${bytes[4]}; this build reads version ${SPARSE_INDEX_VERSION}`);
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.rows = dv.getUint32(8, true);
    const n = dv.getUint32(12, true);
    const entries = dv.getUint32(16, true);
    const ordsAt = HEADER_BYTES + n * DIM_BYTES;
    if (bytes.byteLength !== ordsAt + entries * 8) throw corrupt(`sparse index of ${n} dimensions and ${entries} postings has ${bytes.byteLength} bytes`);
    const copy = (from: number, len: number) => {
      const b = new Uint8Array(len);
      b.set(bytes.subarray(from, from + len));
      return b.buffer;
    };
    this.table = new DataView(copy(HEADER_BYTES, n * DIM_BYTES));
    this.dims = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      this.dims[i] = this.table.getUint32(i * DIM_BYTES, true);
      if (i > 0 && this.dims[i]! <= this.dims[i - 1]!) throw corrupt('sparse index dimensions are not ascending');
      const count = this.table.getUint32(i * DIM_BYTES + 4, true);
      const first = this.table.getUint32(i * DIM_BYTES + 8, true);
      if (first + count > entries) throw corrupt(`sparse index dimension ${this.dims[i]} points past its postings`);
    }
    this.ords = new Uint32Array(copy(ordsAt, entries * 4));
    this.weights = new Float32Array(copy(ordsAt + entries * 4, entries * 4));
    for (let i = 0; i < entries; i++) if (this.ords[i]! >= this.rows) throw corrupt(`sparse index posting ${i} names row ${this.ords[i]} of ${this.rows}`);
  }

  /** The postings of dimension `dim`, or null when no row holds it. */
  list(dim: number): SparseList | null {
    let lo = 0;
    let hi = this.dims.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.dims[mid]! < dim) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= this.dims.length || this.dims[lo] !== dim) return null;
    const t = lo * DIM_BYTES;
    const count = this.table.getUint32(t + 4, true);
    const first = this.table.getUint32(t + 8, true);
    return {
      ords: this.ords.subarray(first, first + count),
      weights: this.weights.subarray(first, first + count),
      max: this.table.getFloat32(t + 16, true),
      min: this.table.getFloat32(t + 20, true),
    };
  }

  /** Bytes held (cache accounting). */
  memoryBytes(): number {
    return this.table.byteLength + this.dims.byteLength + this.ords.byteLength + this.weights.byteLength + 64;
  }
}
