/**
 * A request body's bytes → its JSON value, the same on the event loop and on a pool thread (pool/tasks.ts
 * 'json-parse'), with the same errors.
 *
 * On a pool thread the value then crosses back to the event loop by structured clone. Cloning numbers one by one
 * costs about what parsing them did, so the write bodies' vectors cross packed instead (packVectors): every
 * `vector` of `upsert_rows` / `patch_rows`, and every vector of an `upsert_columns` / `patch_columns` vector column,
 * that is an array of finite numbers becomes a Float32Array view of one buffer. The write path (schema/vector.ts
 * decodeVector) takes such a view as the array it came from: it rounds each number to f32 exactly as decodeVector
 * would have. A base64 string that decodes cleanly (schema/vector.ts decodeBase64Bytes' rules) becomes a Uint8Array
 * view of its bytes in the same buffer, 4-byte aligned: what decoding it would give, left for decodeVector to read as
 * f32 or f16 (the namespace's schema decides, which this thread does not know). Decoding base64 and allocating one
 * buffer per vector on the event loop cost ≈ 5 µs per 128-d row (docs/benchmarks.md, issue 17 fifteenth session).
 * Anything else (an invalid string, null, a non-number, a non-finite number, an empty array) is left as parsed, so
 * its error message is unchanged.
 */
import { constants as bufferConstants } from 'node:buffer';
import { ElaxError } from '../core/index.js';
import { extractRowVectors } from './json-floats.js';
import { NOT_PIECEWISE, PIECE_BYTES, parseJsonPieces } from './json-pieces.js';

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

/** Texts of more bytes than this are first parsed in pieces (json-pieces.ts): no string of the whole text. */
export const PIECEWISE_MIN_BYTES = 64 * 1024;

/** Where parseJsonBytes parses in pieces: texts over `minBytes`, in pieces of at most `pieceBytes` (tests lower both). */
export interface PiecewiseOptions {
  minBytes: number;
  pieceBytes: number;
}
const PIECEWISE: PiecewiseOptions = { minBytes: PIECEWISE_MIN_BYTES, pieceBytes: PIECE_BYTES };

/**
 * Parses bytes[0, length) as UTF-8 JSON: the value of decodeJsonText then parseJsonText, and their errors. A large
 * text is parsed in pieces when it can be (json-pieces.ts: a string over ≈ 128 KiB is fresh memory, page-faulted in
 * each time); a text it does not take (malformed, a scalar) is parsed whole, for the canonical error.
 */
export function parseJsonBytes(bytes: Uint8Array, length: number, piecewise: PiecewiseOptions = PIECEWISE): unknown {
  // Beyond MAX_JSON_TEXT_LENGTH bytes the whole text might not decode (the too-long error): keep that path's answer.
  if (length > piecewise.minBytes && length <= MAX_JSON_TEXT_LENGTH) {
    const value = parseJsonPieces(bytes, length, piecewise.pieceBytes);
    if (value !== NOT_PIECEWISE) return value;
  }
  return parseJsonText(decodeJsonText(bytes, length));
}

/**
 * parseJsonBytes, then packVectors (into `into` when it is given and large enough): what the pool thread returns. A
 * write body of JSON float vectors over `floatsMinBytes` gets the same value without JSON.parse of its numbers
 * (json-floats.ts: ≈ 5× faster).
 */
export function parseJsonBytesPacked(bytes: Uint8Array, length: number, piecewise: PiecewiseOptions = PIECEWISE, into?: SharedArrayBuffer, floatsMinBytes = FLOATS_MIN_BYTES): unknown {
  if (length >= floatsMinBytes && length <= MAX_JSON_TEXT_LENGTH) {
    const value = parseRowVectors(bytes, length, piecewise, into);
    if (value !== NOT_PIECEWISE) return value;
  }
  const value = parseJsonBytes(bytes, length, piecewise);
  packVectors(value, into);
  return value;
}

