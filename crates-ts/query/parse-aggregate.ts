/**
 * aggregate_by and group_by → AggregateSpec[] / GroupKeySpec[] (turbopuffer AggregateBy, GroupBy).
 *  - aggregate_by: {label: ["Count"] | ["Count", attr] | ["Sum", attr]}; Sum needs a scalar int/uint/float.
 *  - group_by: [attr | {label: ["ForEachUnique", attr]}]; plain keys must be scalar (arrays need ForEachUnique).
 */
import type { Schema } from '../core/index.js';
import { queryError, show, isPlainObject, requireAttribute, isArrayType, isSparseType, isMultiVectorType } from './parse-util.js';
import type { AggregateSpec, GroupKeySpec } from './types.js';

const NUMERIC_TYPES = new Set(['int', 'uint', 'float']);

export function parseAggregateBy(v: unknown, schema: Schema): AggregateSpec[] {
  if (!isPlainObject(v)) throw queryError(`aggregate_by must be an object mapping labels to aggregate functions, got ${show(v)}`);
  const labels = Object.keys(v);
  if (labels.length === 0) throw queryError('aggregate_by must contain at least one aggregation');
  return labels.map((label): AggregateSpec => {
    const where = `aggregate_by.${label}`;
    if (label === '' || label === '__proto__') throw queryError(`aggregate_by label ${show(label)} is not allowed`);
    const f = v[label];
    if (!Array.isArray(f) || f.length === 0 || typeof f[0] !== 'string') {
      throw queryError(`${where} must be ["Count"], ["Count", attribute] or ["Sum", attribute], got ${show(f)}`);
    }
    const [fn, attr] = f as [string, unknown];
    if (fn !== 'Count' && fn !== 'Sum') throw queryError(`${where}: unknown aggregate function ${show(fn)} (supported: Count, Sum)`);
    if (f.length > 2) throw queryError(`${where}: ${fn} takes at most one attribute, got ${show(f)}`);
    if (f.length === 1) {
      if (fn === 'Sum') throw queryError(`${where}: Sum needs an attribute, e.g. ["Sum", "price"]`);
      return { label, fn: 'count' };
    }
    if (typeof attr !== 'string') throw queryError(`${where}: the attribute must be a string, got ${show(attr)}`);
    requireAttribute(schema, attr, where);
    if (fn === 'Count') return { label, fn: 'count_attr', attr };
    const type = attr === 'id' ? schema.id?.type : schema[attr]?.type;
    if (attr === 'id' || !type || !NUMERIC_TYPES.has(type)) {
      throw queryError(`${where}: Sum needs a scalar numeric attribute (int, uint, float); '${attr}' is ${type ?? 'not numeric'}`);
    }
    return { label, fn: 'sum', attr };
  });
}

export function parseGroupBy(v: unknown, schema: Schema, aggregates: AggregateSpec[]): GroupKeySpec[] {
  if (!Array.isArray(v) || v.length === 0) throw queryError(`group_by must be a non-empty array of attribute names, got ${show(v)}`);
  const labels = new Set(aggregates.map((a) => a.label));
  const seen = new Set<string>();
  const keys = v.map((g, i): GroupKeySpec => {
    const where = `group_by[${i}]`;
    let key: GroupKeySpec;
    if (typeof g === 'string') {
      requireAttribute(schema, g, where);
      if (g === 'vector') throw queryError(`${where}: cannot group by 'vector'`);
      if (isSparseType(schema, g)) throw queryError(`${where}: cannot group by sparse vector attribute '${g}'`);
      if (isMultiVectorType(schema, g)) throw queryError(`${where}: cannot group by multi-vector attribute '${g}'`);
      if (isArrayType(schema, g)) {
        throw queryError(`${where}: '${g}' is an array attribute (${schema[g]!.type}); group by {"${g}": ["ForEachUnique", "${g}"]} instead`);
      }
      key = { label: g, attr: g, forEachUnique: false };
    } else if (isPlainObject(g) && Object.keys(g).length === 1) {
      const label = Object.keys(g)[0]!;
      const f = g[label];
      if (!Array.isArray(f) || f.length !== 2 || f[0] !== 'ForEachUnique' || typeof f[1] !== 'string') {
        throw queryError(`${where}.${label} must be ["ForEachUnique", attribute], got ${show(f)}`);
      }
      requireAttribute(schema, f[1], where);
      if (f[1] === 'vector') throw queryError(`${where}: cannot group by 'vector'`);
      if (isSparseType(schema, f[1])) throw queryError(`${where}: cannot group by sparse vector attribute '${f[1]}'`);
      if (isMultiVectorType(schema, f[1])) throw queryError(`${where}: cannot group by multi-vector attribute '${f[1]}'`);
      key = { label, attr: f[1], forEachUnique: true };
    } else {
      throw queryError(`${where} must be an attribute name or {label: ["ForEachUnique", attribute]}, got ${show(g)}`);
    }
    if (key.label === '__proto__') throw queryError(`${where}: group key label '__proto__' is not allowed`);
    if (seen.has(key.label)) throw queryError(`${where}: group key '${key.label}' appears twice`);
    if (labels.has(key.label)) throw queryError(`${where}: group key '${key.label}' has the same name as an aggregation label`);
    seen.add(key.label);
    return key;
  });
  return keys;
}
