/**
 * Cluster slices (search.ts ClusterSlice, rabitq.ts estimateSelected): a filter's matching codes named in place, as
 * namespace/ivf-query.ts hands them to the searcher, must give the answers the copies of them gave (the code path
 * before slices: `subsetCodes` below, kept as the reference) — the same rows, the same distances bit for bit, the same
 * work — over several parts holding each cluster (rows shifted by each part's base), some naming their rows
 * (rowIds), under random filters of every selectivity.
 */
import { describe, expect, it } from 'vitest';
import { distanceTo } from '../query/index.js';
import { buildIvf } from './build.js';
import { encodeCluster, estimateCluster, estimateSelected, QueryCodes, rotateCentroids, type ClusterCodes } from './rabitq.js';
import { encodeRefine } from './refine.js';
import { fhtRotation } from './rotation.js';
import { IvfSearcher, type ClusterSlice, type SearchOptions } from './search.js';
import { mixture, seededRandom } from './testing.js';

/**
 * The reference: a new ClusterCodes holding copies of the codes at positions pos[j] − from (j < m), rows shifted by
 * `base` and named explicitly, refine codes shared with each code's position in them (ivf/subset.ts before slices).
 */
function subsetCodes(cc: ClusterCodes, pos: Uint32Array, m: number, base = 0, from = 0): ClusterCodes {
  const bytes = cc.padded >> 3;
  const codes = new Uint8Array(m * bytes);
  const add = new Float32Array(m);
  const rescale = new Float32Array(m);
  const err = new Float32Array(m);
  const rowIds = new Uint32Array(m);
  const at = new Uint32Array(m);
  for (let j = 0; j < m; j++) {
    const p = pos[j]! - from;
    codes.set(cc.codes.subarray(p * bytes, (p + 1) * bytes), j * bytes);
    add[j] = cc.add[p]!;
    rescale[j] = cc.rescale[p]!;
    err[j] = cc.err[p]!;
    rowIds[j] = (cc.rowIds === null ? cc.firstRow + p : cc.rowIds[p]!) + base;
    at[j] = cc.refineAt ? cc.refineAt[p]! : p;
  }
  const out: ClusterCodes = { n: m, padded: cc.padded, codes, add, rescale, err, rowIds, firstRow: 0, radius: cc.radius };
  if (cc.refine !== undefined) {
    out.refine = cc.refine;
    out.refineAt = at;
  }
  return out;
}

describe('estimateSelected', () => {
  it('should give each selected code the bits estimateCluster gives it, at any offset, shift and padded width', () => {
    const r = seededRandom(16);
    for (const dims of [24, 100, 128, 200]) {
      const n = 120;
      const data = Float32Array.from({ length: n * dims }, () => r() * 2 - 1);
      const centroid = new Float32Array(dims);
      for (let i = 0; i < n; i++) for (let d = 0; d < dims; d++) centroid[d]! += data[i * dims + d]! / n;
      const rotation = fhtRotation(dims, r);
      const cc = encodeCluster(data, Array.from({ length: n }, (_, i) => i), centroid, 0, rotation, 1000);
      const q = new QueryCodes(rotation);
      const qv = Float64Array.from({ length: dims }, () => r() * 2 - 1);
      q.set(qv);
      const rot = rotateCentroids(centroid, 1, rotation);
      let cd = 0;
      for (let d = 0; d < dims; d++) cd += (qv[d]! - centroid[d]!) ** 2;
      for (const eps0 of [1.9, Infinity]) {
        const est = new Float64Array(n);
        const lower = new Float64Array(n);
        estimateCluster(q, cc, cd, rot.sums[0]!, eps0, 0.5, est, lower);
        // Ordinals 1000 + p in a larger buffer from `from`, written at `at` of the outputs.
        const picked = Array.from({ length: n }, (_, p) => p).filter(() => r() < 0.3);
        const from = 7;
        const sel = new Uint32Array(from + picked.length + 3);
        picked.forEach((p, i) => (sel[from + i] = 1000 + p));
        const at = 5;
        const sEst = new Float64Array(at + picked.length).fill(NaN);
        const sLower = new Float64Array(at + picked.length).fill(NaN);
        estimateSelected(q, cc, sel, from, picked.length, 1000, cd, rot.sums[0]!, eps0, 0.5, sEst, sLower, at);
        picked.forEach((p, i) => {
          expect(Object.is(sEst[at + i], est[p])).toBe(true);
          expect(Object.is(sLower[at + i], lower[p])).toBe(true);
        });
        for (let i = 0; i < at; i++) expect(sEst[i]).toBeNaN(); // nothing written before `at`
      }
    }
  });
});

