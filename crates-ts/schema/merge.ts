/**
 * Schema merging: types never change once set; options (filterable, full_text_search, regex, glob, ann) follow the
 * latest update. Output is canonical (attribute order: current's, then new ones; field order: type, filterable,
 * full_text_search, regex, glob, ann) so equal schemas serialise identically.
 */
import { ElaxError, type AttributeSchema, type Schema } from '../core/index.js';
import { tryParseType } from './attr-type.js';

/**
 * Vector columns per namespace, `vector` included (turbopuffer's limits page: "Max vector columns per namespace: 2").
 * Every [N]f32 / [N]f16 attribute is one; each has its own ann index and distance_metric (RFC-0014).
 */
export const MAX_VECTOR_COLUMNS = 2;

/** Whether an attribute's type is a dense vector ([N]f32 / [N]f16). */
export function isVectorType(type: string | undefined): boolean {
  if (type === undefined || !type.startsWith('[') || type.startsWith('[]')) return false;
  return tryParseType(type)?.kind === 'vector';
}

function ftsEnabled(a: AttributeSchema | undefined): boolean {
  return !!a && typeof a.full_text_search === 'object' && a.full_text_search !== null;
}

/**
 * turbopuffer's default of `filterable`: "true (false if full-text search or regex is enabled)"; regex, glob and fuzzy
 * each say "If set, filterable defaults to false".
 */
function defaultFilterable(a: AttributeSchema): boolean {
  return !(ftsEnabled(a) || a.regex === true || a.glob === true || a.fuzzy === true);
}

/** Which of the options that decide the default of `filterable` an attribute has on. */
function indexOptions(a: AttributeSchema): string {
  return `${ftsEnabled(a)}/${a.regex === true}/${a.glob === true}/${a.fuzzy === true}`;
}

/** One attribute in canonical form with defaults filled (filterable: defaultFilterable; regex / glob only when on). */
export function canonicalAttr(name: string, a: AttributeSchema): AttributeSchema {
  if (name === 'id') return { type: a.type };
  if (name === 'vector') return { type: a.type, ann: a.ann ?? true };
  if (isVectorType(a.type)) return { type: a.type, filterable: false, ann: a.ann ?? true };
  const out: AttributeSchema = { type: a.type, filterable: a.filterable ?? defaultFilterable(a) };
  if (ftsEnabled(a)) out.full_text_search = { ...(a.full_text_search as object) } as AttributeSchema['full_text_search'];
  if (a.regex === true) out.regex = true;
  if (a.glob === true) out.glob = true;
  if (a.fuzzy === true) out.fuzzy = true;
  if (a.sparse_knn !== undefined) {
    out.filterable = false; // sparse vectors are ranked (SparseKNN), never filtered
    out.sparse_knn = { distance_metric: a.sparse_knn.distance_metric };
  } else if (a.type === '{}f16' || a.type === '{}f32') out.filterable = false;
  if (a.type.startsWith('[][')) {
    // Multi-vector attributes (RFC-0015) are ranked (kNN / ANN), never filtered; `ann` is their index option.
    out.filterable = false;
    if (typeof a.ann === 'object' && a.ann !== null) out.ann = { ...a.ann };
  }
  return out;
}

function metricOf(ann: AttributeSchema['ann']): string | undefined {
  return typeof ann === 'object' && ann !== null ? ann.distance_metric : undefined;
}

function mergeAttr(name: string, cur: AttributeSchema, upd: AttributeSchema): AttributeSchema {
  if (cur.type !== upd.type) {
    throw new ElaxError(
      'ELAX_ERR_SCHEMA_CONFLICT',
      `attribute '${name}' has type ${cur.type}; it cannot be changed to ${upd.type} (types are fixed once set)`,
    );
  }
  const next: AttributeSchema = { type: cur.type };
  next.full_text_search = upd.full_text_search !== undefined ? upd.full_text_search : cur.full_text_search;
  next.regex = upd.regex ?? cur.regex;
  next.glob = upd.glob ?? cur.glob;
  next.fuzzy = upd.fuzzy ?? cur.fuzzy;
  next.sparse_knn = upd.sparse_knn ?? cur.sparse_knn;
  // Turning full-text search, regex or glob on (off) without saying `filterable` applies turbopuffer's default for the
  // new state; otherwise filterable stays what it was.
  if (upd.filterable !== undefined) next.filterable = upd.filterable;
  else if (indexOptions(next) === indexOptions(cur) && cur.filterable !== undefined) next.filterable = cur.filterable;
  if (name !== 'vector' && cur.type.startsWith('[][')) {
    const cm = metricOf(cur.ann);
    const um = metricOf(upd.ann);
    if (cm !== undefined && um !== undefined && cm !== um) {
      throw new ElaxError('ELAX_ERR_SCHEMA_CONFLICT', `attribute '${name}' uses distance_metric ${cm}; it cannot be changed to ${um}`);
    }
    if (upd.ann === undefined) next.ann = cur.ann;
    else if (upd.ann === false) next.ann = cm !== undefined ? { distance_metric: cm as 'cosine_distance', late_interaction: false } : false;
    else if (typeof upd.ann === 'object' && typeof cur.ann === 'object') next.ann = { ...cur.ann, ...upd.ann };
    else next.ann = upd.ann;
  }
  if (name === 'vector' || isVectorType(cur.type)) {
    const cm = metricOf(cur.ann);
    const um = metricOf(upd.ann);
    if (cm !== undefined && um !== undefined && cm !== um) {
      throw new ElaxError(
        'ELAX_ERR_SCHEMA_CONFLICT',
        `attribute '${name}' uses distance_metric ${cm}; it cannot be changed to ${um}`,
      );
    }
    // `ann: true` means "enabled" and must not forget options already chosen; an object updates only the options
    // it names (setting ef_search keeps the metric).
    if (upd.ann === undefined || (upd.ann === true && typeof cur.ann === 'object')) next.ann = cur.ann;
    else if (typeof upd.ann === 'object' && typeof cur.ann === 'object') next.ann = { ...cur.ann, ...upd.ann };
    else next.ann = upd.ann;
  }
  return canonicalAttr(name, next);
}

/** Merge `update` into `current`. Throws ELAX_ERR_SCHEMA_CONFLICT on a type (or vector metric) change. Pure. */
export function mergeSchema(current: Schema, update: Schema): Schema {
  const out: Schema = {};
  for (const name of Object.keys(current)) {
    const cur = current[name]!;
    const upd = Object.hasOwn(update, name) ? update[name] : undefined;
    out[name] = upd === undefined ? canonicalAttr(name, cur) : mergeAttr(name, cur, upd);
  }
  for (const name of Object.keys(update)) {
    if (Object.hasOwn(out, name)) continue;
    out[name] = canonicalAttr(name, update[name]!);
  }
  const vectors = Object.keys(out).filter((n) => isVectorType(out[n]!.type));
  if (vectors.length > MAX_VECTOR_COLUMNS) {
    throw new ElaxError(
      'ELAX_ERR_INVALID_REQUEST',
      `schema: a namespace has at most ${MAX_VECTOR_COLUMNS} vector columns ([N]f32 / [N]f16 attributes, 'vector' included); this one would have ${vectors.length} (${vectors.map((n) => `'${n}'`).join(', ')})`,
    );
  }
  return out;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

/** Structural equality ignoring key order and undefined fields. */
export function schemaEquals(a: Schema, b: Schema): boolean {
  return deepEqual(a, b);
}
