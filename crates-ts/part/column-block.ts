/**
 * Column blocks (RFC-0004 §1): the values of one column for a run of rows, typed, with a validity bitmap when some
 * are null, optionally deflated. Used for attributes, ids, WAL seqs, id-index keys and idempotency keys.
 *
 *   u8 codec (0 raw, 1 deflate-raw) | payload:
 *     u8 kind (0 f64, 1 bool, 2 utf8, 3 json) | u8 flags (bit 0: has nulls) | u32 LE rows |
 *     [validity bitmap, ceil(rows/8) bytes, bit set = present] | values:
 *       f64   rows × f64 LE (0 for nulls)
 *       bool  bitmap, ceil(rows/8) bytes
 *       utf8  (rows + 1) × u32 LE offsets, then the UTF-8 bytes
 *       json  like utf8, each value's JSON text
 *       dict  (kind 4, a utf8 block with few distinct values) u16 LE entries, (entries + 1) × u32 LE offsets, the
 *             entries' UTF-8 bytes, then one code per row: u8 when entries ≤ 256 (flags bit 1 clear), else u16 LE
 *             (flags bit 1 set). Decoding is one string per distinct value, not per row.
 *       sparse (kind 5, sparse vectors: RFC-0012 §1) (rows + 1) × u32 LE entry offsets, then the entries' u32 LE
 *             dimensions (ascending within a row), then their f32 LE weights. Written only by builds that know the
 *             kind; parts without sparse attributes are unchanged (older builds reject a head naming this kind).
 *       multivec (kind 6, `[][N]f32` multi-vectors: RFC-0015 §1) (rows + 1) × u32 LE vector offsets (a row's vectors
 *             are [offsets[i], offsets[i+1])), u32 LE N (every vector of the block), then the vectors' f32 LE values,
 *             N a vector. Written only when every value is a non-empty array of N-long arrays of f32-exact numbers;
 *             parts without multi-vector attributes are unchanged (older builds reject a head naming this kind).
 *       fvec (kind 7, `[N]f32` / `[N]f16` attributes other than `vector`: RFC-0014 §4) u32 LE N, then rows × N f32 LE
 *             (zeros for null rows). `[N]f16` values are stored as the f32 of their f16-rounded value (exact: every
 *             f16 is an f32). Written only when every value is an array of N numbers, each the shortest decimal of
 *             its f32 (schema/values.ts stores them so), so decoding gives back the same numbers; a block with
 *             another value (or N) is json. Parts without such attributes are unchanged (older builds reject a head
 *             naming this kind).
 *
 * A block whose values do not all fit the column's preferred kind (a string that is not well-formed UTF-16, a value
 * of another type) is written as json, so every value round-trips exactly whatever the schema says.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { AttrValue } from '../core/index.js';
import { corruptBlock } from './block-file.js';
import { isStoredSparse, sparseEntries } from '../sparse/vector.js';
import type { SparseVector } from '../core/index.js';
import { fitsMultiColumn } from '../multivec/vector.js';
import { f32ToJsonNumber } from '../query/vector-codec.js';

export type ColumnKind = 'f64' | 'bool' | 'utf8' | 'json' | 'sparse' | 'multivec' | 'fvec';
const KIND_CODE: Record<ColumnKind, number> = { f64: 0, bool: 1, utf8: 2, json: 3, sparse: 5, multivec: 6, fvec: 7 };
const KINDS: (ColumnKind | undefined)[] = ['f64', 'bool', 'utf8', 'json', undefined, 'sparse', 'multivec', 'fvec'];

/** A fixed-stride vector value: numbers, each exactly what decoding its f32 gives back (f32ToJsonNumber). */
function fitsVector(v: unknown): boolean {
  if (!Array.isArray(v) || v.length === 0) return false;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x) || f32ToJsonNumber(Math.fround(x)) !== x) return false;
  }
  return true;
}

const RAW = 0;
const DEFLATE = 1;
/** Payloads smaller than this are not worth a deflate call. */
const COMPRESS_MIN_BYTES = 512;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** String.prototype.isWellFormed (Node 20; not in the ES2023 lib typings). */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

