/**
 * Refine codes: a second-stage code per vector that decides, with a deterministic bound, which RaBitQ candidates
 * need their full-precision vector at all (RFC-0008 "Refine codes").
 *
 * A cluster's residuals o = x − c (index space) are scalar-quantised to 8 bits per dimension on the cluster's own
 * per-dimension range: lo_d = min o_d, step_d = (max o_d − lo_d)/255, code_{i,d} = round((o_{i,d} − lo_d)/step_d).
 * The reconstruction x̃ = c + lo + step ⊙ code is close to x, and each vector stores its exact error radius
 * r = ‖x − x̃‖ (computed in f64 at build, rounded up to f32). By the triangle inequality
 *     | ‖q − x‖ − ‖q − x̃‖ | ≤ r
 * for any query q: a sure interval around the true distance, not a probabilistic one. The searcher (search.ts)
 * replaces a candidate's RaBitQ bounds (likely, at confidence ε0) by (‖q − x̃‖ − r)² and (‖q − x̃‖ + r)² (sure), so
 * only the candidates whose interval reaches the k-th distance are reranked exactly: the answer is the exact top k
 * of the candidates, as without refine codes — or better, where a RaBitQ lower bound failed — with far fewer
 * full-precision reads.
 *
 * Cosine: a zero vector is stored as zero in index space but its cosine distance is 1, not ‖q̂‖²/2; its radius is
 * +∞ (no refinement), as RaBitQ's estimate of it is allowed to be wrong.
 *
 * Cost: dims + 4 bytes per vector (132 at 128-d), plus 8·dims per cluster.
 */
import { align16, compileWasm, gatherRows, instantiateWasm, type WasmModule } from '../core/index.js';
import { REFINE_WASM_BASE64 } from './refine-wasm.js';
import { REFINE_ENCODE_WASM_BASE64 } from './refine-encode-wasm.js';

export interface RefineCodes {
  dims: number;
  /** Per dimension: the smallest residual, and the quantisation step (0 when the cluster is flat there). */
  lo: Float32Array;
  step: Float32Array;
  /** ‖x − x̃‖ per vector, rounded up; +∞ for a vector that must not be refined. */
  radius: Float32Array;
  /** n × dims bytes. */
  codes: Uint8Array;
}

/**
 * Rows a cluster's refine codes may be built for, and their centroid: the same arguments as rabitq.ts encodeCluster.
 * `simd` false: the JS loop even where the SIMD kernel (refine-encode.wat, bit for bit the loop) is available (tests).
 */