/**
 * parseJsonBytes, except that a write body's JSON float vectors over `FLOATS_MIN_BYTES` come as Float32Array views
 * (json-floats.ts, what packVectors makes: the write path takes them as the arrays they came from). For bodies
 * parsed on the event loop.
 */
export function parseJsonBytesFloats(bytes: Uint8Array, length: number): unknown {
  if (length >= FLOATS_MIN_BYTES && length <= MAX_JSON_TEXT_LENGTH) {
    const value = parseRowVectors(bytes, length, PIECEWISE);
    if (value !== NOT_PIECEWISE) return value;
  }
  return parseJsonBytes(bytes, length);
}

/** Bodies from this size are first read by extractRowVectors (json-floats.ts); smaller ones gain little. */
export const FLOATS_MIN_BYTES = 16 * 1024;

/**
 * A write body's value with its rows' JSON float vectors read by json-floats.ts, as Float32Array views of one buffer
 * (packVectors' value); NOT_PIECEWISE when that reading does not take the body or the rest of the text is malformed
 * (the caller parses it whole, for the canonical value or error).
 */
function parseRowVectors(bytes: Uint8Array, length: number, piecewise: PiecewiseOptions, into?: SharedArrayBuffer): unknown {
  const found = extractRowVectors(bytes, length, into);
  if (found === null) return NOT_PIECEWISE;
  let value: unknown;
  try {
    value = parseJsonBytes(found.rest, found.rest.length, piecewise);
  } catch {
    return NOT_PIECEWISE;
  }
  if (!isObject(value)) return NOT_PIECEWISE;
  // Each extracted vector's place holds the `null` put there (json-floats.ts read the structure as JSON.parse does).
  const rowsOf = (key: string, row: number): Record<string, unknown> | null => {
    const rows = value[key];
    const r = Array.isArray(rows) ? (rows[row] as unknown) : undefined;
    return isObject(r) && r.vector === null ? r : null;
  };
  for (const p of found.placed) if (rowsOf(p.key, p.row) === null) return NOT_PIECEWISE;
  for (const p of found.placed) rowsOf(p.key, p.row)!.vector = new Float32Array(found.buffer, p.at, p.length);
  if (found.buffer instanceof ArrayBuffer) packed.set(value, found.buffer);
  return value;
}

/**
 * The bytes of shared buffer to lend a body's parse for its packed vectors (core/reused-buffers.ts settleLent), from
 * its first `"vector"` key (within its first 64 KiB): base64 vectors take 3/4 of their characters, so a body of base64
 * vectors always fits in 3/4 of its length; JSON numbers take 4 bytes for a number written in ≈ 10 characters (9-13
 * for an f32 printed in full), so such a body is lent 0.45 of its length. A body whose vectors do not fit (numbers of
 * one or two digits) gets a new buffer, as without one. A lent buffer is held until the GC collects the parsed body,
 * so it is not made larger than the vectors need.
 */
export function lendBytesFor(bytes: Uint8Array, length: number): number {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(length, 64 * 1024));
  let at = head.indexOf('"vector"');
  let base64 = false;
  if (at >= 0) {
    at += 8;
    // `"vector": "…"` (rows) or `"vector": ["…", …]` (columns): the first character that is not space, ':' or '['.
    while (at < head.length && (head[at] === 0x20 || head[at] === 0x0a || head[at] === 0x0d || head[at] === 0x09 || head[at] === 0x3a || head[at] === 0x5b)) at++;
    base64 = head[at] === 0x22;
  }
  return Math.ceil(length * (base64 ? 0.75 : 0.45));
}

/**
 * The buffer packVectors put `body`'s vectors in, found from its first packed view (null: none packed): on the event
 * loop, the copy of a lent shared buffer that the pool thread's answer arrived with (core/reused-buffers.ts
 * settleLent). Every packed view is of that one buffer.
 */
