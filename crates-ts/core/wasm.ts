/**
 * The WebAssembly JS API as the engine's SIMD kernels use it (the project's lib settings declare no WebAssembly
 * types), and compiling a kernel module from its embedded bytes. `ELAX_SCAN_KERNEL=js` turns every kernel off (the
 * callers then use their JS loops), which is how tests and operators compare the two.
 */
export interface WasmMemory {
  /** A SharedArrayBuffer for a shared memory (instantiateWasm's `shared`). */
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
export type WasmModule = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Memory: new (desc: { initial: number; maximum: number; shared?: boolean }) => WasmMemory;
  Instance: new (mod: WasmModule, imports: { env: { memory: WasmMemory } }) => WasmInstance;
}
export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** WebAssembly's page size. */
export const WASM_PAGE = 65536;

/** `n` rounded up to a multiple of 16: where a kernel's next array starts in its memory (v128 loads). */
export const align16 = (n: number) => (n + 15) & ~15;

/**
 * Copies rows[from, from + count) of the row-major matrix `data` (`dims` floats a row) into `out`, one after another:
 * a batch of scattered rows into a kernel's memory.
 */
export function gatherRows(data: Float32Array, dims: number, rows: ArrayLike<number>, from: number, count: number, out: Float32Array): void {
  if (dims >= GATHER_SET_DIMS) {
    // A subarray per row costs an allocation, but set() copies the row as memory: ≈ 3.5× the loop at 128-d.
    for (let j = 0; j < count; j++) {
      const off = rows[from + j]! * dims;
      out.set(data.subarray(off, off + dims), j * dims);
    }
    return;
  }
  for (let j = 0; j < count; j++) {
    const off = rows[from + j]! * dims;
    const t = j * dims;
    for (let d = 0; d < dims; d++) out[t + d] = data[off + d]!;
  }
}

/** Row width from which gatherRows copies each row with set() (measured: 65 vs 227 ns a 128-d row, 53 vs 129 at 64-d, 43 vs 59 at 32-d, 38 vs 26 at 16-d). */
const GATHER_SET_DIMS = 32;

/** The module of these base64 bytes, or null: no WebAssembly (SIMD), invalid bytes, or ELAX_SCAN_KERNEL=js. */
export function compileWasm(base64: string): WasmModule | null {
  if (process.env.ELAX_SCAN_KERNEL === 'js') return null;
  try {
    const bytes = Buffer.from(base64, 'base64');
    return Wasm.validate(bytes) ? new Wasm.Module(bytes) : null;
  } catch {
    return null;
  }
}

/**
 * An instance of `mod` over a fresh memory of `bytes` (rounded up to pages), or null when it cannot be had. `shared`:
 * the memory is shared (its buffer a SharedArrayBuffer other threads can be given; `mod` must import it shared).
 */
export function instantiateWasm(mod: WasmModule, bytes: number, shared = false): { memory: WasmMemory; instance: WasmInstance } | null {
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE));
  try {
    const memory = new Wasm.Memory({ initial: pages, maximum: pages, ...(shared ? { shared: true } : {}) });
    return { memory, instance: new Wasm.Instance(mod, { env: { memory } }) };
  } catch {
    return null; // address space or memory exhausted
  }
}

/** An instance of `mod` over an existing memory (a shared arena given by another thread), or null when it fails. */
export function instantiateOn(mod: WasmModule, memory: WasmMemory): WasmInstance | null {
  try {
    return new Wasm.Instance(mod, { env: { memory } });
  } catch {
    return null;
  }
}
