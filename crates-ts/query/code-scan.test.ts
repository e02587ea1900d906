/**
 * The WAL tail's code scan (code-scan.ts; RFC-0004 §5): the bounds hold for any row and query, and a top-k scan
 * through the codes returns exactly what the full scan returns — the same rows, in the same order (ties by id), with
 * bit-identical $dist — over random tails with duplicate vectors, ties, deletes, rows without vectors, filters, both
 * metrics, dims that are no multiple of 4 or 16, and k from 1 to past the row count.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Doc } from '../core/index.js';
import { TailSegment } from '../namespace/tail-segment.js';
import { codeBounds, codeScanStats, encodeRow, queryCodes, setCodeScanMode, useCodeScan, type ChunkCodes } from './code-scan.js';
import { cosineWithSqNormAt, euclideanSquaredAt, norm, sqNormAt } from './distance.js';
import { executeOnSegments } from './execute-segments.js';
import { executeQuery } from './execute.js';
import { parseQuery } from './parse-query.js';
import { VectorArena } from './vector-arena.js';
import { scanVectors, type ScanChunk, type VectorScanInput } from './pool-scan.js';

afterEach(() => setCodeScanMode('auto'));

/** Values over many magnitudes, with repeats and zeros (codes of rows with very different scales). */
const value = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -1, max: 1, noNaN: true }).map(Math.fround) },
  { weight: 2, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 1, arbitrary: fc.tuple(fc.double({ min: -1, max: 1, noNaN: true }), fc.integer({ min: -30, max: 30 })).map(([m, e]) => Math.fround(m * 2 ** e)) },
);

