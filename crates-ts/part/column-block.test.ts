import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isElaxError } from '../core/index.js';
import { BlockFileWriter, blockOf, checkBlock, openBlockFile, blockRef } from './block-file.js';
import { ColumnBlock, encodeColumnBlock, type ColumnKind } from './column-block.js';
import { f32ToJsonNumber } from '../query/vector-codec.js';

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const str = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ maxLength: 8, unit: 'binary' }), fc.string({ maxLength: 4, unit: fc.oneof(fc.constant('a'), loneSurrogate) }));
// -0 is written as 0 in json blocks (JSON.stringify), like in responses: keep it out of the comparison.
const num = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer()).map((x) => (Object.is(x, -0) ? 0 : x));
const anyValue = fc.oneof(str, num, fc.boolean(), fc.array(fc.oneof(str, num, fc.boolean()), { maxLength: 4 }));
const withNulls = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 5 });
const valuesOf: Record<ColumnKind, fc.Arbitrary<unknown[]>> = {
  f64: fc.array(withNulls(num), { maxLength: 300 }),
  bool: fc.array(withNulls(fc.boolean()), { maxLength: 300 }),
  utf8: fc.array(withNulls(str), { maxLength: 300 }),
  // Any mixture: blocks fall back to json when a value does not fit the preferred kind.
  json: fc.array(withNulls(anyValue), { maxLength: 300 }),
  // Normalised sparse vectors (f32-exact weights, canonical dimensions; -0 is stored as 0).
  sparse: fc.array(
    withNulls(
      fc
        .array(fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.float({ noNaN: true, noDefaultInfinity: true })), { maxLength: 8 })
        .map((pairs) => Object.fromEntries(pairs.map(([d, w]) => [String(d), Object.is(w, -0) ? 0 : w]))),
    ),
    { maxLength: 300 },
  ),
  // Multi-vectors of one N per block (f32-exact values): 1–5 vectors of 3 dimensions.
  multivec: fc.array(
    withNulls(
      fc.array(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x)), { minLength: 3, maxLength: 3 }), {
        minLength: 1,
        maxLength: 5,
      }),
    ),
    { maxLength: 200 },
  ),
  // Vectors of one N per block, as schema/values.ts stores them: each number the shortest decimal of its f32.
  fvec: fc.array(withNulls(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }).map(f32ToJsonNumber), { minLength: 5, maxLength: 5 })), { maxLength: 300 }),
};