export function packedBufferIn(body: unknown): ArrayBufferLike | null {
  if (!isObject(body)) return null;
  const viewBuffer = (v: unknown) => (v instanceof Float32Array || v instanceof Uint8Array ? v.buffer : null);
  for (const key of ['upsert_rows', 'patch_rows']) {
    const rows = body[key];
    if (!Array.isArray(rows)) continue;
    for (const row of rows) {
      const b = isObject(row) ? viewBuffer(row.vector) : null;
      if (b !== null) return b;
    }
  }
  for (const key of ['upsert_columns', 'patch_columns']) {
    const cols = body[key];
    if (!isObject(cols) || !Array.isArray(cols.vector)) continue;
    for (const v of cols.vector as unknown[]) {
      const b = viewBuffer(v);
      if (b !== null) return b;
    }
  }
  return null;
}

/**
 * The buffer packVectors put `body`'s vectors in when it made one (undefined: none packed, or packed into a lent shared
 * buffer, which is not moved). A pool thread moves it back with the value
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

/** Bytes a base64 string decodes to when decodeBase64Bytes accepts its shape (length and padding), else -1. */
function base64Bytes(s: string): number {
  const len = s.length;
  const pad = len > 0 && s.charCodeAt(len - 1) === 61 /* = */ ? (len > 1 && s.charCodeAt(len - 2) === 61 ? 2 : 1) : 0;
  const chars = len - pad;
  if ((pad > 0 && len % 4 !== 0) || chars % 4 === 1) return -1;
  return Math.floor((chars * 3) / 4);
}

/** One vector found in the body: numbers to copy, or a base64 string to decode, and where its view goes. */
type Found = { nums: number[]; text: null; at: number; set: (view: Float32Array | Uint8Array) => void } | { nums: null; text: string; bytes: number; at: number; set: (view: Float32Array | Uint8Array) => void };

/**
 * Replaces, in place, the write body's vectors that are arrays of finite numbers by Float32Array views of one
 * buffer (rounded to f32 as decodeVector does), and its base64 vectors that decode cleanly by Uint8Array views of
 * their bytes in the same buffer. Returns how many were packed. Anything that is not a write body is left alone.
 * The buffer is `into` when it is given and large enough (a shared buffer the event loop lent, reused from one body
 * to the next: fresh memory costs a page fault per 4 KiB, core/reused-buffers.ts), else a new one.
 */
export function packVectors(body: unknown, into?: SharedArrayBuffer): number {
  if (!isObject(body)) return 0;
  // Where each packable vector sits: set(view) puts the view back in its place.
  const found: Found[] = [];
  let total = 0; // bytes, every view starting 4-byte aligned
  const take = (v: unknown, set: (view: Float32Array | Uint8Array) => void) => {
    if (typeof v === 'string') {
      const bytes = base64Bytes(v);
      if (bytes <= 0) return;
      found.push({ nums: null, text: v, bytes, at: total, set });
      total += (bytes + 3) & ~3;
      return;
    }
    const arr = packable(v);
    if (arr === null) return;
    found.push({ nums: arr, text: null, at: total, set });
    total += arr.length * 4;
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
  const buffer = into !== undefined && into.byteLength >= total ? into : new ArrayBuffer(total);
  const raw = Buffer.from(buffer);
  let packedCount = 0;
  for (const f of found) {
    if (f.nums !== null) {
      const view = new Float32Array(buffer, f.at, f.nums.length);
      for (let i = 0; i < f.nums.length; i++) view[i] = f.nums[i]!;
      f.set(view);
      packedCount++;
      continue;
    }
    // Node's decoder skips characters outside the alphabet: fewer bytes than the shape promises means an invalid
    // string, left as it is for decodeVector to report (its bytes in the buffer are then unused).
    if (raw.write(f.text, f.at, f.bytes, 'base64') !== f.bytes) continue;
    f.set(new Uint8Array(buffer, f.at, f.bytes));
    packedCount++;
  }
  if (packedCount > 0 && buffer instanceof ArrayBuffer) packed.set(body, buffer);
  return packedCount;
}
