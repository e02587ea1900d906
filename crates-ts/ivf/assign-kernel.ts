/**
 * Nearest-centroid assignment with a WebAssembly SIMD kernel (assign.wat): what makes a part's build fast, since every
 * row of a part is assigned to its nearest centroid (RFC-0008 "Build rate": the JS scan was half of a 1M build).
 *
 * The kernel scores every centroid in f32 (four lanes, four centroids per pass). f32 is not exact, so the result is
 * made exact afterwards: every centroid whose f32 score is within twice the kernel's error bound of the best f32 score
 * is scored again in f64 (kernels.ts nearestAmong), and the best of those wins, ties to the lower id. The centroid
 * chosen is therefore the one an exact scan picks; usually one or two centroids are re-scored.
 */
import { compileWasm, instantiateWasm, type WasmModule } from '../core/index.js';
import { ASSIGN_WASM_BASE64 } from './assign-wasm.js';
import { nearestAmong } from './kernels.js';

type ScoresKernel = (dims4: number, x: number, cents: number, csq: number, k: number, out: number) => void;

/** f32's unit roundoff. */
const U = 2 ** -24;

let compiled: WasmModule | null | undefined;

const align16 = (n: number) => (n + 15) & ~15;

export class CentroidAssigner {
  private readonly x: Float32Array;
  private readonly out: Float32Array;
  private readonly candidates: Int32Array;
  private readonly xOff = 0;
  private readonly csqOff: number;
  private readonly outOff: number;
  private readonly centsOff: number;
  /** max over live centroids of ‖c‖ and of ‖c‖²: the scale of the kernel's error bound. */
  private readonly cMax: number;
  private readonly cSqMax: number;

  private constructor(
    private readonly kernel: ScoresKernel,
    buffer: ArrayBuffer,
    private readonly dims: number,
    private readonly dims4: number,
    private readonly k: number,
    private readonly centroids: Float32Array,
    private readonly cSq: Float64Array,
    offsets: { csq: number; out: number; cents: number },
    retired: Uint8Array | null,
  ) {
    this.csqOff = offsets.csq;
    this.outOff = offsets.out;
    this.centsOff = offsets.cents;
    this.x = new Float32Array(buffer, this.xOff, dims4);
    this.out = new Float32Array(buffer, this.outOff, k);
    this.candidates = new Int32Array(k);
    const csq = new Float32Array(buffer, this.csqOff, k);
    const cents = new Float32Array(buffer, this.centsOff, k * dims4);
    let cSqMax = 0;
    for (let c = 0; c < k; c++) {
      cents.set(centroids.subarray(c * dims, (c + 1) * dims), c * dims4);
      const live = retired === null || retired[c] === 0;
      csq[c] = live ? cSq[c]! : Infinity; // a retired centroid never wins
      if (live) cSqMax = Math.max(cSqMax, cSq[c]!);
    }
    this.cSqMax = cSqMax;
    this.cMax = Math.sqrt(cSqMax);
  }

  /**
   * An assigner over the k centroids (row-major, `dims` each) with squared norms `cSq`, skipping `retired` ones; null
   * when the kernel is not available here (no WebAssembly SIMD, or ELAX_SCAN_KERNEL=js): the caller scans in JS.
   */
  static create(centroids: Float32Array, k: number, dims: number, cSq: Float64Array, retired: Uint8Array | null): CentroidAssigner | null {
    if (compiled === undefined) compiled = compileWasm(ASSIGN_WASM_BASE64);
    if (compiled === null || k <= 0 || dims <= 0) return null;
    const dims4 = (dims + 3) & ~3;
    const csq = align16(dims4 * 4);
    const out = align16(csq + k * 4);
    const cents = align16(out + k * 4);
    const got = instantiateWasm(compiled, cents + k * dims4 * 4);
    if (got === null) return null;
    const kernel = got.instance.exports.scores as ScoresKernel;
    return new CentroidAssigner(kernel, got.memory.buffer, dims, dims4, k, centroids, cSq, { csq, out, cents }, retired);
  }

  /** The nearest live centroid of the vector data[off, off + dims) (exact, ties to the lower id). */
  nearest(data: Float32Array, off: number): number {
    const { x, out, dims, k } = this;
    let xSq = 0;
    for (let i = 0; i < dims; i++) {
      const v = data[off + i]!;
      x[i] = v;
      xSq += v * v;
    }
    this.kernel(this.dims4, this.xOff, this.centsOff, this.csqOff, k, this.outOff);
    let best = Infinity;
    for (let c = 0; c < k; c++) if (out[c]! < best) best = out[c]!;
    // Error bound of one f32 score: the norms rounded to f32, then a dot product whose terms pass through at most
    // dims/4 + 2 additions (lane sums, then the horizontal sum), doubled and subtracted; with margin.
    const bound = 2 * U * ((dims / 4 + 4) * 2 * Math.sqrt(xSq) * this.cMax + 2 * this.cSqMax) + Number.MIN_VALUE;
    const limit = best + 2 * bound;
    let n = 0;
    for (let c = 0; c < k; c++) if (out[c]! <= limit) this.candidates[n++] = c;
    return nearestAmong(data, off, dims, this.centroids, this.cSq, this.candidates, n);
  }
}