describe('column blocks', () => {
  for (const kind of ['f64', 'bool', 'utf8', 'json', 'sparse', 'multivec', 'fvec'] as ColumnKind[]) {
    it(`should round-trip ${kind} values (with nulls, compressed or not) exactly`, () => {
      fc.assert(
        fc.property(valuesOf[kind], fc.constantFrom('f64', 'bool', 'utf8', 'json') as fc.Arbitrary<ColumnKind>, fc.boolean(), (values, preferred, compress) => {
          const block = ColumnBlock.decode(encodeColumnBlock(values, kind === 'json' ? preferred : kind, compress), 'test');
          expect(block.rows).toBe(values.length);
          values.forEach((v, i) => expect(block.get(i)).toEqual(v));
        }),
        { numRuns: 150 },
      );
    });
  }

  it('should write sparse vectors as kind 5 and fall back to json for a weight that is not f32-exact', () => {
    const values = [{ '3': 0.5, '70000': -2 }, null, {}, { '4294967295': 1.25 }];
    const enc = encodeColumnBlock(values, 'sparse', false);
    expect(enc[1]).toBe(5);
    const b = ColumnBlock.decode(enc, 'sparse');
    expect(b.kind).toBe('sparse');
    values.forEach((v, i) => expect(b.get(i)).toEqual(v));
    const inexact = encodeColumnBlock([{ '1': 0.1 }], 'sparse', false);
    expect(inexact[1]).toBe(3); // json: 0.1 is no f32
    expect(ColumnBlock.decode(inexact, 'json').get(0)).toEqual({ '1': 0.1 });
  });

  it('should write multi-vectors as kind 6 and fall back to json for mixed lengths or a value that is not f32-exact', () => {
    const values = [[[0.5, -2], [1.25, 3]], null, [[0, 1]]];
    const enc = encodeColumnBlock(values, 'multivec', false);
    expect(enc[1]).toBe(6);
    const b = ColumnBlock.decode(enc, 'multivec');
    expect(b.kind).toBe('multivec');
    values.forEach((v, i) => expect(b.get(i)).toEqual(v));
    const mixed = encodeColumnBlock([[[1, 2]], [[1, 2, 3]]], 'multivec', false);
    expect(mixed[1]).toBe(3);
    expect(ColumnBlock.decode(mixed, 'json').get(1)).toEqual([[1, 2, 3]]);
    const inexact = encodeColumnBlock([[[0.1, 1]]], 'multivec', false);
    expect(inexact[1]).toBe(3);
    expect(ColumnBlock.decode(inexact, 'json').get(0)).toEqual([[0.1, 1]]);
  });

  it('should write vectors as kind 7 (fixed stride), read rows as views of one buffer, and give back the written numbers', () => {
    const f16 = [f32ToJsonNumber(0.0999755859375), -2, 65504]; // f16-rounded values as schema/values.ts stores them
    const values = [[0.1, -0.2, 3], null, [1e-7, 123456.79, -0], f16];
    const enc = encodeColumnBlock(values, 'fvec', false);
    expect(enc[1]).toBe(7);
    expect(enc.byteLength).toBe(1 + 6 + 1 + 4 + 4 * 3 * 4); // codec, header, validity, N, rows × N f32
    const b = ColumnBlock.decode(enc, 'fvec');
    expect([b.kind, b.dims, b.isNull(1)]).toEqual(['fvec', 3, true]);
    values.forEach((v, i) => expect(b.get(i)).toEqual(v));
    expect(JSON.stringify(b.get(0))).toBe('[0.1,-0.2,3]'); // the shortest decimal of each f32, as written
    const v0 = b.vectorAt(0)!;
    const v3 = b.vectorAt(3)!;
    expect(v0.buffer).toBe(v3.buffer); // views, no copy per row
    expect(Array.from(v0)).toEqual([Math.fround(0.1), Math.fround(-0.2), 3]);
    expect(Array.from(v3)).toEqual([0.0999755859375, -2, 65504]); // the f16 values, exactly
    expect(b.vectorAt(1)).toBeNull();
    // Deflated: same values.
    const big = Array.from({ length: 400 }, (_, i) => [i % 3, 0.5, -1, 0]);
    const z = encodeColumnBlock(big, 'fvec');
    expect(z[0]).toBe(1);
    const bz = ColumnBlock.decode(z, 'fvec-z');
    big.forEach((v, i) => expect(Array.from(bz.vectorAt(i)!)).toEqual(v));
    // A block whose values all are null: no dimensions needed.
    expect(ColumnBlock.decode(encodeColumnBlock([null, null], 'fvec', false), 'nulls').get(1)).toBeNull();
  });

  it('should fall back to json for a vector block that would not give back the written numbers', () => {
    const cases: unknown[][] = [
      [[1, 2], [1, 2, 3]], // two lengths
      [[0.10000000149011612, 1]], // an f32 written long-hand: would come back as 0.1
      [[0.1, 1e40]], // not an f32
      [[1, 'x']], // not a number
      [[]], // empty
      [[1, 2], 'text'],
    ];
    for (const values of cases) {
      const enc = encodeColumnBlock(values, 'fvec', false);
      expect(enc[1]).toBe(3);
      const b = ColumnBlock.decode(enc, 'json');
      expect(b.vec).toBeNull();
      values.forEach((v, i) => expect(b.get(i)).toEqual(v));
      expect(b.vectorAt(0)).toBeNull();
    }
  });

  it('should refuse a corrupt vector block (truncated values, no dimensions)', () => {
    const enc = encodeColumnBlock([[1, 2, 3], [4, 5, 6]], 'fvec', false);
    expect(() => ColumnBlock.decode(enc.subarray(0, enc.byteLength - 4), 'cut')).toThrow(/cut: column block of 2 rows is truncated/);
    expect(() => ColumnBlock.decode(enc.subarray(0, 1 + 6 + 2), 'cut')).toThrow(/truncated/);
    const zero = enc.slice();
    zero.set([0, 0, 0, 0], 1 + 6); // N = 0 with rows present
    let err: unknown;
    try {
      ColumnBlock.decode(zero, 'zero');
    } catch (e) {
      err = e;
    }
    expect(isElaxError(err, 'ELAX_ERR_CORRUPT')).toBe(true);
    expect(String(err)).toMatch(/0 dimensions/);
    const unknown = enc.slice();
    unknown[1] = 8; // a kind from a newer build
    expect(() => ColumnBlock.decode(unknown, 'next')).toThrow(/unknown column kind 8/);
  });

  it('should dictionary-encode a string block with few distinct values, and read it back exactly', () => {
    const values = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? null : `cat-${i % 40}`));
    const enc = encodeColumnBlock(values, 'utf8', false);
    expect(enc[1]).toBe(4); // payload kind 4: dictionary
    expect(enc.byteLength).toBeLessThan(3000 * 2); // one byte per row and the 40 entries
    const b = ColumnBlock.decode(enc, 'dict');
    expect(b.kind).toBe('utf8');
    values.forEach((v, i) => expect(b.get(i)).toBe(v));
    const wide = Array.from({ length: 4000 }, (_, i) => `v${i % 600}`);
    const w = ColumnBlock.decode(encodeColumnBlock(wide, 'utf8', false), 'wide');
    wide.forEach((v, i) => expect(w.get(i)).toBe(v));
    // Rows are kept as codes, not as an array of string references: ≈1 byte a row in the cache's accounting.
    expect(b.bytes).toBeLessThan(3000 * 2);
    expect(w.bytes).toBeLessThan(600 * 24 + 4000 * 2 + 100); // the 600 entries, then 2 bytes a row
    // Decoding copies what it keeps: a Buffer's slice would be a view of (and pin) the bytes it was read from.
    const fromBuffer = Buffer.from(encodeColumnBlock(values, 'utf8', false));
    const before = Buffer.from(fromBuffer);
    const kept = ColumnBlock.decode(fromBuffer, 'buffer');
    expect(fromBuffer.equals(before)).toBe(true);
    fromBuffer.fill(0);
    values.forEach((v, i) => expect(kept.get(i)).toBe(v));
    // A code past the dictionary is corruption, found when the block is decoded.
    const bad = enc.slice();
    bad[bad.byteLength - 1] = 200;
    expect(() => ColumnBlock.decode(bad, 'dict')).toThrow(/dictionary code 200 at row 2999 is out of range/);
    const distinct = Array.from({ length: 100 }, (_, i) => `unique-${i}`);
    expect(encodeColumnBlock(distinct, 'utf8', false)[1]).toBe(2); // plain utf8: no gain from a dictionary
  });

  it('should keep the preferred kind when every value fits, and fall back to json when one does not', () => {
    expect(ColumnBlock.decode(encodeColumnBlock([1, null, 2.5], 'f64'), 't').kind).toBe('f64');
    expect(ColumnBlock.decode(encodeColumnBlock([1, 'x'], 'f64'), 't').kind).toBe('json');
    expect(ColumnBlock.decode(encodeColumnBlock(['ok', '\ud800'], 'utf8'), 't').kind).toBe('json');
    const b = ColumnBlock.decode(encodeColumnBlock(['a', 'b', null], 'utf8'), 't');
    expect([b.kind, b.isNull(2), b.get(0)]).toEqual(['utf8', true, 'a']);
  });

  it('should compress repetitive text and detect corruption', () => {
    const values = Array.from({ length: 2000 }, (_, i) => `value number ${i % 10}`);
    const enc = encodeColumnBlock(values, 'utf8');
    expect(enc[0]).toBe(1); // deflate
    expect(enc.byteLength).toBeLessThan(values.length * 5);
    const bad = enc.slice();
    bad[bad.length >> 1] ^= 0xff;
    expect(() => {
      const b = ColumnBlock.decode(bad, 'bad');
      values.forEach((v, i) => {
        if (b.get(i) !== v) throw new Error('silently wrong');
      });
    }).toThrow();
  });
});

