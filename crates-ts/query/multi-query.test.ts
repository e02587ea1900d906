import { describe, it, expect } from 'vitest';
import { isElaxError } from '../core/index.js';
import { parseMultiQuery, executeMultiQuery, type QueryContext } from './index.js';
import { SCHEMA, doc } from './test-helpers.js';

const ctx: QueryContext = { schema: SCHEMA, distanceMetric: 'euclidean_squared' };
const DOCS = [
  doc(1, [1, 0, 0, 0], { n: 1, color: 'red' }),
  doc(2, [0, 1, 0, 0], { n: 3, color: 'green' }),
  doc(3, [1, 1, 0, 0], { n: 2, color: 'blue' }),
  doc(4, [0, 0, 1, 0], { n: 4 }),
];
const Q = [1, 0, 0, 0];
const run = (body: unknown) => executeMultiQuery(parseMultiQuery(body, ctx), DOCS, ctx);

function rejects(body: unknown, message: string | RegExp) {
  let err: unknown;
  try {
    parseMultiQuery(body, ctx);
  } catch (e) {
    err = e;
  }
  expect(isElaxError(err), `expected an ElaxError for ${JSON.stringify(body)}`).toBe(true);
  const e = err as { status: number; message: string };
  expect(e.status).toBe(400);
  if (typeof message === 'string') expect(e.message).toBe(message);
  else expect(e.message).toMatch(message);
}

describe('multi-query without rerank_by', () => {
  it('should return one result per sub-query, in order, rows and aggregations alike', () => {
    const out = run({
      queries: [{ rank_by: ['n', 'desc'], top_k: 2 }, { aggregate_by: { c: ['Count'] } }, { rank_by: ['vector', 'kNN', Q], top_k: 1 }],
      vector_encoding: 'base64',
    });
    expect(out).toEqual({
      results: [{ rows: [{ id: 4 }, { id: 2 }] }, { aggregations: { c: 4 } }, { rows: [{ id: 1, $dist: 0 }] }],
    });
  });

  it('should apply the root vector_encoding to every sub-query', () => {
    const out = run({ queries: [{ rank_by: ['id', 'asc'], top_k: 1, include_attributes: ['vector'] }], vector_encoding: 'base64' });
    expect(out.results[0]!.rows![0]!.vector).toBe(Buffer.from(Float32Array.from([1, 0, 0, 0]).buffer).toString('base64'));
  });
});

describe('multi-query with rerank_by RRF', () => {
  // Sub-query A (n desc):        4, 2, 3       → ranks 1, 2, 3
  // Sub-query B (kNN to [1,0,0,0]): 1 (0), 3 (1), 2 (2)   → ranks 1, 2, 3 (2 beats 4 at distance 2 on id)
  const A = { rank_by: ['n', 'desc'], top_k: 3, include_attributes: ['n'] };
  const B = { rank_by: ['vector', 'kNN', Q], top_k: 3, include_attributes: ['color'] };

  it('should fuse with k = 60 and equal weights by default', () => {
    const out = run({ queries: [A, B], rerank_by: ['RRF'] });
    // 2: 1/62 + 1/63, 3: 1/63 + 1/62 (equal: tie → lower id), 1: 1/61, 4: 1/61; limit = max(3, 3).
    expect(out.results).toHaveLength(1);
    expect(out.results[0]!.rows).toEqual([
      { id: 2, n: 3, color: 'green', $dist: 1 / 62 + 1 / 63 },
      { id: 3, n: 2, color: 'blue', $dist: 1 / 63 + 1 / 62 },
      { id: 1, color: 'red', $dist: 1 / 61 },
    ]);
  });

  it('should honour rank_constant and weights', () => {
    const out = run({ queries: [A, B], rerank_by: ['RRF', { rank_constant: 1, weights: [2, 1] }] });
    // 4: 2/2 = 1; 2: 2/3 + 1/4; 3: 2/4 + 1/3; 1: 1/2.
    expect(out.results[0]!.rows!.map((r) => [r.id, r.$dist])).toEqual([
      [4, 1],
      [2, 2 / 3 + 1 / 4],
      [3, 2 / 4 + 1 / 3],
    ]);
  });

  it('should return max(sub-query limits) rows', () => {
    const out = run({ queries: [{ ...A, top_k: 2 }, B], rerank_by: ['RRF', { rank_constant: 1, weights: [2, 1] }] });
    // A now ranks only 4, 2: 4 → 1; 2 → 2/3 + 1/4; 1 → 1/2; 3 → 1/3.
    expect(out.results[0]!.rows!.map((r) => [r.id, r.$dist])).toEqual([
      [4, 1],
      [2, 2 / 3 + 1 / 4],
      [1, 1 / 2],
    ]);
  });
});

