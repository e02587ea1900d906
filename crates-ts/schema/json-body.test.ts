/**
 * A body parsed on a pool thread (packVectors: write vectors as Float32Array views of one buffer, base64 vectors as
 * their bytes in it) must mean exactly
 * what the same body parsed on the event loop means: the same write request, or the same error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isElaxError, type DistanceMetric, type Schema } from '../core/index.js';
import { decodeJsonText, lendBytesFor, packedBufferIn, packedBufferOf, packVectors, parseJsonBytes, parseJsonBytesPacked } from './json-body.js';
import { parseWriteRequest } from './write-request.js';

const bytes = (s: string) => Buffer.from(s, 'utf8');

/** parseWriteRequest's answer, or its error's code and message, as text (typed arrays as arrays, −0 kept). */
function outcome(body: unknown, cur: { schema: Schema; distanceMetric: DistanceMetric | null }): string {
  let got: unknown;
  try {
    got = { ok: parseWriteRequest(body, cur) };
  } catch (e) {
    if (!isElaxError(e)) throw e;
    got = { code: e.code, message: e.message };
  }
  return JSON.stringify(got, (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array, (x) => (Object.is(x, -0) ? '-0' : x)) : Object.is(v, -0) ? '-0' : v));
}

/** Vector elements as JSON text: ordinary numbers, beyond f32 range, beyond f64 range (1e400: Infinity), others. */
const element = fc.oneof(
  { weight: 20, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((x) => JSON.stringify(x)) },
  { weight: 1, arbitrary: fc.constantFrom('3.5e38', '-1e39', '1e400', '-1e400', '1e-50', '"x"', 'null', 'true', '[1]', '0.1', '-0') },
);
/** A base64 vector as JSON text: f32 or f16 bytes of the right length, any length, base64url, a character inserted. */
const base64Text = (dims: number) => {
  const b64 = (b: Uint8Array, enc: 'base64' | 'base64url' = 'base64') => Buffer.from(b).toString(enc);
  return fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ minLength: dims * 4, maxLength: dims * 4 }).map((b) => b64(b)) },
    { weight: 2, arbitrary: fc.uint8Array({ minLength: dims * 2, maxLength: dims * 2 }).map((b) => b64(b)) },
    { weight: 2, arbitrary: fc.uint8Array({ minLength: 0, maxLength: dims * 4 + 5 }).map((b) => b64(b)) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: dims * 4, maxLength: dims * 4 }).map((b) => b64(b, 'base64url')) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.uint8Array({ minLength: dims * 4, maxLength: dims * 4 }), fc.nat(), fc.constantFrom('!', '=', '==', ' ', '\n', '-', '_', 'A', 'AA'))
        .map(([b, at, c]) => {
          const s = b64(b);
          const i = at % (s.length + 1);
          return s.slice(0, i) + c + s.slice(i);
        }),
    },
  ).map((s) => JSON.stringify(s));
};

const vectorText = (dims: number) =>
  fc.oneof(
    { weight: 6, arbitrary: base64Text(dims) },
    { weight: 12, arbitrary: fc.array(element, { minLength: dims, maxLength: dims }).map((xs) => `[${xs.join(',')}]`) },
    { weight: 1, arbitrary: fc.array(element, { minLength: 0, maxLength: dims + 1 }).map((xs) => `[${xs.join(',')}]`) },
    { weight: 1, arbitrary: fc.constantFrom('null', '"AACAPwAAAEA="', '"not base64!"', '{}', '7') },
  );

