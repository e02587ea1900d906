/**
 * Random orthogonal rotations for RaBitQ. The codes are sign bits of rotated residuals; the rotation spreads each
 * vector's energy evenly over the dimensions so that every bit carries about the same information, and makes the
 * estimator's error bound hold (Gao & Long, SIGMOD 2024, §3).
 *
 * Two kinds, both acting on vectors zero-padded to `padded` = dims rounded up to a multiple of 64 (whole 64-bit
 * words of code):
 *  - fhtRotation: `rounds` × (random sign flips, then a normalised fast Walsh–Hadamard transform over a
 *    power-of-two block, alternating the first and the last block when padded is not a power of two). O(D log D)
 *    per vector. RaBitQ-Library's "FhtKacRotator" takes the same shape. Default.
 *  - denseRotation: a Haar-random orthogonal matrix (Gram–Schmidt of a Gaussian matrix), the paper's own. O(D²)
 *    per vector: ≈10× slower at 128-d (bench/ivf-kernels.ts), kept to check the fast one against.
 * Each step is orthogonal, so norms and inner products are preserved exactly (up to rounding).
 * An FhtRotation that has applied more than KERNEL_AFTER vectors (a part build's encoding) runs its rounds in a
 * WebAssembly SIMD kernel (rotation.wat): the same operations two lanes at a time, so the same bits (≈3× faster at
 * 128-d, docs/benchmarks.md "Part build CPU").
 */
import { align16, compileWasm, gatherRows, instantiateWasm, type WasmModule } from '../core/index.js';
import { gaussian, type Random } from './random.js';
import { ROTATION_WASM_BASE64 } from './rotation-wasm.js';

type RotateKernel = (x: number, mult: number, pre: number, padded: number, block: number, rounds: number, scale: number) => void;
type RabitqRowsKernel = (
  x: number, mult: number, pre: number, padded: number, block: number, rounds: number, scale: number,
  dims: number, rows: number, n: number, c: number, crot: number, codes: number, stats: number,
) => void;
let compiled: WasmModule | null | undefined;
/** Bytes of f32 rows a `rabitqRows` kernel call reads. */
const RABITQ_BATCH_BYTES = 128 * 1024;

/**
 * A rotation's SIMD kernel (rotation.wat: the rounds after the first multiply, two f64 lanes, bit for bit the JS
 * loops) over its own memory holding its `mult` and `pre`, the vector being rotated, and a batch of rows with their
 * centroid for RaBitQ encoding; null without WebAssembly SIMD.
 */
function rotationKernel(mult: Float64Array, pre: Float64Array, dims: number, padded: number, block: number, scale: number): RotationKernel | null {
  if (compiled === undefined) compiled = compileWasm(ROTATION_WASM_BASE64);
  if (compiled === null) return null;
  const bytes = mult.byteLength;
  const batch = Math.max(1, Math.floor(RABITQ_BATCH_BYTES / (4 * dims)));
  const at = { x: 2 * bytes, c: 0, crot: 0, rows: 0, codes: 0, stats: 0 };
  at.c = align16(at.x + padded * 8);
  at.crot = align16(at.c + dims * 8);
  at.rows = at.crot + padded * 8;
  at.codes = align16(at.rows + batch * dims * 4);
  at.stats = align16(at.codes + batch * (padded >> 3));
  const got = instantiateWasm(compiled, at.stats + batch * 24);
  if (got === null) return null;
  const buf = got.memory.buffer as ArrayBuffer;
  new Float64Array(buf, 0, mult.length).set(mult);
  new Float64Array(buf, bytes, pre.length).set(pre);
  const rotate = got.instance.exports.rotate as RotateKernel;
  const rabitqRows = got.instance.exports.rabitq_rows as RabitqRowsKernel;
  const rounds = mult.length / padded;
  const c = new Float64Array(buf, at.c, dims);
  const crot = new Float64Array(buf, at.crot, padded);
  const rowBuf = new Float32Array(buf, at.rows, batch * dims);
  const codeBuf = new Uint8Array(buf, at.codes, batch * (padded >> 3));
  const statBuf = new Float64Array(buf, at.stats, batch * 3);
  return {
    x: new Float64Array(buf, at.x, padded),
    run: () => rotate(at.x, 0, bytes, padded, block, rounds, scale),
    rabitq(data, rows, centroids, cOff, cRot, codes, stats) {
      for (let d = 0; d < dims; d++) c[d] = centroids[cOff + d]!;
      crot.set(cRot.subarray(0, padded));
      const n = rows.length;
      const codeBytes = padded >> 3;
      for (let from = 0; from < n; from += batch) {
        const count = Math.min(batch, n - from);
        gatherRows(data, dims, rows, from, count, rowBuf);
        rabitqRows(at.x, 0, bytes, padded, block, rounds, scale, dims, at.rows, count, at.c, at.crot, at.codes, at.stats);
        codes.set(codeBuf.subarray(0, count * codeBytes), from * codeBytes);
        stats.set(statBuf.subarray(0, count * 3), from * 3);
      }
    },
  };
}

