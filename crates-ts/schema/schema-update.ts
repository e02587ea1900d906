/**
 * Validation of a user-supplied schema object (the write `schema` field and POST /namespaces/:ns/schema).
 * The result holds only what the user said, normalised; defaults are filled by mergeSchema when an attribute
 * is first created, so an update that omits `filterable` does not silently reset it.
 */
import { DISTANCE_METRICS, invalid, type AnnConfig, type AttributeSchema, type DistanceMetric, type Schema } from '../core/index.js';
import { ID_TYPES, parseType } from './attr-type.js';
import { normalizeFullTextConfig } from '../fts/index.js';

export const MAX_ATTR_NAME_BYTES = 128;

/** Types Regex and Glob filters read (filter/pattern-ops.ts), scalars or arrays. */
const PATTERN_SCALARS = new Set(['string', 'uuid', 'datetime']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const validNames = new Set<string>();

/** Attribute names: non-empty, ≤ 128 UTF-8 bytes, not starting with `$` (reserved for computed fields like $dist). */
export function validateAttrName(name: string, where: string): void {
  if (validNames.has(name)) return;
  if (name.length === 0) throw invalid(`${where}: attribute names must not be empty`);
  if (name.startsWith('$')) throw invalid(`${where}: attribute name '${name.slice(0, 130)}' must not start with '$' (reserved)`);
  if (name === '__proto__') throw invalid(`${where}: attribute name '__proto__' is reserved`);
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_ATTR_NAME_BYTES) {
    throw invalid(`${where}: attribute name '${name.slice(0, 40)}…' is ${bytes} bytes; the maximum is ${MAX_ATTR_NAME_BYTES}`);
  }
  if (validNames.size < 100_000) validNames.add(name);
}

export function parseDistanceMetric(v: unknown, where: string): DistanceMetric {
  if (typeof v === 'string' && (DISTANCE_METRICS as readonly string[]).includes(v)) return v as DistanceMetric;
  throw invalid(`${where} must be one of ${DISTANCE_METRICS.join(', ')}, got ${JSON.stringify(v)}`);
}

/** HNSW parameters settable per namespace in vector.ann (elax extension), with their accepted ranges. */
const HNSW_LIMITS = { m: [2, 128], ef_construction: [1, 4096], ef_search: [1, 10_000] } as const;

function parseAnn(v: unknown, attr: string, multivec = false): NonNullable<AttributeSchema['ann']> {
  if (typeof v === 'boolean') return v;
  if (!isPlainObject(v)) throw invalid(`schema for attribute '${attr}': ann must be a boolean or an object`);
  const out: AnnConfig = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    if (k === 'distance_metric') out.distance_metric = parseDistanceMetric(x, `schema for attribute '${attr}': ann.distance_metric`);
    else if (k === 'late_interaction') {
      if (typeof x !== 'boolean') throw invalid(`schema for attribute '${attr}': ann.late_interaction must be a boolean`);
      if (x && !multivec) throw invalid(`schema for attribute '${attr}': ann.late_interaction is only valid on [][N]f32 (multi-vector) attributes`);
      if (multivec) out.late_interaction = x;
    } else if (Object.hasOwn(HNSW_LIMITS, k)) {
      const [lo, hi] = HNSW_LIMITS[k as keyof typeof HNSW_LIMITS];
      if (!Number.isInteger(x) || (x as number) < lo || (x as number) > hi) {
        throw invalid(`schema for attribute '${attr}': ann.${k} must be an integer in ${lo}..${hi}, got ${JSON.stringify(x)}`);
      }
      out[k as keyof typeof HNSW_LIMITS] = x as number;
    } else throw invalid(`schema for attribute '${attr}': unknown ann option '${k}'; valid options: distance_metric, m, ef_construction, ef_search`);
  }
  return Object.keys(out).length === 0 ? true : out;
}

/**
 * `ann` of a `[][N]f32` attribute (RFC-0015): an object with `late_interaction: true` (and optionally
 * `distance_metric`), as the client's AnnConfig says: late_interaction "is required to enable an ANN index on such
 * attributes". `ann: false` (or late_interaction false) is no index; `ann: true` alone is a 400.
 */
function parseMultiAnn(v: unknown, attr: string): NonNullable<AttributeSchema['ann']> {
  if (v === false) return false;
  if (v === true) {
    throw invalid(`schema for attribute '${attr}': an ANN index on a [][N]f32 attribute needs ann: {"late_interaction": true}`);
  }
  const out = parseAnn(v, attr, true);
  if (typeof out !== 'object') throw invalid(`schema for attribute '${attr}': an ANN index on a [][N]f32 attribute needs ann: {"late_interaction": true}`);
  for (const k of ['m', 'ef_construction', 'ef_search'] as const) {
    if (out[k] !== undefined) throw invalid(`schema for attribute '${attr}': ann.${k} is not supported on [][N]f32 attributes`);
  }
  if (out.late_interaction !== true) {
    if (out.distance_metric !== undefined) return { distance_metric: out.distance_metric, late_interaction: false };
    return false;
  }
  return out;
}