export function encodeRefine(data: Float32Array, rows: ArrayLike<number>, centroids: Float32Array, cOff: number, dims: number, zeroIsFar: boolean, simd = true): RefineCodes {
  const n = rows.length;
  const lo = new Float32Array(dims).fill(Infinity);
  const hi = new Float32Array(dims).fill(-Infinity);
  // The centroid as f64 (its f32 values): the loops below read it once per element.
  const c = new Float64Array(dims);
  for (let d = 0; d < dims; d++) c[d] = centroids[cOff + d]!;
  for (let j = 0; j < n; j++) {
    const off = rows[j]! * dims;
    for (let d = 0; d < dims; d++) {
      const o = Math.fround(data[off + d]! - c[d]!);
      if (o < lo[d]!) lo[d] = o;
      if (o > hi[d]!) hi[d] = o;
    }
  }
  const step = new Float32Array(dims);
  for (let d = 0; d < dims; d++) {
    if (n === 0) lo[d] = 0;
    else step[d] = (hi[d]! - lo[d]!) / 255;
  }
  // f64 copies of the stored f32 lo and step, and the reconstruction's base c + lo (the same f64 sum the query
  // side computes: refine-wasm/RefineQuery reconstruct as c + lo + step·code).
  const lo64 = Float64Array.from(lo);
  const step64 = Float64Array.from(step);
  const base = new Float64Array(dims);
  for (let d = 0; d < dims; d++) base[d] = c[d]! + lo64[d]!;
  // 1/step: a code is round(q) of q = (x − c − lo)/step, and the division was most of the encoding's time. q·(1/step)
  // is within 3·2⁻⁵³·|q| of the quotient (three roundings), so the two round alike unless q·(1/step) lies within
  // 2⁻⁴² of a half-integer (NEAR_TIE); there the exact quotient decides. Far outside [0, 255] they may round apart,
  // but the clamp gives both the same code. refine.test.ts compares with the division on near-ties and random codes.
  const inv = new Float64Array(dims);
  for (let d = 0; d < dims; d++) inv[d] = step64[d]! > 0 ? 1 / step64[d]! : 0;
  const codes = new Uint8Array(n * dims);
  const radius = new Float32Array(n);
  const kernel = simd && n > 0 ? EncodeKernel.shared(dims) : null;
  if (kernel !== null) {
    kernel.encode(data, rows, [step64, inv, c, lo64, base], codes, radius, zeroIsFar);
    return { dims, lo, step, radius, codes };
  }
  for (let j = 0; j < n; j++) {
    const off = rows[j]! * dims;
    const co = j * dims;
    let err2 = 0;
    let norm2 = 0;
    for (let d = 0; d < dims; d++) {
      const x = data[off + d]!;
      norm2 += x * x;
      const s = step64[d]!;
      let code = 0;
      if (s > 0) {
        // min(255, max(0, round(·))) without the calls (a −0 stores as 0 and adds 0 below, as +0 would).
        const o = x - c[d]! - lo64[d]!;
        const q = o * inv[d]!;
        code = Math.round(q);
        const f = q - code; // exact; |f| ≥ 0.5 − 2⁻⁴² near a tie, so f² ≥ NEAR_TIE
        if (f * f >= NEAR_TIE) code = Math.round(o / s);
        if (code < 0) code = 0;
        else if (code > 255) code = 255;
      }
      codes[co + d] = code;
      // The reconstruction exactly as the query side computes it (f64 over the stored f32 values).
      const e = x - (base[d]! + s * code);
      err2 += e * e;
    }
    radius[j] = zeroIsFar && norm2 === 0 ? Infinity : roundUpF32(Math.sqrt(err2));
  }
  return { dims, lo, step, radius, codes };
}

/**
 * q·(1/step) is within 2⁻⁴² of the quotient for |q| ≤ 512 (512 · 3·2⁻⁵³ < 2⁻⁴²), so their rounded values can only
 * differ when the first is within 2⁻⁴² of a half-integer: its distance f to its rounded value then has
 * f² ≥ (0.5 − 2⁻⁴²)² > 0.25 − 2⁻⁴¹ (rounding of f² included), the bound below.
 */
const NEAR_TIE = 0.25 - 2 ** -41;

type EncodeFn = (dims: number, par: number, x: number, n: number, codes: number, err: number, nz: number, near: number) => void;
let encodeCompiled: WasmModule | null | undefined;
const encodeKernels = new Map<number, EncodeKernel | null>();
/** Bytes of rows the encode kernel takes per call. */
const ENCODE_BATCH_BYTES = 256 * 1024;

/** encodeRefine's per-vector loop in WebAssembly SIMD (refine-encode.wat), for even dims; one per thread and dims. */
class EncodeKernel {
  static shared(dims: number): EncodeKernel | null {
    let k = encodeKernels.get(dims);
    if (k === undefined) {
      k = EncodeKernel.create(dims);
      encodeKernels.set(dims, k);
    }
    return k;
  }

  private static create(dims: number): EncodeKernel | null {
    if (dims % 2 !== 0) return null;
    if (encodeCompiled === undefined) encodeCompiled = compileWasm(REFINE_ENCODE_WASM_BASE64);
    if (encodeCompiled === null) return null;
    const capacity = Math.max(1, Math.floor(ENCODE_BATCH_BYTES / (4 * dims)));
    const at = { par: 0, x: align16(5 * dims * 8), codes: 0, err: 0, nz: 0 };
    at.codes = align16(at.x + capacity * dims * 4);
    at.err = align16(at.codes + capacity * dims);
    at.nz = at.err + capacity * 8;
    const got = instantiateWasm(encodeCompiled, at.nz + capacity * 4);
    return got === null ? null : new EncodeKernel(got.instance.exports.encode as EncodeFn, got.memory.buffer as ArrayBuffer, dims, capacity, at);
  }

