import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Doc, Schema } from '../core/index.js';
import { compileFilter } from './compile.js';
import { codePoints, compareCodePoints, foldCase, walkWithinDistance, withinDistance } from './edit-distance.js';
import { parseFuzzy } from './fuzzy-ops.js';

/** Levenshtein distance by the full textbook matrix over code points (no bound, no early exit). */
function lev(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  const d: number[][] = [];
  for (let i = 0; i <= x.length; i++) {
    d.push([]);
    for (let j = 0; j <= y.length; j++) {
      if (i === 0) d[i]!.push(j);
      else if (j === 0) d[i]!.push(i);
      else d[i]!.push(Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1)));
    }
  }
  return d[x.length]![y.length]!;
}

/** Lowercase per character when that gives one character, as a user would expect of "case-insensitive". */
const lowerEach = (s: string) =>
  Array.from(s)
    .map((c) => (Array.from(c.toLowerCase()).length === 1 ? c.toLowerCase() : c))
    .join('');

const ALPHABET = ['a', 'b', 'c', 'A', 'B', 'é', 'É', '𝒜', 'İ'];
const word = (max: number) => fc.array(fc.constantFrom(...ALPHABET), { maxLength: max }).map((a) => a.join(''));

describe('withinDistance', () => {
  it('should agree with a brute-force Levenshtein on known pairs', () => {
    const pairs: [string, string][] = [
      ['kitten', 'sitting'],
      ['flaw', 'lawn'],
      ['', 'abc'],
      ['abc', ''],
      ['ab', 'ba'],
      ['jonathan', 'jonathon'],
      ['𝒜bc', 'abc'],
      ['same', 'same'],
    ];
    for (const [a, b] of pairs) {
      const d = lev(a, b);
      for (let max = 0; max <= 4; max++) expect(withinDistance(codePoints(a), codePoints(b), max), `${a} ${b} ${max}`).toBe(d <= max);
    }
    expect(lev('kitten', 'sitting')).toBe(3);
    // A transposition costs two edits (Levenshtein, not Damerau).
    expect(withinDistance(codePoints('ab'), codePoints('ba'), 1)).toBe(false);
  });

  it('should agree with a brute-force Levenshtein on random strings', () => {
    fc.assert(
      fc.property(word(9), word(9), fc.integer({ min: 0, max: 4 }), (a, b, max) => {
        expect(withinDistance(codePoints(a), codePoints(b), max)).toBe(lev(a, b) <= max);
      }),
      { numRuns: 2000 },
    );
  });

  it('should count a character outside the BMP as one code point', () => {
    expect(Array.from(codePoints('a𝒜b'))).toEqual([0x61, 0x1d49c, 0x62]);
    expect(withinDistance(codePoints('a𝒜b'), codePoints('axb'), 1)).toBe(true);
  });
});

describe('foldCase', () => {
  it('should lowercase per code point and keep the length', () => {
    expect(foldCase('ÉCOLE Abc')).toBe('école abc');
    expect(foldCase('İx')).toBe('İx'); // its lowercase is two code points: kept
    fc.assert(
      fc.property(word(12), (s) => {
        expect(foldCase(s)).toBe(lowerEach(s));
        expect(Array.from(foldCase(s)).length).toBe(Array.from(s).length);
      }),
    );
  });
});

describe('walkWithinDistance', () => {
  const dictionary = (terms: string[]) => {
    const sorted = [...new Set(terms)].map(codePoints).sort(compareCodePoints);
    const off = new Uint32Array(sorted.length + 1);
    for (let i = 0; i < sorted.length; i++) off[i + 1] = off[i]! + sorted[i]!.length;
    const cps = new Uint32Array(off[sorted.length]!);
    sorted.forEach((t, i) => cps.set(t, off[i]!));
    const text = sorted.map((t) => String.fromCodePoint(...t));
    return { cps, off, text };
  };

  it('should find exactly the terms a brute-force Levenshtein keeps, on random dictionaries', () => {
    fc.assert(
      fc.property(fc.array(word(8), { maxLength: 60 }), word(8), fc.integer({ min: 0, max: 3 }), (terms, q, max) => {
        const d = dictionary(terms);
        const got: string[] = [];
        walkWithinDistance(d.cps, d.off, codePoints(q), max, (t) => got.push(d.text[t]!));
        expect(got).toEqual(d.text.filter((t) => lev(t, q) <= max));
      }),
      { numRuns: 1500 },
    );
  });

  it('should skip subtrees: far fewer rows than a pass over every term', () => {
    // 26 × 26 × 26 terms 'xyz' + 'qqqq'; a query far from most prefixes prunes at depth ≤ 2.
    const terms: string[] = [];
    const az = 'abcdefghijklmnopqrstuvwxyz';
    for (const a of az) for (const b of az) for (const c of az) terms.push(`${a}${b}${c}qqqq`);
    const d = dictionary(terms);
    const got: string[] = [];
    const rows = walkWithinDistance(d.cps, d.off, codePoints('mnoqqqq'), 1, (t) => got.push(d.text[t]!));
    expect(got).toEqual(d.text.filter((t) => lev(t, 'mnoqqqq') <= 1));
    expect(got.length).toBe(76); // 'mnoqqqq' itself, and 25 substitutions at each of the first three positions
    // A scan computes 7 rows per term (123,032); the walk a few per surviving prefix.
    expect(rows).toBeLessThan(terms.length);
  });
});

