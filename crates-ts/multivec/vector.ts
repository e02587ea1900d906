/**
 * Multi-vector values (turbopuffer `[][N]f32`, late interaction): on the wire and stored, a JSON array of vectors, each
 * an array of N finite numbers, `[[0.1, 0.2], [0.3, 0.4]]`. Stored as a fresh array of arrays of f32-rounded numbers.
 * A row holds 1 to MAX_MULTI_VECTORS vectors (an empty array is refused: a row without vectors is null). Errors are
 * ELAX_ERR_INVALID_VECTOR (400) naming the row, the document id and the attribute (`where`).
 */
import { ElaxError } from '../core/index.js';

/** Vectors one row (or one query) may hold: ColBERT passages hold ~100–512 tokens, ColPali pages ~1,030 patches. */
export const MAX_MULTI_VECTORS = 4096;
/** Floats one row may hold (all its vectors together): 16 MiB of f32. */
export const MAX_MULTI_FLOATS = 4 * 1024 * 1024;

export type MultiVector = number[][];

const MULTI_TYPE = /^\[\]\[(\d{1,6})\]f32$/;

/** N of a `[][N]f32` type string, or null when the type is not a multi-vector type. */
export function multiVectorDims(type: string | undefined): number | null {
  if (typeof type !== 'string') return null;
  const m = MULTI_TYPE.exec(type);
  return m && String(Number(m[1])) === m[1] ? Number(m[1]) : null;
}

function bad(where: string, msg: string): ElaxError {
  return new ElaxError('ELAX_ERR_INVALID_VECTOR', `${where}: ${msg}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `a string`;
  return typeof v;
}

/** Validates a request value of a `[][dims]f32` attribute and returns its stored form (fresh, f32-rounded). */
export function normalizeMulti(v: unknown, dims: number, where: string): MultiVector {
  if (!Array.isArray(v)) throw bad(where, `a multi-vector ([][${dims}]f32) must be an array of ${dims}-dimensional vectors, got ${describe(v)}`);
  if (v.length === 0) throw bad(where, `a multi-vector ([][${dims}]f32) must hold at least one vector (use null for none)`);
  if (v.length > MAX_MULTI_VECTORS) throw bad(where, `a multi-vector may hold at most ${MAX_MULTI_VECTORS} vectors, got ${v.length}`);
  if (v.length * dims > MAX_MULTI_FLOATS) {
    throw bad(where, `a multi-vector may hold at most ${MAX_MULTI_FLOATS} numbers in all, got ${v.length} vectors of ${dims}`);
  }
  const out: MultiVector = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!Array.isArray(x)) throw bad(where, `vector ${i} must be an array of ${dims} numbers, got ${describe(x)}`);
    if (x.length !== dims) throw bad(where, `vector ${i} has ${x.length} dimensions; the type [][${dims}]f32 needs ${dims}`);
    const row = new Array<number>(dims);
    for (let j = 0; j < dims; j++) {
      const e = x[j];
      if (typeof e !== 'number' || !Number.isFinite(e)) throw bad(where, `vector ${i} element ${j} must be a finite number, got ${JSON.stringify(e) ?? typeof e}`);
      const f = Math.fround(e);
      if (!Number.isFinite(f)) throw bad(where, `vector ${i} element ${j} (${e}) is outside the float32 range`);
      row[j] = f;
    }
    out[i] = row;
  }
  return out;
}

/** True if an already-normalised stored value fits `[][dims]f32` (checked on every commit; no allocation). */
export function isStoredMulti(v: unknown, dims: number): v is MultiVector {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_MULTI_VECTORS) return false;
  for (const x of v) {
    if (!Array.isArray(x) || x.length !== dims) return false;
    for (const e of x) if (typeof e !== 'number' || !Number.isFinite(e)) return false;
  }
  return true;
}

/** True if `v` is an array of equally long arrays of f32-exact numbers (column kind `multivec`). */
export function fitsMultiColumn(v: unknown): v is MultiVector {
  if (!Array.isArray(v) || v.length === 0) return false;
  const first = v[0];
  if (!Array.isArray(first) || first.length === 0) return false;
  const d = first.length;
  for (const x of v) {
    if (!Array.isArray(x) || x.length !== d) return false;
    for (const e of x) if (typeof e !== 'number' || Math.fround(e) !== e || !Number.isFinite(e)) return false;
  }
  return true;
}
