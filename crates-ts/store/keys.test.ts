import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { compareKeys, validateKey, validatePrefix } from './keys.js';

describe('key order and validation', () => {
  it('should order keys exactly like a byte-wise comparison of their UTF-8', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(Math.sign(compareKeys(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      { numRuns: 2000 },
    );
    expect(compareKeys('\uFFFD', '\u{1F600}')).toBeLessThan(0); // UTF-16 order would say the opposite
  });

  it('should accept the keys elax builds and reject the ones that are not portable', () => {
    for (const ok of ['ns/router.json', 'ns/wal/00000000000000000001.parquet', 'a', 'a.b/c-d_e', 'é/ü']) expect(() => validateKey(ok), ok).not.toThrow();
    for (const bad of ['', '/a', 'a/', 'a//b', '.', '..', 'a/../b', 'x/.', '.elax-tmp.1', 'a\0b', 'a'.repeat(201), 'a/'.repeat(600) + 'a']) {
      expect(() => validateKey(bad), bad).toThrow(/invalid object key/);
    }
  });

  it('should accept list prefixes that end with a separator or mid-segment', () => {
    for (const ok of ['', 'ns/', 'ns/wal/0000', 'n']) expect(() => validatePrefix(ok), ok).not.toThrow();
    for (const bad of ['/', '/ns/', 'a//', '../']) expect(() => validatePrefix(bad), bad).toThrow(/invalid list prefix/);
  });
});
