/**
 * f32 scores of many rows against one vector with a WebAssembly SIMD kernel (assign.wat), and what is built on them:
 * nearest-centroid assignment (every row of a part is assigned; the JS scan was half of a 1M build, RFC-0008 "Build
 * rate") and the exact neighbours a build-time probe estimate needs (probe-estimate.ts).
 *
 * A score is ‖r‖² − 2⟨x, r⟩, which orders rows as ‖x − r‖² does. The kernel works in f32 with four lanes, four rows per
 * pass, so it is fast but not exact. CentroidAssigner makes its answer exact afterwards: every centroid whose f32 score
 * is within twice the kernel's error bound of the best f32 score is scored again in f64 (kernels.ts nearestAmong), and
 * the best of those wins, ties to the lower id. Usually one or two centroids are re-scored.
 */
import { align16, compileWasm, instantiateWasm, type WasmModule } from '../core/index.js';
import { ASSIGN_WASM_BASE64 } from './assign-wasm.js';
import { dotAt, nearestAmong } from './kernels.js';

type ScoresKernel = (dims4: number, x: number, rows: number, sq: number, count: number, out: number) => void;

/** f32's unit roundoff. */
const U = 2 ** -24;
/** The spacing of f32 subnormals (and the smallest one). */
const F32_SUBNORMAL_ULP = 2 ** -149;

let compiled: WasmModule | null | undefined;


/** Scores of up to `capacity` loaded rows against one vector at a time. */
export interface RowScorer {
  readonly capacity: number;
  /** Loads rows[from, from + count) (row-major, `dims` each); `sq[j]` replaces row j's squared norm (+∞: never wins). */
  load(rows: Float32Array, from: number, count: number, sq?: ArrayLike<number>): void;
  /** out[j] = ‖row j‖² − 2⟨x, row j⟩ for the loaded rows (a view, valid until the next call). */
  scores(x: Float32Array | Float64Array, off: number): Float32Array;
}

/** The SIMD kernel's scorer; null when it is not available (no WebAssembly SIMD, or ELAX_SCAN_KERNEL=js). */
function wasmScorer(dims: number, capacity: number): RowScorer | null {
  if (compiled === undefined) compiled = compileWasm(ASSIGN_WASM_BASE64);
  if (compiled === null || capacity <= 0 || dims <= 0) return null;
  const dims4 = (dims + 3) & ~3;
  const sqOff = align16(dims4 * 4);
  const outOff = align16(sqOff + capacity * 4);
  const rowsOff = align16(outOff + capacity * 4);
  const got = instantiateWasm(compiled, rowsOff + capacity * dims4 * 4);
  if (got === null) return null;
  const kernel = got.instance.exports.scores as ScoresKernel;
  const buf = got.memory.buffer;
  const x = new Float32Array(buf, 0, dims4);
  const sq = new Float32Array(buf, sqOff, capacity);
  const out = new Float32Array(buf, outOff, capacity);
  const rows = new Float32Array(buf, rowsOff, capacity * dims4);
  let loaded = 0;
  return {
    capacity,
    load(src, from, count, sqIn) {
      if (dims4 === dims) rows.set(src.subarray(from * dims, (from + count) * dims)); // one copy, no view per row
      else {
        for (let j = 0; j < count; j++) {
          const o = (from + j) * dims;
          const t = j * dims4;
          for (let i = 0; i < dims; i++) rows[t + i] = src[o + i]!;
        }
      }
      for (let j = 0; j < count; j++) {
        const o = (from + j) * dims;
        sq[j] = sqIn ? sqIn[j]! : dotAt(src, o, src, o, dims);
      }
      loaded = count;
    },
    scores(v, off) {
      for (let i = 0; i < dims; i++) x[i] = v[off + i]!;
      kernel(dims4, 0, rowsOff, sqOff, loaded, outOff);
      return out.subarray(0, loaded);
    },
  };
}

