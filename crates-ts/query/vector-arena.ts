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
 *
 * A shared arena (the WAL tail's: `create(.., {shared: true})`) lives in a shared memory, so a pool thread scans its
 * rows in place (pool-scan.ts; docs/rfcs/0010-worker-pool.md "Tail scans on the pool"): the memory is posted to the
 * thread, which instantiates the same kernels over it and claims a scratch slot of its own with Atomics.
 */
import { align16, compileWasm, instantiateOn, instantiateWasm, WASM_PAGE, type WasmInstance, type WasmMemory, type WasmModule } from '../core/index.js';
import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';
import { KERNELS_SHARED_WASM_BASE64 } from './kernels-shared-wasm.js';

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
/**
 * Scratch slots of a shared arena (query, batch, results): slot 0 belongs to the thread that made it (the event
 * loop, which scans synchronously), slots 1.. are claimed with Atomics by scans on other threads (attach()).
 */
const SHARED_SLOTS = 8;

type Kernel = (dims: number, q: number, data: number, sel: number, count: number, out: number) => void;


let compiled: WasmModule | null | undefined;
/** Ids of shared arenas (idOf), in the order they were made. */
let nextArenaId = 1;
let compiledShared: WasmModule | null | undefined;

function kernelModule(shared: boolean): WasmModule | null {
  if (shared) {
    if (compiledShared === undefined) compiledShared = compileWasm(KERNELS_SHARED_WASM_BASE64);
    return compiledShared;
  }
  if (compiled === undefined) compiled = compileWasm(KERNELS_WASM_BASE64);
  return compiled;
}

/** Whether arenas can be made here (WebAssembly SIMD, and not turned off by ELAX_SCAN_KERNEL=js). */
export function arenasAvailable(): boolean {
  return kernelModule(false) !== null;
}


/** Where an arena of `dims` × `capacity` with `slots` scratch slots keeps things (bytes from the memory's start). */
function layout(dims: number, capacity: number, slots: number, codes = false) {
  const selAt = align16(dims * 8);
  const outAt = selAt + BATCH * 4;
  // The query's int8 codes (code-scan.ts).
  const qcAt = align16(outAt + BATCH * 8);
  const slotBytes = align16(qcAt + dims);
  const locksOff = slots * slotBytes;
  // The slot locks, then the arena's id (shared arenas: idOf).
  const dataOff = align16(locksOff + (slots + 1) * 4);
  // Then, when the arena keeps them, each row's int8 codes (row r at codesOff + r·dims).
  const codesOff = align16(dataOff + capacity * dims * 4);
  return { selAt, outAt, qcAt, slotBytes, locksOff, dataOff, codesOff, bytes: codes ? codesOff + capacity * dims : dataOff + capacity * dims * 4 };
}

export class VectorArena implements VectorScan {
  readonly batch = BATCH;
  readonly data: Float32Array;
  readonly sel: Int32Array;
  readonly out: Float64Array;
  private readonly q: Float64Array;
  private readonly qOff: number;
  private readonly selOff: number;
  private readonly outOff: number;
  private readonly dataOff: number;
  private readonly kDots: Kernel;
  private readonly kL2s: Kernel;
  private readonly kIdots: Kernel;
  private readonly kEncode: (dims: number, row: number, codes: number, lo: number, hi: number, outp: number) => number;
  private readonly qcOff: number;
  private readonly codesOff: number;
  /** Row r's int8 codes at codes[r·dims] (code-scan.ts), when the arena was made with `codes`; else null. */
  readonly codes: Int8Array | null;
  private readonly qc: Int8Array;

  private constructor(
    readonly dims: number,
    /** Rows the arena holds. */
    readonly capacity: number,
    /** The arena's memory: shared (a SharedArrayBuffer other threads scan through attach()) or this thread's own. */
    readonly memory: WasmMemory,
    instance: WasmInstance,
    readonly shared: boolean,
    /** The scratch slot this object scans with (0: the arena's maker). */
    private readonly slot: number,
    withCodes = false,
  ) {
    const l = layout(dims, capacity, shared ? SHARED_SLOTS : 1, withCodes);
    this.qOff = slot * l.slotBytes;
    this.selOff = this.qOff + l.selAt;
    this.outOff = this.qOff + l.outAt;
    this.dataOff = l.dataOff;
    const buf = memory.buffer;
    this.q = new Float64Array(buf, this.qOff, dims);
    this.sel = new Int32Array(buf, this.selOff, BATCH);
    this.out = new Float64Array(buf, this.outOff, BATCH);
    this.data = new Float32Array(buf, this.dataOff, capacity * dims);
    this.kDots = instance.exports.dots as Kernel;
    this.kL2s = instance.exports.l2s as Kernel;
    this.kIdots = instance.exports.idots as Kernel;
    this.kEncode = instance.exports.encode as VectorArena['kEncode'];
    this.qcOff = this.qOff + l.qcAt;
    this.codesOff = l.codesOff;
    this.qc = new Int8Array(buf, this.qcOff, dims);
    this.codes = withCodes ? new Int8Array(buf, this.codesOff, capacity * dims) : null;
  }

  /**
   * An arena for `capacity` rows of `dims` floats, or null (no SIMD, too big for a 32-bit memory, out of memory).
   * `shared`: in a shared memory that scans on other threads read in place (attach()); its rows must not change once
   * another thread may read them (the WAL tail only appends).
   */
  static create(dims: number, capacity: number, opts: { shared?: boolean; codes?: boolean } = {}): VectorArena | null {
    const shared = opts.shared === true && typeof SharedArrayBuffer === 'function';
    const mod = kernelModule(shared);
    if (mod === null || dims <= 0 || capacity <= 0) return null;
    const codes = opts.codes === true;
    const { bytes } = layout(dims, capacity, shared ? SHARED_SLOTS : 1, codes);
    if (bytes > MAX_BYTES) return null;
    const got = instantiateWasm(mod, bytes, shared);
    if (got === null) return null; // the caller keeps a plain array
    const arena = new VectorArena(dims, capacity, got.memory, got.instance, shared, 0, codes);
    if (shared) new Int32Array(got.memory.buffer, layout(dims, capacity, SHARED_SLOTS).locksOff, SHARED_SLOTS + 1)[SHARED_SLOTS] = nextArenaId++;
    return arena;
  }

  /**
   * The id a shared arena was made with (unique among this process's arenas, never 0), read from its memory: a
   * thread given the memory tells arenas it saw before from new ones without keeping the memory (pool/worker.ts).
   */
  static idOf(memory: WasmMemory, dims: number, capacity: number): number {
    return new Int32Array(memory.buffer, layout(dims, capacity, SHARED_SLOTS).locksOff, SHARED_SLOTS + 1)[SHARED_SLOTS]!;
  }

  /**
   * A scan of a shared arena made by another thread (given its memory, dims and capacity, and whether it keeps codes),
   * with a scratch slot of its own claimed until `release()`; null when no slot is free or the kernels cannot run here (the caller then uses the
   * JS kernels over `rowsOf`).
   */
  static attach(memory: WasmMemory, dims: number, capacity: number, codes = false): { arena: VectorArena; release: () => void } | null {
    const mod = kernelModule(true);
    if (mod === null) return null;
    const l = layout(dims, capacity, SHARED_SLOTS, codes);
    if (memory.buffer.byteLength < l.bytes) return null;
    const locks = new Int32Array(memory.buffer, l.locksOff, SHARED_SLOTS);
    for (let slot = 1; slot < SHARED_SLOTS; slot++) {
      if (Atomics.compareExchange(locks, slot, 0, 1) !== 0) continue;
      const instance = instantiateOn(mod, memory);
      if (instance === null) {
        Atomics.store(locks, slot, 0);
        return null;
      }
      return { arena: new VectorArena(dims, capacity, memory, instance, true, slot, codes), release: () => Atomics.store(locks, slot, 0) };
    }
    return null;
  }

  /** The rows of a shared arena made by another thread (JS-kernel scans when attach() finds no slot). */
  static rowsOf(memory: WasmMemory, dims: number, capacity: number): Float32Array {
    return new Float32Array(memory.buffer, layout(dims, capacity, SHARED_SLOTS).dataOff, capacity * dims);
  }

  /**
   * Has the pages of rows [from, to) touched ahead of their writes, off this thread when a prefaulter is set
   * (setArenaPrefault): the first write to a page of fresh memory faults it in, ≈ 16 µs a page on the benchmark
   * machine, 1.5 µs per 128-d row the WAL tail appends (docs/benchmarks.md "Event-loop cost per written row").
   * The rows' int8 codes (code-scan.ts) are written at fold too: their pages are touched the same way.
   */
  prefault(from: number, to: number): void {
    if (prefaulter === null || !this.shared || to <= from) return;
    prefaulter(this.memory, this.dataOff + from * this.dims * 4, this.dataOff + to * this.dims * 4);
    if (this.codes !== null) prefaulter(this.memory, this.codesOff + from * this.dims, this.codesOff + to * this.dims);
  }

  /** A new arena for `capacity` rows holding this one's first `rows` rows (and codes) (this one stays valid), or null. */
  grown(capacity: number, rows: number): VectorArena | null {
    const next = VectorArena.create(this.dims, capacity, { shared: this.shared, codes: this.codes !== null });
    next?.data.set(this.data.subarray(0, rows * this.dims));
    if (this.codes !== null) next?.codes!.set(this.codes.subarray(0, rows * this.dims));
    return next;
  }

  setQueryCodes(qc: Int8Array): void {
    this.qc.set(qc);
  }

  /**
   * Codes row r (code-scan.ts encodeRow): false when max|y| is NaN or outside [lo, hi] (nothing written); else its
   * int8 codes are written and out[0..2] hold its scale, Σ e² and Σ c². Needs an arena made with `codes`.
   */
  encode(r: number, lo: number, hi: number): boolean {
    return this.kEncode(this.dims, this.dataOff + r * this.dims * 4, this.codesOff + r * this.dims, lo, hi, this.outOff) === 1;
  }

  idots(count: number): void {
    this.kIdots(this.dims, this.qcOff, this.codesOff, this.selOff, count, this.outOff);
  }

  setQuery(q: ArrayLike<number>): void {
    const dst = this.q;
    for (let i = 0; i < dst.length; i++) dst[i] = q[i]!;
  }

  dots(count: number): void {
    this.kDots(this.dims, this.qOff, this.dataOff, this.selOff, count, this.outOff);
  }

  l2s(count: number): void {
    this.kL2s(this.dims, this.qOff, this.dataOff, this.selOff, count, this.outOff);
  }
}

/** Touches bytes [from, to) of a shared memory's pages on another thread (engine/engine.ts: a pool task). */
export type ArenaPrefaulter = (memory: WasmMemory, from: number, to: number) => void;
let prefaulter: ArenaPrefaulter | null = null;

/**
 * Sets the process's prefaulter for shared arenas (the last engine made with a pool sets its own). Rows are written
 * whether or not it has run: it only moves their page faults to its thread.
 */
export function setArenaPrefault(fn: ArenaPrefaulter): void {
  prefaulter = fn;
}

/** Clears the prefaulter if it is `fn` (an engine closing). */
export function unsetArenaPrefault(fn: ArenaPrefaulter): void {
  if (prefaulter === fn) prefaulter = null;
}