/** Parse one attribute's schema (a type string or a config object). */
export function parseAttributeSchema(name: string, raw: unknown): AttributeSchema {
  validateAttrName(name, 'schema');
  let cfg: Record<string, unknown>;
  if (typeof raw === 'string') cfg = { type: raw };
  else if (isPlainObject(raw)) cfg = raw;
  else {
    const got = raw === null ? 'null' : Array.isArray(raw) ? 'array' : typeof raw;
    throw invalid(`schema for attribute '${name}' must be a type string or an object with a 'type', got ${got}`);
  }
  if (cfg.type === undefined) {
    throw invalid(`schema for attribute '${name}': 'type' is required whenever an attribute's schema is given`);
  }
  const t = parseType(cfg.type, name);
  const type = cfg.type as string;
  if (name === 'id') {
    if (!ID_TYPES.includes(type)) throw invalid(`schema for attribute 'id': type must be one of ${ID_TYPES.join(', ')}, got '${type}'`);
  } else if (name === 'vector') {
    if (t.kind !== 'vector') throw invalid(`schema for attribute 'vector': type must be [N]f32 or [N]f16, got '${type}'`);
  }
  // Other [N]f32 / [N]f16 attributes are vector columns of their own (RFC-0014): ranked by kNN / ANN with their own
  // metric; at most MAX_VECTOR_COLUMNS per namespace (merge.ts), never filterable.
  if (t.kind === 'multivec' && name === 'id') {
    throw invalid(`schema for attribute 'id': multi-vector types are for other attributes, not 'id'`);
  }
  if (t.kind === 'sparse' && (name === 'id' || name === 'vector')) {
    throw invalid(`schema for attribute '${name}': sparse vector types are for other attributes, not '${name}'`);
  }
  const out: AttributeSchema = { type };
  for (const [k, v] of Object.entries(cfg)) {
    if (k === 'type' || v === undefined) continue;
    const where = `schema for attribute '${name}'`;
    switch (k) {
      case 'filterable':
        if (typeof v !== 'boolean') throw invalid(`${where}: filterable must be a boolean`);
        if (name === 'vector') throw invalid(`${where}: the vector attribute cannot be filterable`);
        if (v && t.kind === 'vector') throw invalid(`${where}: vector attributes cannot be filterable (rank by them with kNN or ANN)`);
        if (name === 'id' && !v) throw invalid(`${where}: id is always filterable`);
        if (v && t.kind === 'sparse') throw invalid(`${where}: sparse vector attributes cannot be filterable (rank by them with SparseKNN)`);
        if (v && t.kind === 'multivec') throw invalid(`${where}: multi-vector attributes cannot be filterable (rank by them with kNN or ANN)`);
        if (name !== 'id') out.filterable = v;
        break;
      case 'full_text_search':
        if (v === false) {
          if (name !== 'id' && name !== 'vector') out.full_text_search = false;
          break;
        }
        if (t.kind !== 'scalar' || t.scalar !== 'string' || name === 'id') {
          throw invalid(`${where}: full_text_search requires type string or []string, not '${type}'`);
        }
        out.full_text_search = normalizeFullTextConfig(v, name);
        break;
      case 'ann':
        if (t.kind === 'multivec') {
          out.ann = parseMultiAnn(v, name);
          break;
        }
        if (t.kind !== 'vector') throw invalid(`${where}: ann applies only to vector attributes ([N]f32 or [N]f16), not '${type}'`);
        out.ann = parseAnn(v, name);
        break;
      case 'regex':
      case 'glob':
        // Kept (and reported) as given: with one set, filterable defaults to false (merge.ts). elax needs no special
        // index for them; they allow Regex / Glob filters on an attribute that is not filterable.
        if (typeof v !== 'boolean') throw invalid(`${where}: ${k} must be a boolean`);
        if (name === 'id') throw invalid(`${where}: ${k} is an option of attributes, not of the id (the id is always filterable)`);
        if (name === 'vector') throw invalid(`${where}: ${k} is an option of string attributes, not of the vector`);
        if (t.kind !== 'scalar' || !PATTERN_SCALARS.has(t.scalar)) {
          throw invalid(`${where}: ${k} requires a string, uuid or datetime type (or an array of one), not '${type}'`);
        }
        out[k] = v;
        break;
      case 'fuzzy':
        // Fuzzy filters on this attribute (filter/fuzzy-ops.ts), with an index of its values in parts
        // (part/fuzzy-index.ts); like regex and glob, filterable then defaults to false (merge.ts).
        if (typeof v !== 'boolean') throw invalid(`${where}: ${k} must be a boolean`);
        if (name === 'id' || name === 'vector') throw invalid(`${where}: fuzzy is an option of string attributes, not of the ${name === 'id' ? 'id' : 'vector'}`);
        if (t.kind !== 'scalar' || t.scalar !== 'string') throw invalid(`${where}: fuzzy requires type string or []string, not '${type}'`);
        out.fuzzy = v;
        break;
      case 'embed':
        if (v !== null) throw invalid(`${where}: embed (automatic embedding) is not supported by elax`);
        break;
      case 'sparse_knn':
        if (t.kind !== 'sparse') throw invalid(`${where}: sparse_knn requires type {}f16 or {}f32, not '${type}'`);
        if (!isPlainObject(v)) throw invalid(`${where}: sparse_knn must be an object {"distance_metric": "dot_product"}`);
        for (const [o, x] of Object.entries(v)) {
          if (o !== 'distance_metric') throw invalid(`${where}: unknown sparse_knn option '${o}'; valid options: distance_metric`);
          if (x !== 'dot_product') throw invalid(`${where}: sparse_knn.distance_metric must be dot_product, got ${JSON.stringify(x)}`);
        }
        if (v.distance_metric === undefined) throw invalid(`${where}: sparse_knn.distance_metric is required (dot_product)`);
        out.sparse_knn = { distance_metric: 'dot_product' };
        break;
      default:
        throw invalid(`${where}: unknown schema option '${k}'`);
    }
  }
  return out;
}

/** Validate + normalise a schema object ({ attr: type | config }). Throws 400 naming the attribute. */
export function parseSchemaUpdate(raw: unknown): Schema {
  if (!isPlainObject(raw)) throw invalid(`schema must be an object mapping attribute names to types or configs`);
  const out: Schema = {};
  for (const [name, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    out[name] = parseAttributeSchema(name, v);
  }
  return out;
}