  private readonly par: Float64Array;
  private readonly x: Float32Array;
  private readonly codes: Uint8Array;
  private readonly err: Float64Array;
  private readonly nz: Int32Array;

  private constructor(private readonly fn: EncodeFn, buf: ArrayBuffer, private readonly dims: number, private readonly capacity: number, private readonly at: { par: number; x: number; codes: number; err: number; nz: number }) {
    this.par = new Float64Array(buf, at.par, 5 * dims);
    this.x = new Float32Array(buf, at.x, capacity * dims);
    this.codes = new Uint8Array(buf, at.codes, capacity * dims);
    this.err = new Float64Array(buf, at.err, capacity);
    this.nz = new Int32Array(buf, at.nz, capacity);
  }

  /** The loop of encodeRefine over `rows` with its per-dimension arrays [step, 1/step, c, lo, c + lo]. */
  encode(data: Float32Array, rows: ArrayLike<number>, par: Float64Array[], codes: Uint8Array, radius: Float32Array, zeroIsFar: boolean): void {
    const { dims, capacity, x, at } = this;
    par.forEach((a, i) => this.par.set(a, i * dims));
    const n = rows.length;
    for (let from = 0; from < n; from += capacity) {
      const count = Math.min(capacity, n - from);
      gatherRows(data, dims, rows, from, count, x);
      this.fn(dims, at.par, at.x, count, at.codes, at.err, at.nz, NEAR_TIE);
      codes.set(this.codes.subarray(0, count * dims), from * dims);
      // As the JS loop: Σx² is 0 exactly when every x is (an f32's square does not underflow in f64).
      for (let j = 0; j < count; j++) radius[from + j] = zeroIsFar && this.nz[j] === 0 ? Infinity : roundUpF32(Math.sqrt(this.err[j]!));
    }
  }
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The smallest f32 ≥ x (x ≥ 0). */
function roundUpF32(x: number): number {
  const f = Math.fround(x);
  if (f >= x) return f;
  f32Scratch[0] = f;
  u32Scratch[0] = u32Scratch[0]! + 1; // x > f ≥ 0: the next f32 up
  return f32Scratch[0]!;
}

/**
 * Relative slack of the refined bounds: the exact distance is computed on the original vectors (for cosine, in f64
 * from the raw f32 values, not from the f32-rounded unit vectors of the index), a few ulps from the index-space one.
 */
const SLACK = 1e-6;

/** f32's unit roundoff. */
const U = 2 ** -24;

type SqDistsKernel = (dims16: number, s: number, step: number, codes: number, n: number, out: number) => void;
let compiled: WasmModule | null | undefined;
const KERNEL_CAPACITY = 1024;
const kernels = new Map<number, RefineKernel | null>();

/** The SIMD kernel over a memory holding s, step, `capacity` codes and their outputs; null without WebAssembly SIMD. */
class RefineKernel {
  readonly dims16: number;
  readonly s: Float32Array;
  readonly step: Float32Array;
  readonly codes: Uint8Array;
  /** The same memory as 32-bit words (dims16 is a multiple of 16). */
  readonly words: Uint32Array;
  readonly out: Float32Array;
  private readonly fn: SqDistsKernel;
  private readonly at: { s: number; step: number; codes: number; out: number };

  /**
   * The kernel for `dims`-d codes, shared: queries run it synchronously, one at a time, and a memory per query would
   * cost more than the query (instantiating is ≈0.1 ms).
   */
  static shared(dims: number): RefineKernel | null {
    let k = kernels.get(dims);
    if (k === undefined) {
      k = RefineKernel.create(dims, KERNEL_CAPACITY);
      kernels.set(dims, k);
    }
    return k;
  }

