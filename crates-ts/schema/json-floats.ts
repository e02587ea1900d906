/**
 * A write body's JSON float vectors read straight into one f32 buffer, without JSON.parse (issue 17: "vectors as JSON
 * floats … cheap"; docs/rfcs/0010-worker-pool.md "JSON float vectors").
 *
 * JSON.parse turns a number into a double at ≈ 100 ns apiece (StringToDouble); a 1,000-row body of 128-d vectors is
 * 128,000 of them, 14-20 ms of a core. extractRowVectors walks the body's bytes instead, finds the `vector` member
 * of every row of `upsert_rows` and `patch_rows`, and reads its numbers with parseNumbers (a few ns each), into one
 * buffer. What is left of the text, every such vector replaced by `null`, is small (the ids and attributes) and goes
 * to JSON.parse as before; the caller puts each vector back as a Float32Array view (json-body.ts parseJsonBytesPacked).
 *
 * The value is the one JSON.parse + packVectors give, number for number:
 * - parseNumbers gives the double JSON.parse would, rounded to f32 by the Float32Array store as packVectors does:
 *   exactly for up to 15 significant digits and a decimal exponent within ±22 (both operands are exact doubles, and
 *   one IEEE division or product rounds correctly: Clinger's fast path); for 16-19 digits (a float32 printed in full
 *   takes 17) the quotient is within 3 × 2⁻⁵³ of the exact value, which decides the f32 unless the value is within
 *   10⁻¹⁵ (relative) of a midpoint between two f32s, or the f32 is a power of two — those, and everything else, are
 *   read by Number() on the literal, which is JSON.parse's own conversion.
 * - The structure is read as JSON's lexer reads it (strings from quote to unescaped quote; a key is a string where
 *   an object expects a key). Anything this walk does not take — no object at the top, a key with an escape, a second
 *   `upsert_rows` or a second `vector` in a row, a column-wise body, a base64 vector — returns null and the caller
 *   parses the whole text as before. An array that is not all finite numbers is left in the text (packVectors leaves
 *   it as parsed too).
 * - Replacing a complete array value by `null` keeps a valid text valid and an invalid one invalid (every byte before
 *   it is the same, so the lexer is in the same state; a value is replaced by a value, and `null` glues to no
 *   neighbour as a number would: `0.5` out of `[…].5`). A malformed body therefore fails JSON.parse of the rest, and
 *   the caller parses the whole text for the canonical error.
 */
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, MALFORMED, NOT_CLOSED, OPEN_BRACE, OPEN_BRACKET, QUOTE, isWs, skipWs as skipWsAt, stringEnd as stringEndAt, valueEnd } from './json-lex.js';

/** The vectors of a write body and the rest of its text (extractRowVectors). */
export interface RowVectors {
  /** The body's text with every extracted vector replaced by `null`. */
  rest: Buffer;
  /** Where the vectors are: `into` when it was given and large enough, else a new buffer. */
  buffer: ArrayBuffer | SharedArrayBuffer;
  /** body[key][row].vector is the f32 view buffer[at, at + 4 × length), in the order of the text. */
  placed: { key: RowsKey; row: number; at: number; length: number }[];
}

export type RowsKey = 'upsert_rows' | 'patch_rows';

const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const isDigit = (c: number) => c >= ZERO && c <= NINE;

/** 10^0 … 10^22: the powers of ten a double holds exactly. */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

class Bail extends Error {}
const BAIL = new Bail();

const KEY_UPSERT_ROWS = Buffer.from('upsert_rows');
const KEY_PATCH_ROWS = Buffer.from('patch_rows');
const KEY_UPSERT_COLUMNS = Buffer.from('upsert_columns');
const KEY_PATCH_COLUMNS = Buffer.from('patch_columns');
const KEY_VECTOR = Buffer.from('vector');

/** Scratch for the midpoint test: an f32 and its bits. */
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** parseNumbers' answer when `out` has no room for the next number: make room and parse the array again. */
export const FULL = -1;

/**
 * The numbers of the JSON array at b[p] (`[`), written to out from index o: the position after its `]` and how many;
 * null when it is not a non-empty array of finite numbers (what was written to out is then of no use), or FULL.
 */
