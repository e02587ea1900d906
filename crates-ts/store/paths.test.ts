import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { compareKeys } from './keys.js';
import { codebookKey, codebookName, namespacePrefix, padSeq, parseCodebookName, parseWalKey, partPrefix, probeKey, routerKey, walKey, walPrefix } from './index.js';

describe('object key paths', () => {
  it('should build the documented layout', () => {
    expect(routerKey('ns1')).toBe('ns1/router.json');
    expect(walPrefix('ns1')).toBe('ns1/wal/');
    expect(walKey('ns1', 42)).toBe('ns1/wal/00000000000000000042.parquet');
    expect(partPrefix('ns1', 'p-7')).toBe('ns1/parts/p-7/');
    expect(namespacePrefix('ns1')).toBe('ns1/');
    expect(probeKey('abc')).toBe('_elax/probe/abc');
    expect(walKey('n', Number.MAX_SAFE_INTEGER)).toBe('n/wal/00009007199254740991.parquet');
  });

  it('should round-trip WAL sequence numbers and keep LIST order equal to numeric order', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.maxSafeNat(), (a, b) => {
        expect(parseWalKey(walKey('ns', a))).toBe(a);
        expect(Math.sign(compareKeys(walKey('ns', a), walKey('ns', b)))).toBe(Math.sign(a - b));
      }),
    );
  });

  it('should not parse other keys as WAL keys', () => {
    for (const k of ['ns/router.json', 'ns/wal/42.parquet', 'ns/wal/00000000000000000042.json', 'ns/parts/p/wal/00000000000000000001.parquet', 'ns/wal/99999999999999999999.parquet']) {
      expect(parseWalKey(k), k).toBeNull();
    }
  });

  it('should refuse sequence numbers that are not non-negative safe integers', () => {
    for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) expect(() => padSeq(bad)).toThrow(/non-negative safe integers/);
  });

  it('should name codebook objects by zero-padded version and nonce, and parse only those names', () => {
    expect(codebookName(1, 'a1')).toBe('codebook-0000000001-a1.cb');
    expect(codebookKey('ns1', codebookName(42, 'x_y.z'))).toBe('ns1/vindex/codebook-0000000042-x_y.z.cb');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9_999_999_999 }), fc.integer({ min: 1, max: 9_999_999_999 }), (a, b) => {
        expect(parseCodebookName(codebookName(a, 'n'))).toEqual({ version: a, nonce: 'n' });
        expect(Math.sign(compareKeys(codebookName(a, 'n'), codebookName(b, 'n')))).toBe(Math.sign(a - b));
      }),
    );
    for (const bad of ['codebook-1-a.cb', 'codebook-0000000000-a.cb', 'codebook-0000000001-.cb', 'codebook-0000000001-a/b.cb', 'codebook-0000000001-a.json']) {
      expect(parseCodebookName(bad), bad).toBeNull();
    }
    expect(() => codebookName(0, 'a')).toThrow(/codebook versions/);
    expect(() => codebookName(1, 'a/b')).toThrow(/nonce/);
    expect(() => codebookKey('ns', '../router.json')).toThrow(/not a codebook/);
  });
});
