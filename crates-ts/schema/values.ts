/**
 * Attribute values: inference of a type from a first value, normalisation of request values to their stored
 * form (datetime → ISO string, uuid → lowercase), and the cheap re-check of stored values at commit time.
 */
import { ElaxError, invalid, type AttrValue, type Scalar } from '../core/index.js';
import type { ParsedType, ScalarKind } from './attr-type.js';
import { DATETIME_CANONICAL, normalizeDatetime, normalizeUuid, UUID_CANONICAL } from './scalars.js';
import { isStoredSparse, normalizeSparse } from '../sparse/vector.js';
import { decodeVector } from './vector.js';
import { f32ToJsonNumber } from '../query/vector-codec.js';

/**
 * A vector attribute other than `vector` (RFC-0014): decoded like `vector` (numbers or base64, dimensions, finite,
 * f16-rounded for [N]f16) and stored as an array of numbers, each the shortest decimal that reads back as the same f32
 * (so it serialises as 0.1, not 0.10000000149011612, and Float32Array.from gives the stored vector back exactly).
 */
function normalizeVectorAttr(dims: number, elem: 'f32' | 'f16', v: unknown, where: Where, attr: string): number[] {
  const f = decodeVector(v, dims, `${where}: attribute '${attr}'`, elem);
  const out = new Array<number>(f.length);
  for (let i = 0; i < f.length; i++) out[i] = f32ToJsonNumber(f[i]!);
  return out;
}
import { isStoredMulti, normalizeMulti } from '../multivec/vector.js';

/**
 * Where a value sits in the request, for error messages. Either a string or an object whose toString builds the
 * path: the hot path reuses one mutable locator instead of formatting a path string per value.
 */
export type Where = string | { toString(): string };

function at(where: Where, elem: number): string {
  return elem < 0 ? `${where}` : `${where}[${elem}]`;
}

/** A short, bounded description of a value for error messages ("float 1.5", "string \"abc\""). */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number') return `${Number.isSafeInteger(v) ? 'int' : 'float'} ${v}`;
  if (typeof v === 'boolean') return `bool ${v}`;
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function conflict(where: Where, elem: number, attr: string, expected: string, v: unknown): ElaxError {
  return new ElaxError(
    'ELAX_ERR_SCHEMA_CONFLICT',
    `${at(where, elem)}: attribute '${attr}' has type ${expected}, got ${describeValue(v)}`,
  );
}

function scalarKindOf(v: unknown): 'string' | 'int' | 'float' | 'bool' | null {
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      // Integers beyond 2^53 are not exact in JSON/JS; treating them as floats is the honest reading.
      return Number.isSafeInteger(v) ? 'int' : 'float';
    case 'boolean':
      return 'bool';
    default:
      return null;
  }
}

/**
 * The type a never-seen attribute gets from a value: strings → string (never uuid/datetime: those need an
 * explicit schema, as in turbopuffer), safe integers → int, other numbers → float, booleans → bool, arrays →
 * []T (any float element makes []float). null and [] infer nothing (undefined).
 */
export function inferValueType(v: unknown, where: Where, attr: string): string | undefined {
  if (v === null || v === undefined) return undefined;
  const k = scalarKindOf(v);
  if (k) return k;
  if (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    let elem: 'string' | 'int' | 'float' | 'bool' | null = null;
    for (let i = 0; i < v.length; i++) {
      const ek = scalarKindOf(v[i]);
      if (ek === null && Array.isArray(v[i])) {
        throw invalid(`${where}: attribute '${attr}' is an array of arrays; a multi-vector needs its type ([][N]f32) in the schema of the write that first sets it`);
      }
      if (ek === null) {
        throw invalid(`${where}: attribute '${attr}' element ${i} is ${describeValue(v[i])}; array elements must be strings, numbers or booleans`);
      }
      if (elem === null || (elem === 'int' && ek === 'float')) elem = ek;
      else if (ek !== elem && !(elem === 'float' && ek === 'int')) {
        throw new ElaxError('ELAX_ERR_SCHEMA_CONFLICT', `${where}: attribute '${attr}' mixes ${elem} and ${ek} elements in one array`);
      }
    }
    return `[]${elem}`;
  }
  if (typeof v === 'object') {
    throw invalid(`${where}: attribute '${attr}' is an object; a sparse vector needs its type ({}f16 or {}f32) in the schema of the write that first sets it, other values must be strings, numbers, booleans, arrays of those, or null`);
  }
  throw invalid(`${where}: attribute '${attr}' is ${describeValue(v)}; values must be strings, numbers, booleans, arrays of those, or null`);
}

