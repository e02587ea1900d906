import { describe, it, expect } from 'vitest';
import { isElaxError } from '../core/index.js';
import { parseQuery, type QueryContext } from './index.js';
import { SCHEMA } from './test-helpers.js';

const ctx: QueryContext = { schema: SCHEMA, distanceMetric: 'cosine_distance' };
const V = [0.1, 0.2, 0.3, 0.4];

function rejects(body: unknown, message: string | RegExp, c: QueryContext = ctx, code = 'ELAX_ERR_INVALID_QUERY') {
  let err: unknown;
  try {
    parseQuery(body, c);
  } catch (e) {
    err = e;
  }
  expect(isElaxError(err), `expected an ElaxError for ${JSON.stringify(body)}`).toBe(true);
  const e = err as { code: string; status: number; message: string };
  expect(e.code).toBe(code);
  expect(e.status).toBe(400);
  if (typeof message === 'string') expect(e.message).toBe(message);
  else expect(e.message).toMatch(message);
}

describe('parseQuery: accepted bodies', () => {
  it('should normalise defaults', () => {
    const q = parseQuery({ rank_by: ['vector', 'ANN', V] }, ctx);
    expect(q.limit).toBe(10);
    expect(q.projection).toEqual({ kind: 'none' });
    expect(q.vectorEncoding).toBe('float');
    expect(q.consistency).toBe('strong');
    expect(q.filter).toBeNull();
    expect(q.rank).toMatchObject({ kind: 'vector', mode: 'ANN', metric: 'cosine_distance' });
  });

  it('should treat limit numbers, limit.total and top_k alike', () => {
    for (const body of [{ top_k: 7 }, { limit: 7 }, { limit: { total: 7 } }]) {
      expect(parseQuery({ rank_by: ['id', 'asc'], ...body }, ctx).limit).toBe(7);
    }
    expect(parseQuery({ rank_by: ['id', 'asc'], top_k: 10_000 }, ctx).limit).toBe(10_000);
  });

  it('should treat null and undefined values as absent', () => {
    const q = parseQuery({ rank_by: ['n', 'desc'], filters: null, include_attributes: undefined, top_k: null }, ctx);
    expect(q.filter).toBeNull();
    expect(q.limit).toBe(10);
  });

  it('should parse consistency and vector_encoding', () => {
    const q = parseQuery({ rank_by: ['id', 'asc'], consistency: { level: 'eventual' }, vector_encoding: 'base64' }, ctx);
    expect(q.consistency).toBe('eventual');
    expect(q.vectorEncoding).toBe('base64');
  });

  it('should default the metric to cosine_distance when the namespace has none', () => {
    const q = parseQuery({ rank_by: ['vector', 'kNN', V] }, { schema: SCHEMA, distanceMetric: null });
    expect(q.rank).toMatchObject({ metric: 'cosine_distance' });
    const e = parseQuery({ rank_by: ['vector', 'kNN', V] }, { schema: SCHEMA, distanceMetric: 'euclidean_squared' });
    expect(e.rank).toMatchObject({ metric: 'euclidean_squared' });
  });

  it('should parse multi-key attribute order', () => {
    const q = parseQuery({ rank_by: [['color', 'asc'], ['n', 'desc'], ['id', 'asc']] }, ctx);
    expect(q.rank).toEqual({
      kind: 'order',
      keys: [
        { attr: 'color', desc: false },
        { attr: 'n', desc: true },
        { attr: 'id', desc: false },
      ],
    });
  });
});