describe('Fuzzy filter', () => {
  const schema: Schema = { id: { type: 'uint' }, name: { type: 'string', fuzzy: true }, tags: { type: '[]string', fuzzy: true }, plain: { type: 'string' }, n: { type: 'int' } };
  const doc = (attrs: Record<string, unknown>): Doc => ({ id: 1, vector: null, attrs }) as Doc;
  const P = { max_edit_distance: [{ distance: 1, min_query_chars: 6 }, { distance: 2, min_query_chars: 9 }] };

  it('should pick the distance by the query length and match whole values (any element of an array)', () => {
    const f = (v: unknown, q: string, p: unknown = P) => compileFilter(['name', 'Fuzzy', q, p], schema)(doc({ name: v }));
    expect(f('jonathan', 'jonathon')).toBe(true); // 8 chars: distance 1
    expect(f('jonathan', 'jonethon')).toBe(false); // distance 2 > 1
    expect(f('jonathan smith', 'jonathen smyth')).toBe(true); // 14 chars: distance 2
    expect(f('jonah', 'jonas')).toBe(false); // 5 chars: shorter than the first threshold, nothing matches
    expect(f('jonathan smith', 'jonathan')).toBe(false); // the whole value, not a token or substring
    expect(f(null, 'jonathan')).toBe(false);
    expect(f('Jonathan', 'jonathan')).toBe(true); // case-sensitive: one substitution
    expect(f('JONATHAN', 'jonathan')).toBe(false);
    expect(f('JONATHAN', 'jonathan', { ...P, case_sensitive: false })).toBe(true);
    expect(compileFilter(['tags', 'Fuzzy', 'purple', P], schema)(doc({ tags: ['red', 'purpel'] }))).toBe(false); // transposition = 2
    expect(compileFilter(['tags', 'Fuzzy', 'purple', P], schema)(doc({ tags: ['red', 'purples'] }))).toBe(true);
    expect(compileFilter(['Not', ['name', 'Fuzzy', 'jonathan', P]], schema)(doc({}))).toBe(true);
  });

  it('should reject bad input with 400s that say what is wrong', () => {
    const err = (f: unknown) => {
      try {
        compileFilter(f, schema);
      } catch (e) {
        return `${(e as { code: string }).code}: ${(e as Error).message}`;
      }
      return 'accepted';
    };
    expect(err(['plain', 'Fuzzy', 'abcdef', P])).toMatch(/ELAX_ERR_INVALID_FILTER.*'plain'.*"fuzzy": true/);
    expect(err(['n', 'Fuzzy', 'abcdef', P])).toMatch(/'n'.*fuzzy/);
    expect(err(['name', 'Fuzzy', 'abcdef'])).toMatch(/Fuzzy takes/);
    expect(err(['name', 'Fuzzy', 5, P])).toMatch(/query string/);
    expect(err(['name', 'Fuzzy', 'abcdef', {}])).toMatch(/max_edit_distance must be a non-empty array/);
    expect(err(['name', 'Fuzzy', 'abcdef', { max_edit_distance: [{ distance: 2, min_query_chars: 8 }] }])).toMatch(/at least 3 · \(distance \+ 1\) = 9/);
    expect(err(['name', 'Fuzzy', 'abcdef', { max_edit_distance: [{ distance: 5, min_query_chars: 30 }] }])).toMatch(/integer from 0 to 4/);
    expect(err(['name', 'Fuzzy', 'abcdef', { max_edit_distance: [{ distance: 1, min_query_chars: 9 }, { distance: 2, min_query_chars: 9 }] }])).toMatch(/increasing/);
    expect(err(['name', 'Fuzzy', 'abcdef', { ...P, case_sensitive: 'no' }])).toMatch(/case_sensitive must be a boolean/);
    expect(err(['name', 'Fuzzy', 'abcdef', { ...P, prefix: true }])).toMatch(/unknown parameter 'prefix'/);
    expect(err(['id', 'Fuzzy', 'abcdef', P])).toMatch(/not to the id/);
    expect(err(['name', 'Fuzzy', 'abcdef', P])).toBe('accepted');
  });

  it('should count the query in code points', () => {
    const s = parseFuzzy('𝒜𝒜𝒜𝒜𝒜', { max_edit_distance: [{ distance: 1, min_query_chars: 6 }] });
    expect('error' in s ? s.error : s.distance).toBe(-1); // 5 characters (10 UTF-16 units): too short
  });
});