/** Widening allowed while inferring within one request: a later float turns an inferred int into float. */
export function widenInferred(current: string, next: string): string {
  if (current === 'int' && next === 'float') return 'float';
  if (current === '[]int' && next === '[]float') return '[]float';
  return current;
}

function normalizeScalar(kind: ScalarKind, v: unknown, where: Where, elem: number, attr: string, typeName: string): Scalar {
  switch (kind) {
    case 'string':
      if (typeof v === 'string') return v;
      break;
    case 'bool':
      if (typeof v === 'boolean') return v;
      break;
    case 'float':
      if (typeof v === 'number' && Number.isFinite(v)) return v; // ints widen to float
      break;
    case 'int':
    case 'uint':
      if (typeof v === 'number') {
        if (!Number.isInteger(v)) break;
        if (kind === 'uint' && v < 0) {
          throw new ElaxError('ELAX_ERR_SCHEMA_CONFLICT', `${at(where, elem)}: attribute '${attr}' has type ${typeName}, which cannot hold negative ${v}`);
        }
        if (!Number.isSafeInteger(v)) {
          throw invalid(`${at(where, elem)}: attribute '${attr}' value ${v} is beyond ±(2^53-1); elax stores integers as exact JS numbers`);
        }
        return v;
      }
      break;
    case 'uuid':
      if (typeof v === 'string') {
        const u = normalizeUuid(v);
        if (u === null) throw invalid(`${at(where, elem)}: attribute '${attr}' value ${describeValue(v)} is not a valid UUID`);
        return u;
      }
      break;
    case 'datetime':
      if (typeof v === 'string' || typeof v === 'number') {
        const d = normalizeDatetime(v);
        if (d === null) {
          throw invalid(
            `${at(where, elem)}: attribute '${attr}' value ${describeValue(v)} is not a valid datetime (ISO 8601 date with optional time and zone, years 0000-9999, or integer epoch milliseconds)`,
          );
        }
        return d;
      }
      break;
  }
  throw conflict(where, elem, attr, typeName, v);
}

/** Normalise a non-null request value to its stored form for a scalar or array type; throws on mismatch. */
export function normalizeValue(t: ParsedType, typeName: string, v: unknown, where: Where, attr: string): AttrValue {
  if (t.kind === 'sparse') return normalizeSparse(v, t.elem, `${where}: attribute '${attr}'`);
  if (t.kind === 'vector') return normalizeVectorAttr(t.dims, t.elem, v, where, attr);
  if (t.kind === 'multivec') return normalizeMulti(v, t.dims, `${where}: attribute '${attr}'`);
  if (t.kind !== 'scalar') throw conflict(where, -1, attr, typeName, v);
  if (!t.array) {
    if (Array.isArray(v)) throw conflict(where, -1, attr, typeName, v);
    return normalizeScalar(t.scalar, v, where, -1, attr, typeName);
  }
  if (!Array.isArray(v)) throw conflict(where, -1, attr, typeName, v);
  const out: Scalar[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const e = v[i];
    if (e === null || e === undefined) throw invalid(`${where}: attribute '${attr}' element ${i} is null; arrays cannot contain null`);
    if (Array.isArray(e)) throw conflict(where, i, attr, typeName, e);
    out[i] = normalizeScalar(t.scalar, e, where, i, attr, typeName);
  }
  return out;
}

function checkScalar(kind: ScalarKind, v: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'bool':
      return typeof v === 'boolean';
    case 'float':
      return typeof v === 'number' && Number.isFinite(v);
    case 'int':
      return Number.isSafeInteger(v);
    case 'uint':
      return Number.isSafeInteger(v) && (v as number) >= 0;
    case 'uuid':
      return typeof v === 'string' && UUID_CANONICAL.test(v);
    case 'datetime':
      return typeof v === 'string' && DATETIME_CANONICAL.test(v);
  }
}

/** True if an already-normalised stored value fits the type (no allocation: used on every commit). */
export function checkStoredValue(t: ParsedType, v: AttrValue): boolean {
  if (t.kind === 'sparse') return isStoredSparse(v);
  if (t.kind === 'vector') {
    if (!Array.isArray(v) || v.length !== t.dims) return false;
    for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'number' || !Number.isFinite(Math.fround(v[i] as number))) return false;
    return true;
  }
  if (t.kind === 'multivec') return isStoredMulti(v, t.dims);
  if (t.kind !== 'scalar') return false;
  if (!t.array) return !Array.isArray(v) && checkScalar(t.scalar, v);
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (!checkScalar(t.scalar, v[i])) return false;
  return true;
}
