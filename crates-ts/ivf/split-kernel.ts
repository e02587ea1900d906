/**
 * SPFresh's split and reassignment (cluster-set.ts, balance.ts) over batches of rows in WebAssembly SIMD (split.wat):
 * the scores of rows against a few centroids, their squared distances to one vector, and per-label sums of rows.
 * Exact: every number is the one kernels.ts's dotAt / sqDistAt and kmeans.ts's sums compute in JS (the same f64
 * operations in the same order, two lanes side by side), so a split with the kernel makes the same clusters as one
 * without, bit for bit (split-kernel.test.ts compares them). Where it is not available (no WebAssembly SIMD, or
 * ELAX_SCAN_KERNEL=js) the callers keep their JS loops.
 *
 * A kernel serves one data array (a ClusterSet's rows) and copies the rows of each batch into its memory (core/wasm.ts
 * gatherRows). A 2-means split scores its rows ≈ 10 times, so its cluster is one batch (the memory grows to the
 * largest one, up to splitKernelLimits.maxBytes). Copying the whole array in once and addressing rows by number instead measured
 * slower (bench/micro/part-build.ts, 50k rows against 50k: ≈ 1.5 µs/row more): the copy's fresh pages, and scattered
 * rows scored ≥ 3 times each in the kernel cost more than gathering them once per batch.
 */
import { align16, compileWasm, gatherRows, instantiateWasm, type WasmModule } from '../core/index.js';
import { SPLIT_WASM_BASE64 } from './split-wasm.js';

type ScoresFn = (dims: number, rows: number, count: number, xs: number, m: number, csq: number, out: number) => void;
type SqDistsFn = (dims: number, rows: number, count: number, x: number, out: number) => void;
type AccumulateFn = (dims: number, rows: number, count: number, labels: number, sums: number) => void;

let compiled: WasmModule | null | undefined;

/**
 * minRows: rows a kernel takes per batch at least (and at first); maxBytes: the most memory a kernel grows to (a
 * bigger cluster is split by the JS loops, and scored in batches). Tests make them small to cover both.
 */
export const splitKernelLimits = { minRows: 2048, maxBytes: 256 * 1024 * 1024 };
/** Labels accumulate() sums for: 0, 1, and a discard slot (a row no centroid scored below +∞, as kmeans.ts skips). */
export const SUM_LABELS = 3;

/** One instance of the module and the views of its memory. */
interface Instance {
  scores: ScoresFn;
  sqDists: SqDistsFn;
  accumulate: AccumulateFn;
  /** Rows per batch. */
  capacity: number;
  at: { xs: number; csq: number; sums: number; out: number; labels: number; rows: number };
  xs: Float64Array;
  csq: Float64Array;
  sums: Float64Array;
  out: Float64Array;
  labels: Uint8Array;
  rows: Float32Array;
}

export class SplitKernel {
  /**
   * A kernel over the rows of `data` (`dims` floats each) scored against up to `maxVectors` vectors at a time, taking
   * `rows` rows per batch at first; null where the SIMD kernel is not available (the caller keeps its JS loops).
   */
  static create(data: Float32Array, dims: number, maxVectors: number, rows = 0): SplitKernel | null {
    if (compiled === undefined) compiled = compileWasm(SPLIT_WASM_BASE64);
    if (compiled === null || dims <= 0 || maxVectors <= 0) return null;
    const k = new SplitKernel(compiled, data, dims, maxVectors);
    return k.grow(Math.max(splitKernelLimits.minRows, rows)) || k.grow(splitKernelLimits.minRows) ? k : null;
  }

  private inst!: Instance;
  /** Rows loaded by the last load(). */
  private loaded = 0;

  private constructor(
    private readonly mod: WasmModule,
    private readonly data: Float32Array,
    readonly dims: number,
    readonly maxVectors: number,
  ) {}

  /** Rows per batch. */
  get capacity(): number {
    return this.inst.capacity;
  }

  /** Per loaded row: the label accumulate() sums it under (< SUM_LABELS). A view, valid until the next load(). */
  get labels(): Uint8Array {
    return this.inst.labels;
  }

