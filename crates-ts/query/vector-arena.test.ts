/**
 * The WebAssembly SIMD scan kernels (vector-arena.ts, kernels.wat): the committed bytes are the assembly of the
 * source, every distance is bit-identical to the JS kernels' (so results do not change when rows move between the
 * tail and a part), and the tail's scan through an arena returns exactly what the JS path returns.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Doc } from '../core/index.js';
import { ARENA_ROWS, TailSegment } from '../namespace/tail-segment.js';
import { cosineFromDot, cosineWithSqNormAt, distanceAt, dot, norm, sqNormAt } from './distance.js';
import { DocsSegment } from './segment.js';
import { executeOnSegments } from './execute-segments.js';
import { parseQuery, type ChunkedVectors } from './index.js';
import { VectorArena, arenasAvailable } from './vector-arena.js';

// Values with full mantissas over a wide range of exponents (so any change of summation order shows in the last
// bits), and some special ones.
const f32 = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.double({ min: -1, max: 1, noNaN: true }), fc.integer({ min: -20, max: 20 })).map(([m, e]) => Math.fround(m * 2 ** e)) },
  { weight: 1, arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 1, -1, 1e-30, -3.4e38, 3.4e38) },
);

describe('vector arena', () => {
  it('runs here (Node 20 has WebAssembly SIMD)', () => {
    expect(arenasAvailable()).toBe(true);
  });

  it('kernels-wasm.ts is the assembly of kernels.wat', () => {
    const script = fileURLToPath(new URL('../../scripts/build-wasm.mjs', import.meta.url));
    expect(execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' })).toContain('matches');
  });

  it('gives bit-identical distances to the JS kernels, for any dims and values', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 40 }), fc.infiniteStream(f32), (dims, rows, values) => {
        const arena = VectorArena.create(dims, rows)!;
        const it = values[Symbol.iterator]();
        for (let i = 0; i < rows * dims; i++) arena.data[i] = it.next().value;
        const q = Float32Array.from({ length: dims }, () => it.next().value);
        const q64 = Float64Array.from(q);
        const qNorm = norm(q);
        const l2 = distanceAt('euclidean_squared', q);
        const cos = distanceAt('cosine_distance', q);
        // Every row, in a scrambled order with repeats.
        const count = Math.min(arena.batch, rows * 2);
        for (let j = 0; j < count; j++) arena.sel[j] = (j * 7 + 3) % rows;
        arena.setQuery(q);
        arena.dots(count);
        for (let j = 0; j < count; j++) {
          const off = arena.sel[j]! * dims;
          expect(Object.is(arena.out[j], dot(q, arena.data.subarray(off, off + dims)))).toBe(true);
          const bb = sqNormAt(arena.data, off, dims);
          const want = cosineWithSqNormAt(q64, qNorm, arena.data, off, bb);
          expect(Object.is(cosineFromDot(arena.out[j]!, qNorm, bb), want)).toBe(true);
          expect(Object.is(want, cos(arena.data, off))).toBe(true);
        }
        arena.l2s(count);
        for (let j = 0; j < count; j++) expect(Object.is(arena.out[j], l2(arena.data, arena.sel[j]! * dims))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('grown() copies the rows and leaves the old arena readable', () => {
    const a = VectorArena.create(3, 2)!;
    a.data.set([1, 2, 3, 4, 5, 6]);
    const b = a.grown(100, 2)!;
    expect(b.capacity).toBe(100);
    expect(Array.from(b.data.subarray(0, 6))).toEqual([1, 2, 3, 4, 5, 6]);
    b.data[0] = 9;
    expect(a.data[0]).toBe(1);
    a.setQuery([1, 0, 0]);
    a.sel[0] = 1;
    a.dots(1);
    expect(a.out[0]).toBe(4);
  });

  it('refuses what a 32-bit memory cannot hold', () => {
    expect(VectorArena.create(1536, 1_000_000)).toBeNull();
  });
});

describe('the tail scanned through an arena', () => {
  const rand = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;

  for (const [metric, chunkShift] of [['cosine_distance', 14], ['euclidean_squared', 14], ['cosine_distance', 10], ['euclidean_squared', 10]] as const) {
    it(`returns exactly what the JS kernels return (${metric}, chunks of ${2 ** chunkShift} rows, deletes, rows without vectors, filters)`, async () => {
      const dims = 13;
      const r = rand(metric.length);
      // 2^14: one chunk, grown into an arena; 2^10: six chunks, the first a plain array and the others arenas.
      const tail = TailSegment.withChunkShift(chunkShift);
      const docs: Doc[] = [];
      const N = ARENA_ROWS + 1500;
      for (let i = 0; i < N; i++) {
        const vector = i % 97 === 5 ? null : i % 211 === 0 ? new Float32Array(dims) : Float32Array.from({ length: dims }, r);
        // Ids repeat: a later upsert of an id kills its earlier row.
        const d: Doc = { id: i % 5000, vector, attrs: { cat: i % 10 } };
        tail.upsert(d);
        docs.push(d);
        if (i % 389 === 0) tail.delete((i * 31) % 5000);
      }
      const v = tail.vectors()!;
      const chunks = (v as ChunkedVectors).chunks;
      expect(chunks.length).toBe(Math.ceil(N / 2 ** chunkShift));
      expect(chunks[chunks.length - 1]!.scan).toBeDefined();
      expect(chunks[0]!.scan !== undefined).toBe(chunkShift === 14);
      expect(v.present).not.toBeNull();
      // The oracle: the same rows and dead mask, vectors in a plain array scanned by the generic JS kernels.
      const oracle = new DocsSegment(docs, tail.dead!.slice(0, N));
      const ctx = { schema: { vector: { type: `[${dims}]f32` }, cat: { type: 'int' } }, distanceMetric: metric };
      for (let t = 0; t < 8; t++) {
        const body = { rank_by: ['vector', 'kNN', Array.from({ length: dims }, r)], top_k: 40, include_attributes: ['cat'], ...(t % 2 ? { filters: ['cat', 'Lt', 4] } : {}) };
        const got = await executeOnSegments(parseQuery(body, ctx), [tail.snapshot()]);
        const want = await executeOnSegments(parseQuery(body, ctx), [oracle]);
        expect(got.rows!.length).toBe(40);
        expect(got.rows!.map((x) => [x.id, x.$dist])).toStrictEqual(want.rows!.map((x) => [x.id, x.$dist]));
      }
    });
  }
});