function fits(kind: ColumnKind, v: unknown): boolean {
  switch (kind) {
    case 'f64':
      return typeof v === 'number';
    case 'bool':
      return typeof v === 'boolean';
    case 'utf8':
      return typeof v === 'string' && isWellFormed(v);
    case 'json':
      return true;
    case 'sparse': {
      if (!isStoredSparse(v)) return false;
      for (const k in v) if (Math.fround(v[k]!) !== v[k]) return false;
      return true;
    }
    case 'multivec':
      return fitsMultiColumn(v);
    case 'fvec':
      return fitsVector(v);
  }
}

const isNull = (v: unknown): boolean => v === null || v === undefined;

/**
 * A copy of bytes [from, to). Not `payload.slice`: when the payload is a Node Buffer (an inflated block, or the
 * block read from the store) its slice is a view, which would keep the whole payload alive in the cache beyond its
 * accounting and let a decoded block write into the bytes it was read from.
 */
function copyOf(payload: Uint8Array, from: number, to: number): Uint8Array {
  const out = new Uint8Array(to - from);
  out.set(payload.subarray(from, to));
  return out;
}

/**
 * The UTF-8 bytes of `texts` back to back, at `at` in a new array of `at` + their length bytes (the caller fills
 * [0, at)), and each one's offset from `at`. Each string's length first, then one write into place: no array per
 * string (TextEncoder.encode's, then a copy, was most of a text column's cost). Buffer's UTF-8 writer and byteLength
 * replace a lone surrogate by U+FFFD as TextEncoder does (only json texts can hold one: utf8 ones are well formed).
 */
function concatStrings(texts: readonly (string | null)[], at = 0): { offsets: Uint32Array; bytes: Uint8Array } {
  const offsets = new Uint32Array(texts.length + 1);
  let size = 0;
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    if (t !== null && t !== undefined && t.length > 0) size += Buffer.byteLength(t, 'utf8');
    offsets[i + 1] = size;
  }
  const bytes = new Uint8Array(at + size);
  const out = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    if (t !== null && t !== undefined && t.length > 0) out.write(t, at + offsets[i]!, 'utf8');
  }
  return { offsets, bytes };
}

/** Encodes `values` (null/undefined = null) as one block, in `preferred` kind when every value fits it. */
export function encodeColumnBlock(values: readonly unknown[], preferred: ColumnKind, compress = true): Uint8Array {
  const n = values.length;
  let kind = preferred;
  let nulls = false;
  for (const v of values) {
    if (isNull(v)) nulls = true;
    else if (kind !== 'json' && !fits(kind, v)) kind = 'json';
  }
  let mvDims = -1;
  if (kind === 'multivec') {
    // One N per block: a block mixing vector lengths is json.
    for (const v of values) {
      if (isNull(v)) continue;
      const d = (v as number[][])[0]!.length;
      if (mvDims === -1) mvDims = d;
      else if (d !== mvDims) kind = 'json';
    }
  }
  let fvDims = -1;
  if (kind === 'fvec') {
    // One N per block: a block mixing vector lengths is json.
    for (const v of values) {
      if (isNull(v)) continue;
      const d = (v as number[]).length;
      if (fvDims === -1) fvDims = d;
      else if (d !== fvDims) kind = 'json';
    }
  }
  let body: Uint8Array;
  if (kind === 'fvec') {
    const dims = Math.max(fvDims, 0);
    const data = new Float32Array(n * dims);
    for (let i = 0; i < n; i++) if (!isNull(values[i])) data.set(values[i] as number[], i * dims);
    body = new Uint8Array(4 + data.byteLength);
    new DataView(body.buffer).setUint32(0, dims, true);
    body.set(new Uint8Array(data.buffer), 4);
  } else if (kind === 'f64') {
    const f = new Float64Array(n);
    for (let i = 0; i < n; i++) if (!isNull(values[i])) f[i] = values[i] as number;
    body = new Uint8Array(f.buffer);
  } else if (kind === 'bool') {
    body = new Uint8Array((n + 7) >> 3);
    for (let i = 0; i < n; i++) if (values[i] === true) body[i >> 3]! |= 1 << (i & 7);
  } else if (kind === 'sparse') {
    const rows = values.map((v) => (isNull(v) ? null : sparseEntries(v as SparseVector)));
    const offsets = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + (rows[i]?.dims.length ?? 0);
    const total = offsets[n]!;
    const dims = new Uint32Array(total);
    const weights = new Float32Array(total);
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      if (!r) continue;
      dims.set(r.dims, offsets[i]!);
      weights.set(r.weights, offsets[i]!);
    }
    body = new Uint8Array(offsets.byteLength + total * 8);
    body.set(new Uint8Array(offsets.buffer), 0);
    body.set(new Uint8Array(dims.buffer), offsets.byteLength);
    body.set(new Uint8Array(weights.buffer), offsets.byteLength + total * 4);
  } else if (kind === 'multivec') {
    const offsets = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + (isNull(values[i]) ? 0 : (values[i] as number[][]).length);
    const total = offsets[n]!;
    const dims = Math.max(mvDims, 0);
    const data = new Float32Array(total * dims);
    for (let i = 0; i < n; i++) {
      if (isNull(values[i])) continue;
      let at = offsets[i]! * dims;
      for (const vec of values[i] as number[][]) {
        data.set(vec, at);
        at += dims;
      }
    }
    body = new Uint8Array(offsets.byteLength + 4 + data.byteLength);
    body.set(new Uint8Array(offsets.buffer), 0);
    new DataView(body.buffer).setUint32(offsets.byteLength, dims, true);
    body.set(new Uint8Array(data.buffer), offsets.byteLength + 4);
  } else {
    const dict = kind === 'utf8' ? dictionaryOf(values) : null;
    if (dict !== null) return finish(values, nulls, DICT_CODE, dict.wide ? 2 : 0, dict.body, compress);
    const texts = values.map((v) => (isNull(v) ? null : kind === 'utf8' ? (v as string) : JSON.stringify(v)));
    const { offsets, bytes } = concatStrings(texts, 4 * (n + 1));
    body = bytes;
    body.set(new Uint8Array(offsets.buffer), 0);
  }
  return finish(values, nulls, KIND_CODE[kind], 0, body, compress);
}

