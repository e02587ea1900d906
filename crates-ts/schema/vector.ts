/**
 * Vector values: JSON arrays of finite numbers or base64 strings of little-endian f32 (or f16 for [N]f16
 * attributes). Everything is held as Float32Array; f16 attributes are rounded to f16 precision on the way in.
 */
import { ElaxError, type Schema } from '../core/index.js';
import { MAX_VECTOR_DIMS, tryParseType } from './attr-type.js';
import { f16FromBits, f16round, F16_MAX } from './f16.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bad(where: string, msg: string): ElaxError {
  return new ElaxError('ELAX_ERR_INVALID_VECTOR', `${where}: ${msg}`);
}

/** Dimensions and element type of the schema's `vector` attribute, if it has one. */
export function vectorSpec(schema: Schema): { dims: number; elem: 'f32' | 'f16' } | undefined {
  const t = schema.vector?.type;
  if (t === undefined) return undefined;
  const p = tryParseType(t);
  return p && p.kind === 'vector' ? { dims: p.dims, elem: p.elem } : undefined;
}

export function vectorDims(schema: Schema): number | undefined {
  return vectorSpec(schema)?.dims;
}

/**
 * Base64 → raw bytes, rejecting what Buffer would silently skip or stop at. Buffer's decoder drops characters outside
 * the alphabet and stops at a '=' before the end, so a string with any of them decodes to fewer bytes than its length
 * promises: checking the length is as strict as a character-class regex (which cost 10 % of a base64 write's CPU) for
 * the standard alphabet. Buffer also reads the URL-safe alphabet ('-', '_'); that is accepted, it is unambiguous.
 */
export function decodeBase64Bytes(s: string, where: string): Buffer {
  const len = s.length;
  const pad = len > 0 && s.charCodeAt(len - 1) === 61 /* = */ ? (len > 1 && s.charCodeAt(len - 2) === 61 ? 2 : 1) : 0;
  const chars = len - pad;
  // Padding only completes a 4-character group; one character alone in a group encodes no byte.
  if ((pad > 0 && len % 4 !== 0) || chars % 4 === 1) throw bad(where, 'vector string is not valid base64');
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length !== Math.floor((chars * 3) / 4)) throw bad(where, 'vector string is not valid base64');
  return bytes;
}

/** Little-endian f32 bytes → Float32Array (copied, so it owns an aligned buffer). */
export function f32FromBytes(bytes: Uint8Array, where: string): Float32Array {
  if (bytes.length % 4 !== 0) throw bad(where, `base64 vector has ${bytes.length} bytes, not a multiple of 4 (little-endian f32)`);
  const out = new Float32Array(bytes.length / 4);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  }
  return out;
}

function f16BytesToF32(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = f16FromBits(bytes[2 * i]! | (bytes[2 * i + 1]! << 8));
  return out;
}

/** Checks finiteness and dimensions; rounds to f16 when asked. Mutates and returns `v`. */
export function finishVector(v: Float32Array, dims: number | undefined, elem: 'f32' | 'f16', where: string): Float32Array {
  if (v.length === 0) throw bad(where, 'vector must have at least 1 dimension');
  if (v.length > MAX_VECTOR_DIMS) throw bad(where, `vector has ${v.length} dimensions; the maximum is ${MAX_VECTOR_DIMS}`);
  if (dims !== undefined && v.length !== dims) {
    throw bad(where, `vector has ${v.length} dimensions but the namespace's vectors have ${dims}`);
  }
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x)) throw bad(where, `vector element ${i} is ${x}; elements must be finite f32 values`);
    if (elem === 'f16') {
      const r = f16round(x);
      if (!Number.isFinite(r)) throw bad(where, `vector element ${i} (${x}) overflows f16 (max ${F16_MAX})`);
      v[i] = r;
    }
  }
  return v;
}

/**
 * Parse one vector: an array of finite numbers, or a base64 string of little-endian f32 (for an f16 attribute
 * also accepted: little-endian f16, told apart by byte length). `dims` undefined = not yet known.
 * Throws ELAX_ERR_INVALID_VECTOR naming `where`.
 */
export function decodeVector(raw: unknown, dims: number | undefined, where: string, elem: 'f32' | 'f16' = 'f32'): Float32Array {
  let v: Float32Array;
  if (raw instanceof Float32Array) {
    // A body parsed on a pool thread (json-body.ts packVectors): an array of finite numbers, already rounded to f32
    // as the loop below would. Its own range of a buffer the request's other vectors share (kept as long as any is).
    v = raw;
  } else if (Array.isArray(raw)) {
    v = new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const x = raw[i];
      if (typeof x !== 'number') throw bad(where, `vector element ${i} is ${x === null ? 'null' : typeof x}, expected a number`);
      if (!Number.isFinite(x)) throw bad(where, `vector element ${i} is ${x}; elements must be finite`);
      v[i] = x;
      // A finite double beyond f32 range becomes ±Infinity here; finishVector reports it.
    }
  } else if (typeof raw === 'string' || raw instanceof Uint8Array) {
    // A Uint8Array: a base64 string a pool thread decoded (schema/json-body.ts packVectors), its own range of a buffer
    // the request's other vectors share; JSON holds no other binary value.
    const bytes = typeof raw === 'string' ? decodeBase64Bytes(raw, where) : raw;
    if (elem === 'f16' && dims !== undefined && bytes.length === dims * 2) v = f16BytesToF32(bytes);
    else if (typeof raw !== 'string' && LITTLE_ENDIAN && bytes.byteOffset % 4 === 0 && bytes.length % 4 === 0) v = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    else v = f32FromBytes(bytes, where);
  } else {
    throw bad(where, `vector must be an array of numbers or a base64 string, got ${raw === null ? 'null' : typeof raw}`);
  }
  return finishVector(v, dims, elem, where);
}

/** Little-endian f32 bytes of `v`, base64-encoded (turbopuffer's vector_encoding=base64). */
export function encodeVectorBase64(v: Float32Array): string {
  if (LITTLE_ENDIAN) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  const b = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i]!, i * 4);
  return b.toString('base64');
}
