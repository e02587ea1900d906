import { describe, expect, it } from 'vitest';
import { denseRotation, fhtRotation, FhtRotation, paddedDims } from './rotation.js';
import { seededRandom } from './testing.js';

const vec = (dims: number, seed: number) => {
  const r = seededRandom(seed);
  return Float32Array.from({ length: dims }, () => r() - 0.5);
};
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const pad = (v: Float32Array, n: number) => Float64Array.from({ length: n }, (_, i) => v[i] ?? 0);

describe('rotations', () => {
  it('should pad to whole 64-bit words of code', () => {
    expect([1, 64, 65, 100, 128, 150, 768, 1536].map(paddedDims)).toEqual([64, 64, 128, 128, 128, 192, 768, 1536]);
  });

  // 192 and 768 are not powers of two: the fast rotation alternates two overlapping blocks there.
  for (const dims of [100, 128, 150, 768]) {
    for (const kind of ['fht', 'dense'] as const) {
      it(`should preserve inner products and norms (${kind}, ${dims}-d)`, () => {
        const rot = kind === 'fht' ? fhtRotation(dims, seededRandom(1)) : denseRotation(dims, seededRandom(1));
        const a = vec(dims, 2);
        const b = vec(dims, 3);
        const ra = new Float64Array(rot.padded);
        const rb = new Float64Array(rot.padded);
        rot.apply(a, 0, ra);
        rot.apply(b, 0, rb);
        expect(dot(ra, rb)).toBeCloseTo(dot(a, b), 9);
        expect(dot(ra, ra)).toBeCloseTo(dot(a, a), 9);
        // It does rotate: the image differs from the (padded) input.
        const pa = pad(a, rot.padded);
        expect(Math.abs(dot(ra, pa) - dot(a, a))).toBeGreaterThan(1e-3);
      });
    }
  }

  it('should be rebuilt exactly from its signs, and differ with the seed', () => {
    const a = fhtRotation(128, seededRandom(7));
    const b = new FhtRotation(128, a.signs.slice());
    const c = fhtRotation(128, seededRandom(8));
    const v = vec(128, 4);
    const [ra, rb, rc] = [new Float64Array(128), new Float64Array(128), new Float64Array(128)];
    a.apply(v, 0, ra);
    b.apply(v, 0, rb);
    c.apply(v, 0, rc);
    expect(rb).toEqual(ra);
    expect(rc).not.toEqual(ra);
  });

  it('should rotate bit for bit alike with the SIMD kernel and the JS loops (any dims, rounds, f32 or f64 input)', () => {
    for (const dims of [1, 7, 64, 100, 128, 192, 320, 768, 1000]) {
      for (const rounds of [1, 2, 3, 4, 5]) {
        const signs = fhtRotation(dims, seededRandom(dims * 10 + rounds), rounds).signs;
        const simd = new FhtRotation(dims, signs);
        const js = new FhtRotation(dims, signs, false);
        const r = seededRandom(rounds);
        const rows = 80; // past the applies before the kernel is used
        const f32 = Float32Array.from({ length: rows * dims + 3 }, (_, i) => (i % 17 === 0 ? 0 : (r() - 0.5) * 2 ** ((i % 40) - 20)));
        const f64 = Float64Array.from(f32, (x) => x * (1 + r() * 1e-9));
        const a = new Float64Array(simd.padded);
        const b = new Float64Array(simd.padded);
        for (const src of [f32, f64]) {
          for (let row = 0; row < rows; row++) {
            const off = row * dims + (row % 4);
            simd.apply(src, off, a);
            js.apply(src, off, b);
            expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
          }
        }
      }
    }
  });

  it('should read a vector at an offset of a row-major buffer', () => {
    const rot = fhtRotation(64, seededRandom(3));
    const rows = new Float32Array(3 * 64);
    const v = vec(64, 5);
    rows.set(v, 128);
    const [x, y] = [new Float64Array(64), new Float64Array(64)];
    rot.apply(rows, 128, x);
    rot.apply(v, 0, y);
    expect(x).toEqual(y);
  });

  // apply fuses the sign multiply into the transform's first pass, two stages per pass and the final scale into the
  // last: the stored codes depend on its exact values, so it must give bit for bit the plain sequence of steps.
  for (const dims of [1, 64, 100, 128, 150, 256, 300, 768]) {
    it(`should give exactly the unfused steps' values (${dims}-d)`, () => {
      for (const rounds of [1, 2, 3, 4]) {
        const rot = fhtRotation(dims, seededRandom(dims + rounds), rounds);
        for (const seed of [1, 2, 3]) {
          const v = vec(dims, seed);
          const got = new Float64Array(rot.padded);
          rot.apply(v, 0, got);
          const want = unfusedFht(rot.signs, dims, rot.padded, v);
          expect(got).toEqual(want);
        }
      }
    });
  }
});

/** The fast rotation as separate passes (the implementation before the fused one): sign flips, WHT stage by stage. */
function unfusedFht(signs: Int8Array, dims: number, padded: number, v: Float32Array): Float64Array {
  let block = 1;
  while (block * 2 <= padded) block *= 2;
  const scale = 1 / Math.sqrt(block);
  const rounds = signs.length / padded;
  const startOf = (r: number) => (r % 2 === 0 ? 0 : padded - block);
  const mult = Float64Array.from(signs);
  for (let r = 1; r < rounds; r++) for (let i = startOf(r - 1); i < startOf(r - 1) + block; i++) mult[r * padded + i]! *= scale;
  const x = new Float64Array(padded);
  for (let i = 0; i < dims; i++) x[i] = v[i]! * mult[i]!;
  for (let r = 0; r < rounds; r++) {
    if (r > 0) for (let i = 0; i < padded; i++) x[i] = x[i]! * mult[r * padded + i]!;
    const start = startOf(r);
    for (let h = 1; h < block; h *= 2) {
      for (let i = start; i < start + block; i += 2 * h) {
        for (let j = i; j < i + h; j++) {
          const a = x[j]!;
          const b = x[j + h]!;
          x[j] = a + b;
          x[j + h] = a - b;
        }
      }
    }
  }
  for (let i = startOf(rounds - 1); i < startOf(rounds - 1) + block; i++) x[i] = x[i]! * scale;
  return x;
}