describe('encodeRow', () => {
  it('returns Σ y² with the bits of sqNormAt (any dims, NaN, infinities, tiny and huge values; plain and shared arenas)', () => {
    const any = fc.oneof(value, fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, 1e-45, 3e38, -3e38), fc.float({ noDefaultInfinity: false }));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 6 }), fc.infiniteStream(any), fc.boolean(), (dims, rows, values, shared) => {
        const arena = VectorArena.create(dims, rows, { codes: true, shared })!;
        const codes: ChunkCodes = { arena, codes: arena.codes!, scale: new Float64Array(rows), errNorm: new Float64Array(rows), codeNorm: new Float64Array(rows) };
        const it = values[Symbol.iterator]();
        for (let i = 0; i < rows * dims; i++) arena.data[i] = it.next().value;
        for (let r = 0; r < rows; r++) expect(Object.is(encodeRow(codes, r), sqNormAt(arena.data, r * dims, dims))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});

describe('code scan bounds', () => {
  it('bound every row’s exact distance (both metrics, any dims)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 20 }), fc.infiniteStream(value), fc.boolean(), (dims, rows, values, zeroRow) => {
        const arena = VectorArena.create(dims, rows, { codes: true })!;
        const codes: ChunkCodes = { arena, codes: arena.codes!, scale: new Float64Array(rows), errNorm: new Float64Array(rows), codeNorm: new Float64Array(rows) };
        const it = values[Symbol.iterator]();
        for (let i = 0; i < rows * dims; i++) arena.data[i] = it.next().value;
        if (zeroRow) arena.data.fill(0, 0, dims);
        const sq = new Float64Array(rows);
        for (let r = 0; r < rows; r++) {
          encodeRow(codes, r);
          sq[r] = sqNormAt(arena.data, r * dims, dims);
        }
        const q = Float32Array.from({ length: dims }, () => it.next().value);
        const qNorm = norm(q);
        const cq = queryCodes(q, qNorm);
        if (cq === null) return; // a zero query: scans are exact
        arena.setQueryCodes(cq.qc);
        for (let r = 0; r < rows; r++) arena.sel[r] = r;
        arena.idots(rows);
        const lu = new Float64Array(2);
        for (let r = 0; r < rows; r++) {
          // The integer dot is exact.
          let want = 0;
          for (let i = 0; i < dims; i++) want += cq.qc[i]! * arena.codes![r * dims + i]!;
          expect(arena.out[r]).toBe(want);
          for (const cosine of [true, false]) {
            const exact = cosine ? cosineWithSqNormAt(Float64Array.from(q), qNorm, arena.data, r * dims, sq[r]!) : euclideanSquaredAt(q, arena.data, r * dims);
            if (!codeBounds(cq, cosine, codes, r, arena.out[r]!, sq[r]!, lu)) {
              expect(Number.isNaN(codes.scale[r]!) || sq[r] === 0).toBe(true);
              continue;
            }
            expect(lu[0]!).toBeLessThanOrEqual(exact);
            expect(lu[1]!).toBeGreaterThanOrEqual(exact);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** A pool scan's answer as a sorted list of ordinal:distance (its rows come in no order). */
const answer = (r: { ords: Int32Array; dists: Float64Array }) => Array.from(r.ords, (o, j) => `${o}:${Object.is(r.dists[j], -0) ? '-0' : r.dists[j]}`).sort();

/**
 * The pool task execute-segments.ts would post for a scan of the tail's rows in shared arenas (pooledScan with
 * selected ordinals: every live row with a vector past the first chunk, which is a plain array in a small tail), or
 * null when there are none.
 */
function poolInput(tail: TailSegment, query: number[], cosine: boolean, k: number): VectorScanInput | null {
  const snap = tail.snapshot();
  const v = snap.vectors();
  if (v === null || v.chunks === undefined || snap.rows === 0) return null;
  const first = v.base >>> v.shift;
  const last = (v.base + snap.rows - 1) >>> v.shift;
  const chunks: (ScanChunk | null)[] = [];
  for (let c = first; c <= last; c++) {
    const chunk = v.chunks[c];
    chunks.push(chunk === undefined || chunk.shared === undefined ? null : { memory: chunk.shared.memory, capacity: chunk.shared.capacity, sqNorms: chunk.sqNorms, ...(chunk.codes ? { codes: chunk.codes } : {}) });
  }
  const ords: number[] = [];
  for (let o = 0; o < snap.rows; o++) {
    const p = v.base + o;
    if (chunks[(p >>> v.shift) - first] === null || snap.dead?.[o] === 1) continue;
    if (v.present !== null && (v.present[o >> 3]! & (1 << (o & 7))) === 0) continue;
    ords.push(o);
  }
  if (ords.length === 0) return null;
  return {
    dims: v.dims, cosine, query: Float32Array.from(query), k, base: v.base, shift: v.shift, firstChunk: first, chunks, n: snap.rows,
    ords: Int32Array.from(ords), dead: null, present: null, cancel: null,
  };
}

type Op = { kind: 'upsert'; id: number; vec: number | null; cat: number } | { kind: 'delete'; id: number };

describe('code scan of the WAL tail', () => {
  it('returns exactly the full scan’s rows, order and $dist (on the event loop and on a pool thread)', async () => {
    let coded = 0;
    let poolRuns = 0;
    let poolPruned = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 37 }),
        fc.integer({ min: 2, max: 5 }),
        // A pool of vectors rows draw from (duplicates: ties), then the operations.
        fc.array(fc.array(value, { minLength: 37, maxLength: 37 }), { minLength: 1, maxLength: 12 }),
        fc.array(
          fc.oneof(
            { weight: 8, arbitrary: fc.record({ kind: fc.constant('upsert' as const), id: fc.integer({ min: 0, max: 150 }), vec: fc.option(fc.nat(), { freq: 12 }), cat: fc.integer({ min: 0, max: 9 }) }) },
            { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 0, max: 150 }) }) },
          ),
          { minLength: 1, maxLength: 260, size: 'max' },
        ),
        fc.array(fc.record({ vec: fc.oneof(fc.nat(), fc.array(value, { minLength: 37, maxLength: 37 })), k: fc.integer({ min: 1, max: 300 }), filter: fc.option(fc.integer({ min: 0, max: 10 })), metric: fc.constantFrom('cosine_distance' as const, 'euclidean_squared' as const) }), { minLength: 1, maxLength: 4 }),
        async (dims, shift, pool, ops: Op[], queries) => {
          poolRuns++;
          const tail = TailSegment.withChunkShift(shift);
          for (const op of ops) {
            if (op.kind === 'delete') tail.delete(op.id);
            else tail.upsert({ id: op.id, vector: op.vec === null ? null : Float32Array.from(pool[op.vec % pool.length]!.slice(0, dims)), attrs: { cat: op.cat } });
          }
          const ctx = { schema: { vector: { type: `[${dims}]f32` }, cat: { type: 'int' } }, distanceMetric: 'cosine_distance' as const };
          for (const qq of queries) {
            const vec = typeof qq.vec === 'number' ? pool[qq.vec % pool.length]!.slice(0, dims) : qq.vec.slice(0, dims);
            const body = { rank_by: ['vector', 'kNN', vec], top_k: qq.k, ...(qq.filter !== null ? { filters: ['cat', 'Lt', qq.filter] } : {}) };
            const q = parseQuery(body, { ...ctx, distanceMetric: qq.metric });
            setCodeScanMode('never');
            const want = await executeOnSegments(q, [tail.snapshot()]);
            setCodeScanMode('always');
            const before = codeScanStats.coded;
            const got = await executeOnSegments(q, [tail.snapshot()]);
            coded += codeScanStats.coded - before;
            // toStrictEqual compares numbers with Object.is: -0 and 0 differ, NaN equals NaN.
            expect(got.rows!.map((x) => [x.id, x.$dist])).toStrictEqual(want.rows!.map((x) => [x.id, x.$dist]));
            // The pool thread's scan (pool-scan.ts) of the same rows: the same k nearest and ties, with or without codes.
            const input = poolInput(tail, vec, qq.metric === 'cosine_distance', qq.k);
            if (input !== null) {
              const [full, viaCodes] = [scanVectors(input), scanVectors({ ...input, codeScan: true })];
              expect(answer(viaCodes)).toStrictEqual(answer(full));
              if (viaCodes.scanned < full.scanned) poolPruned++;
            }
          }
        },
      ),
      { numRuns: 150 },
    );
    expect(poolPruned).toBeGreaterThan(poolRuns / 10);
    // The property ran through the codes (chunks past the first are arenas with codes).
    expect(coded).toBeGreaterThan(1000);
  });

  it('gives the full scan’s answer over a large tail in auto mode, ranking few rows exactly', async () => {
    const dims = 45;
    const tail = new TailSegment();
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const n = 20_000;
    for (let i = 0; i < n; i++) tail.upsert({ id: i, vector: Float32Array.from({ length: dims }, () => (i % 97 === 0 ? 0.5 : rand())), attrs: { cat: i % 7 } });
    for (let i = 0; i < n; i += 13) tail.delete(i);
    const ctx = { schema: { vector: { type: `[${dims}]f32` }, cat: { type: 'int' } }, distanceMetric: 'cosine_distance' as const };
    for (const metric of ['cosine_distance', 'euclidean_squared'] as const) {
      for (const filters of [undefined, ['cat', 'Lt', 3]]) {
        for (const k of [1, 10, 100]) {
          const vec = Array.from({ length: dims }, () => rand());
          const q = parseQuery({ rank_by: ['vector', 'kNN', vec], top_k: k, ...(filters ? { filters } : {}) }, { ...ctx, distanceMetric: metric });
          setCodeScanMode('never');
          const want = await executeOnSegments(q, [tail.snapshot()]);
          setCodeScanMode('auto');
          const [c0, e0] = [codeScanStats.coded, codeScanStats.exact];
          const got = await executeOnSegments(q, [tail.snapshot()]);
          expect(got.rows!.map((x) => [x.id, x.$dist])).toStrictEqual(want.rows!.map((x) => [x.id, x.$dist]));
          const [coded, exact] = [codeScanStats.coded - c0, codeScanStats.exact - e0];
          expect(coded).toBeGreaterThan(n / 4);
          expect(exact).toBeLessThan(coded / 4);
        }
      }
    }
  });
});

