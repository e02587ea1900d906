import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareKeys } from '../store/index.js';
import { newPartId, parsePartId, partFileKey, manifestKey } from './index.js';

describe('part ids and keys', () => {
  it('should sort part ids by WAL range in LIST order and parse them back', () => {
    const seq = fc.nat({ max: Number.MAX_SAFE_INTEGER });
    const nonce = fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/);
    fc.assert(
      fc.property(seq, seq, seq, seq, nonce, nonce, (a, b, c, d, n1, n2) => {
        const [s1, e1] = a <= b ? [a, b] : [b, a];
        const [s2, e2] = c <= d ? [c, d] : [d, c];
        const p1 = newPartId(s1, e1, n1);
        const p2 = newPartId(s2, e2, n2);
        expect(parsePartId(p1)).toEqual({ walStart: s1, walEnd: e1, nonce: n1 });
        if (s1 !== s2) expect(Math.sign(compareKeys(partFileKey('ns', p1, 'x'), partFileKey('ns', p2, 'x')))).toBe(Math.sign(s1 - s2));
      }),
    );
  });

  it('should build keys under the part prefix and refuse bad ranges or nonces', () => {
    const id = newPartId(3, 7, 'abc');
    expect(id).toBe('00000000000000000003-00000000000000000007-abc');
    expect(manifestKey('ns', id)).toBe(`ns/parts/${id}/manifest.json`);
    expect(partFileKey('ns', id, 'rows.parquet')).toBe(`ns/parts/${id}/rows.parquet`);
    expect(() => newPartId(7, 3, 'abc')).toThrow(/empty/);
    expect(() => newPartId(-1, 3, 'abc')).toThrow();
    expect(() => newPartId(1, 3, 'a/b')).toThrow(/nonce/);
    expect(() => newPartId(1, 3, '')).toThrow(/nonce/);
    expect(parsePartId('not-a-part')).toBeNull();
  });
});
