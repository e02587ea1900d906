import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { AttrValue } from './types.js';
import { attrValueBytes, docLogicalBytes } from './logical-bytes.js';

/** The size as first defined (before it was reshaped around a V8 hazard: docs/ARCHITECTURE.md "Known V8 hazards"). */
const reference = (v: unknown): number => (typeof v === 'string' ? v.length : Array.isArray(v) ? v.length * 8 : 8);

describe('logical bytes', () => {
  const value = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constant(''),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 5 }),
    fc.array(fc.array(fc.float(), { maxLength: 3 }), { maxLength: 3 }),
    fc.record({ indices: fc.array(fc.nat()), values: fc.array(fc.float()) }),
  );

  it("give a string's length, 8 per array element and 8 for anything else, as defined", () => {
    fc.assert(fc.property(value, (v) => {
      expect(attrValueBytes(v as AttrValue)).toBe(reference(v));
    }), { numRuns: 2000 });
    expect(attrValueBytes(undefined)).toBe(8);
  });

  it("sum a document's vector, keys and values", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 6 }), value, { maxKeys: 6 }), fc.option(fc.integer({ min: 1, max: 16 })), (attrs, dims) => {
        const vector = dims === null ? null : new Float32Array(dims);
        let want = (vector ? vector.length * 4 : 0) + 16;
        for (const k in attrs) want += k.length + reference(attrs[k]);
        expect(docLogicalBytes({ id: 1, vector, attrs: attrs as Record<string, AttrValue> })).toBe(want);
      }),
      { numRuns: 500 },
    );
  });
});
