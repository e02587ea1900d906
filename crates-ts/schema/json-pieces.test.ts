/**
 * A large body parsed in pieces (json-pieces.ts) must mean exactly what the whole text means: the same value (−0,
 * key order, repeated keys, `__proto__` as an own property, replacement characters for invalid UTF-8), and for any
 * text the whole-text path rejects, the same error — the piecewise parser never accepts one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeJsonText, parseJsonBytes, parseJsonText } from './json-body.js';
import { NOT_PIECEWISE, parseJsonPieces } from './json-pieces.js';

/** A value as text that tells apart everything JSON.parse can: −0, key order, prototypes, own `__proto__`. */
function canon(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (typeof v === 'object') {
    if (Object.getPrototypeOf(v) !== Object.prototype) return 'BAD-PROTOTYPE';
    const keys = Reflect.ownKeys(v as object);
    return `{${keys
      .map((k) => {
        const d = Object.getOwnPropertyDescriptor(v, k)!;
        const flags = d.writable && d.enumerable && d.configurable ? '' : '!';
        return `${JSON.stringify(k)}${flags}:${canon(d.value)}`;
      })
      .join(',')}}`;
  }
  return `BAD-${typeof v}`;
}

/** What a parse gives: its value as canon text, or its error's message. */
function outcome(f: () => unknown): string {
  try {
    return `ok ${canon(f())}`;
  } catch (e) {
    return `error ${(e as Error).message}`;
  }
}

const whole = (b: Buffer) => outcome(() => parseJsonText(decodeJsonText(b, b.length)));

// JSON text generators: values serialized with random whitespace, escapes, numbers in every form.
const ws = fc.constantFrom('', '', '', ' ', '\n', '\t', '\r\n', '  ');
const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? '-0' : String(x))),
  fc.integer().map(String),
  fc.constantFrom('-0', '0e0', '1E+2', '-1.5e-3', '0.0', '-0.0e-0', '123456789012345678901234567890', '1e400', '12.50'),
);
const char = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom('"', '\\', '/', '\n', '\u0000', '\u001f', '\b', '\u2028', '\uD800', '\uDFFF', 'é', '😀', ',', ']', '}', ':') },
);
const stringText = fc.array(fc.tuple(char, fc.nat(3)), { maxLength: 12 }).map((cs) => {
  let s = '"';
  for (const [c, how] of cs) {
    const code = c.charCodeAt(0);
    if (how === 0 || c === '"' || c === '\\' || code < 0x20) {
      // Escaped: \uXXXX per code unit, or the short form when there is one.
      const short: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\b': '\\b', '/': '\\/' };
      s += how === 1 && short[c] !== undefined ? short[c] : Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');
    } else s += c;
  }
  return s + '"';
});
const keyText = fc.oneof(fc.constantFrom('"__proto__"', '"a"', '"b"', '"0"', '"1"', '"10"', '"constructor"', '"é"', '"\\u0061"'), stringText);
const { value: valueText } = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numberText,
    stringText,
    fc.constantFrom('true', 'false', 'null'),
    tie('array'),
    tie('object'),
  ),
  array: fc.tuple(fc.array(fc.tuple(ws, tie('value'), ws), { maxLength: 8 }), ws).map(([xs, w]) => (xs.length === 0 ? `[${w}]` : `[${xs.map(([a, v, c]) => a + v + c).join(',')}]`)),
  object: fc.tuple(fc.array(fc.tuple(ws, keyText, ws, ws, tie('value'), ws), { maxLength: 8 }), ws).map(([ms, w]) => (ms.length === 0 ? `{${w}}` : `{${ms.map(([a, k, b, c, v, d]) => a + k + b + ':' + c + v + d).join(',')}}`)),
}));
/** A container at the top, sometimes a long array of them (so pieces are walked at several depths). */
const topText = fc.oneof(
  fc.tuple(ws, fc.oneof(valueText.filter((t) => t.startsWith('[') || t.startsWith('{'))), ws).map(([a, v, b]) => a + v + b),
  fc.tuple(ws, fc.array(valueText, { minLength: 20, maxLength: 60 }), ws).map(([a, xs, b]) => `${a}{"upsert_rows":[${xs.join(',')}],"n":1}${b}`),
);

