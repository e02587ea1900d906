/**
 * Attribute type strings (turbopuffer AttributeType) parsed once into a small descriptor.
 * Parsing is cached: the hot path looks a type up per column or per value.
 */
import { invalid } from '../core/index.js';

export type ScalarKind = 'string' | 'int' | 'uint' | 'float' | 'uuid' | 'datetime' | 'bool';
export const SCALAR_KINDS: readonly ScalarKind[] = ['string', 'int', 'uint', 'float', 'uuid', 'datetime', 'bool'];

export type ParsedType =
  | { kind: 'scalar'; scalar: ScalarKind; array: false }
  | { kind: 'scalar'; scalar: ScalarKind; array: true }
  | { kind: 'vector'; dims: number; elem: 'f32' | 'f16' }
  /** A sparse vector (`{}f16`, turbopuffer's; `{}f32`, an elax extension): dimension → weight (crates-ts/sparse/). */
  | { kind: 'sparse'; elem: 'f32' | 'f16' }
  /** A multi-vector (`[][N]f32`, late interaction): an array of N-dim f32 vectors per row (crates-ts/multivec/). */
  | { kind: 'multivec'; dims: number };

/** turbopuffer's documented maximum vector dimensionality. */
export const MAX_VECTOR_DIMS = 10752;

export const ID_TYPES: readonly string[] = ['uint', 'uuid', 'string'];

const cache = new Map<string, ParsedType | null>();
const VECTOR_RE = /^\[(\d{1,6})\](f32|f16)$/;
const MULTI_RE = /^\[\]\[(\d{1,6})\]f32$/;

function parseUncached(t: string): ParsedType | null {
  const isArray = t.startsWith('[]');
  const base = isArray ? t.slice(2) : t;
  if ((SCALAR_KINDS as readonly string[]).includes(base)) {
    return { kind: 'scalar', scalar: base as ScalarKind, array: isArray } as ParsedType;
  }
  if (t === '{}f16' || t === '{}f32') return { kind: 'sparse', elem: t === '{}f16' ? 'f16' : 'f32' };
  const mv = MULTI_RE.exec(t);
  if (mv) {
    const dims = Number(mv[1]);
    if (dims >= 1 && dims <= MAX_VECTOR_DIMS && String(dims) === mv[1]) return { kind: 'multivec', dims };
    return null;
  }
  const m = VECTOR_RE.exec(t);
  if (m) {
    const dims = Number(m[1]);
    if (dims >= 1 && dims <= MAX_VECTOR_DIMS && String(dims) === m[1]) return { kind: 'vector', dims, elem: m[2] as 'f32' | 'f16' };
  }
  return null;
}

/** The descriptor of a type string, or null if elax does not know it. */
export function tryParseType(t: string): ParsedType | null {
  let p = cache.get(t);
  if (p === undefined) {
    p = parseUncached(t);
    if (cache.size < 10_000) cache.set(t, p); // bounded: type strings come from requests
  }
  return p;
}

/** Like tryParseType but throws a 400 naming the attribute and listing the valid types. */
export function parseType(t: unknown, attr: string): ParsedType {
  if (typeof t !== 'string') throw invalid(`schema for attribute '${attr}': type must be a string, got ${describeJsType(t)}`);
  const p = tryParseType(t);
  if (p) return p;
  if (t.startsWith('[][')) {
    throw invalid(`schema for attribute '${attr}': multi-vector type '${t}' must be [][N]f32 with N between 1 and ${MAX_VECTOR_DIMS}`);
  }
  if (VECTOR_RE.test(t)) {
    throw invalid(`schema for attribute '${attr}': vector dimensions in '${t}' must be between 1 and ${MAX_VECTOR_DIMS}`);
  }
  throw invalid(
    `schema for attribute '${attr}': unknown type '${t}'; valid types: ${SCALAR_KINDS.join(', ')}, their [] array forms, [N]f32, [N]f16, {}f16, {}f32, [][N]f32`,
  );
}

export function vectorTypeString(dims: number, elem: 'f32' | 'f16' = 'f32'): string {
  return `[${dims}]${elem}`;
}

/** A short description of a JSON value's type for error messages. */
export function describeJsType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'float';
  return typeof v;
}
