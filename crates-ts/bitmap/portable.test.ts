import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../ivf/index.js';
import { Bitmap, deserializeSorted, RoaringFormatError, serializeSorted } from './index.js';

const dir = new URL('../../test/fixtures/roaring-portable/', import.meta.url);

/** The recipes of test/fixtures/roaring-portable/make.cjs. */
const recipes: Record<string, () => number[]> = {
  empty: () => [],
  sparse: () => {
    const r = seededRandom(1);
    const s: number[] = [];
    for (let i = 0; i < 200; i++) s.push(Math.floor(r() * 1_000_000));
    return s;
  },
  dense: () => {
    const r = seededRandom(2);
    const s: number[] = [];
    for (let o = 0; o < 200_000; o++) if (r() < 0.5) s.push(o);
    return s;
  },
  runs: () => {
    const s: number[] = [];
    for (const [a, b] of [[1000, 5000], [70000, 70100], [131072, 196608], [300000, 300011]] as const) for (let o = a; o < b; o++) s.push(o);
    return s;
  },
  'multi-key': () => {
    const s: number[] = [];
    for (let k = 0; k < 20; k++) s.push(k * 65536 + k * 7);
    s.push(4294967295);
    return s;
  },
};

const sortedSet = (xs: number[]) => Uint32Array.from([...new Set(xs)].sort((a, b) => a - b));

describe('portable roaring format against CRoaring golden files', () => {
  for (const [name, recipe] of Object.entries(recipes)) {
    it(`${name}: decodes to the recipe's ordinals and re-encodes byte for byte`, () => {
      const bytes = new Uint8Array(readFileSync(new URL(`${name}.roaring`, dir)));
      const want = sortedSet(recipe());
      const got = deserializeSorted(bytes);
      expect(got.length).toBe(want.length);
      expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
      // Our container choice is CRoaring's for all five (arrays, bitmaps; runs after runOptimize).
      expect(Buffer.from(serializeSorted(want)).equals(Buffer.from(bytes))).toBe(true);
    });
  }

  it('rejects malformed input', () => {
    const good = new Uint8Array(readFileSync(new URL('sparse.roaring', dir)));
    expect(() => deserializeSorted(good.subarray(0, good.length - 3))).toThrow(RoaringFormatError);
    expect(() => deserializeSorted(Uint8Array.of(1, 2, 3, 4, 0, 0, 0, 0))).toThrow(/cookie/);
    expect(() => deserializeSorted(new Uint8Array(2))).toThrow(/truncated/);
    expect(() => Bitmap.deserialize(100, serializeSorted([5, 100]))).toThrow(RangeError);
  });
});