/** Random bytes spliced into a text's strings: non-ASCII, so the JSON around them is unchanged, UTF-8 maybe not. */
function withBadUtf8(text: string, at: number[], bad: number[]): Buffer {
  const b = Buffer.from(text, 'utf8');
  // Positions just after a quote that opens or closes a string: inside some string or right after one (then invalid JSON).
  const quotes: number[] = [];
  for (let i = 0; i < b.length; i++) if (b[i] === 0x22) quotes.push(i + 1);
  if (quotes.length === 0) return b;
  const parts: Buffer[] = [];
  const cuts = at.map((x) => quotes[x % quotes.length]!).sort((x, y) => x - y);
  let from = 0;
  cuts.forEach((c, i) => {
    parts.push(b.subarray(from, c), Buffer.from([bad[i % bad.length]!]));
    from = c;
  });
  parts.push(b.subarray(from));
  return Buffer.concat(parts);
}

const mutation = fc.oneof(
  fc.tuple(fc.constant('delete'), fc.nat(), fc.constant(0)),
  fc.tuple(fc.constant('insert'), fc.nat(), fc.constantFrom(0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x22, 0x5c, 0x20, 0x78, 0x30, 0xff, 0xe2, 0x0b, 0x00)),
  fc.tuple(fc.constant('replace'), fc.nat(), fc.constantFrom(0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x22, 0x5c, 0x20, 0x78, 0x30, 0xff, 0x2d, 0x2e)),
  fc.tuple(fc.constant('trailing-comma'), fc.nat(), fc.constant(0)),
  fc.tuple(fc.constant('garbage-after'), fc.nat(), fc.constantFrom(0x78, 0x7b, 0x5d, 0x2c, 0x30)),
  fc.tuple(fc.constant('bom'), fc.nat(), fc.constant(0)),
);
function mutate(b: Buffer, [kind, at, byte]: [string, number, number]): Buffer {
  const i = b.length === 0 ? 0 : at % b.length;
  switch (kind) {
    case 'delete':
      return Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
    case 'insert':
      return Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
    case 'replace':
      return Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i + 1)]);
    case 'trailing-comma': {
      // Before the at-th closing bracket or brace.
      const closers: number[] = [];
      for (let k = 0; k < b.length; k++) if (b[k] === 0x5d || b[k] === 0x7d) closers.push(k);
      if (closers.length === 0) return b;
      const c = closers[at % closers.length]!;
      return Buffer.concat([b.subarray(0, c), Buffer.from(','), b.subarray(c)]);
    }
    case 'garbage-after':
      return Buffer.concat([b, Buffer.from([byte])]);
    default:
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]);
  }
}

const small = (pieceBytes: number) => ({ minBytes: 0, pieceBytes });