const DICT_CODE = 4;
/** Dictionary-encode a utf8 block when it has at most this many distinct values and at most a quarter of its rows. */
const DICT_MAX_ENTRIES = 4096;

function dictionaryOf(values: readonly unknown[]): { body: Uint8Array; wide: boolean } | null {
  const index = new Map<string, number>();
  const codes = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (isNull(v)) continue;
    let c = index.get(v as string);
    if (c === undefined) {
      if (index.size >= DICT_MAX_ENTRIES || index.size > values.length / 4) return null;
      index.set(v as string, (c = index.size));
    }
    codes[i] = c;
  }
  if (index.size === 0) return null;
  const { offsets, bytes } = concatStrings([...index.keys()]);
  const wide = index.size > 256;
  const codeBytes = wide ? new Uint8Array(codes.buffer) : Uint8Array.from(codes);
  const body = new Uint8Array(2 + offsets.byteLength + bytes.byteLength + codeBytes.byteLength);
  new DataView(body.buffer).setUint16(0, index.size, true);
  body.set(new Uint8Array(offsets.buffer), 2);
  body.set(bytes, 2 + offsets.byteLength);
  body.set(codeBytes, 2 + offsets.byteLength + bytes.byteLength);
  return { body, wide };
}

function finish(values: readonly unknown[], nulls: boolean, kindCode: number, extraFlags: number, body: Uint8Array, compress: boolean): Uint8Array {
  const n = values.length;
  const validityBytes = nulls ? (n + 7) >> 3 : 0;
  const payload = new Uint8Array(6 + validityBytes + body.byteLength);
  const dv = new DataView(payload.buffer);
  payload[0] = kindCode;
  payload[1] = (nulls ? 1 : 0) | extraFlags;
  dv.setUint32(2, n, true);
  if (nulls) for (let i = 0; i < n; i++) if (!isNull(values[i])) payload[6 + (i >> 3)]! |= 1 << (i & 7);
  payload.set(body, 6 + validityBytes);
  if (compress && payload.byteLength >= COMPRESS_MIN_BYTES) {
    const z = deflateRawSync(payload, { level: 1 });
    if (z.byteLength <= payload.byteLength * 0.9) {
      const out = new Uint8Array(1 + z.byteLength);
      out[0] = DEFLATE;
      out.set(z, 1);
      return out;
    }
  }
  const out = new Uint8Array(1 + payload.byteLength);
  out[0] = RAW;
  out.set(payload, 1);
  return out;
}

