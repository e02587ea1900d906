/**
 * What a filter may compare an attribute with: the attribute's type as the schema knows it, and the
 * normalisation of operands into the stored form (UUIDs lowercase, datetimes `toISOString()`), so evaluation is
 * plain `===` / `<` on stored values.
 */
import type { FullTextConfig, Schema, Scalar } from '../core/index.js';
import { fullTextConfigOf } from '../fts/index.js';
import { normalizeDatetime, normalizeUuid, tryParseType, type ScalarKind } from '../schema/index.js';

/** 'any': the attribute is not in the schema (only reachable with unknownAttributes: 'null'); typed at run time. */
export type ValueKind = ScalarKind | 'any';

export interface AttrInfo {
  name: string;
  kind: ValueKind;
  /** true for []T, false for scalars, null when unknown. */
  array: boolean | null;
  /** The attribute is in the schema. */
  known: boolean;
  isId: boolean;
  /** A vector attribute ([N]f32 / [N]f16): never filterable. */
  vector: boolean;
  filterable: boolean;
  fts: FullTextConfig | null;
  /** Schema `regex: true` / `glob: true`: Regex / Glob filters allowed even when the attribute is not filterable. */
  regex: boolean;
  glob: boolean;
  /** Schema `fuzzy: true`: Fuzzy filters allowed (and only then). */
  fuzzy: boolean;
}

export function attrInfo(schema: Schema, name: string): AttrInfo {
  const s = schema[name];
  const isId = name === 'id';
  if (s === undefined) {
    // A schema without an `id` entry (never written) still has ids: typed by the operand.
    return { name, kind: 'any', array: isId ? false : null, known: isId, isId, vector: false, filterable: true, fts: null, regex: false, glob: false, fuzzy: false };
  }
  const t = tryParseType(s.type);
  if (t === null || t.kind === 'vector' || t.kind === 'sparse' || t.kind === 'multivec') {
    return { name, kind: 'any', array: null, known: true, isId, vector: t !== null, filterable: false, fts: null, regex: false, glob: false, fuzzy: false };
  }
  const fts = isId ? null : fullTextConfigOf(s.full_text_search, name);
  return {
    name,
    kind: t.scalar,
    array: t.array,
    known: true,
    isId,
    vector: false,
    // turbopuffer: "by default, BM25-enabled attributes are not filterable" unless filterable: true.
    filterable: isId || (s.filterable ?? (fts === null && !s.regex && !s.glob && !s.fuzzy)),
    fts,
    regex: s.regex === true,
    glob: s.glob === true,
    fuzzy: s.fuzzy === true,
  };
}

export const isNumericKind = (k: ValueKind): boolean => k === 'int' || k === 'uint' || k === 'float';

/** Whether values of kinds a and b can be compared (same kind, both numeric, or one unknown). */
export function kindsCompatible(a: ValueKind, b: ValueKind): boolean {
  return a === 'any' || b === 'any' || a === b || (isNumericKind(a) && isNumericKind(b));
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v)}`;
  if (typeof v === 'number') return `${Number.isInteger(v) ? 'integer' : 'number'} ${v}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

const EXPECTED: Record<ValueKind, string> = {
  string: 'a string',
  int: 'a number',
  uint: 'a number',
  float: 'a number',
  bool: 'a boolean',
  uuid: 'a UUID string',
  datetime: 'an ISO 8601 datetime string or epoch milliseconds',
  any: 'a string, number or boolean',
};

/**
 * The stored form of a non-null scalar operand for an attribute of kind `kind`, or an error message (the caller
 * adds the filter path). Numbers are accepted for every numeric kind (Lt 2.5 on an int attribute is meaningful).
 */
export function normalizeScalar(v: unknown, kind: ValueKind): Scalar | { error: string } {
  const bad = (): { error: string } => ({ error: `expected ${EXPECTED[kind]}, got ${describeValue(v)}` });
  switch (kind) {
    case 'string':
      return typeof v === 'string' ? v : bad();
    case 'int':
    case 'uint':
    case 'float':
      return typeof v === 'number' && Number.isFinite(v) ? v : bad();
    case 'bool':
      return typeof v === 'boolean' ? v : bad();
    case 'uuid': {
      if (typeof v !== 'string') return bad();
      return normalizeUuid(v) ?? { error: `expected a UUID, got ${describeValue(v)}` };
    }
    case 'datetime': {
      if (typeof v !== 'string' && typeof v !== 'number') return bad();
      return normalizeDatetime(v) ?? { error: `expected an ISO 8601 datetime or epoch milliseconds, got ${describeValue(v)}` };
    }
    case 'any':
      return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) ? v : bad();
  }
}
