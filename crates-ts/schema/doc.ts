/**
 * Whole-document checks and patch application on already-normalised documents. These run at commit time for
 * every resolved row, so they only check (no normalisation, no allocation on success).
 */
import { ElaxError, type Doc, type Schema } from '../core/index.js';
import { tryParseType } from './attr-type.js';
import type { PatchDoc } from './write-types.js';
import { checkStoredValue, describeValue } from './values.js';
import { vectorSpec } from './vector.js';

function conflict(msg: string): ElaxError {
  return new ElaxError('ELAX_ERR_SCHEMA_CONFLICT', msg);
}

/**
 * Validate a full doc against a schema (again at commit time, when another writer may have changed the schema).
 * An empty array is accepted for an attribute the schema does not know yet: [] carries no element type.
 */
export function validateDocAgainstSchema(doc: Doc, schema: Schema): void {
  const idType = schema.id?.type;
  if (idType !== undefined) {
    const ok = idType === 'uint' ? typeof doc.id === 'number' : typeof doc.id === 'string';
    if (!ok) throw new ElaxError('ELAX_ERR_INVALID_ID', `document ${JSON.stringify(doc.id)}: id does not match the namespace's id type ${idType}`);
  }
  if (doc.vector !== null) {
    const spec = vectorSpec(schema);
    if (!spec) throw conflict(`document ${JSON.stringify(doc.id)} has a vector but the namespace schema has no vector attribute`);
    if (doc.vector.length !== spec.dims) {
      throw new ElaxError(
        'ELAX_ERR_INVALID_VECTOR',
        `document ${JSON.stringify(doc.id)}: vector has ${doc.vector.length} dimensions but the namespace's vectors have ${spec.dims}`,
      );
    }
  }
  for (const name in doc.attrs) {
    const v = doc.attrs[name];
    if (v === null || v === undefined) continue;
    const a = Object.hasOwn(schema, name) ? schema[name] : undefined;
    if (a === undefined || name === 'id' || name === 'vector') {
      if (Array.isArray(v) && v.length === 0 && name !== 'id' && name !== 'vector') continue;
      throw conflict(`document ${JSON.stringify(doc.id)}: attribute '${name}' is not in the namespace schema`);
    }
    const t = tryParseType(a.type);
    if (!t || !checkStoredValue(t, v)) {
      throw conflict(`document ${JSON.stringify(doc.id)}: attribute '${name}' has type ${a.type}, got ${describeValue(v)}`);
    }
  }
}

/** Apply a patch to a doc (new Doc; the input is not modified). vector null removes it; attr null removes it. */
export function applyPatch(doc: Doc, patch: PatchDoc): Doc {
  const attrs = { ...doc.attrs };
  for (const name in patch.attrs) {
    const v = patch.attrs[name];
    if (v === null || v === undefined) delete attrs[name];
    else attrs[name] = v;
  }
  return { id: doc.id, vector: patch.vector !== undefined ? patch.vector : doc.vector, attrs };
}
