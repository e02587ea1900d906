/**
 * parseWriteRequest: a turbopuffer write body → WriteRequest, validated in full before anything is written.
 *
 * Two passes over the data. Pass 1 infers what the schema does not say yet (id type from the first id, vector
 * dims from the first vector, attribute types from first values, widening int → float within the request).
 * Pass 2 builds documents against the final schema, normalising every value; any mismatch is a 400 naming the
 * row. An id named twice (in any of upserts, patches and deletes) is a 400 too (unique-ids.ts). Nothing is partially
 * accepted.
 */
import { ElaxError, invalid, parseSharding, type AttributeSchema, type AttrValue, type DistanceMetric, type Doc, type Id, type Schema } from '../core/index.js';
import { tryParseType, vectorTypeString, type ParsedType } from './attr-type.js';
import { inferIdType, parseId } from './ids.js';
import { isVectorType, mergeSchema, schemaEquals } from './merge.js';
import { parseDistanceMetric, parseSchemaUpdate, validateAttrName } from './schema-update.js';
import {
  columnDims,
  columnVectors,
  dimsOf,
  hasAnyVector,
  isPlainObject,
  readColumns,
  readRows,
  undecidableVectors,
  type ColumnsSource,
  type Rec,
  type Source,
} from './sources.js';
import { checkUniqueIds, type IdBlock } from './unique-ids.js';
import { inferValueType, normalizeValue, widenInferred, type Where } from './values.js';
import { decodeVector, vectorSpec } from './vector.js';
import type { PatchDoc, WriteRequest } from './write-types.js';

const SUPPORTED_KEYS = new Set([
  'upsert_rows', 'upsert_columns', 'patch_rows', 'patch_columns', 'deletes',
  'delete_by_filter', 'delete_by_filter_allow_partial', 'patch_by_filter', 'patch_by_filter_allow_partial',
  'upsert_condition', 'patch_condition', 'delete_condition',
  'distance_metric', 'schema', 'return_affected_ids', 'disable_backpressure', 'encryption', 'namespace', 'sharding',
]);
const UNSUPPORTED_KEYS = new Set(['branch_from_namespace', 'copy_from_namespace']);

function metricOf(ann: AttributeSchema['ann']): DistanceMetric | undefined {
  return typeof ann === 'object' && ann !== null ? ann.distance_metric : undefined;
}

