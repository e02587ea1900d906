/**
 * JSON Schemas of the HTTP API's request bodies, query strings and path parameters: fastify validates each request
 * against its route's schema before the engine sees it (edge-errors.ts maps a failure to the engine's own code and
 * message), and @fastify/swagger publishes them as the OpenAPI document at GET /openapi.json (openapi.ts).
 *
 * The schemas check the envelope: the body is an object, which keys it may have, and each top-level field's type,
 * enum and range. They stay shallow where the data is: rows, columns, filters, rank_by expressions and attribute
 * schemas are checked by the engine's parsers (crates-ts/schema, crates-ts/query, crates-ts/filter), which walk them
 * anyway and name the exact row or clause; validating a 100k-row upsert twice would double its cost for nothing.
 * The engine validates everything again (it also serves the CLI and embedders): these schemas never accept what it
 * refuses with another message, and route-schemas.test.ts checks that every message given here is the engine's.
 *
 * A new body field needs its property here: the write body refuses unknown keys at the edge (the lists are checked
 * against the engine's in route-schemas.test.ts).
 */
import { DISTANCE_METRICS } from '../crates-ts/core/index.js';
import { MAX_TOP_K, MAX_MULTI_QUERIES } from '../crates-ts/query/types.js';
import { MAX_EF_SEARCH } from '../crates-ts/query/parse-query.js';
import { MAX_RECALL_PROBES } from '../crates-ts/engine/recall.js';
import { MESSAGE_KEYWORD as M } from './edge-errors.js';

type JsonSchema = Record<string, unknown>;

const nullable = (type: string | string[]) => [...(Array.isArray(type) ? type : [type]), 'null'];

const anyValue = (description: string): JsonSchema => ({ description });

const optBool = (description: string): JsonSchema => ({
  type: nullable('boolean'),
  description,
  [M]: '{path} must be a boolean, got {kind}',
});

export const nsParams: JsonSchema = {
  type: 'object',
  properties: {
    ns: { type: 'string', description: 'namespace name: 1–128 characters of [A-Za-z0-9-_.]' },
  },
  required: ['ns'],
};

// ---------------------------------------------------------------------------------------------------------------
// POST /v2/namespaces/:ns (write; also branch_from_namespace / copy_from_namespace)

/** Keys of a write body; the engine's list (schema/write-request.ts) plus the clone fields (engine/branch.ts). */
export const WRITE_KEYS = [
  'upsert_rows', 'upsert_columns', 'patch_rows', 'patch_columns', 'deletes',
  'delete_by_filter', 'delete_by_filter_allow_partial', 'patch_by_filter', 'patch_by_filter_allow_partial',
  'upsert_condition', 'patch_condition', 'delete_condition',
  'distance_metric', 'schema', 'return_affected_ids', 'disable_backpressure', 'encryption', 'namespace',
  'branch_from_namespace', 'copy_from_namespace', 'sharding',
] as const;

const rows = (what: string): JsonSchema => ({
  type: nullable('array'),
  description: `${what}: [{id, vector?, ...attributes}]`,
  // Described, not validated: the engine walks the rows anyway (an object with an id each), ajv would walk them twice.
  items: { description: 'a document: an object with `id`, optional `vector`, attributes' },
  [M]: '{path} must be an array of row objects',
});

const columns = (what: string): JsonSchema => ({
  type: nullable('object'),
  description: `${what}, columnar: {id: [...], vector?: [...], attr: [...]}; every column as long as id`,
  properties: {
    id: { type: 'array', description: 'the ids', [M]: '{path} is required and must be an array of ids' },
    vector: {
      type: nullable(['array', 'string']),
      description: 'an array of vectors, a flat array of numbers or one base64 string',
      [M]: '{path} must be an array of vectors, a flat array of numbers or one base64 string',
    },
  },
  required: ['id'],
  additionalProperties: { type: 'array', description: 'an attribute column', [M]: '{path} must be an array' },
  [M]: {
    required: '{path}.id is required and must be an array of ids',
    '*': '{path} must be an object mapping column names to arrays',
  },
});

const filter = (description: string): JsonSchema => anyValue(`${description} (a filter: [attr, op, value], ["And", [...]], ["Or", [...]], ["Not", f])`);