describe('block files', () => {
  it('should be self-describing from the trailer, and verify each block by its CRC-32', () => {
    const w = new BlockFileWriter();
    const blocks = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(1000).fill(7)];
    blocks.forEach((b, i) => w.add(b, i * 10));
    const file = w.finish('test', { rows: 30 });
    const { footer, blocks: t } = openBlockFile(file, 'f');
    expect(footer).toMatchObject({ kind: 'test', version: 1, rows: 30 });
    expect(Array.from(t.start!)).toEqual([0, 10, 20]);
    blocks.forEach((b, i) => expect(Array.from(blockOf(file, t, i, 'f'))).toEqual(Array.from(b)));
    const bad = file.slice();
    bad[t.offset[2]! + 5] ^= 1;
    expect(() => blockOf(bad, t, 2, 'f')).toThrow(/CRC-32/);
    expect(() => checkBlock(file.subarray(0, 2), blockRef(t, 0), 'f')).toThrow(/2 bytes/);
    const badFooter = file.slice();
    badFooter[file.length - 20] ^= 1;
    expect(() => openBlockFile(badFooter, 'f')).toThrow(/footer/);
    const notBlock = new Uint8Array(40);
    let err: unknown;
    try {
      openBlockFile(notBlock, 'f');
    } catch (e) {
      err = e;
    }
    expect(isElaxError(err, 'ELAX_ERR_CORRUPT')).toBe(true);
  });
});
