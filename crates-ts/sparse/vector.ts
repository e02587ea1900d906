/**
 * Sparse vectors (turbopuffer `{}f16`; `{}f32` is an elax extension): on the wire and stored, a JSON object mapping
 * dimensions to weights, `{"17": 0.5, "1034": 1.25}`. A dimension is a u32 written as its canonical decimal string
 * ("0" … "4294967295", no sign, no leading zeros); a weight is a finite number (f16-rounded for `{}f16`, and then it
 * must fit f16). Stored normalised: a fresh object, keys ascending by number. An empty object is a vector with no
 * dimension (it matches no query).
 *
 * The similarity is the dot product Σ q_d · v_d over the dimensions both hold (SparseDistanceMetric `dot_product`).
 */
import { ElaxError, invalid, type SparseVector } from '../core/index.js';
import { f16round } from '../schema/f16.js';

/** Largest dimension: u32. */
export const MAX_SPARSE_DIM = 4294967295;
/** Dimensions one sparse vector (stored or query) may hold. */
export const MAX_SPARSE_NNZ = 65_536;

const CANONICAL_DIM = /^(0|[1-9]\d{0,9})$/;

/** The dimension a key names, or -1 when it is not a canonical u32. */
export function parseDim(key: string): number {
  if (!CANONICAL_DIM.test(key)) return -1;
  const d = Number(key);
  return d <= MAX_SPARSE_DIM ? d : -1;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** Dimensions and weights in ascending dimension order (parallel arrays). */
export interface SparseEntries {
  dims: Uint32Array;
  weights: Float64Array;
  /** The dimensions as object keys (decimal strings), made once for scoring stored vectors. */
  keys?: string[];
}

/**
 * Validates a request value of a sparse attribute and returns its stored form. `where` names the value (and the
 * document id) in error messages; errors are ELAX_ERR_INVALID_VECTOR (400).
 */
export function normalizeSparse(v: unknown, elem: 'f16' | 'f32', where: string): SparseVector {
  if (!isPlainObject(v)) {
    throw new ElaxError('ELAX_ERR_INVALID_VECTOR', `${where}: a sparse vector ({}${elem}) must be an object mapping dimensions to weights, got ${Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v}`);
  }
  const keys = Object.keys(v);
  if (keys.length > MAX_SPARSE_NNZ) {
    throw new ElaxError('ELAX_ERR_INVALID_VECTOR', `${where}: a sparse vector may hold at most ${MAX_SPARSE_NNZ} dimensions, got ${keys.length}`);
  }
  const pairs: [number, number][] = [];
  for (const k of keys) {
    const d = parseDim(k);
    if (d < 0) {
      throw new ElaxError('ELAX_ERR_INVALID_VECTOR', `${where}: sparse vector dimension ${JSON.stringify(k.slice(0, 40))} is not an integer in 0..${MAX_SPARSE_DIM} (written without sign or leading zeros)`);
    }
    const w = v[k];
    if (typeof w !== 'number' || !Number.isFinite(w)) {
      throw new ElaxError('ELAX_ERR_INVALID_VECTOR', `${where}: sparse vector weight of dimension ${k} must be a finite number, got ${JSON.stringify(w) ?? typeof w}`);
    }
    const r = elem === 'f16' ? f16round(w) : Math.fround(w);
    if (!Number.isFinite(r)) {
      throw new ElaxError('ELAX_ERR_INVALID_VECTOR', `${where}: sparse vector weight ${w} of dimension ${k} is beyond the range of ${elem}`);
    }
    pairs.push([d, r === 0 ? 0 : r]); // -0 stored as 0
  }
  pairs.sort((a, b) => a[0] - b[0]);
  const out: Record<string, number> = {};
  for (const [d, w] of pairs) out[String(d)] = w;
  return out;
}

/** Whether a stored value is a normalised sparse vector (commit-time re-check; no allocation on success). */
export function isStoredSparse(v: unknown): v is SparseVector {
  if (!isPlainObject(v)) return false;
  for (const k in v) {
    if (parseDim(k) < 0) return false;
    const w = v[k];
    if (typeof w !== 'number' || !Number.isFinite(w)) return false;
  }
  return true;
}

/** A stored sparse vector's entries, ascending by dimension. */
export function sparseEntries(v: SparseVector): SparseEntries {
  const keys = Object.keys(v);
  const dims = new Uint32Array(keys.length);
  for (let i = 0; i < keys.length; i++) dims[i] = Number(keys[i]);
  dims.sort();
  const weights = new Float64Array(dims.length);
  for (let i = 0; i < dims.length; i++) weights[i] = v[String(dims[i])]!;
  return { dims, weights };
}

/**
 * The query of a SparseKNN rank_by: an object of dimension → weight (as stored vectors, f32-rounded: elax computes in
 * f64 over f32-exact weights). Errors are ELAX_ERR_INVALID_QUERY.
 */
export function parseSparseQuery(raw: unknown, where: string): SparseEntries {
  try {
    return sparseEntries(normalizeSparse(raw, 'f32', where));
  } catch (e) {
    if (e instanceof ElaxError) throw invalid(e.message, 'ELAX_ERR_INVALID_QUERY');
    throw e;
  }
}

/**
 * Σ q_d · v_d over the dimensions both hold, summed in ascending dimension order (the order every scorer in elax uses,
 * so scores are bit-identical whatever the source), or null when they share no dimension.
 */
export function sparseDot(q: SparseEntries, v: SparseVector): number | null {
  let sum = 0;
  let any = false;
  const { dims, weights } = q;
  const keys = (q.keys ??= Array.from(dims, String));
  for (let i = 0; i < dims.length; i++) {
    const w = v[keys[i]!];
    if (w === undefined) continue;
    sum += weights[i]! * w;
    any = true;
  }
  return any ? sum : null;
}