/** The same scores in plain JS (f64 sums rounded to f32), where the kernel is not available. */
function jsScorer(dims: number, capacity: number): RowScorer {
  const rows = new Float32Array(capacity * dims);
  const sq = new Float64Array(capacity);
  const out = new Float32Array(capacity);
  let loaded = 0;
  return {
    capacity,
    load(src, from, count, sqIn) {
      rows.set(src.subarray(from * dims, (from + count) * dims));
      for (let j = 0; j < count; j++) sq[j] = sqIn ? sqIn[j]! : dotAt(rows, j * dims, rows, j * dims, dims);
      loaded = count;
    },
    scores(v, off) {
      for (let j = 0; j < loaded; j++) out[j] = sq[j]! - 2 * dotAt(v, off, rows, j * dims, dims);
      return out.subarray(0, loaded);
    },
  };
}

/** A scorer for `capacity` rows of `dims`: the SIMD kernel's, or the JS one. */
export function rowScorer(dims: number, capacity: number, simd = true): RowScorer {
  return (simd ? wasmScorer(dims, capacity) : null) ?? jsScorer(dims, capacity);
}

export class CentroidAssigner {
  private readonly candidates: Int32Array;
  /** max over live centroids of ‖c‖ and of ‖c‖²: the scale of the kernel's error bound. */
  private readonly cMax: number;
  private readonly cSqMax: number;

  private constructor(
    private readonly scorer: RowScorer,
    private readonly dims: number,
    private readonly k: number,
    private readonly centroids: Float32Array,
    private readonly cSq: Float64Array,
    retired: Uint8Array | null,
  ) {
    this.candidates = new Int32Array(k);
    const sq = new Float64Array(k);
    let cSqMax = 0;
    for (let c = 0; c < k; c++) {
      const live = retired === null || retired[c] === 0;
      sq[c] = live ? cSq[c]! : Infinity; // a retired centroid never wins
      if (live) cSqMax = Math.max(cSqMax, cSq[c]!);
    }
    scorer.load(centroids, 0, k, sq);
    this.cSqMax = cSqMax;
    this.cMax = Math.sqrt(cSqMax);
  }

  /**
   * An assigner over the k centroids (row-major, `dims` each) with squared norms `cSq`, skipping `retired` ones; null
   * when the SIMD kernel is not available here: the caller keeps its JS scan.
   */
  static create(centroids: Float32Array, k: number, dims: number, cSq: Float64Array, retired: Uint8Array | null): CentroidAssigner | null {
    const scorer = wasmScorer(dims, k);
    return scorer === null ? null : new CentroidAssigner(scorer, dims, k, centroids, cSq, retired);
  }

  /** The nearest live centroid of the vector data[off, off + dims) (exact, ties to the lower id). */
  nearest(data: Float32Array, off: number): number {
    const { dims, k } = this;
    const out = this.scorer.scores(data, off);
    let xSq = 0;
    for (let i = 0; i < dims; i++) xSq += data[off + i]! * data[off + i]!;
    let best = Infinity;
    for (let c = 0; c < k; c++) if (out[c]! < best) best = out[c]!;
    // Error bound of one f32 score: the norms rounded to f32, then a dot product whose terms pass through at most
    // dims/4 + 2 additions (lane sums, then the horizontal sum), doubled and subtracted; with margin. Relative error
    // stops holding where f32 goes subnormal (below 2^-126): there each of the ≈ 2·dims + 8 operations may round by up
    // to half of 2^-149 absolutely (a counterexample of tiny vectors, ~1e-21, found it: test seed 805169774).
    const bound = 2 * U * ((dims / 4 + 4) * 2 * Math.sqrt(xSq) * this.cMax + 2 * this.cSqMax) + (2 * dims + 8) * F32_SUBNORMAL_ULP;
    const limit = best + 2 * bound;
    let n = 0;
    for (let c = 0; c < k; c++) if (out[c]! <= limit) this.candidates[n++] = c;
    return nearestAmong(data, off, dims, this.centroids, this.cSq, this.candidates, n);
  }
}
