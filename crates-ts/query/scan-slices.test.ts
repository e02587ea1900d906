/**
 * A scan of the WAL tail's chunks on the event loop gives the loop back every scanSlice.ms (execute-segments.ts,
 * docs/rfcs/0010-worker-pool.md "Tail scans in slices"). Between two slices anything may run on the thread: other
 * queries over the same chunks (their kernels and code arenas hold one query at a time) and writes folded into the
 * tail (new rows, rows killed). The sliced scan must still return exactly what one synchronous scan of the same
 * snapshot returns: the same rows, order and bit-identical $dist, with and without the code scan, with filters.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { UNCANCELLED, type QueryControl } from '../core/index.js';
import { TailSegment } from '../namespace/tail-segment.js';
import { setCodeScanMode } from './code-scan.js';
import { executeOnSegments, scanSlice } from './execute-segments.js';
import { parseQuery } from './parse-query.js';

const defaultSlice = scanSlice.ms;
afterEach(() => {
  scanSlice.ms = defaultSlice;
  setCodeScanMode('auto');
});

describe('tail scans in slices', () => {
  it('return what one synchronous scan of the snapshot returns while other queries and writes run between slices', async () => {
    const dims = 24;
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const vec = () => Float32Array.from({ length: dims }, () => rand());
    const tail = new TailSegment(); // chunks of 16,384 rows: kernels and codes past the first rows
    const n = 40_000;
    for (let i = 0; i < n; i++) tail.upsert({ id: i, vector: i % 101 === 0 ? null : i % 89 === 0 ? Float32Array.from({ length: dims }, () => 0.25) : vec(), attrs: { cat: i % 7 } });
    for (let i = 0; i < n; i += 17) tail.delete(i);
    const ctx = { schema: { vector: { type: `[${dims}]f32` }, cat: { type: 'int' } }, distanceMetric: 'cosine_distance' as const };
    let nextId = n;
    let pauses = 0;
    for (const mode of ['always', 'never', 'auto'] as const) {
      setCodeScanMode(mode);
      for (const metric of ['cosine_distance', 'euclidean_squared'] as const) {
        for (const filters of [undefined, ['cat', 'Lt', 3]]) {
          for (const k of [1, 10, 250]) {
            const body = { rank_by: ['vector', 'kNN', Array.from(vec())], top_k: k, ...(filters ? { filters } : {}) };
            const q = parseQuery(body, { ...ctx, distanceMetric: metric });
            const other = parseQuery({ rank_by: ['vector', 'kNN', Array.from(vec())], top_k: 5 }, { ...ctx, distanceMetric: metric });
            const snap = tail.snapshot();
            scanSlice.ms = Infinity;
            const want = await executeOnSegments(q, [snap]);
            scanSlice.ms = 0; // a pause at every check (every CHECK_EVERY_ROWS rows)
            let here = 0;
            const control: QueryControl = {
              check() {},
              async checkpoint(where) {
                if (where !== 'scan') return;
                here++;
                // Another query over the same chunks (sets their kernels' query and code arenas), then writes folded
                // into the tail: new rows, rows of the snapshot overwritten and deleted.
                await executeOnSegments(other, [tail.snapshot()], undefined, { control: UNCANCELLED });
                for (let j = 0; j < 50; j++) tail.upsert({ id: nextId++, vector: vec(), attrs: { cat: j % 7 } });
                for (let j = 0; j < 20; j++) tail.upsert({ id: Math.floor(Math.abs(rand()) * n), vector: vec(), attrs: { cat: 1 } });
                tail.delete(Math.floor(Math.abs(rand()) * n));
                await new Promise<void>((resolve) => setImmediate(resolve));
              },
            };
            const got = await executeOnSegments(q, [snap], undefined, { control });
            expect(here).toBeGreaterThanOrEqual(Math.floor(n / 4096) - 1);
            pauses += here;
            // toStrictEqual compares numbers with Object.is: -0 and 0 differ, NaN equals NaN.
            expect(got.rows!.map((x) => [x.id, x.$dist])).toStrictEqual(want.rows!.map((x) => [x.id, x.$dist]));
          }
        }
      }
    }
    expect(pauses).toBeGreaterThan(100);
  });

  it('do not pause within the slice', async () => {
    const tail = new TailSegment();
    for (let i = 0; i < 20_000; i++) tail.upsert({ id: i, vector: Float32Array.of(i % 13, 1, (i * 7) % 5), attrs: {} });
    const q = parseQuery({ rank_by: ['vector', 'kNN', [1, 2, 3]], top_k: 3 }, { schema: { vector: { type: '[3]f32' } }, distanceMetric: 'euclidean_squared' });
    scanSlice.ms = Infinity;
    let scanPauses = 0;
    const control: QueryControl = { check() {}, checkpoint: async (where) => void (where === 'scan' && scanPauses++) };
    await executeOnSegments(q, [tail.snapshot()], undefined, { control });
    expect(scanPauses).toBe(0);
    scanSlice.ms = 0;
    await executeOnSegments(q, [tail.snapshot()], undefined, { control });
    expect(scanPauses).toBe(Math.ceil(20_000 / 4096) - 1);
  });
});
