import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64Bytes, decodeVector, encodeVectorBase64, vectorDims } from './vector.js';
import { f16FromBits } from './f16.js';
import { expectElaxError, f32ToF16Bits } from './testing.js';

const f32 = fc.float({ noNaN: true, noDefaultInfinity: true });

describe('vectors', () => {
  it('should round-trip random f32 vectors through base64 bit-exactly', () => {
    fc.assert(
      fc.property(fc.array(f32, { minLength: 1, maxLength: 64 }), (xs) => {
        const v = new Float32Array(xs);
        const b64 = encodeVectorBase64(v);
        expect(Buffer.from(b64, 'base64').length).toBe(v.length * 4);
        const back = decodeVector(b64, v.length, 'v');
        expect(Array.from(back).map((x) => Object.is(x, -0) ? 0 : x)).toEqual(Array.from(v).map((x) => Object.is(x, -0) ? 0 : x));
        expect(decodeVector(xs, v.length, 'v')).toEqual(back);
      }),
    );
  });

  it('should encode little-endian f32', () => {
    expect(encodeVectorBase64(new Float32Array([1, -2]))).toBe(Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]).toString('base64'));
    // Works on a view with a non-zero byteOffset too.
    const big = new Float32Array([9, 1, -2]);
    expect(encodeVectorBase64(big.subarray(1))).toBe(encodeVectorBase64(new Float32Array([1, -2])));
  });

  it('should round f16 vectors to f16 precision and accept f16 or f32 base64 for them', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -60000, max: 60000, noNaN: true }), { minLength: 1, maxLength: 16 }), (xs) => {
        const expected = xs.map((x) => f16FromBits(f32ToF16Bits(x)));
        const v = decodeVector(xs, xs.length, 'v', 'f16');
        expect(Array.from(v)).toEqual(expected.map((x) => Math.fround(x)));
        const halves = Buffer.alloc(xs.length * 2);
        xs.forEach((x, i) => halves.writeUInt16LE(f32ToF16Bits(x), i * 2));
        expect(decodeVector(halves.toString('base64'), xs.length, 'v', 'f16')).toEqual(v);
        expect(decodeVector(encodeVectorBase64(new Float32Array(xs)), xs.length, 'v', 'f16')).toEqual(v);
      }),
    );
  });

  it('should reject bad vectors with ELAX_ERR_INVALID_VECTOR naming the place', () => {
    expectElaxError(() => decodeVector([1, 2], 3, 'upsert_rows[4].vector'), 'ELAX_ERR_INVALID_VECTOR', 'upsert_rows[4].vector', '2 dimensions', '3');
    expectElaxError(() => decodeVector([1, NaN], undefined, 'r[0]'), 'ELAX_ERR_INVALID_VECTOR', 'element 1', 'NaN');
    expectElaxError(() => decodeVector([1, Infinity], undefined, 'r[0]'), 'ELAX_ERR_INVALID_VECTOR', 'element 1');
    expectElaxError(() => decodeVector([1, 1e39], undefined, 'r[0]'), 'ELAX_ERR_INVALID_VECTOR', 'element 1', 'finite');
    expectElaxError(() => decodeVector([1, '2'], undefined, 'r[0]'), 'ELAX_ERR_INVALID_VECTOR', 'element 1 is string');
    expectElaxError(() => decodeVector([], undefined, 'r[0]'), 'ELAX_ERR_INVALID_VECTOR', 'at least 1');
    expectElaxError(() => decodeVector(new Array(10753).fill(0), undefined, 'r[0]'), 'ELAX_ERR_INVALID_VECTOR', 'maximum is 10752');
    expectElaxError(() => decodeVector('AAAA!AAA', undefined, 'r[0]'), 'ELAX_ERR_INVALID_VECTOR', 'not valid base64');
    expectElaxError(() => decodeVector('AAAA', undefined, 'r[0]'), 'ELAX_ERR_INVALID_VECTOR', '3 bytes, not a multiple of 4');
    expectElaxError(() => decodeVector({}, undefined, 'r[0]'), 'ELAX_ERR_INVALID_VECTOR', 'array of numbers or a base64 string');
    expectElaxError(() => decodeVector([70000], 1, 'r[0]', 'f16'), 'ELAX_ERR_INVALID_VECTOR', 'overflows f16');
    const nan = encodeVectorBase64(new Float32Array([NaN]));
    expectElaxError(() => decodeVector(nan, 1, 'r[0]'), 'ELAX_ERR_INVALID_VECTOR', 'element 0 is NaN');
  });

  it('should accept exactly the well-formed base64 strings (random strings against a grammar)', () => {
    // The grammar: whole 4-character groups, then optionally a last group of 2 or 3 characters, padded or not.
    const c = '[A-Za-z0-9+/_-]';
    const wellFormed = new RegExp(`^(${c}{4})*(${c}{2}(==)?|${c}{3}=?)?$`);
    const alphabet = ['A', 'z', '0', '+', '/', '-', '_', '=', ' ', '!', '\n', 'é'];
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const len = Math.floor(rand() * 13);
      // Mostly valid characters, so that well-formed strings come up often.
      let s = '';
      for (let j = 0; j < len; j++) s += rand() < 0.85 ? alphabet[Math.floor(rand() * 5)]! : alphabet[5 + Math.floor(rand() * 7)]!;
      const ok = wellFormed.test(s);
      if (ok) {
        accepted++;
        expect(decodeBase64Bytes(s, 'v').equals(Buffer.from(s, 'base64')), s).toBe(true);
      } else {
        expect(() => decodeBase64Bytes(s, 'v'), JSON.stringify(s)).toThrow('not valid base64');
      }
    }
    expect(accepted).toBeGreaterThan(1000);
  });

  it('should read dims from the schema vector type', () => {
    expect(vectorDims({ vector: { type: '[768]f16' } })).toBe(768);
    expect(vectorDims({ title: { type: 'string' } })).toBeUndefined();
  });
});
