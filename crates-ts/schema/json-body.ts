/**
 * A request body's bytes → its JSON value, the same on the event loop and on a pool thread (pool/tasks.ts
 * 'json-parse'), with the same errors.
 *
 * On a pool thread the value then crosses back to the event loop by structured clone. Cloning numbers one by one
 * costs about what parsing them did, so the write bodies' vectors cross packed instead (packVectors): every
 * `vector` of `upsert_rows` / `patch_rows`, and every vector of an `upsert_columns` / `patch_columns` vector column,
 * that is an array of finite numbers becomes a Float32Array view of one buffer. The write path (schema/vector.ts
 * decodeVector) takes such a view as the array it came from: it rounds each number to f32 exactly as decodeVector
 * would have, and anything else (a string, null, a non-number, a non-finite number, an empty array) is left as
 * parsed, so its error message is unchanged.
 */
import { constants as bufferConstants } from 'node:buffer';
import { ElaxError } from '../core/index.js';

/** The longest string V8 makes, hence the longest JSON text JSON.parse can take (in UTF-16 code units). */
export const MAX_JSON_TEXT_LENGTH = bufferConstants.MAX_STRING_LENGTH;

/** bytes[0, length) as a UTF-8 string. Throws ElaxError when no string can be that long. */
export function decodeJsonText(bytes: Uint8Array, length: number): string {
  try {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8', 0, length);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new ElaxError('ELAX_ERR_PAYLOAD_TOO_LARGE', `request body of ${length} bytes is longer than the longest JSON text this server can parse (${MAX_JSON_TEXT_LENGTH} characters)`);
  }
}

/** A body's JSON text as a value ({} for an empty body). Throws ElaxError naming the syntax error. */
export function parseJsonText(text: string): unknown {
  if (text.length === 0) return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ElaxError('ELAX_ERR_INVALID_REQUEST', `malformed JSON body: ${(e as Error).message}`);
  }
}

/** Parses bytes[0, length) as UTF-8 JSON: decodeJsonText, then parseJsonText. */
export function parseJsonBytes(bytes: Uint8Array, length: number): unknown {
  return parseJsonText(decodeJsonText(bytes, length));
}

/** parseJsonBytes, then packVectors: what the pool thread returns. */
export function parseJsonBytesPacked(bytes: Uint8Array, length: number): unknown {
  const value = parseJsonBytes(bytes, length);
  packVectors(value);
  return value;
}

/**
 * The buffer packVectors put `body`'s vectors in (undefined: none packed). A pool thread moves it back with the value
 * instead of cloning it (pool/worker.ts): a clone of half a megabyte per 1,000 128-d rows is a fresh buffer the event
 * loop fills, page by page (docs/benchmarks.md "Event-loop cost per written row": first touches of fresh memory cost
 * ≈ 4 µs per KiB on the benchmark machine).
 */
export function packedBufferOf(body: unknown): ArrayBuffer | undefined {
  return typeof body === 'object' && body !== null ? packed.get(body) : undefined;
}

const packed = new WeakMap<object, ArrayBuffer>();

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A non-empty array of finite numbers (what decodeVector accepts without an error), else null. */
function packable(v: unknown): number[] | null {
  if (!Array.isArray(v) || v.length === 0) return null;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) return null;
  }
  return v as number[];
}

/**
 * Replaces, in place, the write body's vectors that are arrays of finite numbers by Float32Array views of one
 * buffer (rounded to f32 as decodeVector does). Returns how many were packed. Anything that is not a write body
 * is left alone.
 */
export function packVectors(body: unknown): number {
  if (!isObject(body)) return 0;
  // Where each packable vector sits: set(view) puts the view back in its place.
  const found: { v: number[]; set: (view: Float32Array) => void }[] = [];
  let total = 0;
  const take = (v: unknown, set: (view: Float32Array) => void) => {
    const arr = packable(v);
    if (arr === null) return;
    found.push({ v: arr, set });
    total += arr.length;
  };
  for (const key of ['upsert_rows', 'patch_rows']) {
    const rows = body[key];
    if (!Array.isArray(rows)) continue;
    for (const row of rows) {
      if (isObject(row) && 'vector' in row) take(row.vector, (view) => (row.vector = view));
    }
  }
  for (const key of ['upsert_columns', 'patch_columns']) {
    const cols = body[key];
    if (!isObject(cols) || !Array.isArray(cols.vector)) continue;
    const vectors = cols.vector as unknown[];
    // A flat column (numbers, not vectors) is left as it is: it is one vector per row only once dims are known.
    if (vectors.length > 0 && typeof vectors[0] === 'number') continue;
    for (let i = 0; i < vectors.length; i++) take(vectors[i], (view) => (vectors[i] = view));
  }
  if (found.length === 0) return 0;
  const all = new Float32Array(total);
  packed.set(body, all.buffer);
  let at = 0;
  for (const { v, set } of found) {
    const view = all.subarray(at, at + v.length);
    for (let i = 0; i < v.length; i++) view[i] = v[i]!;
    set(view);
    at += v.length;
  }
  return found.length;
}
