/**
 * The document blocks of a write body (upsert_rows / upsert_columns / patch_rows / patch_columns): shape checks,
 * and the `vector` column in its three forms (array of vectors, flat numbers, one base64 string).
 */
import { ElaxError, invalid } from '../core/index.js';
import { f16FromBits } from './f16.js';
import { validateAttrName } from './schema-update.js';
import { decodeBase64Bytes, decodeVector, f32FromBytes, finishVector } from './vector.js';

export type Rec = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Decoded size of a base64 string without decoding it (pass 1 only needs the length). */
export function base64ByteLength(s: string): number {
  let pad = 0;
  if (s.endsWith('==')) pad = 2;
  else if (s.endsWith('=')) pad = 1;
  return Math.floor(((s.length - pad) * 3) / 4);
}

export function dimsOf(raw: unknown): number | undefined {
  if (Array.isArray(raw) || raw instanceof Float32Array) return raw.length > 0 ? raw.length : undefined;
  // Base64 bytes a pool thread decoded (schema/json-body.ts packVectors): as the string would count below.
  if (raw instanceof Uint8Array) return raw.length > 0 && raw.length % 4 === 0 ? raw.length / 4 : undefined;
  if (typeof raw === 'string') {
    const n = base64ByteLength(raw);
    return n > 0 && n % 4 === 0 ? n / 4 : undefined;
  }
  return undefined;
}

/** One block of documents in the body: a rows array or a columns object, already shape-checked. */
export type ColumnsSource = Extract<Source, { form: 'columns' }>;

export type Source =
  | { op: 'upsert' | 'patch'; form: 'rows'; key: string; rows: Rec[] }
  | { op: 'upsert' | 'patch'; form: 'columns'; key: string; ids: unknown[]; cols: [string, unknown[]][]; vector: unknown };

export function readRows(key: string, v: unknown): Source {
  if (!Array.isArray(v)) throw invalid(`${key} must be an array of row objects`);
  for (let i = 0; i < v.length; i++) {
    if (!isPlainObject(v[i])) throw invalid(`${key}[${i}] must be an object with an 'id'`);
  }
  return { op: key.startsWith('upsert') ? 'upsert' : 'patch', form: 'rows', key, rows: v as Rec[] };
}

export function readColumns(key: string, v: unknown): Source {
  if (!isPlainObject(v)) throw invalid(`${key} must be an object mapping column names to arrays`);
  const ids = v.id;
  if (!Array.isArray(ids)) throw invalid(`${key}.id is required and must be an array of ids`);
  const cols: [string, unknown[]][] = [];
  for (const name of Object.keys(v)) {
    if (name === 'id' || name === 'vector') continue;
    validateAttrName(name, key);
    const col = v[name];
    if (!Array.isArray(col)) throw invalid(`${key}.${name} must be an array`);
    if (col.length !== ids.length) {
      throw invalid(`${key}.${name} has ${col.length} values but ${key}.id has ${ids.length}; all columns must have the same length`);
    }
    cols.push([name, col]);
  }
  const vector = v.vector ?? undefined;
  if (vector !== undefined) {
    if (Array.isArray(vector)) {
      const flat = vector.length > 0 && typeof vector[0] === 'number';
      if (!flat && vector.length !== ids.length) {
        throw invalid(`${key}.vector has ${vector.length} vectors but ${key}.id has ${ids.length}; all columns must have the same length`);
      }
    } else if (typeof vector !== 'string') {
      throw invalid(`${key}.vector must be an array of vectors, a flat array of numbers or one base64 string`);
    }
  }
  return { op: key.startsWith('upsert') ? 'upsert' : 'patch', form: 'columns', key, ids, cols, vector };
}

/**
 * A `vector` column → one entry per row (null = no vector). Accepts an array of vectors (arrays / base64 /
 * null), a flat array of n × dims numbers, or one base64 string of n concatenated little-endian vectors.
 */
