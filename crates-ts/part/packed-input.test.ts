import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { AttrValue, Doc, Id } from '../core/index.js';
import { packBuildInput, unpackBuildInput } from './packed-input.js';
import type { PartBuildInput } from './build.js';

/** Same value: numbers by Object.is (-0 is not 0), objects with the same keys in the same order, typed arrays by element. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Object.is(a, b);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (a instanceof Float32Array || b instanceof Float32Array) {
    return a instanceof Float32Array && b instanceof Float32Array && a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const scalar = fc.oneof(fc.string({ maxLength: 6 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 1.5), fc.boolean());
const attrValue: fc.Arbitrary<AttrValue> = fc.oneof(
  scalar,
  fc.constant(null),
  fc.array(scalar, { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('1', '7', '20'), fc.double({ noNaN: true, noDefaultInfinity: true }), { maxKeys: 3 }),
  fc.array(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 2 }),
);
const attrs = fc.dictionary(fc.constantFrom('a', 'b', 'text', 'n', 'z', '0'), attrValue, { maxKeys: 4 });
const vector = fc.option(fc.array(fc.float({ noNaN: true }), { minLength: 1, maxLength: 4 }).map((v) => Float32Array.from(v)), { nil: null });
const ids: fc.Arbitrary<Id[]> = fc.oneof(fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { maxLength: 30 }), fc.uniqueArray(fc.string({ maxLength: 5 }), { maxLength: 30 }));

describe('packed part build input', () => {
  it('unpacks (after a structured clone) to the same changes, seqs and options', () => {
    fc.assert(
      fc.property(ids, fc.infiniteStream(fc.tuple(fc.boolean(), vector, attrs, fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }))), fc.boolean(), (idList, rowsOf, withSeqs) => {
        const changes = new Map<Id, Doc | null>();
        const seqs = new Map<Id, number>();
        const gen = rowsOf[Symbol.iterator]();
        for (const id of idList) {
          const [del, v, a, seq] = gen.next().value as [boolean, Float32Array | null, Record<string, AttrValue>, number | undefined];
          changes.set(id, del ? null : { id, vector: v, attrs: a });
          if (seq !== undefined) seqs.set(id, seq);
        }
        const input: PartBuildInput = {
          namespace: 'ns', partId: 'p', walStart: 1, walEnd: 9, level: 0, shard: 2, changes, ...(withSeqs ? { seqs } : {}), schema: { a: { type: 'string' } },
          distanceMetric: 'cosine_distance', createdAt: 'now', idempotencyKeys: new Set(['k1', 'k2']),
        };
        const out = unpackBuildInput(structuredClone(packBuildInput(input)));
        expect([...out.changes.keys()]).toEqual([...changes.keys()]);
        for (const [id, d] of changes) expect(same(out.changes.get(id), d), JSON.stringify(id)).toBe(true);
        expect(out.seqs === undefined).toBe(!withSeqs);
        if (withSeqs) expect([...out.seqs!]).toEqual([...seqs]);
        expect([...out.idempotencyKeys!]).toEqual(['k1', 'k2']);
        expect({ ...out, changes: null, seqs: null, idempotencyKeys: null }).toEqual({ ...input, changes: null, seqs: null, idempotencyKeys: null });
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the vectors in shared memory (nothing to copy to a thread)', () => {
    const changes = new Map<Id, Doc | null>([[1, { id: 1, vector: Float32Array.from([1, -0, 3]), attrs: {} }], [2, null]]);
    const packed = packBuildInput({ namespace: 'ns', partId: 'p', walStart: 1, walEnd: 1, level: 0, changes, schema: {}, distanceMetric: null, createdAt: 'now' });
    expect(packed.rows.vectors.buffer).toBeInstanceOf(SharedArrayBuffer);
    const v = unpackBuildInput(packed).changes.get(1)!.vector!;
    expect(Object.is(v[1], -0)).toBe(true);
    expect(() => packBuildInput({ namespace: 'ns', partId: 'p', walStart: 1, walEnd: 1, level: 0, changes: new Map([[1, { id: 2, vector: null, attrs: {} }]]), schema: {}, distanceMetric: null, createdAt: 'now' })).toThrow(/holds doc 2/);
  });
});