/** A decoded block: typed values by row (0-based within the block). */
export class ColumnBlock {
  private constructor(
    readonly kind: ColumnKind,
    readonly rows: number,
    /** Validity bitmap (bit set = present), null when no value is null. */
    readonly valid: Uint8Array | null,
    /** f64 values (kind f64). */
    readonly f64: Float64Array | null,
    /** Value bitmap (kind bool). */
    readonly bits: Uint8Array | null,
    /** Decoded strings (kind utf8) or parsed JSON values (kind json); null for nulls. */
    readonly values: readonly AttrValue[] | null,
    /** Decoded size estimate (cache accounting). */
    readonly bytes: number,
    /**
     * A dictionary block (kind utf8): row i's value is dict[codes[i]]. Kept as codes (1–2 bytes a row, off the JS
     * heap) rather than an array of string references (8 bytes a row on the heap, which a full cache churns).
     */
    private readonly codes: Uint8Array | Uint16Array | null = null,
    private readonly dict: readonly string[] | null = null,
    /** A fixed-stride vector block (kind fvec): row i's vector is vec[i·dims, (i + 1)·dims). */
    readonly vec: Float32Array | null = null,
    readonly dims: number = 0,
  ) {}

  /**
   * Row i's vector as a view into the block (kind fvec; no copy), or null for a null row or another kind of block.
   */
  vectorAt(i: number): Float32Array | null {
    if (this.vec === null || this.isNull(i)) return null;
    return this.vec.subarray(i * this.dims, (i + 1) * this.dims);
  }

  isNull(i: number): boolean {
    return this.valid !== null && (this.valid[i >> 3]! & (1 << (i & 7))) === 0;
  }

  get(i: number): AttrValue {
    if (this.isNull(i)) return null;
    switch (this.kind) {
      case 'f64':
        return this.f64![i]!;
      case 'bool':
        return (this.bits![i >> 3]! & (1 << (i & 7))) !== 0;
      case 'fvec': {
        // The numbers the document was written with: each the shortest decimal of its f32 (schema/values.ts).
        const d = this.dims;
        const out = new Array<number>(d);
        for (let j = 0, o = i * d; j < d; j++) out[j] = f32ToJsonNumber(this.vec![o + j]!);
        return out;
      }
      default:
        return this.codes !== null ? this.dict![this.codes[i]!]! : this.values![i]!;
    }
  }