/** The vector a kernel rotates in place (round 0's products written by the caller), and the rotation of it. */
interface RotationKernel {
  readonly x: Float64Array;
  run(): void;
  /** FhtRotation.encodeRabitq's work. */
  rabitq(data: Float32Array, rows: ArrayLike<number>, centroids: Float32Array, cOff: number, cRot: Float64Array, codes: Uint8Array, stats: Float64Array): void;
}

/**
 * Applies before a rotation instantiates its kernel (≈0.1 ms and a 64 KiB memory): a query rotates one vector, a
 * part build every vector of the part.
 */
const KERNEL_AFTER = 64;

export interface Rotation {
  readonly dims: number;
  readonly padded: number;
  /** out[0, padded) = P·x for x = v[off, off + dims) zero-padded. */
  apply(v: Float32Array | Float64Array, off: number, out: Float64Array): void;
}

export function paddedDims(dims: number): number {
  return Math.max(64, Math.ceil(dims / 64) * 64);
}

export const DEFAULT_FHT_ROUNDS = 4;

/** The fast rotation. `signs` (rounds × padded, each +1 or −1) is all its state: store it to rebuild the same one. */
export class FhtRotation implements Rotation {
  readonly dims: number;
  readonly padded: number;
  readonly signs: Int8Array;
  private readonly block: number;
  private readonly scale: number;
  /** Per round, the signs times the previous round's 1/√block on that round's block (one multiply pass per round). */
  private readonly mult: Float64Array;
  /** `mult` with round 0's entries 1 (apply multiplies by them while copying the input): what fwht multiplies by. */
  private readonly pre: Float64Array;

  /** The SIMD kernel once KERNEL_AFTER applies have run (null: not available), and the count until then. */
  private kernel: RotationKernel | null | undefined;
  private applied = 0;

  /** `simd` false: the JS loops only (tests compare the two). */
  constructor(dims: number, signs: Int8Array, private readonly simd = true) {
    this.dims = dims;
    this.padded = paddedDims(dims);
    const p = this.padded;
    if (signs.length === 0 || signs.length % p !== 0) throw new RangeError(`rotation signs: ${signs.length} is not a multiple of ${p}`);
    this.signs = signs;
    let b = 1;
    while (b * 2 <= p) b *= 2;
    this.block = b;
    this.scale = 1 / Math.sqrt(b);
    this.mult = Float64Array.from(signs);
    for (let r = 1; r < signs.length / p; r++) {
      const prev = this.blockStart(r - 1);
      for (let i = prev; i < prev + b; i++) this.mult[r * p + i]! *= this.scale;
    }
    this.pre = this.mult.slice();
    this.pre.fill(1, 0, p);
  }

  /**
   * rabitq.ts encodeCluster's per-vector work in the SIMD kernel: for each row r of `rows`, the code bits of its
   * rotated residual to the centroid centroids[cOff, cOff + dims) into codes[j·padded/8, …) and, at stats[3j, 3j + 3),
   * ‖o‖², Σ|(Po)_i| and Σ_{b_i=1} cRot_i, computed as encodeCluster's loop computes them. False (nothing done) when the
   * kernel is not used: too few vectors rotated yet to be worth instantiating it, or not available.
   */
  encodeRabitq(data: Float32Array, rows: ArrayLike<number>, centroids: Float32Array, cOff: number, cRot: Float64Array, codes: Uint8Array, stats: Float64Array): boolean {
    if (this.kernel === undefined && (this.applied += rows.length) > KERNEL_AFTER && this.simd) {
      this.kernel = rotationKernel(this.mult, this.pre, this.dims, this.padded, this.block, this.scale);
    }
    const k = this.kernel;
    if (k === undefined || k === null) return false;
    k.rabitq(data, rows, centroids, cOff, cRot, codes, stats);
    return true;
  }

  /** Round r transforms [start, start + block): the first block on even rounds, the last on odd ones. */
  private blockStart(r: number): number {
    return r % 2 === 0 ? 0 : this.padded - this.block;
  }

  /**
   * Round r: x ← x ⊙ mult_r (round 0: while copying the input), then the Walsh–Hadamard transform of its block; the
   * last round's block then times 1/√block. fwht does the multiply in its first pass and the scale in its last: the
   * same products and sums, in the same order, as separate passes would (bench/part-build.ts checks the parts'
   * bytes; rotation.test.ts the values).
   */
  apply(v: Float32Array | Float64Array, off: number, out: Float64Array): void {
    const { dims, padded, mult, pre, block } = this;
    if (this.kernel === undefined && ++this.applied > KERNEL_AFTER && this.simd) this.kernel = rotationKernel(mult, pre, dims, padded, block, this.scale);
    const k = this.kernel;
    if (k !== undefined && k !== null) {
      const x = k.x;
      for (let i = 0; i < dims; i++) x[i] = v[off + i]! * mult[i]!;
      x.fill(0, dims, padded);
      k.run();
      out.set(x);
      return;
    }
    for (let i = 0; i < dims; i++) out[i] = v[off + i]! * mult[i]!;
    out.fill(0, dims, padded);
    const rounds = mult.length / padded;
    for (let r = 0; r < rounds; r++) {
      const so = r * padded;
      const start = this.blockStart(r);
      if (r > 0) {
        for (let i = 0; i < start; i++) out[i] = out[i]! * mult[so + i]!;
        for (let i = start + block; i < padded; i++) out[i] = out[i]! * mult[so + i]!;
      }
      fwht(out, start, block, pre, so + start, r === rounds - 1 ? this.scale : 1);
    }
  }
}

