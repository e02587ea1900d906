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
import { isStoredSparse } from './vector.js';

const MAGIC = [0x45, 0x53, 0x50, 0x49]; // "ESPI"
export const SPARSE_INDEX_VERSION = 1;
const HEADER_BYTES = 20;
const DIM_BYTES = 24;

/**
 * Builds the index over `values` (row ordinal order; null: the row has no vector). Two passes over the rows: count
 * each dimension's postings, then fill them in place (rows ascending, so every list is sorted as written).
 */
export function buildSparseIndex(values: readonly (AttrValue | undefined)[]): Uint8Array {
  const counts = new Map<number, number>();
  for (let o = 0; o < values.length; o++) {
    const v = values[o];
    if (v === null || v === undefined) continue;
    if (!isStoredSparse(v)) throw new ElaxError('ELAX_ERR_INTERNAL', `sparse index: row ${o} holds a value that is not a sparse vector`);
    for (const k in v as SparseVector) {
      const d = Number(k);
      counts.set(d, (counts.get(d) ?? 0) + 1);
    }
  }
  const dims = Float64Array.from(counts.keys()).sort();
  const n = dims.length;
  const first = new Map<number, number>();
  const count = new Uint32Array(n);
  let entries = 0;
  for (let i = 0; i < n; i++) {
    first.set(dims[i]!, entries);
    count[i] = counts.get(dims[i]!)!;
    entries += count[i]!;
  }
  const ords = new Uint32Array(entries);
  const weights = new Float32Array(entries);
  const fill = new Map(first); // next free slot of each dimension
  for (let o = 0; o < values.length; o++) {
    const v = values[o] as SparseVector | null | undefined;
    if (v === null || v === undefined) continue;
    for (const k in v) {
      const d = Number(k);
      const at = fill.get(d)!;
      ords[at] = o;
      weights[at] = v[k]!;
      fill.set(d, at + 1);
    }
  }
  const out = new Uint8Array(HEADER_BYTES + n * DIM_BYTES + entries * 8);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = SPARSE_INDEX_VERSION;
  dv.setUint32(8, values.length, true);
  dv.setUint32(12, n, true);
  dv.setUint32(16, entries, true);
  for (let i = 0; i < n; i++) {
    const f = first.get(dims[i]!)!;
    let max = -Infinity;
    let min = Infinity;
    for (let j = f; j < f + count[i]!; j++) {
      const w = weights[j]!;
      if (w > max) max = w;
      if (w < min) min = w;
    }
    const t = HEADER_BYTES + i * DIM_BYTES;
    dv.setUint32(t, dims[i]!, true);
    dv.setUint32(t + 4, count[i]!, true);
    dv.setUint32(t + 8, f, true);
    dv.setFloat32(t + 16, max, true);
    dv.setFloat32(t + 20, min, true);
  }
  const ordsAt = HEADER_BYTES + n * DIM_BYTES;
  out.set(new Uint8Array(ords.buffer), ordsAt); // little-endian platforms (Node on x86-64 / arm64)
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