  static create(dims: number, capacity: number): RefineKernel | null {
    if (compiled === undefined) compiled = compileWasm(REFINE_WASM_BASE64);
    if (compiled === null || dims <= 0) return null;
    const dims16 = (dims + 15) & ~15;
    const at = { s: 0, step: dims16 * 4, out: dims16 * 8, codes: align16(dims16 * 8 + capacity * 4) };
    const got = instantiateWasm(compiled, at.codes + capacity * dims16);
    return got === null ? null : new RefineKernel(got.instance.exports.sqdists as SqDistsKernel, got.memory.buffer as ArrayBuffer, dims16, capacity, at);
  }

  private constructor(fn: SqDistsKernel, buf: ArrayBuffer, dims16: number, readonly capacity: number, at: { s: number; step: number; codes: number; out: number }) {
    this.fn = fn;
    this.at = at;
    this.dims16 = dims16;
    this.s = new Float32Array(buf, at.s, dims16);
    this.step = new Float32Array(buf, at.step, dims16);
    this.out = new Float32Array(buf, at.out, capacity);
    this.codes = new Uint8Array(buf, at.codes, capacity * dims16);
    this.words = new Uint32Array(buf, at.codes, (capacity * dims16) >> 2);
  }

  run(n: number): void {
    this.fn(this.dims16, this.at.s, this.at.step, this.at.codes, n, this.at.out);
  }
}

/**
 * One query against refine codes: setCluster, then the bounds of chosen vectors of that cluster. With WebAssembly
 * SIMD the distances come from refine.wat in f32 and the bounds are widened by its error (below); without it, from
 * an f64 loop.
 */
export class RefineQuery {
  private s: Float64Array;
  private kernel: RefineKernel | null;
  /** Error allowance of the f32 kernel for the cluster last set: relative (γ) and absolute (A) on ‖q − x̃‖. */
  private gamma = 0;
  private absErr = 0;

  /** The codes of the cluster last set as 32-bit words, when they can be (aligned, dims a multiple of 4). */
  private words: Uint32Array | null = null;

  /**
   * `kernel`: the shared SIMD kernel (default), a private one of that many codes per call (tests), or false: the f64
   * loop even where the kernel is available (tests compare the two).
   */
  constructor(private readonly dims: number, kernel: boolean | number = true) {
    this.s = new Float64Array(dims);
    this.kernel = kernel === false ? null : kernel === true ? RefineKernel.shared(dims) : RefineKernel.create(dims, kernel);
  }

  /** Whether the SIMD kernel computes the distances. */
  get simd(): boolean {
    return this.kernel !== null;
  }

  /** Prepares cluster `codes` with centroid centroids[cOff, cOff + dims) for query q (index space). */
  setCluster(q: Float64Array, codes: RefineCodes, centroids: Float32Array, cOff: number): void {
    const { dims, lo, step } = codes;
    if (dims !== this.dims) throw new RangeError(`refine codes of ${dims} dimensions for a ${this.dims}-d query`);
    let sNorm2 = 0;
    let stepNorm2 = 0;
    for (let d = 0; d < dims; d++) {
      const v = q[d]! - (centroids[cOff + d]! + lo[d]!);
      this.s[d] = v;
      sNorm2 += v * v;
      stepNorm2 += step[d]! * step[d]!;
    }
    const k = this.kernel;
    if (k !== null) {
      const c = codes.codes;
      this.words = dims % 4 === 0 && c.byteOffset % 4 === 0 ? new Uint32Array(c.buffer, c.byteOffset, c.length >> 2) : null;
      k.s.set(this.s);
      k.step.set(step);
      // The kernel's e_d = s_d − step_d·c_d carries at most ≈3u·(|s_d| + |step_d·c_d|) (s rounded to f32, one product,
      // one difference), so ‖ẽ − e‖ ≤ 3u·(‖s‖ + 255‖step‖); its sum of squares, 4 lanes of dims/4 terms then 3
      // additions, is within (dims/4 + 3)·u relatively, so the root within half that. Both rounded up.
      // Where f32 goes subnormal (squares below 2^-126) rounding is absolute, not relative: each of the dims + 8
      // operations of the sum may be off by up to 2^-149, and the root of a sum off by δ is off by at most √δ (the
      // same hole as assign-kernel.ts's seed 805169774). A term far below any real distance, and sure.
      this.absErr = 4 * U * (Math.sqrt(sNorm2) + 255 * Math.sqrt(stepNorm2)) + Math.sqrt((k.dims16 + 8) * 2 ** -149) + dims * 2 ** -149;
      this.gamma = (k.dims16 / 4 + 4) * U;
    }
  }