/** Unknown fields of the object form are the engine's to name (all of them at once). */
const cloneSource = (field: string, copy: boolean): JsonSchema => ({
  type: ['string', 'object'],
  description: `source namespace name, or {source_namespace${copy ? ', source_api_key?' : ''}}; cannot be combined with other write fields`,
  properties: {
    source_namespace: { type: 'string', [M]: '{path} must be a string' },
    ...(copy ? { source_api_key: { type: 'string', description: 'accepted and ignored (one organisation)', [M]: '{path} must be a string' } } : {}),
  },
  [M]: `${field} must be a namespace name or an object {source_namespace}, got {typeof}`,
});

export const writeBody: JsonSchema = {
  type: 'object',
  description: 'one atomic batch of writes (docs/api.md "POST /v2/namespaces/:ns")',
  propertyNames: { enum: [...WRITE_KEYS], [M]: "unknown write parameter '{name}'" },
  properties: {
    upsert_rows: rows('full documents (replace)'),
    upsert_columns: columns('full documents (replace)'),
    patch_rows: rows('set the given attributes of existing documents (null removes one)'),
    patch_columns: columns('set the given attributes of existing documents (null removes one)'),
    deletes: { type: nullable('array'), description: 'ids to delete', [M]: '{path} must be an array of ids' },
    delete_by_filter: filter('deletes every match, at most 5,000,000 per request'),
    delete_by_filter_allow_partial: optBool('past the limit, delete exactly the limit and answer rows_remaining: true'),
    patch_by_filter: {
      type: nullable('object'),
      description: '{filters, patch}: patches every match, at most 50,000 per request',
      properties: {
        filters: filter('the documents to patch'),
        patch: { type: 'object', description: 'attributes to set', [M]: '{path} must be an object of attributes' },
      },
      required: ['filters'],
      additionalProperties: false,
      [M]: {
        required: '{path}.{name} is required',
        additionalProperties: "{path}: unknown key '{name}'",
        '*': '{path} must be an object with filters and patch',
      },
    },
    patch_by_filter_allow_partial: optBool('same as delete_by_filter_allow_partial, for patch_by_filter'),
    upsert_condition: filter('evaluated against the current document; the upsert applies only if it passes'),
    patch_condition: filter('same for patches'),
    delete_condition: filter('same for deletes'),
    distance_metric: {
      type: nullable('string'),
      enum: [...DISTANCE_METRICS, null],
      description: "required with the namespace's first vectors; fixed afterwards",
      [M]: `{path} must be one of ${DISTANCE_METRICS.join(', ')}, got {json}`,
    },
    schema: {
      type: nullable('object'),
      description: '{attr: type | {type, filterable?, full_text_search?, regex?, glob?, ann?}}',
      additionalProperties: {
        type: ['string', 'object'],
        [M]: "schema for attribute '{name}' must be a type string or an object with a 'type', got {kind}",
      },
      [M]: 'schema must be an object mapping attribute names to types or configs',
    },
    return_affected_ids: optBool('add upserted_ids, patched_ids, deleted_ids to the response'),
    disable_backpressure: optBool('skip the 429 that protects a namespace whose unindexed WAL exceeds 2 GiB'),
    encryption: {
      type: nullable('object'),
      description: "{mode: 'default'} (customer-managed keys are not supported)",
      [M]: "encryption.mode must be 'default' or 'customer-managed'",
    },
    namespace: anyValue('ignored (the namespace is the path)'),
    branch_from_namespace: cloneSource('branch_from_namespace', false),
    copy_from_namespace: cloneSource('copy_from_namespace', true),
    sharding: anyValue('{num_shards}: not supported by elax'),
  },
  [M]: 'write request body must be a JSON object',
};

// ---------------------------------------------------------------------------------------------------------------
// POST /v2/namespaces/:ns/query and /explain_query

const count = (what: string, max: number): JsonSchema => ({
  type: nullable('integer'),
  minimum: 1,
  maximum: max,
  description: `${what} (1–${max})`,
  [M]: { type: '{path} must be an integer, got {got}', minimum: '{path} must be at least 1, got {str}', maximum: `{path} {str} exceeds the maximum of ${max}` },
});