  /**
   * `f64Into`: where to put an f64 block's values (a view into one buffer for a whole column): one large allocation
   * per column instead of one small one per block, which the allocator returns to the system when the column is
   * evicted (small blocks fragment the heap and keep the process's RSS up).
   */
  static decode(block: Uint8Array, where: string, f64Into?: Float64Array): ColumnBlock {
    if (block.byteLength < 1) throw corruptBlock(where, 'empty column block');
    let payload: Uint8Array;
    if (block[0] === RAW) payload = block.subarray(1);
    else if (block[0] === DEFLATE) {
      try {
        payload = inflateRawSync(block.subarray(1));
      } catch (cause) {
        throw corruptBlock(where, `column block does not inflate: ${(cause as Error).message}`);
      }
    } else throw corruptBlock(where, `unknown column block codec ${block[0]}`);
    if (payload.byteLength < 6) throw corruptBlock(where, 'column block header is truncated');
    if (payload[0] === DICT_CODE) return ColumnBlock.decodeDict(payload, where);
    const kind = KINDS[payload[0]!];
    if (kind === undefined) throw corruptBlock(where, `unknown column kind ${payload[0]}`);
    const nulls = (payload[1]! & 1) === 1;
    const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const n = dv.getUint32(2, true);
    const vBytes = nulls ? (n + 7) >> 3 : 0;
    let at = 6;
    const need = (len: number) => {
      if (at + len > payload.byteLength) throw corruptBlock(where, `column block of ${n} rows is truncated`);
    };
    need(vBytes);
    const valid = nulls ? copyOf(payload, at, at + vBytes) : null;
    at += vBytes;
    if (kind === 'f64') {
      need(n * 8);
      const f = f64Into !== undefined && f64Into.length >= n ? f64Into.subarray(0, n) : new Float64Array(n);
      new Uint8Array(f.buffer, f.byteOffset, n * 8).set(payload.subarray(at, at + n * 8));
      return new ColumnBlock(kind, n, valid, f, null, null, n * 8 + vBytes);
    }
    if (kind === 'bool') {
      need((n + 7) >> 3);
      return new ColumnBlock(kind, n, valid, null, copyOf(payload, at, at + ((n + 7) >> 3)), null, ((n + 7) >> 3) + vBytes);
    }
    if (kind === 'sparse') return ColumnBlock.decodeSparse(payload, at, n, valid, vBytes, where);
    if (kind === 'multivec') return ColumnBlock.decodeMulti(payload, at, n, valid, vBytes, where);
    if (kind === 'fvec') {
      need(4);
      const dims = dv.getUint32(at, true);
      at += 4;
      if (dims === 0 && n > 0 && (valid === null || valid.some((b) => b !== 0))) throw corruptBlock(where, 'vector column block has 0 dimensions');
      need(n * dims * 4);
      // One copy of the block's values (aligned, off the payload); rows are views into it.
      const vec = new Float32Array(n * dims);
      new Uint8Array(vec.buffer).set(payload.subarray(at, at + n * dims * 4));
      return new ColumnBlock(kind, n, valid, null, null, null, vec.byteLength + vBytes, null, null, vec, dims);
    }
    need((n + 1) * 4);
    const offsets = new Uint32Array(n + 1);
    new Uint8Array(offsets.buffer).set(payload.subarray(at, at + (n + 1) * 4));
    at += (n + 1) * 4;
    const textBytes = offsets[n]!;
    need(textBytes);
    const text = payload.subarray(at, at + textBytes);
    const values = new Array<AttrValue>(n);
    let size = 0;
    for (let i = 0; i < n; i++) {
      if (valid !== null && (valid[i >> 3]! & (1 << (i & 7))) === 0) {
        values[i] = null;
        continue;
      }
      const a = offsets[i]!;
      const b = offsets[i + 1]!;
      if (b < a || b > textBytes) throw corruptBlock(where, `column block offsets are out of order at row ${i}`);
      let s: string;
      try {
        s = decoder.decode(text.subarray(a, b));
      } catch {
        throw corruptBlock(where, `column block row ${i} is not valid UTF-8`);
      }
      size += 2 * s.length + 16;
      if (kind === 'utf8') values[i] = s;
      else {
        try {
          values[i] = JSON.parse(s) as AttrValue;
        } catch {
          throw corruptBlock(where, `column block row ${i} is not valid JSON`);
        }
      }
    }
    return new ColumnBlock(kind, n, valid, null, null, values, size + vBytes);
  }

  /** A sparse block (kind 5): each row's entries back into a normalised sparse vector object. */
  private static decodeSparse(payload: Uint8Array, at: number, n: number, valid: Uint8Array | null, vBytes: number, where: string): ColumnBlock {
    const truncated = () => corruptBlock(where, `sparse column block of ${n} rows is truncated`);
    if (at + (n + 1) * 4 > payload.byteLength) throw truncated();
    const offsets = new Uint32Array(n + 1);
    new Uint8Array(offsets.buffer).set(payload.subarray(at, at + (n + 1) * 4));
    at += (n + 1) * 4;
    const total = offsets[n]!;
    if (at + total * 8 > payload.byteLength) throw truncated();
    const dims = new Uint32Array(total);
    new Uint8Array(dims.buffer).set(payload.subarray(at, at + total * 4));
    const weights = new Float32Array(total);
    new Uint8Array(weights.buffer).set(payload.subarray(at + total * 4, at + total * 8));
    const values = new Array<AttrValue>(n);
    for (let i = 0; i < n; i++) {
      if (valid !== null && (valid[i >> 3]! & (1 << (i & 7))) === 0) {
        values[i] = null;
        continue;
      }
      const a = offsets[i]!;
      const b = offsets[i + 1]!;
      if (b < a || b > total) throw corruptBlock(where, `sparse column block offsets are out of order at row ${i}`);
      const v: Record<string, number> = {};
      for (let e = a; e < b; e++) {
        if (e > a && dims[e]! <= dims[e - 1]!) throw corruptBlock(where, `sparse column block row ${i} has dimensions out of order`);
        v[String(dims[e])] = weights[e]!;
      }
      values[i] = v;
    }
    return new ColumnBlock('sparse', n, valid, null, null, values, total * 40 + n * 16 + vBytes);
  }

