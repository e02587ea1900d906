/**
 * schema: what a document may look like. Owns attribute types, schema inference and merging, validation and
 * normalisation of values, ids and vectors, and the parsing of a whole turbopuffer write body into a validated
 * WriteRequest (all-or-nothing, 400 ElaxErrors naming the row, attribute, expected and got).
 * It does not compile filters (filter/), resolve patches/conditions against stored state (write/), enforce row
 * count or size limits (server), or store anything: it is pure and does no I/O.
 */
export type { PatchDoc, WriteRequest } from './write-types.js';
export { parseWriteRequest } from './write-request.js';
export { parseSchemaUpdate, parseDistanceMetric, validateAttrName, MAX_ATTR_NAME_BYTES } from './schema-update.js';
export { mergeSchema, schemaEquals } from './merge.js';
export { validateDocAgainstSchema, applyPatch } from './doc.js';
export { parseId, inferIdType, MAX_STRING_ID_BYTES } from './ids.js';
export { decodeVector, encodeVectorBase64, vectorDims, vectorSpec } from './vector.js';
export { renderSchemaForResponse } from './render.js';
export { tryParseType, MAX_VECTOR_DIMS, type ParsedType, type ScalarKind } from './attr-type.js';
export { f16round } from './f16.js';
export { normalizeUuid, normalizeDatetime } from './scalars.js';