describe('parseMultiQuery 400s', () => {
  const sub = { rank_by: ['id', 'asc'] };
  it('should bound the number of queries', () => {
    rejects({ queries: Array.from({ length: 17 }, () => sub) }, 'queries has 17 queries; the maximum is 16');
    rejects({ queries: [] }, 'queries must contain at least one query');
    rejects({ queries: sub }, 'queries must be an array of query objects, got {"rank_by":["id","asc"]}');
    expect(parseMultiQuery({ queries: Array.from({ length: 16 }, () => sub) }, ctx).queries).toHaveLength(16);
  });

  it('should reject root keys other than queries, rerank_by, vector_encoding, consistency', () => {
    rejects({ queries: [sub], top_k: 3 }, /^unknown multi-query parameter 'top_k'/);
  });

  it('should keep consistency and vector_encoding at the root', () => {
    rejects({ queries: [sub, { ...sub, consistency: { level: 'eventual' } }] }, "queries[1]: 'consistency' must be set on the multi-query's root object, not on a sub-query");
    rejects({ queries: [{ ...sub, vector_encoding: 'base64' }] }, "queries[0]: 'vector_encoding' must be set on the multi-query's root object, not on a sub-query");
    expect(parseMultiQuery({ queries: [sub], consistency: { level: 'eventual' } }, ctx).consistency).toBe('eventual');
    rejects({ queries: [sub], consistency: { level: 'sometimes' } }, "consistency.level must be 'strong' or 'eventual', got \"sometimes\"");
  });

  it('should prefix sub-query errors with their index', () => {
    rejects({ queries: [sub, { rank_by: ['id', 'asc'], top_k: 50_000 }] }, 'queries[1]: top_k 50000 exceeds the maximum of 10000');
    rejects({ queries: [null] }, 'queries[0]: query body must be a JSON object, got null');
  });

  it('should validate rerank_by', () => {
    rejects({ queries: [sub], rerank_by: ['RRX'] }, 'rerank_by must be ["RRF"] or ["RRF", {"rank_constant": k, "weights": [...]}], got ["RRX"]');
    rejects({ queries: [sub], rerank_by: 'RRF' }, /^rerank_by must be \["RRF"\]/);
    rejects({ queries: [sub], rerank_by: ['RRF', 60] }, 'rerank_by[1] must be an object with rank_constant and/or weights, got 60');
    rejects({ queries: [sub], rerank_by: ['RRF', { k: 60 }] }, "rerank_by: unknown RRF parameter 'k'");
    rejects({ queries: [sub], rerank_by: ['RRF', { rank_constant: 0 }] }, 'rerank_by: rank_constant must be a number greater than 0, got 0');
    rejects({ queries: [sub, sub], rerank_by: ['RRF', { weights: [1] }] }, 'rerank_by: weights has 1 entries but there are 2 queries');
    rejects({ queries: [sub, sub], rerank_by: ['RRF', { weights: [1, -2] }] }, 'rerank_by: weights[1] must be a positive number, got -2');
    rejects({ queries: [sub], rerank_by: ['RRF', { weights: 'x' }] }, 'rerank_by: weights must be an array of numbers, got "x"');
    rejects({ queries: [sub, { aggregate_by: { c: ['Count'] } }], rerank_by: ['RRF'] }, 'queries[1]: rerank_by fuses rows, so its sub-queries cannot use aggregate_by');
    expect(parseMultiQuery({ queries: [sub, sub], rerank_by: ['RRF', { rank_constant: 10, weights: [1, 0.5] }] }, ctx).rerank).toEqual({ k: 10, weights: [1, 0.5] });
    expect(parseMultiQuery({ queries: [sub], rerank_by: ['RRF'] }, ctx).rerank).toEqual({ k: 60 });
  });
});