/** The query body (also each entry of a multi-query's `queries`, with the multi-query root fields). */
const queryFields: Record<string, JsonSchema> = {
  rank_by: {
    type: nullable('array'),
    minItems: 1,
    description: '["vector","ANN",[..]], ["vector","kNN",[..]] (or another [N]f32/[N]f16 attribute), [attr,"BM25",text], ["Sum",[..]], ["Max",[..]], ["Product",w,expr], [attr,"asc"|"desc"], [[a,"asc"],...]',
    [M]: '{path} must be a non-empty array, got {got}',
  },
  top_k: count('rows to return; an alias of limit.total', MAX_TOP_K),
  limit: {
    type: nullable(['number', 'object']),
    description: 'a number, or {total, per?: {attributes, limit}}',
    properties: {
      total: count('rows in all', MAX_TOP_K),
      per: anyValue('{attributes: [names], limit: n}: at most limit rows per value of the attributes'),
    },
    [M]: '{path} must be a number or {"total": n, "per": {...}}, got {got}',
  },
  filters: filter('the rows to consider'),
  include_attributes: {
    type: nullable(['boolean', 'array']),
    description: 'true, false or [names]',
    [M]: '{path} must be true, false or an array of attribute names, got {got}',
  },
  exclude_attributes: {
    type: nullable('array'),
    description: 'every attribute but these',
    [M]: '{path} must be an array of attribute names, got {got}',
  },
  aggregate_by: {
    type: nullable('object'),
    description: '{label: ["Count"] | ["Count", attr] | ["Sum", attr]}',
    [M]: '{path} must be an object mapping labels to aggregate functions, got {got}',
  },
  group_by: {
    type: nullable('array'),
    minItems: 1,
    description: 'attributes (or {label: ["ForEachUnique", attr]}) to group aggregate_by by',
    [M]: '{path} must be a non-empty array of attribute names, got {got}',
  },
  distance_metric: {
    type: nullable('string'),
    enum: [...DISTANCE_METRICS, null],
    description: "override the namespace's metric for this query",
    [M]: `{path} must be one of ${DISTANCE_METRICS.join(', ')}, got {got}`,
  },
  vector_encoding: {
    type: nullable('string'),
    enum: ['float', 'base64', null],
    description: 'how returned vectors are encoded',
    [M]: "{path} must be 'float' or 'base64', got {got}",
  },
  consistency: {
    type: nullable('object'),
    description: '{level: "strong" | "eventual"}',
    properties: {
      level: { type: nullable('string'), enum: ['strong', 'eventual', null], [M]: "{path} must be 'strong' or 'eventual', got {got}" },
    },
    additionalProperties: false,
    [M]: { additionalProperties: "{path}: unknown key '{name}'", '*': '{path} must be an object like {"level": "strong"}, got {got}' },
  },
  compute_attributes: anyValue('attributes computed for the returned rows'),
  ef_search: {
    type: nullable('integer'),
    minimum: 1,
    maximum: MAX_EF_SEARCH,
    description: `elax extension, ANN only: HNSW beam width (1–${MAX_EF_SEARCH}) or clusters probed (⌈ef_search × 8 / 128⌉)`,
    [M]: `{path} must be an integer in 1..${MAX_EF_SEARCH}, got {got}`,
  },
};

/** Unknown keys are the engine's to name (it hints at v2 spellings and tells a query from a multi-query). */
export const queryBody: JsonSchema = {
  type: 'object',
  description: 'a query, or a multi-query {queries, rerank_by?, vector_encoding?, consistency?}',
  properties: {
    ...queryFields,
    queries: {
      type: nullable('array'),
      minItems: 1,
      maxItems: MAX_MULTI_QUERIES,
      description: `multi-query: 1–${MAX_MULTI_QUERIES} query bodies run on one snapshot`,
      items: {
        type: 'object',
        description: 'a query body (rank_by, top_k, filters, …; not vector_encoding or consistency)',
        [M]: '{path}: query body must be a JSON object, got {got}',
      },
      [M]: {
        minItems: 'queries must contain at least one query',
        maxItems: `queries has {length} queries; the maximum is ${MAX_MULTI_QUERIES}`,
        type: '{path} must be an array of query objects, got {got}',
      },
    },
    rerank_by: {
      type: nullable('array'),
      minItems: 1,
      maxItems: 2,
      description: 'multi-query: ["RRF", {rank_constant?: 60, weights?}] fuses the results',
      [M]: '{path} must be ["RRF"] or ["RRF", {"rank_constant": k, "weights": [...]}], got {got}',
    },
  },
  [M]: 'query body must be a JSON object, got {got}',
};

// ---------------------------------------------------------------------------------------------------------------
// POST /v1/namespaces/:ns/schema, POST /v1/namespaces/:ns/_debug/recall