export function parseNumbers(b: Uint8Array, p: number, end: number, out: Float32Array, o: number): { after: number; count: number } | null | typeof FULL {
  const room = out.length - o;
  let n = 0;
  p++;
  for (;;) {
    let c = b[p]!;
    if (c <= 0x20) while (isWs(c)) c = b[++p]!;
    const neg = c === MINUS;
    if (neg) c = b[++p]!;
    const intStart = p;
    let m = 0;
    if (c === ZERO) c = b[++p]!;
    else if (c > ZERO && c <= NINE) {
      do {
        m = m * 10 + (c - ZERO);
        c = b[++p]!;
      } while (c >= ZERO && c <= NINE);
    } else return null;
    // Significant digits in m, bounding it (a fraction's leading zeros count too: harmless).
    let digits = p - intStart;
    let scale = 0;
    if (c === DOT) {
      const s = ++p;
      c = b[p]!;
      while (c >= ZERO && c <= NINE) {
        m = m * 10 + (c - ZERO);
        c = b[++p]!;
      }
      if (p === s) return null;
      scale = s - p;
      digits += p - s;
    }
    if (c === 0x65 || c === 0x45) {
      c = b[++p]!;
      let eneg = false;
      if (c === MINUS || c === PLUS) {
        eneg = c === MINUS;
        c = b[++p]!;
      }
      if (!(c >= ZERO && c <= NINE)) return null;
      let e = 0;
      do {
        if (e < 1e6) e = e * 10 + (c - ZERO);
        c = b[++p]!;
      } while (c >= ZERO && c <= NINE);
      scale += eneg ? -e : e;
    }
    let x: number;
    if (scale <= 0 && scale >= -22 && digits <= 15) x = m / POW10[-scale]!; // exact: Clinger's fast path
    else if (scale > 0 && scale <= 22 && digits <= 15) x = m * POW10[scale]!;
    else if (m === 0) x = 0;
    else {
      if (digits <= 19 && scale >= -22 && scale <= 22) x = scale < 0 ? m / POW10[-scale]! : m * POW10[scale]!;
      else x = NaN;
      if (!nearMidpointSafe(x)) {
        x = literal(b, intStart, p);
        if (!Number.isFinite(x)) return null;
      }
    }
    if (n >= room) return FULL;
    out[o + n++] = neg ? -x : x;
    if (c === COMMA) {
      p++;
      continue;
    }
    if (c === CLOSE_BRACKET) {
      if (p >= end) return null;
      return { after: p + 1, count: n };
    }
    if (!isWs(c)) return null;
    while (isWs(c)) c = b[++p]!;
    if (c === COMMA) {
      p++;
      continue;
    }
    if (c === CLOSE_BRACKET && p < end) return { after: p + 1, count: n };
    return null;
  }
}