function optBool(b: Rec, key: string): boolean {
  const v = b[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw invalid(`${key} must be a boolean, got ${Array.isArray(v) ? 'array' : typeof v}`);
  return v;
}

/** Reusable locator of the value being parsed; formats its path only when an error message needs it. */
class Loc {
  key = '';
  row = -1;
  attr = '';
  columnar = false;
  /** The document's id once parsed (sparse vector errors name it). */
  id: Id | undefined = undefined;
  set(key: string, row: number, attr: string, columnar: boolean): this {
    this.key = key;
    this.row = row;
    this.attr = attr;
    this.columnar = columnar;
    return this;
  }
  toString(): string {
    if (this.row < 0) return `${this.key}.${this.attr}`;
    return this.columnar ? `${this.key}.${this.attr}[${this.row}]` : `${this.key}[${this.row}].${this.attr}`;
  }
}

/** Per-request cache of attribute name → parsed type, over the final schema. */
class TypeTable {
  private readonly map = new Map<string, { t: ParsedType; name: string } | null>();
  constructor(private readonly schema: Schema) {}
  get(attr: string): { t: ParsedType; name: string } | null {
    let e = this.map.get(attr);
    if (e === undefined) {
      const a = Object.hasOwn(this.schema, attr) ? this.schema[attr] : undefined;
      const t = a ? tryParseType(a.type) : null;
      e = a && t ? { t, name: a.type } : null;
      this.map.set(attr, e);
    }
    return e;
  }
}

interface Ctx {
  loc: Loc;
  types: TypeTable;
  idType: string | undefined;
  spec: { dims: number; elem: 'f32' | 'f16' } | undefined;
}

/** Normalise one attribute value (null → null). An attribute with no type can only hold [] (nothing to infer). */
function attrValue(ctx: Ctx, attr: string, v: unknown, where: Where): AttrValue {
  if (v === null || v === undefined) return null;
  const e = ctx.types.get(attr);
  if (e === null) {
    if (Array.isArray(v) && v.length === 0) return [];
    throw new ElaxError('ELAX_ERR_INTERNAL', `${where}: attribute '${attr}' has no type after inference`);
  }
  if ((e.t.kind === 'sparse' || e.t.kind === 'multivec') && ctx.loc.id !== undefined) {
    return normalizeValue(e.t, e.name, v, `${where} (document ${JSON.stringify(ctx.loc.id)})`, attr);
  }
  return normalizeValue(e.t, e.name, v, where, attr);
}

function patchVector(ctx: Ctx, raw: unknown, where: string): Float32Array | null {
  if (raw === null) return null;
  if (!ctx.spec) {
    throw invalid(`${where}: patches cannot set a vector because the namespace has no vector attribute; upsert the document with a vector instead`);
  }
  return decodeVector(raw, ctx.spec.dims, where, ctx.spec.elem);
}

function buildAttrs(ctx: Ctx, op: 'upsert' | 'patch', row: Rec, key: string, index: number): Record<string, AttrValue> {
  const attrs: Record<string, AttrValue> = {};
  for (const k in row) {
    if (k === 'id' || k === 'vector') continue;
    const v = attrValue(ctx, k, row[k], ctx.loc.set(key, index, k, false));
    if (v !== null || op === 'patch') attrs[k] = v; // upserts drop nulls (null = absent); patches keep them (= remove)
  }
  return attrs;
}

function buildRow(ctx: Ctx, op: 'upsert' | 'patch', row: Rec, key: string, index: number): Doc | PatchDoc {
  const where = `${key}[${index}]`;
  const id = parseId(row.id, ctx.idType, where);
  ctx.loc.id = id;
  const attrs = buildAttrs(ctx, op, row, key, index);
  ctx.loc.id = undefined;
  if (op === 'upsert') {
    const raw = row.vector;
    const vector = raw === null || raw === undefined ? null : decodeVector(raw, ctx.spec?.dims, `${where}.vector`, ctx.spec?.elem);
    return { id, vector, attrs };
  }
  const p: PatchDoc = { id, attrs };
  if (row.vector !== undefined) p.vector = patchVector(ctx, row.vector, `${where}.vector`);
  return p;
}

function buildColumns(ctx: Ctx, src: ColumnsSource, out: (Doc | PatchDoc)[]): void {
  const n = src.ids.length;
  const start = out.length;
  let vectors: (Float32Array | null)[] | null = null;
  if (src.vector !== undefined) {
    if (ctx.spec) vectors = columnVectors(src, ctx.spec);
    else if (hasAnyVector(src)) {
      if (src.op === 'patch') {
        throw invalid(`${src.key}.vector: patches cannot set a vector because the namespace has no vector attribute; upsert the documents with vectors instead`);
      }
      throw undecidableVectors(src);
    }
  }
  for (let i = 0; i < n; i++) {
    const id = parseId(src.ids[i], ctx.idType, `${src.key}.id[${i}]`);
    const doc: Doc | PatchDoc =
      src.op === 'upsert' ? { id, vector: vectors ? vectors[i]! : null, attrs: {} } : { id, attrs: {} };
    if (src.op === 'patch' && src.vector !== undefined) (doc as PatchDoc).vector = vectors ? vectors[i]! : null;
    out.push(doc);
  }
  for (const [name, col] of src.cols) {
    for (let i = 0; i < n; i++) {
      ctx.loc.id = out[start + i]!.id;
      const v = attrValue(ctx, name, col[i], ctx.loc.set(src.key, i, name, true));
      if (v !== null || src.op === 'patch') out[start + i]!.attrs[name] = v;
    }
  }
  ctx.loc.id = undefined;
}

/** Validates everything; throws ElaxError (400) with a precise message; never partially succeeds. */
export function parseWriteRequest(body: unknown, current: { schema: Schema; distanceMetric: DistanceMetric | null }): WriteRequest {
  if (!isPlainObject(body)) throw invalid('write request body must be a JSON object');
  const b: Rec = {};
  for (const key of Object.keys(body)) {
    const v = body[key];
    if (UNSUPPORTED_KEYS.has(key)) {
      if (v !== null && v !== undefined) throw invalid(`${key} is not supported by elax`);
      continue;
    }
    if (!SUPPORTED_KEYS.has(key)) throw invalid(`unknown write parameter '${key}'`);
    if (v !== null && v !== undefined) b[key] = v; // null = absent for every optional parameter
  }
  if (b.encryption !== undefined) {
    const mode = isPlainObject(b.encryption) ? b.encryption.mode : undefined;
    if (mode === 'customer-managed') throw invalid('encryption with customer-managed keys is not supported by elax');
    if (mode !== 'default') throw invalid(`encryption.mode must be 'default' or 'customer-managed'`);
  }
  // Checked against the namespace when the write is planned (write/sharding.ts): only its first write may set it.
  const sharding = b.sharding !== undefined ? parseSharding(b.sharding) : undefined;

  // Explicit schema first: it wins over inference and must agree with the current schema.
  const explicit = b.schema !== undefined ? parseSchemaUpdate(b.schema) : {};
  const working = mergeSchema(current.schema, explicit);

  // Gather document blocks in body key order (an id may appear once in all of them: unique-ids.ts).
  const sources: Source[] = [];
  for (const key of Object.keys(b)) {
    if (key === 'upsert_rows' || key === 'patch_rows') sources.push(readRows(key, b[key]));
    else if (key === 'upsert_columns' || key === 'patch_columns') sources.push(readColumns(key, b[key]));
  }
  let patchByFilterRaw: { filter: unknown; patch: Rec } | undefined;
  if (b.patch_by_filter !== undefined) {
    const pbf = b.patch_by_filter;
    if (!isPlainObject(pbf)) throw invalid('patch_by_filter must be an object with filters and patch');
    for (const k of Object.keys(pbf)) if (k !== 'filters' && k !== 'patch') throw invalid(`patch_by_filter: unknown key '${k}'`);
    if (pbf.filters === undefined || pbf.filters === null) throw invalid('patch_by_filter.filters is required');
    if (!isPlainObject(pbf.patch)) throw invalid('patch_by_filter.patch must be an object of attributes');
    if (Object.hasOwn(pbf.patch, 'id')) throw invalid('patch_by_filter.patch cannot change id');
    patchByFilterRaw = { filter: pbf.filters, patch: pbf.patch };
  }

  // Pass 1: infer id type, vector dims and attribute types not yet in the schema.
  const inferred = new Map<string, string>();
  let idType: string | undefined = working.id?.type;
  let dims = vectorSpec(working)?.dims;
  let upsertsVectors = false;
  let patchesVectors = false;
  const loc = new Loc();
  const observe = (name: string, v: unknown, where: Where) => {
    if (Object.hasOwn(working, name)) return; // names in the schema were validated when they got there
    validateAttrName(name, loc.key);
    const t = inferValueType(v, where, name);
    if (t === undefined) return;
    const prev = inferred.get(name);
    inferred.set(name, prev === undefined ? t : widenInferred(prev, t));
  };
  const observeId = (raw: unknown) => {
    if (idType === undefined) idType = inferIdType(raw);
  };
  for (const src of sources) {
    if (src.op === 'upsert') upsertsVectors ||= hasAnyVector(src);
    else patchesVectors ||= hasAnyVector(src);
    if (src.form === 'rows') {
      for (let i = 0; i < src.rows.length; i++) {
        const row = src.rows[i]!;
        observeId(row.id);
        for (const k in row) {
          if (k === 'id') continue;
          if (k === 'vector') {
            if (src.op === 'upsert' && dims === undefined && row.vector != null) dims = dimsOf(row.vector);
            continue;
          }
          observe(k, row[k], loc.set(src.key, i, k, false));
        }
      }
    } else {
      if (src.ids.length > 0) observeId(src.ids[0]);
      if (src.op === 'upsert' && dims === undefined && src.vector !== undefined) dims = columnDims(src);
      for (const [name, col] of src.cols) for (let i = 0; i < col.length; i++) observe(name, col[i], loc.set(src.key, i, name, true));
    }
  }
  if (patchByFilterRaw) {
    for (const k in patchByFilterRaw.patch) {
      if (k === 'vector') {
        patchesVectors ||= patchByFilterRaw.patch.vector !== null;
        continue;
      }
      observe(k, patchByFilterRaw.patch[k], loc.set('patch_by_filter.patch', -1, k, false));
    }
  }
  const deletesRaw = b.deletes;
  if (deletesRaw !== undefined) {
    if (!Array.isArray(deletesRaw)) throw invalid('deletes must be an array of ids');
    if (deletesRaw.length > 0) observeId(deletesRaw[0]);
  }

  // Distance metric: from distance_metric or schema.vector.ann.distance_metric; must not change once set.
  const bodyMetric = b.distance_metric !== undefined ? parseDistanceMetric(b.distance_metric, 'distance_metric') : undefined;
  const schemaMetric = metricOf(explicit.vector?.ann);
  if (bodyMetric && schemaMetric && bodyMetric !== schemaMetric) {
    throw invalid(`distance_metric '${bodyMetric}' disagrees with schema.vector.ann.distance_metric '${schemaMetric}'`);
  }
  const metric = bodyMetric ?? schemaMetric;
  if (metric && current.distanceMetric && metric !== current.distanceMetric) {
    throw invalid(`distance_metric '${metric}' conflicts with the namespace's existing metric '${current.distanceMetric}'`);
  }

  // The schema delta: explicit + inferred, plus the metric recorded on the vector attribute.
  const update: Schema = { ...explicit };
  if (idType !== undefined && !working.id) update.id = { type: idType };
  if (dims !== undefined && !working.vector) update.vector = { type: vectorTypeString(dims) };
  for (const [name, type] of inferred) update[name] = { type };
  const knownMetric = metric ?? current.distanceMetric ?? metricOf(working.vector?.ann);
  const vecType = update.vector?.type ?? working.vector?.type;
  if (vecType !== undefined && knownMetric !== undefined) {
    const ann = update.vector?.ann ?? working.vector?.ann;
    // ann: false (no ANN index) stays false; the metric still lives in the router for exact kNN.
    if (ann !== false && metricOf(ann) !== knownMetric) {
      const options = typeof ann === 'object' ? ann : {};
      update.vector = { ...(update.vector ?? { type: vecType }), ann: { ...options, distance_metric: knownMetric } };
    }
  }
  // Other vector columns (RFC-0014) without a metric of their own take the namespace's, recorded on their ann once known
  // (so the schema reports it and a later namespace metric cannot change how they rank).
  if (knownMetric !== undefined) {
    for (const name of new Set([...Object.keys(working), ...Object.keys(update)])) {
      if (name === 'vector' || name === 'id') continue;
      const a = Object.hasOwn(update, name) ? update[name] : working[name];
      if (a === undefined || !isVectorType(a.type)) continue;
      const ann = Object.hasOwn(update, name) && update[name]!.ann !== undefined ? update[name]!.ann : working[name]?.ann;
      if (ann === false || metricOf(ann) !== undefined || metricOf(working[name]?.ann) !== undefined) continue;
      update[name] = { ...(update[name] ?? { type: a.type }), ann: { ...(typeof ann === 'object' ? ann : {}), distance_metric: knownMetric } };
    }
  }
  const schema = mergeSchema(current.schema, update);
  // Patch vectors into a namespace without a vector attribute get their own error in pass 2.
  if ((upsertsVectors || (patchesVectors && schema.vector !== undefined)) && knownMetric === undefined) {
    throw invalid('distance_metric is required when writing vectors to a namespace that has none yet (cosine_distance or euclidean_squared)');
  }

  // Pass 2: build normalised documents against the final schema.
  const ctx: Ctx = { loc, types: new TypeTable(schema), idType: schema.id?.type, spec: vectorSpec(schema) };
  const upserts: Doc[] = [];
  const patches: PatchDoc[] = [];
  const idBlocks: IdBlock[] = [];
  for (const src of sources) {
    const out: (Doc | PatchDoc)[] = src.op === 'upsert' ? upserts : patches;
    const start = out.length;
    if (src.form === 'rows') {
      for (let i = 0; i < src.rows.length; i++) out.push(buildRow(ctx, src.op, src.rows[i]!, src.key, i));
    } else buildColumns(ctx, src, out);
    idBlocks.push({ key: src.key, form: src.form, length: out.length - start, id: (i) => out[start + i]!.id });
  }
  const deletes: Id[] = [];
  if (Array.isArray(deletesRaw)) for (let i = 0; i < deletesRaw.length; i++) deletes.push(parseId(deletesRaw[i], ctx.idType, `deletes[${i}]`));
  idBlocks.push({ key: 'deletes', form: 'list', length: deletes.length, id: (i) => deletes[i]! });
  checkUniqueIds(idBlocks);

  const req: WriteRequest = {
    upserts,
    patches,
    deletes,
    schema,
    schemaUpdate: update,
    schemaChanged: !schemaEquals(schema, current.schema),
    returnAffectedIds: optBool(b, 'return_affected_ids'),
    disableBackpressure: optBool(b, 'disable_backpressure'),
  };
  if (b.delete_by_filter !== undefined) {
    req.deleteByFilter = { filter: b.delete_by_filter, allowPartial: optBool(b, 'delete_by_filter_allow_partial') };
  }
  if (patchByFilterRaw) {
    const raw = patchByFilterRaw.patch;
    const p: PatchDoc = { id: 0, attrs: buildAttrs(ctx, 'patch', raw, 'patch_by_filter.patch', -1) };
    if (raw.vector !== undefined) p.vector = patchVector(ctx, raw.vector, 'patch_by_filter.patch.vector');
    req.patchByFilter = { filter: patchByFilterRaw.filter, patch: p, allowPartial: optBool(b, 'patch_by_filter_allow_partial') };
  }
  if (b.upsert_condition !== undefined) req.upsertCondition = b.upsert_condition;
  if (b.patch_condition !== undefined) req.patchCondition = b.patch_condition;
  if (b.delete_condition !== undefined) req.deleteCondition = b.delete_condition;
  // A metric known only from the schema (e.g. set through the schema endpoint) is handed to the router too.
  const reqMetric = metric ?? (current.distanceMetric === null ? metricOf(schema.vector?.ann) : undefined);
  if (reqMetric !== undefined) req.distanceMetric = reqMetric;
  if (sharding !== undefined) req.sharding = sharding;
  return req;
}