  /** ‖q − x̃_i‖ for vector i of the cluster last set, in f64. */
  distance(codes: RefineCodes, i: number): number {
    const { dims, step } = codes;
    const c = codes.codes;
    const s = this.s;
    let a = 0;
    let b = 0;
    let d = 0;
    const o = i * dims;
    for (; d + 1 < dims; d += 2) {
      const e0 = s[d]! - step[d]! * c[o + d]!;
      const e1 = s[d + 1]! - step[d + 1]! * c[o + d + 1]!;
      a += e0 * e0;
      b += e1 * e1;
    }
    if (d < dims) {
      const e = s[d]! - step[d]! * c[o + d]!;
      a += e * e;
    }
    return Math.sqrt(a + b);
  }

  /**
   * Sure metric-unit bounds on the distances of vectors pos[0, count) of the cluster last set (their radii must be
   * finite): lower[j] ≤ exact ≤ upper[j].
   */
  bounds(codes: RefineCodes, pos: ArrayLike<number>, count: number, scale: number, lower: Float64Array, upper: Float64Array): void {
    const k = this.kernel;
    const radius = codes.radius;
    if (k === null) {
      for (let j = 0; j < count; j++) {
        const dr = this.distance(codes, pos[j]!);
        const r = radius[pos[j]!]!;
        lower[j] = refinedLower(dr, r, scale);
        upper[j] = refinedUpper(dr, r, scale);
      }
      return;
    }
    const dims = codes.dims;
    const src = codes.codes;
    const { gamma, absErr } = this;
    for (let from = 0; from < count; from += k.capacity) {
      const n = Math.min(k.capacity, count - from);
      const words = this.words;
      if (words !== null) {
        // Word by word: a subarray per vector would allocate (the collector then costs as much as the copy).
        const w = dims >> 2;
        const w16 = k.dims16 >> 2;
        const dst = k.words;
        for (let j = 0; j < n; j++) {
          const o = pos[from + j]! * w;
          const t = j * w16;
          for (let i = 0; i < w; i++) dst[t + i] = words[o + i]!;
        }
      } else {
        for (let j = 0; j < n; j++) {
          const o = pos[from + j]! * dims;
          const t = j * k.dims16;
          for (let i = 0; i < dims; i++) k.codes[t + i] = src[o + i]!;
        }
      }
      k.run(n);
      for (let j = 0; j < n; j++) {
        const dr = Math.sqrt(k.out[j]!);
        const r = radius[pos[from + j]!]!;
        lower[from + j] = refinedLower(Math.max(0, dr * (1 - gamma) - absErr), r, scale);
        upper[from + j] = refinedUpper(dr * (1 + gamma) + absErr, r, scale);
      }
    }
  }
}

/** Metric-unit bounds on the distance of a vector at reconstruction distance `dr` with radius `r` (scale: metric.ts). */
export function refinedLower(dr: number, r: number, scale: number): number {
  const g = dr - r - SLACK * (dr + r);
  return g > 0 ? g * g * scale : 0;
}

export function refinedUpper(dr: number, r: number, scale: number): number {
  const g = dr + r + SLACK * (dr + r);
  return g * g * scale;
}