export function columnVectors(src: ColumnsSource, spec: { dims: number; elem: 'f32' | 'f16' }): (Float32Array | null)[] {
  const n = src.ids.length;
  const raw = src.vector;
  const where = `${src.key}.vector`;
  const out: (Float32Array | null)[] = new Array(n);
  if (Array.isArray(raw) && !(raw.length > 0 && typeof raw[0] === 'number')) {
    for (let i = 0; i < n; i++) {
      const v = raw[i];
      out[i] = v === null || v === undefined ? null : decodeVector(v, spec.dims, `${where}[${i}]`, spec.elem);
    }
    return out;
  }
  let all: Float32Array;
  if (Array.isArray(raw)) {
    if (raw.length !== n * spec.dims) {
      throw new ElaxError('ELAX_ERR_INVALID_VECTOR', `${where}: flat vector column has ${raw.length} numbers; expected ${n} ids × ${spec.dims} dimensions`);
    }
    all = decodeVector(raw, undefined, where, 'f32');
  } else {
    const bytes = decodeBase64Bytes(raw as string, where);
    if (spec.elem === 'f16' && bytes.length === n * spec.dims * 2) {
      // Concatenated little-endian f16 (only for [N]f16 attributes; told apart from f32 by the byte count).
      const f = new Float32Array(n * spec.dims);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < f.length; i++) f[i] = f16FromBits(dv.getUint16(i * 2, true));
      all = f;
    } else {
      if (bytes.length !== n * spec.dims * 4) {
        throw new ElaxError(
          'ELAX_ERR_INVALID_VECTOR',
          `${where}: base64 vector column has ${bytes.length} bytes; expected ${n} ids × ${spec.dims} dimensions × 4 bytes (little-endian f32)`,
        );
      }
      all = f32FromBytes(bytes, where);
    }
  }
  for (let i = 0; i < n; i++) {
    out[i] = finishVector(all.slice(i * spec.dims, (i + 1) * spec.dims), spec.dims, spec.elem, `${where}[${i}]`);
  }
  return out;
}

export function columnDims(src: ColumnsSource): number | undefined {
  const raw = src.vector;
  const n = src.ids.length;
  if (n === 0) return undefined;
  if (typeof raw === 'string') {
    const b = base64ByteLength(raw);
    return b > 0 && b % (4 * n) === 0 ? b / (4 * n) : undefined;
  }
  if (!Array.isArray(raw)) return undefined;
  if (raw.length > 0 && typeof raw[0] === 'number') return raw.length % n === 0 ? raw.length / n : undefined;
  for (const v of raw) {
    const d = dimsOf(v);
    if (d !== undefined) return d;
  }
  return undefined;
}

export function hasAnyVector(src: Source): boolean {
  if (src.form === 'rows') return src.rows.some((r) => r.vector !== undefined && r.vector !== null);
  const raw = src.vector;
  if (raw === undefined) return false;
  if (typeof raw === 'string') return src.ids.length > 0;
  return Array.isArray(raw) && raw.some((v) => v !== null && v !== undefined);
}

/** Vectors are present but no dimensions could be inferred: report the first bad one precisely. */
export function undecidableVectors(src: ColumnsSource): ElaxError {
  const where = `${src.key}.vector`;
  const raw = src.vector;
  if (Array.isArray(raw)) {
    if (raw.length > 0 && typeof raw[0] === 'number') {
      return new ElaxError('ELAX_ERR_INVALID_VECTOR', `${where}: flat vector column has ${raw.length} numbers, not divisible into ${src.ids.length} vectors`);
    }
    for (let i = 0; i < raw.length; i++) if (raw[i] !== null && raw[i] !== undefined) decodeVector(raw[i], undefined, `${where}[${i}]`);
  } else if (typeof raw === 'string') {
    const bytes = decodeBase64Bytes(raw, where);
    return new ElaxError(
      'ELAX_ERR_INVALID_VECTOR',
      `${where}: base64 vector column has ${bytes.length} bytes, not divisible into ${src.ids.length} little-endian f32 vectors`,
    );
  }
  return new ElaxError('ELAX_ERR_INVALID_VECTOR', `${where}: cannot determine the vector dimensions`);
}