  /** A multi-vector block (kind 6): each row's vectors back into arrays of numbers (f32 values, exact). */
  private static decodeMulti(payload: Uint8Array, at: number, n: number, valid: Uint8Array | null, vBytes: number, where: string): ColumnBlock {
    const truncated = () => corruptBlock(where, `multi-vector column block of ${n} rows is truncated`);
    if (at + (n + 1) * 4 + 4 > payload.byteLength) throw truncated();
    const offsets = new Uint32Array(n + 1);
    new Uint8Array(offsets.buffer).set(payload.subarray(at, at + (n + 1) * 4));
    at += (n + 1) * 4;
    const dims = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(at, true);
    at += 4;
    const total = offsets[n]!;
    if (at + total * dims * 4 > payload.byteLength) throw truncated();
    const data = new Float32Array(total * dims);
    new Uint8Array(data.buffer).set(payload.subarray(at, at + total * dims * 4));
    const values = new Array<AttrValue>(n);
    for (let i = 0; i < n; i++) {
      if (valid !== null && (valid[i >> 3]! & (1 << (i & 7))) === 0) {
        values[i] = null;
        continue;
      }
      const a = offsets[i]!;
      const b = offsets[i + 1]!;
      if (b <= a || b > total) throw corruptBlock(where, `multi-vector column block offsets are out of order at row ${i}`);
      const row: number[][] = new Array(b - a);
      for (let e = a; e < b; e++) row[e - a] = Array.from(data.subarray(e * dims, (e + 1) * dims));
      values[i] = row;
    }
    return new ColumnBlock('multivec', n, valid, null, null, values, total * (dims * 8 + 32) + n * 16 + vBytes);
  }

  /** A dictionary block: each distinct string decoded once, rows share them. */
  private static decodeDict(payload: Uint8Array, where: string): ColumnBlock {
    const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const nulls = (payload[1]! & 1) === 1;
    const wide = (payload[1]! & 2) === 2;
    const n = dv.getUint32(2, true);
    const vBytes = nulls ? (n + 7) >> 3 : 0;
    let at = 6;
    const need = (len: number) => {
      if (at + len > payload.byteLength) throw corruptBlock(where, `dictionary block of ${n} rows is truncated`);
    };
    need(vBytes + 2);
    const valid = nulls ? copyOf(payload, at, at + vBytes) : null;
    at += vBytes;
    const entries = dv.getUint16(at, true);
    at += 2;
    need((entries + 1) * 4);
    const offsets = new Uint32Array(entries + 1);
    new Uint8Array(offsets.buffer).set(payload.subarray(at, at + (entries + 1) * 4));
    at += (entries + 1) * 4;
    need(offsets[entries]!);
    const text = payload.subarray(at, at + offsets[entries]!);
    at += offsets[entries]!;
    const dict = new Array<string>(entries);
    let size = 0;
    for (let e = 0; e < entries; e++) {
      if (offsets[e + 1]! < offsets[e]!) throw corruptBlock(where, `dictionary offsets are out of order at entry ${e}`);
      try {
        dict[e] = decoder.decode(text.subarray(offsets[e]!, offsets[e + 1]!));
      } catch {
        throw corruptBlock(where, `dictionary entry ${e} is not valid UTF-8`);
      }
      size += 2 * dict[e]!.length + 16;
    }
    need(n * (wide ? 2 : 1));
    const codes = wide ? new Uint16Array(n) : copyOf(payload, at, at + n);
    for (let i = 0; i < n; i++) {
      if (valid !== null && (valid[i >> 3]! & (1 << (i & 7))) === 0) {
        codes[i] = 0; // a null row's code is never read (isNull first)
        continue;
      }
      const c = wide ? dv.getUint16(at + 2 * i, true) : codes[i]!;
      if (c >= entries) throw corruptBlock(where, `dictionary code ${c} at row ${i} is out of range`);
      codes[i] = c;
    }
    return new ColumnBlock('utf8', n, valid, null, null, null, size + codes.byteLength + vBytes, codes, dict);
  }
}
