import { describe, expect, it } from 'vitest';
import { isVectorType, mergeSchema, MAX_VECTOR_COLUMNS } from './merge.js';
import { renderSchemaForResponse } from './render.js';
import { parseSchemaUpdate } from './schema-update.js';
import { tryParseType } from './attr-type.js';
import { checkStoredValue, normalizeValue } from './values.js';
import { expectElaxError } from './testing.js';

describe('vector columns other than `vector` (RFC-0014)', () => {
  it('should accept [N]f32 / [N]f16 attributes with ann, defaulting ann to true and filterable to false', () => {
    const s = mergeSchema({}, parseSchemaUpdate({ img: { type: '[3]f16', ann: { distance_metric: 'euclidean_squared' } }, txt: '[8]f32' }));
    expect(s.img).toEqual({ type: '[3]f16', filterable: false, ann: { distance_metric: 'euclidean_squared' } });
    expect(s.txt).toEqual({ type: '[8]f32', filterable: false, ann: true });
    expect(isVectorType('[3]f16')).toBe(true);
    expect(isVectorType('[]float')).toBe(false);
    expect(isVectorType('{}f16')).toBe(false);
    expect(isVectorType('string')).toBe(false);
  });

  it('should allow at most MAX_VECTOR_COLUMNS vector columns, `vector` included, naming them', () => {
    expect(MAX_VECTOR_COLUMNS).toBe(2);
    const two = mergeSchema({}, parseSchemaUpdate({ vector: '[2]f32', img: '[2]f32' }));
    expectElaxError(() => mergeSchema(two, parseSchemaUpdate({ b: '[4]f16' })), 'ELAX_ERR_INVALID_REQUEST', "at most 2 vector columns", "'vector', 'img', 'b'");
    expectElaxError(() => mergeSchema({}, parseSchemaUpdate({ a: '[2]f32', b: '[2]f32', c: '[2]f32' })), 'ELAX_ERR_INVALID_REQUEST', 'this one would have 3');
    // Sparse vectors are not dense vector columns.
    expect(() => mergeSchema(two, parseSchemaUpdate({ sp: { type: '{}f16', sparse_knn: { distance_metric: 'dot_product' } } }))).not.toThrow();
  });

  it('should keep an attribute metric fixed once set, and let ann: true keep it', () => {
    const s = mergeSchema({}, parseSchemaUpdate({ img: { type: '[3]f32', ann: { distance_metric: 'cosine_distance' } } }));
    expectElaxError(
      () => mergeSchema(s, parseSchemaUpdate({ img: { type: '[3]f32', ann: { distance_metric: 'euclidean_squared' } } })),
      'ELAX_ERR_SCHEMA_CONFLICT',
      "attribute 'img' uses distance_metric cosine_distance",
    );
    expect(mergeSchema(s, parseSchemaUpdate({ img: { type: '[3]f32', ann: true } })).img!.ann).toEqual({ distance_metric: 'cosine_distance' });
    expectElaxError(() => mergeSchema(s, parseSchemaUpdate({ img: '[4]f32' })), 'ELAX_ERR_SCHEMA_CONFLICT', 'cannot be changed to [4]f32');
  });

  it('should reject ann on non-vector types and filterable vectors', () => {
    const E = 'ELAX_ERR_INVALID_REQUEST';
    expectElaxError(() => parseSchemaUpdate({ a: { type: '[]float', ann: true } }), E, "ann applies only to vector attributes ([N]f32 or [N]f16), not '[]float'");
    expectElaxError(() => parseSchemaUpdate({ a: { type: '[2]f32', filterable: true } }), E, 'vector attributes cannot be filterable');
    expectElaxError(() => parseSchemaUpdate({ a: { type: '[2]f32', full_text_search: true } }), E, 'full_text_search requires type string');
    expect(parseSchemaUpdate({ a: { type: '[2]f32', filterable: false } }).a).toEqual({ type: '[2]f32', filterable: false });
  });

  it('should render like `vector`: the attribute metric, else the namespace metric', () => {
    const s = mergeSchema({}, parseSchemaUpdate({ vector: '[2]f32', img: { type: '[3]f16', ann: { distance_metric: 'cosine_distance' } } }));
    expect(renderSchemaForResponse(s, 'euclidean_squared')).toEqual({
      vector: { type: '[2]f32', ann: { distance_metric: 'euclidean_squared' } },
      img: { type: '[3]f16', ann: { distance_metric: 'cosine_distance' } },
    });
    const t = mergeSchema({}, parseSchemaUpdate({ t: '[2]f32', off: { type: '[2]f32', ann: false } }));
    expect(renderSchemaForResponse(t, 'euclidean_squared')).toEqual({
      t: { type: '[2]f32', ann: { distance_metric: 'euclidean_squared' } },
      off: { type: '[2]f32', ann: false },
    });
  });

  it('should normalise values like `vector` (numbers or base64, dims, finite, f16 rounding) to shortest f32 numbers', () => {
    const f32 = tryParseType('[3]f32')!;
    const f16 = tryParseType('[2]f16')!;
    expect(normalizeValue(f32, '[3]f32', [0.1, 1, -2], 'upsert_rows[0]', 'img')).toEqual([0.1, 1, -2]);
    expect(normalizeValue(f32, '[3]f32', Buffer.from(new Float32Array([0.1, 1, -2]).buffer).toString('base64'), 'w', 'img')).toEqual([0.1, 1, -2]);
    // f16: 0.1 rounds to 0.0999755859375, stored as the shortest decimal reading back as that f32 (0.099975586).
    const h = normalizeValue(f16, '[2]f16', [0.1, 3], 'w', 'h') as number[];
    expect(h).toEqual([0.099975586, 3]);
    expect(Math.fround(h[0]!)).toBe(0.0999755859375);
    expect(normalizeValue(f16, '[2]f16', Buffer.from(new Uint16Array([0x3c00, 0xc000]).buffer).toString('base64'), 'w', 'h')).toEqual([1, -2]);
    expectElaxError(() => normalizeValue(f32, '[3]f32', [1, 2], 'upsert_rows[0]', 'img'), 'ELAX_ERR_INVALID_VECTOR', "upsert_rows[0]: attribute 'img'", '2 dimensions');
    expectElaxError(() => normalizeValue(f32, '[3]f32', [1, 2, 1e300], 'w', 'img'), 'ELAX_ERR_INVALID_VECTOR', 'element 2');
    expectElaxError(() => normalizeValue(f32, '[3]f32', 'a!!', 'w', 'img'), 'ELAX_ERR_INVALID_VECTOR', 'not valid base64');
    expectElaxError(() => normalizeValue(f16, '[2]f16', [1, 70000], 'w', 'h'), 'ELAX_ERR_INVALID_VECTOR', 'overflows f16');
    expect(checkStoredValue(f32, [0.1, 1, -2])).toBe(true);
    expect(checkStoredValue(f32, [0.1, 1])).toBe(false);
    expect(checkStoredValue(f32, [0.1, 1, 'x'])).toBe(false);
    expect(checkStoredValue(f32, [0.1, 1, 1e300])).toBe(false);
  });
});