describe('searching cluster slices', () => {
  const DIMS = 24;
  const N = 3000;
  const PARTS = 4;
  const data = mixture(N, DIMS, seededRandom(31), 30, 0.5);
  for (const metric of ['cosine_distance', 'euclidean_squared'] as const) {
    it(`should answer as the copies of the matching codes did: same rows, same distances, same work (${metric})`, () => {
      const b = buildIvf(data, DIMS, N, metric, { random: seededRandom(32), targetSize: 60, minSize: 30, maxSize: 120, refine: true });
      const toData = b.clustering.rows;
      const k = b.clustering.k;
      // Part j holds the build's clusters again (its rows j·N + position); parts 1 and 3 name their rows (rowIds).
      const partCodes = Array.from({ length: PARTS }, (_, j) =>
        b.clusters.map((cc): ClusterCodes => (j % 2 === 1 ? { ...cc, rowIds: Uint32Array.from({ length: cc.n }, (_, i) => cc.firstRow + i), firstRow: 0 } : cc)),
      );
      const bases = Array.from({ length: PARTS }, (_, j) => j * N);
      const r = seededRandom(metric === 'cosine_distance' ? 33 : 34);
      let compared = 0;
      for (let trial = 0; trial < 40; trial++) {
        const qBase = Math.floor(r() * N) * DIMS;
        const q = Float32Array.from({ length: DIMS }, (_, d) => data[qBase + d]! + 0.3 * (r() - 0.5));
        // A random filter: a share of rows (100 % down to 0.1 %), some parts all in or all out, or no filter.
        const share = [1, 0.5, 0.3, 0.1, 0.02, 0.001][Math.floor(r() * 6)]!;
        const filtered = r() < 0.85;
        const allowed = Array.from({ length: PARTS }, () => {
          const mode = r();
          return Uint8Array.from({ length: N }, () => (mode < 0.1 ? 1 : mode < 0.15 ? 0 : r() < share ? 1 : 0));
        });
        const accept = (g: number) => allowed[Math.floor(g / N)]![g % N] === 1;
        const dist = distanceTo(metric, q);
        const exact = (rows: Uint32Array) => Array.from(rows, (g) => dist(data.subarray(toData[g % N]! * DIMS, (toData[g % N]! + 1) * DIMS)));
        const o: SearchOptions = { topK: [1, 10, 25][trial % 3]!, nprobe: [2, 8, k][Math.floor(r() * 3)]! };
        if (r() < 0.2) o.eps0 = Infinity;

        // The reference: copies (ivf-query.ts before slices: segmentsOf / matchingSegmentsOf with subsetCodes).
        const copies = (c: number): ClusterCodes[] => {
          const out: ClusterCodes[] = [];
          partCodes.forEach((codes, j) => {
            const cc = codes[c]!;
            const base = bases[j]!;
            if (cc.n === 0) return;
            const whole = () => (base === 0 ? cc : cc.rowIds === null ? { ...cc, firstRow: cc.firstRow + base } : { ...cc, rowIds: cc.rowIds.map((x) => x + base) });
            if (!filtered) return void out.push(whole());
            if (cc.rowIds !== null) {
              const pos: number[] = [];
              for (let i = 0; i < cc.n; i++) if (accept(cc.rowIds[i]! + base)) pos.push(i);
              if (pos.length > 0) out.push(subsetCodes(cc, Uint32Array.from(pos), pos.length, base));
              return;
            }
            const rows: number[] = [];
            for (let o2 = cc.firstRow; o2 < cc.firstRow + cc.n; o2++) if (allowed[j]![o2] === 1) rows.push(o2);
            if (rows.length * 2 > cc.n) out.push(whole());
            else if (rows.length > 0) out.push(subsetCodes(cc, Uint32Array.from(rows), rows.length, base, cc.firstRow));
          });
          return out;
        };
        // Slices, as ivf-query.ts makes them: selections written after one another into one shared buffer.
        const arena = new Uint32Array(PARTS * N + 16);
        let used = 3;
        const made = new Map<number, ClusterSlice[]>();
        const slices = (c: number): ClusterSlice[] => {
          const got = made.get(c);
          if (got) return got;
          const out: ClusterSlice[] = [];
          partCodes.forEach((codes, j) => {
            const cc = codes[c]!;
            const base = bases[j]!;
            if (cc.n === 0) return;
            const whole: ClusterSlice = { of: cc, sel: null, from: 0, n: cc.n, shift: 0, base };
            if (!filtered) return void out.push(whole);
            const from = used;
            let n = 0;
            if (cc.rowIds !== null) {
              for (let i = 0; i < cc.n; i++) if (accept(cc.rowIds[i]! + base)) arena[from + n++] = i;
              if (n > 0) out.push({ of: cc, sel: arena, from, n, shift: 0, base });
            } else {
              for (let o2 = cc.firstRow; o2 < cc.firstRow + cc.n; o2++) if (allowed[j]![o2] === 1) arena[from + n++] = o2;
              if (n * 2 > cc.n) return void out.push(whole);
              if (n > 0) out.push({ of: cc, sel: arena, from, n, shift: cc.firstRow, base });
            }
            used += n;
          });
          made.set(c, out);
          return out;
        };
        const hooks = { exact, ...(filtered ? { accept } : {}) };
        const want = new IvfSearcher(b.index).search(q, o, { cluster: copies, ...hooks });
        const got = new IvfSearcher(b.index).search(q, o, { cluster: slices, ...hooks });
        expect(Array.from(got.rows)).toEqual(Array.from(want.rows));
        expect(Buffer.from(got.distances.buffer).equals(Buffer.from(want.distances.buffer))).toBe(true);
        expect(got.stats).toEqual(want.stats);
        // Every returned row is accepted and at its exact distance.
        Array.from(got.rows).forEach((g, i) => {
          if (filtered) expect(accept(g)).toBe(true);
          expect(got.distances[i]).toBe(exact(Uint32Array.of(g))[0]);
        });
        if (got.rows.length > 0) compared++;
      }
      expect(compared).toBeGreaterThan(30);
    });
  }
});