describe('parseQuery: every 400', () => {
  it('should reject a body that is not an object', () => {
    rejects([1], 'query body must be a JSON object, got [1]');
    rejects(null, 'query body must be a JSON object, got null');
  });

  it('should name unknown keys', () => {
    rejects({ rank_by: ['id', 'asc'], topk: 3 }, "unknown query parameter 'topk'");
    rejects({ queries: [], rank_by: ['id', 'asc'] }, "'queries' cannot be combined with other query parameters");
    rejects({ vector: [1, 2, 3, 4], top_k: 3 }, `unknown query parameter 'vector' (use rank_by: ["vector", "ANN", [...]])`);
  });

  it('should reject top_k and limit out of range', () => {
    rejects({ rank_by: ['id', 'asc'], top_k: 10_001 }, 'top_k 10001 exceeds the maximum of 10000');
    rejects({ rank_by: ['id', 'asc'], top_k: 0 }, 'top_k must be at least 1, got 0');
    rejects({ rank_by: ['id', 'asc'], top_k: 2.5 }, 'top_k must be an integer, got 2.5');
    rejects({ rank_by: ['id', 'asc'], top_k: '10' }, 'top_k must be an integer, got "10"');
    rejects({ rank_by: ['id', 'asc'], limit: 10_001 }, 'limit 10001 exceeds the maximum of 10000');
    rejects({ rank_by: ['id', 'asc'], limit: { total: 20_000 } }, 'limit.total 20000 exceeds the maximum of 10000');
    rejects({ rank_by: ['id', 'asc'], top_k: 5, limit: 5 }, 'top_k and limit cannot both be given (top_k is an alias for limit.total)');
  });

  it('should reject malformed limit objects', () => {
    rejects({ rank_by: ['id', 'asc'], limit: 'ten' }, 'limit must be a number or {"total": n, "per": {...}}, got "ten"');
    rejects({ rank_by: ['id', 'asc'], limit: { per: { attributes: ['color'], limit: 1 } } }, 'limit.total is required when limit is an object');
    rejects({ rank_by: ['id', 'asc'], limit: { total: 5, offset: 3 } }, "limit: unknown key 'offset'");
    rejects({ rank_by: ['id', 'asc'], limit: { total: 5, per: 3 } }, 'limit.per must be {"attributes": [...], "limit": n}, got 3');
    rejects({ rank_by: ['id', 'asc'], limit: { total: 5, per: { attributes: [], limit: 1 } } }, 'limit.per.attributes must be a non-empty array of attribute names, got []');
    rejects(
      { rank_by: ['id', 'asc'], limit: { total: 5, per: { attributes: ['colour'], limit: 1 } } },
      "limit.per.attributes[0]: attribute 'colour' does not exist in the namespace schema",
    );
    rejects({ rank_by: ['id', 'asc'], limit: { total: 5, per: { attributes: ['color'], limit: 0 } } }, 'limit.per.limit must be at least 1, got 0');
    rejects({ rank_by: ['id', 'asc'], limit: { total: 5, per: { attributes: ['color'], limit: 1, x: 1 } } }, "limit.per: unknown key 'x'");
    rejects({ rank_by: ['id', 'asc'], limit: { total: 5, per: { attributes: ['vector'], limit: 1 } } }, "limit.per.attributes[0]: cannot limit per 'vector'");
  });

  it('should reject bad vector ranks', () => {
    rejects({ rank_by: ['vector', 'ANN', [1, 2, 3]] }, "rank_by: query vector has 3 dimensions but the namespace's vectors have 4");
    rejects({ rank_by: ['vector', 'ANN', [1, NaN, 3, 4]] }, 'rank_by: query vector element 1 must be a finite number, got NaN');
    rejects({ rank_by: ['vector', 'ANN', [1, 'x', 3, 4]] }, 'rank_by: query vector element 1 must be a finite number, got "x"');
    rejects({ rank_by: ['vector', 'ANN', [1, 1e300, 3, 4]] }, 'rank_by: query vector element 1 is not a finite float32 (Infinity)');
    rejects({ rank_by: ['vector', 'kNN', 'not base64!'] }, 'rank_by: the query vector string is not base64 of little-endian float32 values (byte length a multiple of 4)');
    rejects({ rank_by: ['vector', 'kNN', Buffer.from([1, 2, 3]).toString('base64')] }, /not base64 of little-endian float32/);
    rejects({ rank_by: ['vector', 'kNN', [V, V]] }, 'rank_by: multi-vector queries (an array of vectors) are not supported');
    rejects({ rank_by: ['vector', 'ANN', ['Embed', 'hello']] }, 'rank_by: query expressions such as ["Embed","hello"] are not supported; pass the query vector itself');
    rejects({ rank_by: ['vector', 'ANN', { $ref: 1 }] }, /ANN needs a query vector .* are not supported/);
    rejects({ rank_by: ['embedding', 'ANN', V] }, `rank_by: attribute 'embedding' is not in the namespace schema`);
    rejects({ rank_by: [1, 'ANN', V] }, 'rank_by: ANN needs a vector attribute name, got 1');
    rejects({ rank_by: ['vector', 'ANN', V] }, 'rank_by: the namespace has no vectors, so it cannot be ranked by ANN', {
      schema: { id: { type: 'uint' }, color: { type: 'string' } },
      distanceMetric: null,
    });
    rejects({ rank_by: ['vector', 'ANN', V], distance_metric: 'dot' }, "distance_metric must be one of cosine_distance, euclidean_squared, got \"dot\"");
    rejects({ rank_by: ['sparse', 'SparseKNN', { a: 1 }] }, "rank_by: attribute 'sparse' is not in the namespace schema");
    rejects({ rank_by: ['color', 'SparseKNN', { 1: 1 }] }, "rank_by: SparseKNN needs a sparse vector attribute ({}f16 or {}f32); 'color' has type string");
    rejects({ rank_by: ['color', 'SparseKNN'] }, /SparseKNN takes \[attribute, "SparseKNN"/);
  });

  it('should reject bad attribute orders', () => {
    rejects({ rank_by: ['colour', 'asc'] }, "rank_by: attribute 'colour' does not exist in the namespace schema");
    rejects({ rank_by: ['tags', 'asc'] }, "rank_by: cannot order by array attribute 'tags' (type []string)");
    rejects({ rank_by: ['vector', 'desc'] }, `rank_by: cannot order by 'vector'; use ["vector", "ANN", [...]]`);
    rejects({ rank_by: [['color', 'asc'], ['nope', 'desc']] }, "rank_by[1]: attribute 'nope' does not exist in the namespace schema");
    rejects({ rank_by: [] }, 'rank_by must be a non-empty array, got []');
    rejects({ rank_by: 'id' }, 'rank_by must be a non-empty array, got "id"');
    rejects({ rank_by: ['color', 'up'] }, /^rank_by \["color","up"\] is not supported: expected/);
    rejects({ rank_by: [['color', 'asc'], ['n', 'sideways']] }, /^rank_by \[\["color","asc"\],\["n","sideways"\]\] is not supported/);
  });

  it('should pass through text-rank and filter errors with their own codes', () => {
    rejects({ rank_by: ['color', 'BM25', 'red'] }, /^invalid rank_by at rank_by: attribute 'color' does not have full_text_search/);
    rejects({ rank_by: ['Attribute', 'n'] }, /Attribute 'n' has the signed type int: wrap it/);
    rejects({ rank_by: ['id', 'asc'], filters: ['color', 'Bogus', 1] }, /./, ctx, 'ELAX_ERR_INVALID_FILTER');
  });

  it('should reject bad projections', () => {
    rejects({ rank_by: ['id', 'asc'], include_attributes: ['color'], exclude_attributes: ['n'] }, 'include_attributes and exclude_attributes cannot both be given');
    rejects({ rank_by: ['id', 'asc'], include_attributes: ['colour'] }, "include_attributes[0]: attribute 'colour' does not exist in the namespace schema");
    rejects({ rank_by: ['id', 'asc'], include_attributes: 'color' }, 'include_attributes must be true, false or an array of attribute names, got "color"');
    rejects({ rank_by: ['id', 'asc'], exclude_attributes: true }, 'exclude_attributes must be an array of attribute names, got true');
  });

  it('should bound include_attributes and exclude_attributes at 4096 names', () => {
    const names = (n: number) => Array.from({ length: n }, () => 'color');
    expect(parseQuery({ rank_by: ['id', 'asc'], include_attributes: names(4096) }, ctx).projection).toEqual({ kind: 'include', attrs: ['color'], vector: false });
    rejects({ rank_by: ['id', 'asc'], include_attributes: names(4097) }, 'include_attributes lists 4097 names; the limit is 4096');
    rejects({ rank_by: ['id', 'asc'], exclude_attributes: names(100_000) }, 'exclude_attributes lists 100000 names; the limit is 4096');
  });

  it('should reject $ref_new in query filters', () => {
    rejects({ rank_by: ['id', 'asc'], filters: ['color', 'Eq', { $ref_new: 'color' }] }, /\{"\$ref_new": "color"\} refers to the document being written/, ctx, 'ELAX_ERR_INVALID_FILTER');
  });

  it('should reject bad aggregations', () => {
    rejects({ aggregate_by: { c: ['Count'] }, rank_by: ['id', 'asc'] }, 'rank_by and aggregate_by cannot both be given');
    rejects({ aggregate_by: { c: ['Count'] }, include_attributes: true }, 'include_attributes cannot be combined with aggregate_by');
    rejects({ aggregate_by: { c: ['Count'] }, exclude_attributes: ['n'] }, 'exclude_attributes cannot be combined with aggregate_by');
    rejects({ aggregate_by: [] }, 'aggregate_by must be an object mapping labels to aggregate functions, got []');
    rejects({ aggregate_by: {} }, 'aggregate_by must contain at least one aggregation');
    rejects({ aggregate_by: { a: ['Avg', 'n'] } }, 'aggregate_by.a: unknown aggregate function "Avg" (supported: Count, Sum)');
    rejects({ aggregate_by: { a: 'Count' } }, 'aggregate_by.a must be ["Count"], ["Count", attribute] or ["Sum", attribute], got "Count"');
    rejects({ aggregate_by: { a: ['Sum'] } }, 'aggregate_by.a: Sum needs an attribute, e.g. ["Sum", "price"]');
    rejects({ aggregate_by: { a: ['Sum', 'color'] } }, "aggregate_by.a: Sum needs a scalar numeric attribute (int, uint, float); 'color' is string");
    rejects({ aggregate_by: { a: ['Sum', 'nope'] } }, "aggregate_by.a: attribute 'nope' does not exist in the namespace schema");
    rejects({ aggregate_by: { a: ['Count', 'n', 'x'] } }, 'aggregate_by.a: Count takes at most one attribute, got ["Count","n","x"]');
    rejects({ aggregate_by: { a: ['Count', 3] } }, 'aggregate_by.a: the attribute must be a string, got 3');
    rejects({ aggregate_by: { a: ['Count'] }, limit: { total: 3, per: { attributes: ['color'], limit: 1 } } }, 'limit.per applies to rows; it cannot be combined with aggregate_by');
  });

  it('should reject bad group_by', () => {
    rejects({ rank_by: ['id', 'asc'], group_by: ['color'] }, 'group_by requires aggregate_by');
    rejects({ aggregate_by: { c: ['Count'] }, group_by: [] }, 'group_by must be a non-empty array of attribute names, got []');
    rejects({ aggregate_by: { c: ['Count'] }, group_by: ['nope'] }, "group_by[0]: attribute 'nope' does not exist in the namespace schema");
    rejects({ aggregate_by: { c: ['Count'] }, group_by: ['tags'] }, `group_by[0]: 'tags' is an array attribute ([]string); group by {"tags": ["ForEachUnique", "tags"]} instead`);
    rejects({ aggregate_by: { c: ['Count'] }, group_by: ['vector'] }, "group_by[0]: cannot group by 'vector'");
    rejects({ aggregate_by: { c: ['Count'] }, group_by: ['color', 'color'] }, "group_by[1]: group key 'color' appears twice");
    rejects({ aggregate_by: { color: ['Count'] }, group_by: ['color'] }, "group_by[0]: group key 'color' has the same name as an aggregation label");
    rejects({ aggregate_by: { c: ['Count'] }, group_by: [{ t: ['Unique', 'tags'] }] }, 'group_by[0].t must be ["ForEachUnique", attribute], got ["Unique","tags"]');
    rejects({ aggregate_by: { c: ['Count'] }, group_by: [3] }, 'group_by[0] must be an attribute name or {label: ["ForEachUnique", attribute]}, got 3');
  });

  it('should reject other bad parameters', () => {
    rejects({ rank_by: ['id', 'asc'], compute_attributes: { d: ['vector', 'VectorDist', [1]] } }, "compute_attributes.d: the vector has 1 dimensions but the namespace's vectors have 4");
    rejects({ aggregate_by: { c: ['Count'] }, compute_attributes: { d: ['vector', 'VectorDist', V] } }, 'compute_attributes applies to rows; it cannot be combined with aggregate_by');
    rejects({ rank_by: ['id', 'asc'], vector_encoding: 'hex' }, "vector_encoding must be 'float' or 'base64', got \"hex\"");
    rejects({ rank_by: ['id', 'asc'], consistency: 'strong' }, 'consistency must be an object like {"level": "strong"}, got "strong"');
    rejects({ rank_by: ['id', 'asc'], consistency: { level: 'weak' } }, "consistency.level must be 'strong' or 'eventual', got \"weak\"");
    rejects({ rank_by: ['id', 'asc'], consistency: { level: 'strong', x: 1 } }, "consistency: unknown key 'x'");
  });
});