describe('JSON bodies parsed in pieces (json-pieces.ts)', () => {
  it('should give what JSON.parse of the whole text gives, for random texts with random whitespace, escapes and numbers', () => {
    fc.assert(
      fc.property(topText, fc.integer({ min: 1, max: 300 }), (text, pieceBytes) => {
        const b = Buffer.from(text, 'utf8');
        const expected = whole(b);
        expect(expected.startsWith('ok ')).toBe(true);
        // The pieces are really used: a valid text with a container at the top is never handed back.
        const pieces = parseJsonPieces(b, b.length, pieceBytes);
        expect(pieces).not.toBe(NOT_PIECEWISE);
        expect(`ok ${canon(pieces)}`).toBe(expected);
        expect(outcome(() => parseJsonBytes(b, b.length, small(pieceBytes)))).toBe(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('should decode invalid UTF-8 to the same replacement characters as the whole text', () => {
    fc.assert(
      fc.property(topText, fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), fc.array(fc.constantFrom(0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xf8, 0xff), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 300 }), (text, at, bad, pieceBytes) => {
        const b = withBadUtf8(text, at, bad);
        expect(outcome(() => parseJsonBytes(b, b.length, small(pieceBytes)))).toBe(whole(b));
      }),
      { numRuns: 300 },
    );
    // A byte sequence cut short right before a string's closing quote, and an overlong encoding.
    const b = Buffer.concat([Buffer.from('{"a":["x'), Buffer.from([0xe2, 0x82]), Buffer.from('","'), Buffer.from([0xc0, 0xaf]), Buffer.from('"],"b":1}')]);
    expect(parseJsonPieces(b, b.length, 4)).toEqual({ a: ['x\uFFFD', '\uFFFD\uFFFD'], b: 1 });
  });

  it('should never accept a text the whole-text path rejects, and fail it with the same message', () => {
    fc.assert(
      fc.property(topText, fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 300 }), (text, muts, pieceBytes) => {
        let b: Buffer = Buffer.from(text, 'utf8');
        for (const m of muts) b = mutate(b, m);
        const expected = whole(b);
        expect(outcome(() => parseJsonBytes(b, b.length, small(pieceBytes)))).toBe(expected);
        const pieces = parseJsonPieces(b, b.length, pieceBytes);
        if (pieces !== NOT_PIECEWISE) expect(`ok ${canon(pieces)}`).toBe(expected);
      }),
      { numRuns: 1500 },
    );
  });

  it('should not be misled by separators inside strings or nested values when it cuts runs of elements by a guess', () => {
    const texts = [
      `[${Array.from({ length: 50 }, (_, i) => `{"s":"a},{b${i}","t":[[1],[2]],"u":"\\\",\\\""}`).join(',')}]`,
      `[${Array.from({ length: 50 }, (_, i) => `"x\\",\\"${i}","],[","},{"`).join(',')}]`,
      `[${Array.from({ length: 50 }, (_, i) => `[${i},[1,2],{"a":"],["}]`).join(',')}]`,
      `[${Array.from({ length: 50 }, (_, i) => `${i}.5,"1,2",-${i}e1,[3,4]`).join(',')}]`,
      `[${Array.from({ length: 50 }, (_, i) => `{"a":${i}},{"b":[${i}]}`).join(', ')},{"x":"}"}]`,
    ];
    for (const text of texts) {
      const b = Buffer.from(text);
      for (const pieceBytes of [1, 7, 16, 40, 100, 333]) {
        const got = parseJsonPieces(b, b.length, pieceBytes);
        expect(got).not.toBe(NOT_PIECEWISE);
        expect(canon(got)).toBe(canon(JSON.parse(text)));
        // Cut short anywhere: never accepted.
        for (const cut of [b.length - 1, b.length - 2, Math.floor(b.length / 2)]) expect(parseJsonPieces(b, cut, pieceBytes)).toBe(NOT_PIECEWISE);
      }
    }
  });

  it('should build objects as JSON.parse does: a repeated key keeps its first place and its last value, __proto__ is an own property', () => {
    const text = '{"b":1,"__proto__":{"polluted":true},"a":[1,2,3],"b":[4,5,6],"0":7,"__proto__":[8],"a":null}';
    const got = parseJsonPieces(Buffer.from(text), text.length, 4) as Record<string, unknown>;
    expect(canon(got)).toBe(canon(JSON.parse(text)));
    expect(Object.keys(got)).toEqual(['0', 'b', '__proto__', 'a']);
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(got, '__proto__')?.value).toEqual([8]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('should parse a 1,000-row write body with the default sizes to the value JSON.parse gives, and leave the length limit to the whole text', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({ id: i, vector: Buffer.from(new Float32Array(128).map((_, j) => Math.sin(i + j)).buffer).toString('base64'), tag: `t${i % 7}`, x: -0 }));
    const text = JSON.stringify({ upsert_rows: rows, distance_metric: 'cosine_distance' }).replaceAll('"x":0', '"x":-0');
    const b = Buffer.from(text);
    expect(b.length).toBeGreaterThan(700_000);
    const pieces = parseJsonPieces(b, b.length);
    expect(pieces).not.toBe(NOT_PIECEWISE);
    expect(canon(pieces)).toBe(canon(JSON.parse(text)));
    expect(canon(parseJsonBytes(b, b.length))).toBe(canon(JSON.parse(text)));
    // A length shorter than the buffer: only the first `length` bytes count.
    expect(() => parseJsonBytes(b, b.length - 1)).toThrow(/^malformed JSON body: /);
    expect(parseJsonBytes(Buffer.concat([b, Buffer.from('garbage')]), b.length)).toEqual(JSON.parse(text));
    // A scalar at the top and whitespace only are the whole text's to parse.
    expect(parseJsonPieces(Buffer.from('  "x"'), 5, 1)).toBe(NOT_PIECEWISE);
    expect(parseJsonPieces(Buffer.from('   '), 3, 1)).toBe(NOT_PIECEWISE);
  });
});