describe('JSON bodies parsed off the event loop (packVectors)', () => {
  it('should give the same write request, or the same error, as the body parsed where it arrived (rows and columns, upserts and patches)', () => {
    const cur = { schema: {} as Schema, distanceMetric: null };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom('upsert_rows', 'patch_rows', 'upsert_columns', 'patch_columns'),
        fc.integer({ min: 0, max: 5 }),
        fc.constantFrom('f32', 'f16'),
        fc.gen(),
        (dims, key, n, elem, g) => {
          const vecs = Array.from({ length: n }, () => g(() => vectorText(dims)));
          let text: string;
          const schema = `"schema":{"vector":{"type":"[${dims}]${elem}","ann":true}},"distance_metric":"euclidean_squared"`;
          if (key.endsWith('rows')) text = `{${schema},"${key}":[${vecs.map((v, i) => `{"id":${i + 1},"vector":${v},"n":${i}}`).join(',')}]}`;
          else text = `{${schema},"${key}":{"id":[${vecs.map((_, i) => i + 1).join(',')}],"vector":[${vecs.join(',')}]}}`;
          const plain = parseJsonBytes(bytes(text), Buffer.byteLength(text));
          const packed = parseJsonBytesPacked(bytes(text), Buffer.byteLength(text));
          // The packed body crosses threads by structured clone: compare what arrives.
          expect(outcome(structuredClone(packed), cur)).toBe(outcome(plain, cur));
        },
      ),
      { numRuns: 400, endOnFailure: true },
    );
  });

  it('should pack only arrays of finite numbers, into one buffer, rounded to f32 as decodeVector rounds', () => {
    const body = JSON.parse('{"upsert_rows":[{"id":1,"vector":[0.1,2,3]},{"id":2,"vector":[1e400,1]},{"id":3,"vector":"AACAPw=="},{"id":4,"vector":[]},{"id":5,"vector":[1,"a"]},{"id":6,"vector":[4,5,6.5]}],"upsert_columns":{"id":[7,8],"vector":[[1,2,3],null]},"patch_columns":{"id":[9],"vector":[1,2,3]},"rank_by":["vector","ANN",[1,2,3]]}');
    expect(packVectors(body)).toBe(4);
    const rows = body.upsert_rows;
    expect(rows[0].vector).toBeInstanceOf(Float32Array);
    expect(Array.from(rows[0].vector as Float32Array)).toEqual([Math.fround(0.1), 2, 3]);
    expect(rows[5].vector.buffer).toBe(rows[0].vector.buffer);
    expect(Array.isArray(rows[1].vector)).toBe(true); // Infinity: left for decodeVector's own message
    expect(rows[2].vector).toBeInstanceOf(Uint8Array); // base64: its bytes, 4-byte aligned in the same buffer
    expect(Buffer.from(rows[2].vector as Uint8Array).toString('base64')).toBe('AACAPw==');
    expect(rows[2].vector.buffer).toBe(rows[0].vector.buffer);
    expect((rows[2].vector as Uint8Array).byteOffset % 4).toBe(0);
    expect(rows[3].vector).toEqual([]);
    expect(rows[4].vector).toEqual([1, 'a']);
    expect(body.upsert_columns.vector[0]).toBeInstanceOf(Float32Array);
    expect(body.upsert_columns.vector[1]).toBeNull();
    expect(body.patch_columns.vector).toEqual([1, 2, 3]); // a flat column stays flat
    expect(body.rank_by).toEqual(['vector', 'ANN', [1, 2, 3]]); // not a write vector
    expect(packVectors([1, 2])).toBe(0);
    // Base64 that decodeBase64Bytes refuses stays a string, for its message: bad padding, a stray character.
    const odd = JSON.parse('{"upsert_rows":[{"id":1,"vector":"AACAPw="},{"id":2,"vector":"AAC!APw=="},{"id":3,"vector":""},{"id":4,"vector":"AACAPwAAAEA"}]}');
    expect(packVectors(odd)).toBe(1);
    expect(odd.upsert_rows.slice(0, 3).map((r: { vector: unknown }) => r.vector)).toEqual(['AACAPw=', 'AAC!APw==', '']);
    expect(Array.from(odd.upsert_rows[3].vector as Uint8Array)).toEqual(Array.from(Buffer.from('AACAPwAAAEA', 'base64')));
  });

  it('should pack into a lent shared buffer when it is large enough, with the same values, and say where they are', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 30 }), fc.boolean(), fc.gen(), (dims, n, base64, g) => {
        const vecs = Array.from({ length: n }, () => Array.from({ length: dims }, () => g(() => fc.integer({ min: -1000, max: 1000 })) / 7));
        const vectorOf = (v: number[]) => (base64 ? JSON.stringify(Buffer.from(Float32Array.from(v).buffer).toString('base64')) : `[${v.join(',')}]`);
        const text = `{"upsert_rows":[${vecs.map((v, i) => `{"id":${i},"vector":${vectorOf(v)}}`).join(',')}]}`;
        const length = Buffer.byteLength(text);
        const lendable = lendBytesFor(bytes(text), length);
        const fresh = parseJsonBytesPacked(bytes(text), length) as { upsert_rows: { vector: Float32Array | Uint8Array }[] };
        const into = new SharedArrayBuffer(lendable);
        const lent = parseJsonBytesPacked(bytes(text), length, undefined, into) as typeof fresh;
        expect(packedBufferIn(fresh)).toBeInstanceOf(ArrayBuffer);
        expect(packedBufferOf(fresh)).toBe(packedBufferIn(fresh));
        expect(packedBufferIn(lent)).toBe(into); // base64 always fits in 3/4 of the body; these JSON floats too
        expect(packedBufferOf(lent)).toBeUndefined(); // shared: not moved
        for (let i = 0; i < n; i++) {
          const a = lent.upsert_rows[i]!.vector;
          expect(a.buffer).toBe(into);
          expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(fresh.upsert_rows[i]!.vector.buffer, fresh.upsert_rows[i]!.vector.byteOffset, fresh.upsert_rows[i]!.vector.byteLength))).toBe(true);
        }
        // Too small (one float short of the vectors): a buffer of its own, as without one.
        const small = parseJsonBytesPacked(bytes(text), length, undefined, new SharedArrayBuffer(n * dims * 4 - 4)) as typeof fresh;
        expect(packedBufferIn(small)).toBeInstanceOf(ArrayBuffer);
      }),
      { numRuns: 100, endOnFailure: true },
    );
    expect(packedBufferIn({ upsert_rows: [{ id: 1, vector: [1, 2] }] })).toBeNull();
    // Sized from the first vector's form: base64 3/4 of the body, numbers 0.45, whitespace and columns allowed.
    const share = (t: string) => lendBytesFor(bytes(t), t.length) / t.length;
    expect(share('{"upsert_rows":[{"id":1,"vector":"AACAPw=="}]}'.padEnd(1000))).toBe(0.75);
    expect(share('{"upsert_columns":{"id":[1],"vector" : [ "AACAPw=="]}}'.padEnd(1000))).toBe(0.75);
    expect(share('{"upsert_rows":[{"id":1,"vector":[0.25,1]}]}'.padEnd(1000))).toBe(0.45);
    expect(share('{"upsert_columns":{"id":[1],"vector":[[0.25,1]]}}'.padEnd(1000))).toBe(0.45);
    expect(share('{"deletes":[1]}'.padEnd(1000))).toBe(0.45);
    expect(packedBufferIn('x')).toBeNull();
  });

  it('should fail malformed and over-long bodies with the same errors on either side', () => {
    const bad = '{"upsert_rows": [';
    let msg = '';
    try {
      parseJsonBytes(bytes(bad), bad.length);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^malformed JSON body: /);
    expect(() => parseJsonBytesPacked(bytes(bad), bad.length)).toThrow(msg);
    expect(parseJsonBytesPacked(bytes(''), 0)).toEqual({});
    expect(decodeJsonText(bytes('{"a":1}xyz'), 7)).toBe('{"a":1}');
  });
});