export const schemaBody: JsonSchema = { ...(writeBody.properties as Record<string, JsonSchema>).schema!, type: 'object', description: '{attr: type | config}: attributes to add or options to change' };

export const RECALL_KEYS = ['num', 'top_k', 'filters', 'rank_by', 'include_ground_truth', 'probes', 'eps0', 'seed', 'exclude_self'] as const;

const intIn = (lo: number, hi: number, message: string, description: string): JsonSchema => ({
  type: nullable('integer'),
  minimum: lo,
  maximum: hi,
  description,
  [M]: message,
});

/** A missing or null body takes every default. */
export const recallBody: JsonSchema = {
  type: nullable('object'),
  description: 'recall of the ANN index against exact kNN on sampled vectors',
  propertyNames: { enum: [...RECALL_KEYS], [M]: "unknown recall parameter '{name}'" },
  properties: {
    num: intIn(1, 1000, 'num must be an integer in 1..1000, got {str}', 'queries to sample (default 25)'),
    top_k: intIn(1, 1200, 'top_k must be an integer in 1..1200, got {str}', 'rows per query (default 10)'),
    filters: filter('restrict the queries'),
    rank_by: anyValue('[vector attribute, "ANN", [numbers...]] (e.g. "vector"): evaluate this one query (num 1)'),
    include_ground_truth: anyValue('add the exact answers to the response'),
    probes: intIn(1, MAX_RECALL_PROBES, `probes must be an integer in 1..${MAX_RECALL_PROBES}, got {json}`, 'clusters to probe (clustered parts only)'),
    eps0: {
      type: nullable('number'),
      exclusiveMinimum: 0,
      maximum: 10,
      description: 'RaBitQ error-bound confidence in (0, 10] (clustered parts only)',
      [M]: 'eps0 must be a number in (0, 10], got {json}',
    },
    seed: intIn(0, 0xffffffff, `seed must be an integer in 0..${0xffffffff}, got {json}`, 'sample seed'),
    exclude_self: { type: nullable('boolean'), description: "leave a sampled vector's own row out of both answers", [M]: 'exclude_self must be a boolean, got {json}' },
  },
  [M]: 'recall body must be a JSON object',
};

// ---------------------------------------------------------------------------------------------------------------
// PATCH /v1/namespaces/:ns/metadata (pinning; crates-ts/engine/pinning.ts parseMetadataPatch)

/** A missing or null body changes nothing. */
export const metadataPatchBody: JsonSchema = {
  type: nullable('object'),
  description: 'namespace settings to change (turbopuffer NamespaceMetadataPatch): pinning',
  propertyNames: { enum: ['pinning'], [M]: "unknown field '{name}' in the metadata patch (only 'pinning' can be changed)" },
  properties: {
    pinning: {
      type: ['boolean', 'object', 'null'],
      description: 'true or {replicas?}: pin (keep resident in the caches); false or null: unpin; absent: no change',
      propertyNames: { enum: ['replicas'], [M]: "unknown field 'pinning.{name}' (a pinning configuration has 'replicas' only)" },
      properties: {
        replicas: { type: nullable('integer'), minimum: 1, description: 'read replicas (recorded and reported; default 1)', [M]: 'pinning.replicas must be a positive integer, got {json}' },
      },
      [M]: 'pinning must be true, false, null or an object {replicas?}, got {json}',
    },
  },
  [M]: 'the metadata patch must be a JSON object, got {kind}',
};

// ---------------------------------------------------------------------------------------------------------------
// Query strings

export const listNamespacesQuery: JsonSchema = {
  type: 'object',
  properties: {
    prefix: { type: 'string', description: 'only names starting with this' },
    cursor: { type: 'string', description: 'the last name of the previous page' },
    page_size: { type: 'string', description: 'names per page, 1–1000 (default 100)' },
  },
};

export const adminStatusQuery: JsonSchema = {
  type: 'object',
  properties: {
    ns: { type: 'string', description: 'only this namespace' },
    stall_after: { type: 'string', description: 'stall threshold in seconds (default 600)' },
  },
};

/** The body schema as a route option: only application/json bodies are validated (a bodiless POST reaches the engine). */
export function jsonBody(schema: JsonSchema): { content: Record<string, { schema: JsonSchema }> } {
  return { content: { 'application/json': { schema } } };
}
