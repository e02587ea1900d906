import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Doc } from '../core/index.js';
import { applyPatch, validateDocAgainstSchema } from './doc.js';
import { mergeSchema } from './merge.js';
import { parseSchemaUpdate } from './schema-update.js';
import { expectElaxError } from './testing.js';

const schema = mergeSchema({}, parseSchemaUpdate({ id: 'uint', n: 'int', u: 'uint', f: 'float', at: 'datetime', k: 'uuid', tags: '[]string', vector: '[2]f32' }));

describe('validateDocAgainstSchema', () => {
  it('should accept normalised docs and empty arrays for untyped attributes', () => {
    validateDocAgainstSchema(
      { id: 1, vector: new Float32Array([1, 2]), attrs: { n: -1, u: 2, f: 3, at: '2020-01-01T00:00:00.000Z', k: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', tags: [], later: [] } },
      schema,
    );
    validateDocAgainstSchema({ id: 1, vector: null, attrs: { n: null } }, schema);
  });

  it('should reject mismatches with precise errors', () => {
    const d = (attrs: Doc['attrs'], over: Partial<Doc> = {}): Doc => ({ id: 7, vector: null, attrs, ...over });
    expectElaxError(() => validateDocAgainstSchema(d({ n: 1.5 }), schema), 'ELAX_ERR_SCHEMA_CONFLICT', 'document 7', "'n' has type int", 'float 1.5');
    expectElaxError(() => validateDocAgainstSchema(d({ u: -1 }), schema), 'ELAX_ERR_SCHEMA_CONFLICT', "'u'");
    expectElaxError(() => validateDocAgainstSchema(d({ at: '2020-01-01' }), schema), 'ELAX_ERR_SCHEMA_CONFLICT', "'at'");
    expectElaxError(() => validateDocAgainstSchema(d({ k: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11' }), schema), 'ELAX_ERR_SCHEMA_CONFLICT', "'k'");
    expectElaxError(() => validateDocAgainstSchema(d({ tags: ['a', 1] }), schema), 'ELAX_ERR_SCHEMA_CONFLICT', "'tags'");
    expectElaxError(() => validateDocAgainstSchema(d({ zz: 1 }), schema), 'ELAX_ERR_SCHEMA_CONFLICT', "'zz' is not in the namespace schema");
    expectElaxError(() => validateDocAgainstSchema(d({}, { id: 'x' }), schema), 'ELAX_ERR_INVALID_ID', 'uint');
    expectElaxError(() => validateDocAgainstSchema(d({}, { vector: new Float32Array(3) }), schema), 'ELAX_ERR_INVALID_VECTOR', '3 dimensions');
    expectElaxError(() => validateDocAgainstSchema(d({}, { vector: new Float32Array(3) }), { id: { type: 'uint' } }), 'ELAX_ERR_SCHEMA_CONFLICT', 'no vector attribute');
  });
});

describe('applyPatch', () => {
  it('should set, remove and keep attributes and vectors without mutating the input (randomised)', () => {
    const val = fc.oneof(fc.integer(), fc.string(), fc.constant(null));
    const names = fc.constantFrom('a', 'b', 'c', 'd');
    fc.assert(
      fc.property(fc.dictionary(names, fc.oneof(fc.integer(), fc.string())), fc.dictionary(names, val), fc.constantFrom('keep', 'null', 'set'), (attrs, patchAttrs, vmode) => {
        const doc: Doc = { id: 1, vector: new Float32Array([1, 2]), attrs };
        const before = structuredClone(doc);
        const patch = { id: 1, attrs: patchAttrs, ...(vmode === 'keep' ? {} : { vector: vmode === 'null' ? null : new Float32Array([3, 4]) }) };
        const out = applyPatch(doc, patch);
        expect(doc).toEqual(before);
        for (const k of ['a', 'b', 'c', 'd']) {
          const want = Object.hasOwn(patchAttrs, k) ? patchAttrs[k] : attrs[k];
          if (want === null || want === undefined) expect(Object.hasOwn(out.attrs, k)).toBe(false);
          else expect(out.attrs[k]).toBe(want);
        }
        expect(out.vector).toEqual(vmode === 'keep' ? doc.vector : vmode === 'null' ? null : new Float32Array([3, 4]));
        expect(out.id).toBe(1);
      }),
    );
  });
});
