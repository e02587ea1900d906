/**
 * Projections: which attributes a row carries, and building rows from documents.
 *
 * Per turbopuffer's query docs: `id` is always returned; include_attributes defaults to id only; `true` returns
 * every attribute (the vector included); a list returns those names and must name attributes in the schema
 * ("vector" allowed); exclude_attributes returns everything except the named ones, silently ignoring names that
 * do not exist; the two cannot be combined. Attributes a document lacks (absent or null) are omitted from its row.
 */
import type { Doc, Schema } from '../core/index.js';
import { encodeBase64Vector, encodeFloatVector } from './vector-codec.js';
import { queryError, show, isStringArray, requireAttribute } from './parse-util.js';
import type { Projection, Row, VectorEncoding } from './types.js';

/** Most names in include_attributes / exclude_attributes: bounds per-request work; far above any real schema's use. */
export const MAX_PROJECTION_ATTRIBUTES = 4096;

export function parseProjection(include: unknown, exclude: unknown, schema: Schema): Projection {
  const p = parseProjectionKind(include, exclude, schema);
  if (p.kind === 'none') return p;
  const vectorAttrs = Object.keys(schema).filter((n) => n !== 'vector' && VECTOR_TYPE.test(schema[n]!.type));
  return vectorAttrs.length > 0 ? { ...p, vectorAttrs } : p;
}

const VECTOR_TYPE = /^\[\d+\]f(32|16)$/;

function parseProjectionKind(include: unknown, exclude: unknown, schema: Schema): Projection {
  if (include !== undefined && exclude !== undefined) {
    throw queryError('include_attributes and exclude_attributes cannot both be given');
  }
  for (const [what, v] of [['include_attributes', include], ['exclude_attributes', exclude]] as const) {
    if (Array.isArray(v) && v.length > MAX_PROJECTION_ATTRIBUTES) {
      throw queryError(`${what} lists ${v.length} names; the limit is ${MAX_PROJECTION_ATTRIBUTES}`);
    }
  }
  if (exclude !== undefined) {
    if (!isStringArray(exclude)) throw queryError(`exclude_attributes must be an array of attribute names, got ${show(exclude)}`);
    const attrs = new Set(exclude);
    return { kind: 'exclude', attrs, vector: !attrs.has('vector') };
  }
  if (include === undefined || include === false) return { kind: 'none' };
  if (include === true) return { kind: 'all' };
  if (!isStringArray(include)) {
    throw queryError(`include_attributes must be true, false or an array of attribute names, got ${show(include)}`);
  }
  const attrs = new Set<string>();
  let vector = false;
  include.forEach((name, i) => {
    requireAttribute(schema, name, `include_attributes[${i}]`);
    if (name === 'vector') vector = true;
    else if (name !== 'id') attrs.add(name);
  });
  return { kind: 'include', attrs: [...attrs], vector };
}

function encodeVector(v: Float32Array, enc: VectorEncoding): number[] | string {
  return enc === 'base64' ? encodeBase64Vector(v) : encodeFloatVector(v);
}

/** Builds the response row for one document. `dist` is omitted when undefined (attribute order). */
export function buildRow(doc: Doc, dist: number | undefined, p: Projection, enc: VectorEncoding): Row {
  const row: Row = { id: doc.id };
  if (dist !== undefined) row.$dist = dist;
  if (p.kind === 'none') return row;
  const wantVector = p.kind === 'all' || p.vector;
  if (wantVector && doc.vector) row.vector = encodeVector(doc.vector, enc);
  const attrs = doc.attrs;
  if (p.kind === 'include') {
    for (const name of p.attrs) {
      const v = attrs[name];
      if (v !== undefined && v !== null) row[name] = v;
    }
  } else {
    for (const name in attrs) {
      if (p.kind === 'exclude' && p.attrs.has(name)) continue;
      const v = attrs[name];
      if (v !== undefined && v !== null) row[name] = v;
    }
  }
  // Other vector attributes (RFC-0014) are stored as number arrays; base64 encoding applies to them as to `vector`.
  if (enc === 'base64' && p.vectorAttrs !== undefined) {
    for (const name of p.vectorAttrs) {
      const v = row[name];
      if (Array.isArray(v)) row[name] = encodeBase64Vector(Float32Array.from(v as number[]));
    }
  }
  return row;
}