  /** Takes batches of at least `rows` rows from now on when it can; whether it does. */
  ensure(rows: number): boolean {
    return rows <= this.inst.capacity || this.grow(Math.max(rows, 2 * this.inst.capacity));
  }

  /** Loads rows[from, from + count) (row numbers of the data array); count ≤ capacity. */
  load(rows: ArrayLike<number>, from: number, count: number): void {
    if (count > this.inst.capacity) throw new RangeError(`${count} rows for a split kernel batch of ${this.inst.capacity}`);
    gatherRows(this.data, this.dims, rows, from, count, this.inst.rows);
    this.loaded = count;
  }

  /**
   * out[j·m + q] = cSq[ids[q]] − 2·dotAt(loaded row j, centroid ids[q]) for q < m: kernels.ts nearestAmong's scores.
   * A view, valid until the next call.
   */
  scores(centroids: Float32Array, ids: ArrayLike<number>, m: number, cSq: Float64Array): Float64Array {
    const { dims, inst } = this;
    if (m > this.maxVectors) throw new RangeError(`${m} vectors for a split kernel of ${this.maxVectors}`);
    for (let q = 0; q < m; q++) {
      const c = ids[q]!;
      inst.xs.set(centroids.subarray(c * dims, (c + 1) * dims), q * dims);
      inst.csq[q] = cSq[c]!;
    }
    inst.scores(dims, inst.at.rows, this.loaded, inst.at.xs, m, inst.at.csq, inst.at.out);
    return inst.out.subarray(0, this.loaded * m);
  }

  /** out[j] = sqDistAt(loaded row j, v[off, off + dims)). A view, valid until the next call. */
  sqDists(v: Float32Array, off: number): Float64Array {
    const { dims, inst } = this;
    inst.xs.set(v.subarray(off, off + dims));
    inst.sqDists(dims, inst.at.rows, this.loaded, inst.at.xs, inst.at.out);
    return inst.out.subarray(0, this.loaded);
  }

  /** Zeroes the per-label sums. */
  clearSums(): void {
    this.inst.sums.fill(0);
  }

  /**
   * Adds each loaded row j to the sums of label `labels[j]` (set by the caller), rows in order; returns the sums
   * (label l's at [l·dims, (l + 1)·dims)), a view valid until the next clearSums.
   */
  accumulate(): Float64Array {
    const inst = this.inst;
    inst.accumulate(this.dims, inst.at.rows, this.loaded, inst.at.labels, inst.at.sums);
    return inst.sums;
  }

  /** A new instance taking `capacity` rows per batch; false when it cannot be had. */
  private grow(capacity: number): boolean {
    const { dims, maxVectors } = this;
    const at = { xs: 0, csq: 0, sums: 0, out: 0, labels: 0, rows: 0 };
    at.csq = align16(maxVectors * dims * 8);
    at.sums = align16(at.csq + maxVectors * 8);
    at.out = align16(at.sums + SUM_LABELS * dims * 8);
    at.labels = align16(at.out + capacity * maxVectors * 8);
    at.rows = align16(at.labels + capacity);
    const end = at.rows + capacity * dims * 4;
    if (end > splitKernelLimits.maxBytes) return false;
    const got = instantiateWasm(this.mod, end);
    if (got === null) return false;
    const buf = got.memory.buffer as ArrayBuffer;
    const e = got.instance.exports;
    this.inst = {
      scores: e.scores as ScoresFn,
      sqDists: e.sqdists as SqDistsFn,
      accumulate: e.accumulate as AccumulateFn,
      capacity,
      at,
      xs: new Float64Array(buf, at.xs, maxVectors * dims),
      csq: new Float64Array(buf, at.csq, maxVectors),
      sums: new Float64Array(buf, at.sums, SUM_LABELS * dims),
      out: new Float64Array(buf, at.out, capacity * maxVectors),
      labels: new Uint8Array(buf, at.labels, capacity),
      rows: new Float32Array(buf, at.rows, capacity * dims),
    };
    return true;
  }
}
