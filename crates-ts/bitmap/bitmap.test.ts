import { describe, expect, it } from 'vitest';
import { seededRandom } from '../ivf/index.js';
import { Bitmap } from './index.js';

/** A random set over [0, n) with density p, clustered into runs sometimes (run containers). */
function randomSet(r: () => number, n: number): Set<number> {
  const s = new Set<number>();
  const shape = r();
  const p = [0, 0.001, 0.02, 0.3, 0.9][Math.floor(r() * 5)]!;
  if (shape < 0.2) {
    for (let o = 0; o < n; o++) if (r() < p) for (let k = 0; k < 50 && o < n; k++) s.add(o++);
  } else for (let o = 0; o < n; o++) if (r() < p) s.add(o);
  return s;
}

const of = (n: number, s: Set<number>) => Bitmap.fromSorted(n, Uint32Array.from([...s].sort((a, b) => a - b)));
const sorted = (s: Iterable<number>) => Uint32Array.from([...s].sort((a, b) => a - b));
/** Typed arrays compared as bytes: toEqual walks 100k-element arrays element by element (seconds). */
const same = (a: Uint32Array, b: Uint32Array) => expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true);

describe('Bitmap against a Set model', () => {
  it('and / or / andNot / complement / cardinality / rangeCardinality / has / iterate / serialize agree (seeded)', () => {
    const r = seededRandom(16);
    for (let round = 0; round < 40; round++) {
      const n = [1, 31, 32, 33, 1000, 5000, 70_000, 140_000][Math.floor(r() * 8)]!;
      const sa = randomSet(r, n);
      const sb = randomSet(r, n);
      const a = of(n, sa);
      const b = of(n, sb);
      expect(a.cardinality).toBe(sa.size);
      same(a.and(b).toArray(), sorted([...sa].filter((x) => sb.has(x))));
      same(a.or(b).toArray(), sorted(new Set([...sa, ...sb])));
      same(a.andNot(b).toArray(), sorted([...sa].filter((x) => !sb.has(x))));
      const comp: number[] = [];
      for (let o = 0; o < n; o++) if (!sa.has(o)) comp.push(o);
      same(a.complement().toArray(), Uint32Array.from(comp));
      expect(a.complement().cardinality).toBe(comp.length);
      for (let k = 0; k < 20; k++) {
        const lo = Math.floor(r() * (n + 10)) - 5;
        const hi = lo + Math.floor(r() * n);
        let want = 0;
        for (const x of sa) if (x >= lo && x < hi) want++;
        expect(a.rangeCardinality(lo, hi)).toBe(want);
        // Written at an offset, and nothing around it.
        const at = Math.floor(r() * 8);
        const out = new Uint32Array(at + Math.max(0, hi - lo) + 3).fill(0xdeadbeef);
        const got = a.selectRangeInto(lo, hi, out, at);
        expect(got).toBe(want);
        same(out.slice(at, at + got), sorted([...sa].filter((x) => x >= lo && x < hi)));
        let touched = 0;
        for (let i = 0; i < out.length; i++) if ((i < at || i >= at + got) && out[i] !== 0xdeadbeef) touched++;
        expect(touched).toBe(0);
        const o = Math.floor(r() * n);
        expect(a.has(o)).toBe(sa.has(o));
      }
      const seen: number[] = [];
      a.forEach((o) => seen.push(o));
      same(Uint32Array.from(seen), sorted(sa));
      expect(Array.from(a.toByteMask())).toEqual(Array.from({ length: n }, (_, o) => (sa.has(o) ? 1 : 0)));
      // Ordinals in any order (a sorted index's run, in value order).
      const shuffled = [...sa].sort(() => r() - 0.5);
      same(Bitmap.fromUnsorted(n, shuffled).toArray(), sorted(sa));
      const sc = randomSet(r, n);
      same(Bitmap.union(n, [a, b, of(n, sc)]).toArray(), sorted(new Set([...sa, ...sb, ...sc])));
      // Disjoint parts (a scalar attribute's value bitmaps): the same members, the count summed.
      const onlyB = [...sb].filter((x) => !sa.has(x));
      const d = Bitmap.union(n, [a, of(n, new Set(onlyB))], true);
      same(d.toArray(), sorted(new Set([...sa, ...sb])));
      expect(d.cardinality).toBe(new Set([...sa, ...sb]).size);
      same(Bitmap.deserialize(n, a.serialize()).toArray(), sorted(sa));
    }
  });

  it('full and empty', () => {
    expect(Bitmap.full(70).cardinality).toBe(70);
    expect(Bitmap.full(70).has(69)).toBe(true);
    expect(Bitmap.full(70).has(70)).toBe(false);
    expect(Bitmap.empty(70).complement().rangeCardinality(0, 64)).toBe(64);
    expect(() => Bitmap.empty(3).and(Bitmap.empty(4))).toThrow(RangeError);
  });
});