export function fhtRotation(dims: number, random: Random, rounds = DEFAULT_FHT_ROUNDS): FhtRotation {
  const padded = paddedDims(dims);
  const signs = new Int8Array(rounds * padded);
  for (let i = 0; i < signs.length; i++) signs[i] = random() < 0.5 ? -1 : 1;
  return new FhtRotation(dims, signs);
}

/**
 * In-place unnormalised Walsh–Hadamard transform of x[start, start + n), n a power of two ≥ 8, with x first
 * multiplied elementwise by m[mOff, mOff + n) and the result by `scale` (1: none; x·1 is exact). Stages of stride h
 * and 2h run fused in one pass over each 4h-group (the butterflies of both, in the order two passes would do them).
 */
function fwht(x: Float64Array, start: number, n: number, m: Float64Array, mOff: number, scale: number): void {
  const end = start + n;
  const md = mOff - start;
  let h = 4;
  // Strides 1 and 2, with the multiply (n ≥ 8: never the last stage).
  for (let i = start; i < end; i += 4) {
    const a = x[i]! * m[md + i]!;
    const b = x[i + 1]! * m[md + i + 1]!;
    const c = x[i + 2]! * m[md + i + 2]!;
    const d = x[i + 3]! * m[md + i + 3]!;
    const p0 = a + b;
    const q0 = a - b;
    const p1 = c + d;
    const q1 = c - d;
    x[i] = p0 + p1;
    x[i + 1] = q0 + q1;
    x[i + 2] = p0 - p1;
    x[i + 3] = q0 - q1;
  }
  // Strides h and 2h together.
  for (; h * 2 < n; h *= 4) {
    const sc = 4 * h >= n ? scale : 1; // the pass whose outputs are final
    const h2 = 2 * h;
    const h3 = 3 * h;
    for (let i = start; i < end; i += 4 * h) {
      for (let j = i; j < i + h; j++) {
        const a = x[j]!;
        const b = x[j + h]!;
        const c = x[j + h2]!;
        const d = x[j + h3]!;
        const p0 = a + b;
        const q0 = a - b;
        const p1 = c + d;
        const q1 = c - d;
        x[j] = (p0 + p1) * sc;
        x[j + h] = (q0 + q1) * sc;
        x[j + h2] = (p0 - p1) * sc;
        x[j + h3] = (q0 - q1) * sc;
      }
    }
  }
  // A last stage of stride n/2 when the stage count left was odd.
  if (h < n) {
    for (let j = start; j < start + h; j++) {
      const a = x[j]!;
      const b = x[j + h]!;
      x[j] = (a + b) * scale;
      x[j + h] = (a - b) * scale;
    }
  }
}

/** A Haar-random orthogonal matrix (padded × padded, row-major), applied as a matrix–vector product. */
export class DenseRotation implements Rotation {
  readonly dims: number;
  readonly padded: number;
  readonly matrix: Float64Array;

  constructor(dims: number, matrix: Float64Array) {
    this.dims = dims;
    this.padded = paddedDims(dims);
    if (matrix.length !== this.padded * this.padded) throw new RangeError(`rotation matrix: ${matrix.length} entries, expected ${this.padded}²`);
    this.matrix = matrix;
  }

  apply(v: Float32Array | Float64Array, off: number, out: Float64Array): void {
    const { dims, padded, matrix } = this;
    for (let r = 0; r < padded; r++) {
      const ro = r * padded;
      let s = 0;
      for (let i = 0; i < dims; i++) s += matrix[ro + i]! * v[off + i]!; // padded inputs are 0
      out[r] = s;
    }
  }
}

export function denseRotation(dims: number, random: Random): DenseRotation {
  const n = paddedDims(dims);
  const g = gaussian(random);
  const m = new Float64Array(n * n);
  for (let i = 0; i < m.length; i++) m[i] = g();
  // Modified Gram–Schmidt over rows: orthonormal rows of a Gaussian matrix are Haar-distributed.
  for (let r = 0; r < n; r++) {
    const ro = r * n;
    for (let p = 0; p < r; p++) {
      const po = p * n;
      let d = 0;
      for (let i = 0; i < n; i++) d += m[ro + i]! * m[po + i]!;
      for (let i = 0; i < n; i++) m[ro + i] -= d * m[po + i]!;
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += m[ro + i]! * m[ro + i]!;
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < n; i++) m[ro + i] *= inv;
  }
  return new DenseRotation(dims, m);
}