describe('a numeric comparison over the tail’s number column (numericLeafTest)', () => {
  it('matches exactly the rows the compiled filter matches over the documents (missing values, every operator)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ min: -5, max: 5, noNaN: true })), { freq: 4 }), { minLength: 1, maxLength: 80 }),
        fc.constantFrom('Lt', 'Lte', 'Gt', 'Gte', 'Eq', 'NotEq'),
        fc.oneof(fc.integer({ min: -6, max: 6 }), fc.double({ min: -6, max: 6, noNaN: true })),
        fc.nat(),
        async (vals, op, x, shift) => {
          const tail = TailSegment.withChunkShift(2 + (shift % 4));
          const docs: Doc[] = vals.map((v, i) => ({ id: i, vector: Float32Array.of(1, i % 5, 2), attrs: v === null ? {} : { n: v } }) as Doc);
          for (const d of docs) tail.upsert(d);
          for (let i = 0; i < docs.length; i += 7) tail.delete(i);
          const live = docs.filter((_, i) => i % 7 !== 0);
          const ctx = { schema: { vector: { type: '[3]f32' }, n: { type: 'float' } }, distanceMetric: 'euclidean_squared' as const };
          const body = { rank_by: ['vector', 'kNN', [1, 2, 3]], top_k: 1000, filters: ['n', op, x] };
          const got = await executeOnSegments(parseQuery(body, ctx), [tail.snapshot()]);
          const want = executeQuery(parseQuery(body, ctx), live, ctx);
          expect(got.rows!.map((r) => [r.id, r.$dist])).toStrictEqual(want.rows!.map((r) => [r.id, r.$dist]));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('useCodeScan', () => {
  it('should rank exactly a restriction that lists an ordinal twice (its k-th upper bound would count the row twice)', () => {
    expect(useCodeScan(2, 1000, Int32Array.from([3, 5, 9]))).toBe(true);
    expect(useCodeScan(2, 1000, Int32Array.from([3, 5, 5, 9]))).toBe(false);
    expect(useCodeScan(2, 1000, [9, 3])).toBe(false);
    expect(useCodeScan(2, 1000, null)).toBe(true);
    expect(useCodeScan(2, 40, null)).toBe(false); // k·32 > rows: the full scan is as cheap
  });
});
