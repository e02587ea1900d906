import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { upsertBytes } from './engine.js';
import type { Doc } from '../core/index.js';

describe('upsertBytes', () => {
  it('bills what one JSON.stringify per document billed: f32 bytes, attribute JSON length and 8 per document', () => {
    const value = fc.oneof(fc.string({ unit: 'binary' }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 4 }));
    const doc: fc.Arbitrary<Doc> = fc.record({
      id: fc.oneof(fc.nat(), fc.string()),
      vector: fc.option(fc.integer({ min: 1, max: 8 }).map((d) => new Float32Array(d)), { nil: null }),
      attrs: fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), value, { maxKeys: 5 }),
    });
    fc.assert(
      fc.property(fc.array(doc, { maxLength: 20 }), (docs) => {
        const perDoc = docs.reduce((s, d) => s + (d.vector ? d.vector.length * 4 : 0) + JSON.stringify(d.attrs).length + 8, 0);
        expect(upsertBytes(docs)).toBe(perDoc);
      }),
      { numRuns: 300 },
    );
  });
});
