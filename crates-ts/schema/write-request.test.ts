import { describe, expect, it } from 'vitest';
import type { DistanceMetric, Schema } from '../core/index.js';
import { mergeSchema } from './merge.js';
import { parseSchemaUpdate } from './schema-update.js';
import { expectElaxError } from './testing.js';
import { encodeVectorBase64 } from './vector.js';
import { parseWriteRequest } from './write-request.js';

const EMPTY = { schema: {}, distanceMetric: null };
const base: Schema = mergeSchema(
  {},
  parseSchemaUpdate({
    id: 'uint',
    n: 'int',
    u: 'uint',
    f: 'float',
    s: 'string',
    at: 'datetime',
    tags: '[]string',
    vector: { type: '[3]f32', ann: { distance_metric: 'cosine_distance' } },
  }),
);
const CUR = { schema: base, distanceMetric: 'cosine_distance' as DistanceMetric };
const parse = (body: unknown, cur: { schema: Schema; distanceMetric: DistanceMetric | null } = CUR) => parseWriteRequest(body, cur);
const INV = 'ELAX_ERR_INVALID_REQUEST';
const CONFLICT = 'ELAX_ERR_SCHEMA_CONFLICT';
const VEC = 'ELAX_ERR_INVALID_VECTOR';

describe('parseWriteRequest: shapes and top-level keys', () => {
  it('should accept a request with nothing to do', () => {
    const r = parse({});
    expect(r).toEqual({ upserts: [], patches: [], deletes: [], schema: base, schemaUpdate: {}, schemaChanged: false, returnAffectedIds: false, disableBackpressure: false });
    expect(parseWriteRequest({}, EMPTY).schema).toEqual({});
  });

  it('should reject a non-object body and unknown keys naming the key', () => {
    expectElaxError(() => parse([]), INV, 'must be a JSON object');
    expectElaxError(() => parse(null), INV, 'must be a JSON object');
    expectElaxError(() => parse({ upserts: [] }), INV, "unknown write parameter 'upserts'");
  });

  it('should refuse documented features elax does not implement', () => {
    expectElaxError(() => parse({ branch_from_namespace: 'a' }), INV, 'branch_from_namespace is not supported by elax');
    expectElaxError(() => parse({ copy_from_namespace: { source_namespace: 'a' } }), INV, 'copy_from_namespace is not supported by elax');
    expect(parse({ sharding: { num_shards: 2 } }).sharding).toEqual({ num_shards: 2 });
    expectElaxError(() => parse({ sharding: { num_shards: 0 } }), INV, 'sharding.num_shards must be an integer from 1 to 256, got 0');
    expectElaxError(() => parse({ encryption: { mode: 'customer-managed', key_name: 'k' } }), INV, 'customer-managed', 'not supported by elax');
    expect(parse({ encryption: { mode: 'default' } }).upserts).toEqual([]);
    expectElaxError(() => parse({ encryption: { mode: 'rot13' } }), INV, 'encryption.mode');
  });

  it('should read flags and pass filters and conditions through raw', () => {
    const f = ['n', 'Eq', 1];
    const r = parse({
      return_affected_ids: true,
      disable_backpressure: true,
      delete_by_filter: f,
      delete_by_filter_allow_partial: true,
      upsert_condition: f,
      patch_condition: ['s', 'Eq', 'x'],
      delete_condition: f,
      patch_by_filter: { filters: f, patch: { s: 'x', n: null } },
    });
    expect(r.returnAffectedIds).toBe(true);
    expect(r.disableBackpressure).toBe(true);
    expect(r.deleteByFilter).toEqual({ filter: f, allowPartial: true });
    expect(r.upsertCondition).toBe(f);
    expect(r.patchCondition).toEqual(['s', 'Eq', 'x']);
    expect(r.deleteCondition).toBe(f);
    expect(r.patchByFilter).toEqual({ filter: f, patch: { id: 0, attrs: { s: 'x', n: null } }, allowPartial: false });
    expectElaxError(() => parse({ return_affected_ids: 'yes' }), INV, 'return_affected_ids must be a boolean');
  });

  it('should validate patch_by_filter', () => {
    expectElaxError(() => parse({ patch_by_filter: { patch: {} } }), INV, 'patch_by_filter.filters is required');
    expectElaxError(() => parse({ patch_by_filter: { filters: ['n', 'Eq', 1], patch: { id: 3 } } }), INV, 'cannot change id');
    expectElaxError(() => parse({ patch_by_filter: { filters: ['n', 'Eq', 1], patch: {}, extra: 1 } }), INV, "unknown key 'extra'");
    expectElaxError(() => parse({ patch_by_filter: { filters: ['n', 'Eq', 1], patch: { n: 'x' } } }), CONFLICT, 'patch_by_filter.patch.n', "'n' has type int", 'string "x"');
    const r = parse({ patch_by_filter: { filters: ['n', 'Eq', 1], patch: { vector: [1, 2, 3] } } });
    expect(r.patchByFilter!.patch.vector).toEqual(new Float32Array([1, 2, 3]));
  });

  it('should check rows and columns shapes', () => {
    expectElaxError(() => parse({ upsert_rows: {} }), INV, 'upsert_rows must be an array');
    expectElaxError(() => parse({ upsert_rows: [{ id: 1 }, 5] }), INV, 'upsert_rows[1] must be an object');
    expectElaxError(() => parse({ upsert_columns: [] }), INV, 'upsert_columns must be an object');
    expectElaxError(() => parse({ upsert_columns: { n: [1] } }), INV, 'upsert_columns.id is required');
    expectElaxError(() => parse({ patch_columns: { id: [1, 2], n: [1] } }), INV, 'patch_columns.n has 1 values but patch_columns.id has 2');
    expectElaxError(() => parse({ upsert_columns: { id: [1, 2], n: 5 } }), INV, 'upsert_columns.n must be an array');
    expectElaxError(() => parse({ upsert_columns: { id: [1, 2], vector: [[1, 2, 3]] } }), INV, 'upsert_columns.vector has 1 vectors but upsert_columns.id has 2');
    expectElaxError(() => parse({ deletes: 5 }), INV, 'deletes must be an array');
  });
});

