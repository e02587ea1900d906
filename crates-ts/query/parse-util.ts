/**
 * Small helpers shared by the query parsers: the 400 they throw, and how a bad value is quoted in a message.
 */
import { ElaxError, type Schema } from '../core/index.js';

export function queryError(message: string): ElaxError {
  return new ElaxError('ELAX_ERR_INVALID_QUERY', message);
}

/** A short JSON rendering of a user value for error messages (never the whole 1536-float vector). */
export function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

export function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Checks an integer count parameter (top_k, limit, per.limit). */
export function parseCount(v: unknown, what: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw queryError(`${what} must be an integer, got ${show(v)}`);
  if (v < 1) throw queryError(`${what} must be at least 1, got ${v}`);
  if (v > max) throw queryError(`${what} ${v} exceeds the maximum of ${max}`);
  return v;
}

export function hasAttribute(schema: Schema, name: string): boolean {
  return name === 'id' || Object.prototype.hasOwnProperty.call(schema, name);
}

/** The attribute must exist in the namespace schema ('id' always does). */
export function requireAttribute(schema: Schema, name: string, where: string): void {
  if (!hasAttribute(schema, name)) {
    throw queryError(`${where}: attribute '${name}' does not exist in the namespace schema`);
  }
}

/** Whether `name` is a sparse vector attribute (`{}f16` / `{}f32`): ranked by SparseKNN, never a key or a group. */
export function isSparseType(schema: Schema, name: string): boolean {
  const t = Object.hasOwn(schema, name) ? schema[name]?.type : undefined;
  return t === '{}f16' || t === '{}f32';
}

/** Whether `name` is a multi-vector attribute (`[][N]f32`, RFC-0015): ranked by kNN / ANN, never a key or a group. */
export function isMultiVectorType(schema: Schema, name: string): boolean {
  const t = Object.hasOwn(schema, name) ? schema[name]?.type : undefined;
  return typeof t === 'string' && t.startsWith('[][');
}

export function isArrayType(schema: Schema, name: string): boolean {
  const t = schema[name]?.type;
  return typeof t === 'string' && t.startsWith('[');
}
