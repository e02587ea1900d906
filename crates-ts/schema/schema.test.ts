import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Schema } from '../core/index.js';
import { DEFAULT_FULL_TEXT_CONFIG as FULL_TEXT_DEFAULTS } from '../fts/index.js';
import { mergeSchema, schemaEquals } from './merge.js';
import { renderSchemaForResponse } from './render.js';
import { parseSchemaUpdate } from './schema-update.js';
import { expectElaxError } from './testing.js';

describe('regex and glob options', () => {
  it('should keep them, default filterable to false while one is on, and render exactly what was set', () => {
    const created = mergeSchema({}, parseSchemaUpdate({ r: { type: 'string', regex: true }, g: { type: '[]string', glob: true, filterable: true }, p: 'string' }));
    expect(created).toEqual({
      r: { type: 'string', filterable: false, regex: true },
      g: { type: '[]string', filterable: true, glob: true },
      p: { type: 'string', filterable: true },
    });
    expect(renderSchemaForResponse(created)).toEqual(created);
    // Turning one on or off without saying filterable applies the default of the new state; saying only the type
    // changes nothing; turning full-text search off while regex stays on keeps filterable false.
    const step = (s: Schema, u: unknown) => mergeSchema(s, parseSchemaUpdate(u));
    expect(step(created, { p: { type: 'string', glob: true } }).p).toEqual({ type: 'string', filterable: false, glob: true });
    expect(step(created, { r: 'string' }).r).toEqual({ type: 'string', filterable: false, regex: true });
    expect(step(created, { r: { type: 'string', regex: false } }).r).toEqual({ type: 'string', filterable: true });
    expect(step(created, { g: { type: '[]string', glob: false } }).g).toEqual({ type: '[]string', filterable: true });
    const both = step(created, { r: { type: 'string', full_text_search: true } });
    expect(step(both, { r: { type: 'string', full_text_search: false } }).r).toEqual({ type: 'string', filterable: false, regex: true });
    // The rendered schema written back is the same schema.
    expect(schemaEquals(step(both, renderSchemaForResponse(both)), both)).toBe(true);
  });
});

describe('fuzzy option', () => {
  it('should keep it, default filterable to false while it is on, and render it', () => {
    const created = mergeSchema({}, parseSchemaUpdate({ f: { type: 'string', fuzzy: true }, t: { type: '[]string', fuzzy: true, filterable: true } }));
    expect(created).toEqual({ f: { type: 'string', filterable: false, fuzzy: true }, t: { type: '[]string', filterable: true, fuzzy: true } });
    expect(renderSchemaForResponse(created)).toEqual(created);
    const step = (s: Schema, u: unknown) => mergeSchema(s, parseSchemaUpdate(u));
    expect(step(created, { f: 'string' }).f).toEqual({ type: 'string', filterable: false, fuzzy: true });
    expect(step(created, { f: { type: 'string', fuzzy: false } }).f).toEqual({ type: 'string', filterable: true });
  });
});