/** JSON.parse's double for the number literal b[from, to) (no sign). */
function literal(b: Uint8Array, from: number, to: number): number {
  return Number(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1', from, to));
}

/**
 * True when x (positive, within 3 × 2⁻⁵³ relative of the exact value v) rounds to the f32 that JSON.parse's double
 * of v does: x's f32 is not a power of two (its neighbours are equally far) and x is farther than 10⁻¹⁵ × x from
 * the midpoint between that f32 and its neighbour away from zero (or toward it: the same distance). x's own error
 * (m rounded at each of up to 4 digits past 2⁵³, twice a digit, then the division) and the double's are ≤ 10 × 2⁻⁵³
 * ≈ 1.1 × 10⁻¹⁵ together: 4 × 10⁻¹⁵ leaves room.
 */
function nearMidpointSafe(x: number): boolean {
  if (!(x > 1e-30 && x < 1e30)) return false;
  F32[0] = x;
  const f = F32[0]!;
  const bits = U32[0]!;
  if ((bits & 0x7fffff) === 0) return false;
  U32[0] = bits + 1;
  const half = (F32[0]! - f) / 2;
  return half - Math.abs(x - f) > x * 4e-15;
}

/**
 * The vectors of a write body's rows as f32, and the text without them; null when the body is not one this takes
 * (see the header). `into`: a shared buffer to put the vectors in when they fit.
 */
export function extractRowVectors(bytes: Uint8Array, length: number, into?: SharedArrayBuffer): RowVectors | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(length, bytes.byteLength));
  const end = b.length;
  // Made at the first vector (a body without any allocates nothing): room for the rest of the text as numbers of ≈ 9
  // characters (a number takes ≥ 2 bytes of text, usually ≈ 10), doubled when that is short.
  let buffer: ArrayBuffer | SharedArrayBuffer = into ?? new ArrayBuffer(0);
  let out = new Float32Array(buffer, 0, buffer.byteLength >> 2);
  let used = 0; // floats
  const placed: RowVectors['placed'] = [];
  const cuts: number[] = []; // [from, to) spans replaced by null, in order

  const skipWs = (p: number): number => skipWsAt(b, end, p);
  /** p at a quote: the position after the string's closing quote. */
  const stringEnd = (p: number): number => {
    const e = stringEndAt(b, end, p);
    if (e < 0) throw BAIL;
    return e;
  };
  /** A key at p (a quote): its end, after checking it has no escape (a key compared by its bytes). */
  const keyEnd = (p: number): number => {
    if (b[p] !== QUOTE) throw BAIL;
    const e = stringEnd(p);
    for (let q = p + 1; q < e - 1; q++) if (b[q] === BACKSLASH) throw BAIL;
    return e;
  };
  const keyIs = (p: number, e: number, key: Buffer) => e - p - 2 === key.length && b.compare(key, 0, key.length, p + 1, e - 1) === 0;
  /** p at a value: the position after it (not checked: JSON.parse of the rest checks it). */
  const skipValue = (p: number): number => {
    const e = valueEnd(b, end, p, Infinity);
    if (e === MALFORMED || e === NOT_CLOSED) throw BAIL;
    return e;
  };
  /** The vector at p (a value): extracted when it is an array of finite numbers; the position after it. */
  const vector = (p: number, key: RowsKey, row: number): number => {
    const c = b[p];
    if (c === QUOTE) throw BAIL; // base64: packVectors' path
    if (c !== OPEN_BRACKET) return skipValue(p);
    let r = parseNumbers(b, p, end, out, used);
    while (r === FULL) {
      const grown = new ArrayBuffer(Math.max(out.byteLength * 2, ((Math.ceil((end - p) * 0.45) + 3) & ~3) + 4096));
      new Float32Array(grown).set(out.subarray(0, used));
      buffer = grown;
      out = new Float32Array(grown);
      r = parseNumbers(b, p, end, out, used);
    }
    if (r === null) return skipValue(p); // not all finite numbers: left as parsed
    placed.push({ key, row, at: used * 4, length: r.count });
    used += r.count;
    cuts.push(p, r.after);
    return r.after;
  };
  const rowObject = (p: number, key: RowsKey, row: number): number => {
    let j = skipWs(p + 1);
    if (b[j] === CLOSE_BRACE) return j + 1;
    let seenVector = false;
    for (;;) {
      const e = keyEnd(j);
      const colon = skipWs(e);
      if (b[colon] !== COLON) throw BAIL;
      const v = skipWs(colon + 1);
      if (v >= end) throw BAIL;
      if (keyIs(j, e, KEY_VECTOR)) {
        if (seenVector) throw BAIL; // JSON.parse keeps the last one: not worth following here
        seenVector = true;
        j = vector(v, key, row);
      } else j = skipValue(v);
      const k = skipWs(j);
      if (b[k] === COMMA) {
        j = skipWs(k + 1);
        continue;
      }
      if (b[k] === CLOSE_BRACE) return k + 1;
      throw BAIL;
    }
  };
  const rows = (p: number, key: RowsKey): number => {
    let j = skipWs(p + 1);
    if (b[j] === CLOSE_BRACKET) return j + 1;
    for (let row = 0; ; row++) {
      if (j >= end) throw BAIL;
      j = b[j] === OPEN_BRACE ? rowObject(j, key, row) : skipValue(j);
      const k = skipWs(j);
      if (b[k] === COMMA) {
        j = skipWs(k + 1);
        continue;
      }
      if (b[k] === CLOSE_BRACKET) return k + 1;
      throw BAIL;
    }
  };

  try {
    let j = skipWs(0);
    if (b[j] !== OPEN_BRACE) return null;
    j = skipWs(j + 1);
    const seen = new Set<RowsKey>();
    if (b[j] !== CLOSE_BRACE) {
      for (;;) {
        const e = keyEnd(j);
        const colon = skipWs(e);
        if (b[colon] !== COLON) return null;
        const v = skipWs(colon + 1);
        if (v >= end) return null;
        if (keyIs(j, e, KEY_UPSERT_COLUMNS) || keyIs(j, e, KEY_PATCH_COLUMNS)) return null;
        const key: RowsKey | null = keyIs(j, e, KEY_UPSERT_ROWS) ? 'upsert_rows' : keyIs(j, e, KEY_PATCH_ROWS) ? 'patch_rows' : null;
        if (key !== null) {
          if (seen.has(key)) return null;
          seen.add(key);
        }
        j = key !== null && b[v] === OPEN_BRACKET ? rows(v, key) : skipValue(v);
        const k = skipWs(j);
        if (b[k] === COMMA) {
          j = skipWs(k + 1);
          continue;
        }
        if (b[k] === CLOSE_BRACE) break;
        return null;
      }
    }
  } catch (e) {
    if (e === BAIL) return null;
    throw e;
  }
  if (placed.length === 0) return null;
  // A new buffer far larger than its vectors (numbers of few digits) is cut to size: the body's views hold it.
  if (buffer instanceof ArrayBuffer && used * 4 < buffer.byteLength / 2) buffer = buffer.slice(0, used * 4);

  // The text without the vectors: each cut span becomes `null`.
  let restLength = end;
  for (let i = 0; i < cuts.length; i += 2) restLength -= cuts[i + 1]! - cuts[i]! - 4;
  const rest = Buffer.allocUnsafe(restLength);
  let w = 0;
  let from = 0;
  for (let i = 0; i < cuts.length; i += 2) {
    w += b.copy(rest, w, from, cuts[i]!);
    w += rest.write('null', w, 'latin1');
    from = cuts[i + 1]!;
  }
  b.copy(rest, w, from, end);
  return { rest, buffer, placed };
}