describe('parseWriteRequest: ids', () => {
  it('should name the row of a bad id and refuse mixed id types in one request', () => {
    expectElaxError(() => parse({ upsert_rows: [{ id: 1 }, { id: 2.5 }] }), 'ELAX_ERR_INVALID_ID', 'upsert_rows[1]', 'not an integer');
    expectElaxError(() => parse({ upsert_columns: { id: [1, -4] } }), 'ELAX_ERR_INVALID_ID', 'upsert_columns.id[1]', 'negative');
    expectElaxError(() => parse({ deletes: [1, 'x'] }), 'ELAX_ERR_INVALID_ID', 'deletes[1]', 'ids are uint');
    expectElaxError(() => parseWriteRequest({ upsert_rows: [{ id: 1 }, { id: 'a' }] }, EMPTY), 'ELAX_ERR_INVALID_ID', 'upsert_rows[1]', 'mixing');
    expectElaxError(() => parse({ upsert_rows: [{ n: 1 }] }), 'ELAX_ERR_INVALID_ID', 'upsert_rows[0]', 'missing');
  });

  it('should infer the id type from the first id and take uuid only from the schema', () => {
    const u = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11';
    expect(parseWriteRequest({ deletes: [u] }, EMPTY).schema.id).toEqual({ type: 'string' });
    expect(parseWriteRequest({ deletes: [u] }, EMPTY).deletes).toEqual([u]);
    const v = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
    const r = parseWriteRequest({ schema: { id: 'uuid' }, upsert_rows: [{ id: u }], deletes: [v.toUpperCase()] }, EMPTY);
    expect(r.schema.id).toEqual({ type: 'uuid' });
    expect(r.upserts[0]!.id).toBe(u.toLowerCase());
    expect(r.deletes).toEqual([v]);
    // Two spellings of one UUID are one id: named twice in one request.
    expectElaxError(() => parseWriteRequest({ schema: { id: 'uuid' }, upsert_rows: [{ id: u }], deletes: [u.toLowerCase()] }, EMPTY), 'ELAX_ERR_DUPLICATE_ID', `deletes[0]: id "${u.toLowerCase()}" appears more than once`, 'first at upsert_rows[0]');
  });

  it('should refuse an id named twice in one request, within and across upserts, patches and deletes', () => {
    const DUP = 'ELAX_ERR_DUPLICATE_ID';
    expectElaxError(() => parse({ upsert_rows: [{ id: 1 }, { id: 2 }, { id: 1 }] }), DUP, 'upsert_rows[2]: id 1', 'first at upsert_rows[0]');
    expectElaxError(() => parse({ upsert_columns: { id: [3, 3] } }), DUP, 'upsert_columns.id[1]: id 3', 'first at upsert_columns.id[0]');
    expectElaxError(() => parse({ patch_columns: { id: [1], n: [2] }, patch_rows: [{ id: 1 }] }), DUP, 'patch_rows[0]: id 1', 'first at patch_columns.id[0]');
    expectElaxError(() => parse({ deletes: [5, 6, 5] }), DUP, 'deletes[2]: id 5', 'first at deletes[0]');
    expectElaxError(() => parse({ deletes: [4], upsert_rows: [{ id: 4 }] }), DUP, 'deletes[0]: id 4', 'first at upsert_rows[0]');
    expectElaxError(() => parseWriteRequest({ upsert_rows: [{ id: 'a' }, { id: 'a' }] }, EMPTY), DUP, 'upsert_rows[1]: id "a"');
    // One of each, and filter writes over the same ids, are fine.
    const r = parse({ upsert_rows: [{ id: 1 }], patch_rows: [{ id: 2 }], deletes: [3], delete_by_filter: ['id', 'In', [1, 2, 3]] });
    expect([r.upserts.length, r.patches.length, r.deletes.length]).toEqual([1, 1, 1]);
    expectElaxError(() => parse({ schema: { id: 'string' } }), CONFLICT, "'id'", 'uint', 'string');
  });
});

