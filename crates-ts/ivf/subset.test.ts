import { describe, expect, it } from 'vitest';
import { encodeCluster, estimateCluster, QueryCodes, rotateCentroids, type ClusterCodes } from './rabitq.js';
import { encodeRefine } from './refine.js';
import { fhtRotation } from './rotation.js';
import { seededRandom } from './random.js';
import { subsetCodes } from './subset.js';

describe('subsetCodes', () => {
  it('should give the chosen rows the same estimates as the whole cluster, their rows named and their refine codes shared', () => {
    const r = seededRandom(16);
    const dims = 24;
    const n = 50;
    const data = Float32Array.from({ length: n * dims }, () => r() * 2 - 1);
    const centroid = new Float32Array(dims);
    for (let i = 0; i < n; i++) for (let d = 0; d < dims; d++) centroid[d]! += data[i * dims + d]! / n;
    const rotation = fhtRotation(dims, r);
    const rows = Array.from({ length: n }, (_, i) => i);
    const cc: ClusterCodes = encodeCluster(data, rows, centroid, 0, rotation, 1000);
    cc.refine = encodeRefine(data, rows, centroid, 0, dims, false);
    const pos = Uint32Array.from([1003, 1007, 1020, 1049]);
    const sub = subsetCodes(cc, pos, pos.length, 5, 1000);
    expect(sub.n).toBe(4);
    expect(Array.from(sub.rowIds!)).toEqual([1008, 1012, 1025, 1054]);
    expect(Array.from(sub.refineAt!)).toEqual([3, 7, 20, 49]);
    expect(sub.refine).toBe(cc.refine);
    const q = new QueryCodes(rotation);
    const qv = Float64Array.from({ length: dims }, () => r() * 2 - 1);
    q.set(qv);
    const rot = rotateCentroids(centroid, 1, rotation);
    let cd = 0;
    for (let d = 0; d < dims; d++) cd += (qv[d]! - centroid[d]!) ** 2;
    const est = new Float64Array(n);
    const lower = new Float64Array(n);
    estimateCluster(q, cc, cd, rot.sums[0]!, 1.9, 1, est, lower);
    const sEst = new Float64Array(4);
    const sLower = new Float64Array(4);
    estimateCluster(q, sub, cd, rot.sums[0]!, 1.9, 1, sEst, sLower);
    [3, 7, 20, 49].forEach((p, i) => {
      expect(sEst[i]).toBe(est[p]);
      expect(sLower[i]).toBe(lower[p]);
    });
  });
});