describe('parseSchemaUpdate', () => {
  it('should accept type strings and config objects and keep only what was said', () => {
    const s = parseSchemaUpdate({
      id: 'uuid',
      title: { type: 'string', full_text_search: true },
      body: { type: '[]string', full_text_search: { language: 'french', stemming: true, k1: 1.5 }, filterable: true },
      price: { type: 'float', filterable: false },
      at: 'datetime',
      vector: { type: '[8]f16', ann: { distance_metric: 'euclidean_squared' } },
    });
    expect(s).toEqual({
      id: { type: 'uuid' },
      title: { type: 'string', full_text_search: { ...FULL_TEXT_DEFAULTS } },
      body: { type: '[]string', full_text_search: { ...FULL_TEXT_DEFAULTS, language: 'french', stemming: true, k1: 1.5 }, filterable: true },
      price: { type: 'float', filterable: false },
      at: { type: 'datetime' },
      vector: { type: '[8]f16', ann: { distance_metric: 'euclidean_squared' } },
    });
  });

  it('should reject bad schemas with messages naming the attribute', () => {
    const E = 'ELAX_ERR_INVALID_REQUEST';
    expectElaxError(() => parseSchemaUpdate([]), E, 'schema must be an object');
    expectElaxError(() => parseSchemaUpdate({ a: 'text' }), E, "attribute 'a'", "unknown type 'text'");
    expectElaxError(() => parseSchemaUpdate({ a: { filterable: true } }), E, "attribute 'a'", "'type' is required");
    expectElaxError(() => parseSchemaUpdate({ a: 5 }), E, "attribute 'a'", 'got number');
    expectElaxError(() => parseSchemaUpdate({ a: { type: 'int', full_text_search: true } }), E, "attribute 'a'", 'requires type string or []string');
    expectElaxError(() => parseSchemaUpdate({ a: { type: 'string', full_text_search: { language: 'klingon' } } }), E, "full_text_search of attribute 'a'", 'language must be one of');
    expectElaxError(() => parseSchemaUpdate({ a: { type: 'string', full_text_search: { max_token_length: 0 } } }), E, 'between 1 and 254');
    expectElaxError(() => parseSchemaUpdate({ a: { type: 'string', full_text_search: { nope: 1 } } }), E, "unknown option 'nope'");
    expectElaxError(() => parseSchemaUpdate({ a: { type: 'string', filterable: 'yes' } }), E, 'filterable must be a boolean');
    expectElaxError(() => parseSchemaUpdate({ a: { type: 'string', ann: true } }), E, "ann applies only to vector attributes ([N]f32 or [N]f16), not 'string'");
    expectElaxError(() => parseSchemaUpdate({ a: { type: 'string', colour: 'red' } }), E, "unknown schema option 'colour'");
    expectElaxError(() => parseSchemaUpdate({ a: { type: 'int', fuzzy: true } }), E, "attribute 'a'", 'fuzzy requires type string or []string');
    expectElaxError(() => parseSchemaUpdate({ a: { type: 'string', fuzzy: 'yes' } }), E, 'fuzzy must be a boolean');
    expectElaxError(() => parseSchemaUpdate({ id: { type: 'string', fuzzy: true } }), E, 'not of the id');
    expect(parseSchemaUpdate({ a: { type: 'string', regex: true, glob: false } })).toEqual({ a: { type: 'string', regex: true, glob: false } });
    expectElaxError(() => parseSchemaUpdate({ a: { type: 'float', glob: true } }), E, "attribute 'a'", 'glob requires a string, uuid or datetime type');
    expectElaxError(() => parseSchemaUpdate({ a: { type: 'string', embed: 'model' } }), E, 'not supported by elax');
    expectElaxError(() => parseSchemaUpdate({ a: { type: '[3]f32', filterable: true } }), E, 'vector attributes cannot be filterable');
    expectElaxError(() => parseSchemaUpdate({ vector: 'string' }), E, "'vector': type must be [N]f32 or [N]f16");
    expectElaxError(() => parseSchemaUpdate({ vector: '[0]f32' }), E, 'between 1 and 10752');
    expectElaxError(() => parseSchemaUpdate({ vector: '[10753]f32' }), E, 'between 1 and 10752');
    expectElaxError(() => parseSchemaUpdate({ vector: '{}f16' }), E, "'vector': type must be [N]f32 or [N]f16");
    // Multi-vectors (RFC-0015): [][N]f32, never filterable; ANN needs ann.late_interaction.
    expect(parseSchemaUpdate({ a: '[][3]f32', b: { type: '[][8]f32', ann: { late_interaction: true, distance_metric: 'euclidean_squared' } } })).toEqual({
      a: { type: '[][3]f32' },
      b: { type: '[][8]f32', ann: { late_interaction: true, distance_metric: 'euclidean_squared' } },
    });
    expectElaxError(() => parseSchemaUpdate({ a: '[][3]f16' }), E, 'multi-vector', '[][N]f32');
    expectElaxError(() => parseSchemaUpdate({ a: '[][0]f32' }), E, 'multi-vector', '[][N]f32');
    expectElaxError(() => parseSchemaUpdate({ a: { type: '[][3]f32', ann: true } }), E, 'late_interaction');
    expectElaxError(() => parseSchemaUpdate({ a: { type: '[][3]f32', filterable: true } }), E, 'cannot be filterable');
    expectElaxError(() => parseSchemaUpdate({ a: { type: '[3]f32', ann: { late_interaction: true } } }), E);
    expectElaxError(() => parseSchemaUpdate({ vector: { type: '[3]f32', ann: { late_interaction: true } } }), E, 'only valid on [][N]f32');
    // Sparse vectors (RFC-0012): {}f16 / {}f32 with sparse_knn (dot_product only), never filterable.
    expect(parseSchemaUpdate({ s: { type: '{}f16', sparse_knn: { distance_metric: 'dot_product' } }, t: '{}f32' })).toEqual({
      s: { type: '{}f16', sparse_knn: { distance_metric: 'dot_product' } },
      t: { type: '{}f32' },
    });
    expectElaxError(() => parseSchemaUpdate({ s: { type: 'string', sparse_knn: { distance_metric: 'dot_product' } } }), E, "attribute 's'", 'sparse_knn requires type {}f16 or {}f32');
    expectElaxError(() => parseSchemaUpdate({ s: { type: '{}f16', sparse_knn: { distance_metric: 'cosine_distance' } } }), E, 'must be dot_product');
    expectElaxError(() => parseSchemaUpdate({ s: { type: '{}f16', sparse_knn: {} } }), E, 'distance_metric is required');
    expectElaxError(() => parseSchemaUpdate({ s: { type: '{}f16', sparse_knn: true } }), E, 'must be an object');
    expectElaxError(() => parseSchemaUpdate({ s: { type: '{}f16', filterable: true } }), E, 'cannot be filterable');
    expectElaxError(() => parseSchemaUpdate({ vector: { type: '[3]f32', ann: { distance_metric: 'dot' } } }), E, 'ann.distance_metric', 'cosine_distance');
    expectElaxError(() => parseSchemaUpdate({ id: 'int' }), E, "'id': type must be one of uint, uuid, string");
    expectElaxError(() => parseSchemaUpdate({ $dist: 'float' }), E, "must not start with '$'");
    expectElaxError(() => parseSchemaUpdate({ '': 'float' }), E, 'must not be empty');
    expectElaxError(() => parseSchemaUpdate({ ['é'.repeat(65)]: 'float' }), E, '130 bytes', 'maximum is 128');
  });

  it('should parse its own output to the same thing (the schema endpoint feeds it back through a write)', () => {
    const once = parseSchemaUpdate({
      t: { type: 'string', full_text_search: { language: 'german' }, filterable: true },
      u: { type: 'string', full_text_search: false },
      vector: { type: '[2]f32', ann: { distance_metric: 'cosine_distance' } },
      id: 'string',
    });
    expect(parseSchemaUpdate(JSON.parse(JSON.stringify(once)))).toEqual(once);
  });

  it('should accept exactly 128-byte names and [10752]f32', () => {
    expect(parseSchemaUpdate({ ['x'.repeat(128)]: 'int', vector: '[10752]f32' })).toEqual({ ['x'.repeat(128)]: { type: 'int' }, vector: { type: '[10752]f32' } });
  });
});