describe('parseWriteRequest: attribute values', () => {
  it('should report type conflicts naming row, attribute, expected and got', () => {
    expectElaxError(() => parse({ upsert_rows: [{ id: 1 }, { id: 2, n: 'x' }] }), CONFLICT, 'upsert_rows[1].n', "'n' has type int", 'got string "x"');
    expectElaxError(() => parse({ upsert_rows: [{ id: 1, n: 1.5 }] }), CONFLICT, 'upsert_rows[0].n', 'type int', 'got float 1.5');
    expectElaxError(() => parse({ upsert_columns: { id: [1, 2], u: [1, -3] } }), CONFLICT, 'upsert_columns.u[1]', 'cannot hold negative -3');
    expectElaxError(() => parse({ patch_rows: [{ id: 1, tags: 'a' }] }), CONFLICT, 'patch_rows[0].tags', 'type []string', 'got string');
    expectElaxError(() => parse({ upsert_rows: [{ id: 1, s: ['a'] }] }), CONFLICT, "'s' has type string", 'got array');
    expectElaxError(() => parse({ upsert_rows: [{ id: 1, tags: ['a', 1] }] }), CONFLICT, 'upsert_rows[0].tags[1]', 'got int 1');
    expectElaxError(() => parse({ upsert_rows: [{ id: 1, tags: ['a', null] }] }), INV, 'element 1 is null');
    expectElaxError(() => parse({ upsert_rows: [{ id: 1, n: 2 ** 60 }] }), INV, 'beyond ±(2^53-1)');
  });

  it('should widen ints into float attributes but not floats into int ones', () => {
    const r = parse({ upsert_rows: [{ id: 1, f: 3 }] });
    expect(r.upserts[0]!.attrs.f).toBe(3);
    expect(r.schemaChanged).toBe(false);
  });

  it('should normalise datetimes and reject invalid ones', () => {
    const r = parse({ upsert_rows: [{ id: 1, at: '2015-01-20T12:34:56-04:00' }, { id: 2, at: 0 }] });
    expect(r.upserts.map((d) => d.attrs.at)).toEqual(['2015-01-20T16:34:56.000Z', '1970-01-01T00:00:00.000Z']);
    expectElaxError(() => parse({ upsert_rows: [{ id: 1, at: '2015-02-30' }] }), INV, 'upsert_rows[0].at', 'not a valid datetime');
    expectElaxError(() => parse({ upsert_rows: [{ id: 1, at: true }] }), CONFLICT, 'type datetime', 'got bool true');
  });

  it('should infer types on first sight: strings stay strings, integers are int, fractions float, widening within a request', () => {
    const r = parseWriteRequest(
      {
        upsert_rows: [
          { id: 1, a: 1, b: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', c: '2015-01-20', d: true, e: [1, 2], g: null, h: [] },
          { id: 2, a: 1.5, e: [0.5], i: ['x'] },
        ],
      },
      EMPTY,
    );
    const types = Object.fromEntries(Object.entries(r.schema).map(([k, v]) => [k, v.type]));
    expect(types).toEqual({ id: 'uint', a: 'float', b: 'string', c: 'string', d: 'bool', e: '[]float', i: '[]string' });
    expect(r.upserts[0]!.attrs).toEqual({ a: 1, b: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', c: '2015-01-20', d: true, e: [1, 2], h: [] });
    expect(r.schema.a).toEqual({ type: 'float', filterable: true });
  });

  it('should reject unsupported values and attribute names', () => {
    expectElaxError(() => parseWriteRequest({ upsert_rows: [{ id: 1, o: { x: 1 } }] }, EMPTY), INV, 'upsert_rows[0]', "'o'", 'object');
    expectElaxError(() => parseWriteRequest({ upsert_rows: [{ id: 1, m: [1, 'a'] }] }, EMPTY), CONFLICT, "'m' mixes int and string");
    expectElaxError(() => parseWriteRequest({ upsert_rows: [{ id: 1, m: [[1]] }] }, EMPTY), INV, "'m' is an array of arrays", '[][N]f32');
    expectElaxError(() => parseWriteRequest({ upsert_rows: [{ id: 1, m: [1, { a: 1 }] }] }, EMPTY), INV, "'m' element 1");
    expectElaxError(() => parseWriteRequest({ upsert_rows: [{ id: 1, $dist: 1 }] }, EMPTY), INV, "'$dist' must not start with '$'");
    expectElaxError(() => parseWriteRequest({ upsert_columns: { id: [1], ['x'.repeat(129)]: [1] } }, EMPTY), INV, '129 bytes');
    expectElaxError(() => parseWriteRequest({ upsert_rows: [{ id: 1, ['__proto__']: 1 }] }, EMPTY), INV, '__proto__');
    expectElaxError(() => parseWriteRequest(JSON.parse('{"upsert_rows":[{"id":1,"__proto__":5}]}'), EMPTY), INV, '__proto__');
  });

  it('should treat Object.prototype names as ordinary attributes', () => {
    const r = parseWriteRequest({ upsert_rows: [{ id: 1, constructor: 'x', toString: 2, hasOwnProperty: true }] }, EMPTY);
    expect(r.upserts[0]!.attrs).toEqual({ constructor: 'x', toString: 2, hasOwnProperty: true });
    expect(r.schema.constructor).toEqual({ type: 'string', filterable: true });
    expect(r.schema.toString).toEqual({ type: 'int', filterable: true });
  });

  it('should let the explicit schema win over inference and refuse changing an existing type', () => {
    const r = parseWriteRequest({ schema: { a: 'float', t: 'datetime' }, upsert_rows: [{ id: 1, a: 2, t: '2020-01-01' }] }, EMPTY);
    expect(r.schema.a!.type).toBe('float');
    expect(r.upserts[0]!.attrs.t).toBe('2020-01-01T00:00:00.000Z');
    expectElaxError(() => parse({ schema: { n: 'float' } }), CONFLICT, "attribute 'n' has type int", 'float');
    expectElaxError(() => parse({ schema: { s: { type: 'string', full_text_search: { k1: -1 } } } }), INV, "attribute 's'", 'k1 must be');
  });

  it('should keep nulls in patches (remove) but drop them from upserts (absent)', () => {
    const r = parse({ upsert_rows: [{ id: 1, s: null, n: 3 }], patch_rows: [{ id: 3, s: null, n: 4 }], patch_columns: { id: [2], s: [null], vector: [null] } });
    expect(r.upserts).toEqual([{ id: 1, vector: null, attrs: { n: 3 } }]);
    expect(r.patches).toEqual([
      { id: 3, attrs: { s: null, n: 4 } },
      { id: 2, vector: null, attrs: { s: null } },
    ]);
  });
});

describe('parseWriteRequest: schema bookkeeping', () => {
  it('should report schemaChanged and the delta only when something is new', () => {
    expect(parse({ upsert_rows: [{ id: 1, n: 3, s: 'x' }] }).schemaChanged).toBe(false);
    const r = parse({ upsert_rows: [{ id: 1, z: 3 }] });
    expect(r.schemaChanged).toBe(true);
    expect(r.schemaUpdate).toEqual({ z: { type: 'int' } });
    expect(r.schema).toEqual({ ...base, z: { type: 'int', filterable: true } });
    // The delta re-applied on a newer schema that changed an option keeps that option.
    const newer = mergeSchema(base, { s: { type: 'string', filterable: false } });
    expect(mergeSchema(newer, r.schemaUpdate).s).toEqual({ type: 'string', filterable: false });
  });

  it('should apply full_text_search defaults through the write schema', () => {
    const r = parse({ schema: { s: { type: 'string', full_text_search: true } } });
    expect(r.schema.s!.filterable).toBe(false);
    expect(r.schema.s!.full_text_search).toMatchObject({ language: 'english', k1: 1.2, b: 0.75 });
    expect(r.schemaChanged).toBe(true);
  });

  it('should order upserts by body key order', () => {
    const r = parse({ upsert_columns: { id: [1] }, upsert_rows: [{ id: 2 }], patch_rows: [{ id: 3 }], patch_columns: { id: [4] } });
    expect(r.upserts.map((d) => d.id)).toEqual([1, 2]);
    expect(r.patches.map((d) => d.id)).toEqual([3, 4]);
    expect(parse({ upsert_rows: [{ id: 2 }], upsert_columns: { id: [1] } }).upserts.map((d) => d.id)).toEqual([2, 1]);
  });
});

describe('parseWriteRequest: vectors', () => {
  it('should name the row of a vector with wrong dims or non-finite values', () => {
    expectElaxError(() => parse({ upsert_rows: [{ id: 1, vector: [1, 2, 3] }, { id: 2, vector: [1, 2] }] }), VEC, 'upsert_rows[1].vector', '2 dimensions', 'have 3');
    expectElaxError(() => parse({ upsert_rows: [{ id: 1, vector: [1, NaN, 3] }] }), VEC, 'upsert_rows[0].vector', 'element 1');
    expectElaxError(() => parse({ upsert_columns: { id: [1, 2], vector: [[1, 2, 3], 'AAAA'] } }), VEC, 'upsert_columns.vector[1]');
    expectElaxError(() => parseWriteRequest({ upsert_rows: [{ id: 1, vector: [1, 2] }, { id: 2, vector: [1] }], distance_metric: 'cosine_distance' }, EMPTY), VEC, 'upsert_rows[1].vector', 'have 2');
  });

  it('should fix dims from the first vector and require distance_metric on the first vector write', () => {
    expectElaxError(() => parseWriteRequest({ upsert_rows: [{ id: 1, vector: [1, 2] }] }, EMPTY), INV, 'distance_metric is required');
    const r = parseWriteRequest({ upsert_rows: [{ id: 1, vector: [1, 2] }, { id: 2, vector: null }], distance_metric: 'euclidean_squared' }, EMPTY);
    expect(r.schema.vector).toEqual({ type: '[2]f32', ann: { distance_metric: 'euclidean_squared' } });
    expect(r.distanceMetric).toBe('euclidean_squared');
    expect(r.upserts[1]!.vector).toBeNull();
    // Later writes may omit it; a different one is refused.
    expect(parse({ upsert_rows: [{ id: 1, vector: [1, 2, 3] }] }).distanceMetric).toBeUndefined();
    expectElaxError(() => parse({ distance_metric: 'euclidean_squared' }), INV, "conflicts with the namespace's existing metric 'cosine_distance'");
    expectElaxError(() => parse({ distance_metric: 'dot_product' }), INV, 'distance_metric must be one of');
    // The metric may come from the schema instead.
    const s = parseWriteRequest({ schema: { vector: { type: '[2]f16', ann: { distance_metric: 'cosine_distance' } } }, upsert_rows: [{ id: 1, vector: [0.1, 2] }] }, EMPTY);
    expect(s.distanceMetric).toBe('cosine_distance');
    expect(Array.from(s.upserts[0]!.vector!)).toEqual([0.0999755859375, 2]);
    expectElaxError(
      () => parseWriteRequest({ distance_metric: 'euclidean_squared', schema: { vector: { type: '[2]f32', ann: { distance_metric: 'cosine_distance' } } } }, EMPTY),
      INV,
      'disagrees',
    );
  });

  it('should accept a vector column as vectors, base64 strings, a flat array or one base64 string', () => {
    const vs = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    const want = vs.map((v) => new Float32Array(v));
    const forms: unknown[] = [vs, vs.map((v) => encodeVectorBase64(new Float32Array(v))), vs.flat(), encodeVectorBase64(new Float32Array(vs.flat()))];
    for (const vector of forms) expect(parse({ upsert_columns: { id: [1, 2], vector } }).upserts.map((d) => d.vector)).toEqual(want);
    expectElaxError(() => parse({ upsert_columns: { id: [1, 2], vector: [1, 2, 3, 4] } }), VEC, 'flat vector column has 4 numbers', '2 ids × 3');
    expectElaxError(() => parse({ upsert_columns: { id: [1, 2], vector: encodeVectorBase64(new Float32Array(4)) } }), VEC, '16 bytes', '2 ids × 3 dimensions');
    expectElaxError(
      () => parseWriteRequest({ upsert_columns: { id: [1, 2], vector: encodeVectorBase64(new Float32Array(3)) }, distance_metric: 'cosine_distance' }, EMPTY),
      VEC,
      'not divisible into 2',
    );
  });

  it('should refuse patch vectors when the namespace has no vector attribute', () => {
    const cur = { schema: mergeSchema({}, { id: { type: 'uint' } }), distanceMetric: null };
    expectElaxError(() => parseWriteRequest({ patch_rows: [{ id: 1, vector: [1] }] }, cur), INV, 'patch_rows[0].vector', 'no vector attribute');
    expectElaxError(() => parseWriteRequest({ patch_columns: { id: [1], vector: [[1]] } }, cur), INV, 'patch_columns.vector', 'no vector attribute');
    expect(parseWriteRequest({ patch_rows: [{ id: 1, vector: null }] }, cur).patches).toEqual([{ id: 1, vector: null, attrs: {} }]);
    // With a vector attribute, patch vectors are decoded against its dims.
    expect(parse({ patch_rows: [{ id: 1, vector: [1, 2, 3] }] }).patches[0]!.vector).toEqual(new Float32Array([1, 2, 3]));
    expectElaxError(() => parse({ patch_rows: [{ id: 1, vector: [1, 2] }] }), VEC, 'patch_rows[0].vector');
  });
});
