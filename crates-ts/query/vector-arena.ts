/**
 * Vectors kept in WebAssembly memory and scanned by SIMD kernels (kernels.wat; RFC-0004 §5: the tail scan is one
 * tight kernel). An arena is one WebAssembly.Memory holding a fixed number of rows (row r at data[r·dims]) plus the
 * scratch a scan needs: the query widened to f64, a batch of selected ordinals and their results. The kernels follow
 * distance.ts's summation order exactly, so a distance is bit-identical whether this kernel or the JS one computes it
 * (vector-arena.test.ts checks it), and results do not change when a row moves from the tail into a part.
 *
 * An arena never grows in place: growing a memory detaches every view of it, so a bigger arena is a new one
 * (`grown`), and views of the old one stay valid until they are collected. When WebAssembly SIMD is unavailable, or
 * `ELAX_SCAN_KERNEL=js`, `create` returns null and callers keep a plain Float32Array (the JS kernels).
 */
import { compileWasm, instantiateWasm, WASM_PAGE, type WasmInstance, type WasmMemory, type WasmModule } from '../core/index.js';
import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';

/** A scan of selected rows: fill `sel[0, count)` with ordinals, call dots/l2s, read `out[0, count)`. Synchronous. */
export interface VectorScan {
  readonly batch: number;
  readonly sel: Int32Array;
  readonly out: Float64Array;
  /** Sets the query for the following calls (any scan of this arena may overwrite it: set it before each loop). */
  setQuery(q: ArrayLike<number>): void;
  /** out[j] = Σ q·row(sel[j]): the numerator of the cosine distance (distance.ts cosineFromDot). */
  dots(count: number): void;
  /** out[j] = Σ (q - row(sel[j]))²: the euclidean_squared distance. */
  l2s(count: number): void;
}

const BATCH = 256;
/** A 32-bit memory addresses 4 GiB; keep a page of headroom. */
const MAX_BYTES = 4 * 1024 ** 3 - WASM_PAGE;

type Kernel = (dims: number, q: number, data: number, sel: number, count: number, out: number) => void;

let compiled: WasmModule | null | undefined;

function kernelModule(): WasmModule | null {
  if (compiled === undefined) compiled = compileWasm(KERNELS_WASM_BASE64);
  return compiled;
}

/** Whether arenas can be made here (WebAssembly SIMD, and not turned off by ELAX_SCAN_KERNEL=js). */
export function arenasAvailable(): boolean {
  return kernelModule() !== null;
}

const align16 = (n: number) => (n + 15) & ~15;

export class VectorArena implements VectorScan {
  readonly batch = BATCH;
  readonly data: Float32Array;
  readonly sel: Int32Array;
  readonly out: Float64Array;
  private readonly q: Float64Array;
  private readonly selOff: number;
  private readonly outOff: number;
  private readonly dataOff: number;
  private readonly kDots: Kernel;
  private readonly kL2s: Kernel;

  private constructor(
    readonly dims: number,
    /** Rows the arena holds. */
    readonly capacity: number,
    memory: WasmMemory,
    instance: WasmInstance,
  ) {
    this.selOff = align16(dims * 8);
    this.outOff = this.selOff + BATCH * 4;
    this.dataOff = align16(this.outOff + BATCH * 8);
    const buf = memory.buffer;
    this.q = new Float64Array(buf, 0, dims);
    this.sel = new Int32Array(buf, this.selOff, BATCH);
    this.out = new Float64Array(buf, this.outOff, BATCH);
    this.data = new Float32Array(buf, this.dataOff, capacity * dims);
    this.kDots = instance.exports.dots as Kernel;
    this.kL2s = instance.exports.l2s as Kernel;
  }

  /** An arena for `capacity` rows of `dims` floats, or null (no SIMD, too big for a 32-bit memory, out of memory). */
  static create(dims: number, capacity: number): VectorArena | null {
    const mod = kernelModule();
    if (mod === null || dims <= 0 || capacity <= 0) return null;
    const bytes = align16(align16(dims * 8) + BATCH * 12) + capacity * dims * 4;
    if (bytes > MAX_BYTES) return null;
    const got = instantiateWasm(mod, bytes);
    return got === null ? null : new VectorArena(dims, capacity, got.memory, got.instance); // null: the caller keeps a plain array
  }

  /** A new arena for `capacity` rows holding this one's first `rows` rows (this one stays valid), or null. */
  grown(capacity: number, rows: number): VectorArena | null {
    const next = VectorArena.create(this.dims, capacity);
    next?.data.set(this.data.subarray(0, rows * this.dims));
    return next;
  }

  setQuery(q: ArrayLike<number>): void {
    const dst = this.q;
    for (let i = 0; i < dst.length; i++) dst[i] = q[i]!;
  }

  dots(count: number): void {
    this.kDots(this.dims, 0, this.dataOff, this.selOff, count, this.outOff);
  }

  l2s(count: number): void {
    this.kL2s(this.dims, 0, this.dataOff, this.selOff, count, this.outOff);
  }
}