describe('mergeSchema', () => {
  const cur: Schema = mergeSchema({}, { id: { type: 'uint' }, a: { type: 'int' }, t: { type: 'string' } });

  it('should fill defaults for new attributes: filterable unless full-text indexed', () => {
    const m = mergeSchema(cur, parseSchemaUpdate({ b: { type: 'string', full_text_search: true }, c: 'bool', vector: '[4]f32' }));
    expect(m).toEqual({
      id: { type: 'uint' },
      a: { type: 'int', filterable: true },
      t: { type: 'string', filterable: true },
      b: { type: 'string', filterable: false, full_text_search: { ...FULL_TEXT_DEFAULTS } },
      c: { type: 'bool', filterable: true },
      vector: { type: '[4]f32', ann: true },
    });
    expect(Object.keys(m)).toEqual(['id', 'a', 't', 'b', 'c', 'vector']);
  });

  it('should refuse type changes with ELAX_ERR_SCHEMA_CONFLICT naming attribute, old and new type', () => {
    expectElaxError(() => mergeSchema(cur, { a: { type: 'float' } }), 'ELAX_ERR_SCHEMA_CONFLICT', "'a'", 'int', 'float');
    expectElaxError(() => mergeSchema(cur, { id: { type: 'string' } }), 'ELAX_ERR_SCHEMA_CONFLICT', "'id'", 'uint', 'string');
    const v = mergeSchema(cur, { vector: { type: '[4]f32', ann: { distance_metric: 'cosine_distance' } } });
    expectElaxError(() => mergeSchema(v, { vector: { type: '[5]f32' } }), 'ELAX_ERR_SCHEMA_CONFLICT', '[4]f32', '[5]f32');
    expectElaxError(() => mergeSchema(v, { vector: { type: '[4]f16' } }), 'ELAX_ERR_SCHEMA_CONFLICT');
    expectElaxError(
      () => mergeSchema(v, { vector: { type: '[4]f32', ann: { distance_metric: 'euclidean_squared' } } }),
      'ELAX_ERR_SCHEMA_CONFLICT',
      'cosine_distance',
      'euclidean_squared',
    );
    // ann: true keeps the chosen metric.
    expect(mergeSchema(v, { vector: { type: '[4]f32', ann: true } }).vector).toEqual({ type: '[4]f32', ann: { distance_metric: 'cosine_distance' } });
  });

  it('should apply option updates and turbopuffer filterable defaults when full-text search toggles', () => {
    const on = mergeSchema(cur, parseSchemaUpdate({ t: { type: 'string', full_text_search: true } }));
    expect(on.t).toEqual({ type: 'string', filterable: false, full_text_search: { ...FULL_TEXT_DEFAULTS } });
    const onF = mergeSchema(cur, parseSchemaUpdate({ t: { type: 'string', full_text_search: true, filterable: true } }));
    expect(onF.t!.filterable).toBe(true);
    // Omitting filterable in a later update keeps it.
    expect(mergeSchema(onF, parseSchemaUpdate({ t: 'string' })).t).toEqual(onF.t);
    const off = mergeSchema(on, parseSchemaUpdate({ t: { type: 'string', full_text_search: false } }));
    expect(off.t).toEqual({ type: 'string', filterable: true });
    const nf = mergeSchema(cur, parseSchemaUpdate({ a: { type: 'int', filterable: false } }));
    expect(nf.a).toEqual({ type: 'int', filterable: false });
    expect(mergeSchema(nf, { a: { type: 'int' } }).a).toEqual({ type: 'int', filterable: false });
  });

  it('should be idempotent and not mutate its inputs (randomised)', () => {
    const types = ['string', 'int', 'uint', 'float', 'bool', 'datetime', 'uuid', '[]string', '[]int'];
    // id and vector have their own canonical forms (no filterable), covered above.
    const name = fc.stringMatching(/^[a-z]{1,6}$/).filter((n) => n !== 'id');
    const attr = fc.record({
      type: fc.constantFrom(...types),
      filterable: fc.option(fc.boolean(), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.dictionary(name, attr), fc.dictionary(name, attr), (a, b) => {
        const cleanA = JSON.parse(JSON.stringify(a)) as Schema;
        const cleanB = JSON.parse(JSON.stringify(b)) as Schema;
        let m: Schema;
        try {
          m = mergeSchema(cleanA, cleanB);
        } catch {
          // Only a type difference may make it fail.
          expect(Object.keys(b).some((k) => Object.hasOwn(a, k) && a[k]!.type !== b[k]!.type)).toBe(true);
          return;
        }
        expect(cleanA).toEqual(JSON.parse(JSON.stringify(a)));
        expect(JSON.stringify(mergeSchema(m, m))).toBe(JSON.stringify(m));
        expect(JSON.stringify(mergeSchema(m, cleanB))).toBe(JSON.stringify(m));
        expect(schemaEquals(mergeSchema(m, {}), m)).toBe(true);
        for (const k of Object.keys(b)) expect(m[k]!.filterable).toBe(b[k]!.filterable ?? (Object.hasOwn(a, k) ? (a[k]!.filterable ?? true) : true));
      }),
    );
  });
});

describe('schemaEquals', () => {
  it('should ignore key order but not values', () => {
    expect(schemaEquals({ a: { type: 'int', filterable: true }, b: { type: 'bool' } }, { b: { type: 'bool' }, a: { filterable: true, type: 'int' } })).toBe(true);
    expect(schemaEquals({ a: { type: 'int', filterable: true } }, { a: { type: 'int', filterable: false } })).toBe(false);
    expect(schemaEquals({ a: { type: 'int' } }, { a: { type: 'int' }, b: { type: 'int' } })).toBe(false);
  });
});

describe('renderSchemaForResponse', () => {
  it('should render turbopuffer config objects, with the vector metric when known', () => {
    const s = mergeSchema({}, parseSchemaUpdate({ id: 'uint', t: { type: 'string', full_text_search: true }, n: 'int', vector: '[3]f32' }));
    const r = renderSchemaForResponse(s, 'euclidean_squared');
    expect(r).toEqual({
      id: { type: 'uint', filterable: true },
      t: { type: 'string', filterable: false, full_text_search: { ...FULL_TEXT_DEFAULTS } },
      n: { type: 'int', filterable: true },
      vector: { type: '[3]f32', ann: { distance_metric: 'euclidean_squared' } },
    });
    expect(renderSchemaForResponse(s).vector).toEqual({ type: '[3]f32', ann: true });
    (r.t as { full_text_search: { k1: number } }).full_text_search.k1 = 9;
    expect(s.t!.full_text_search).toEqual({ ...FULL_TEXT_DEFAULTS }); // fresh objects
  });
});
