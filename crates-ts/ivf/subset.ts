/**
 * A cluster's codes restricted to some of its rows (a filter's matches, RFC-0009): the searcher then estimates only
 * rows it may return, so a probe under a 5 % filter costs little more than the matches it holds. The rows are named
 * explicitly (`rowIds`); the radius stays the cluster's (still an upper bound of its members' distances to the
 * centroid), and the refine codes are the cluster's, shared, with each code's position in them (`refineAt`).
 */
import type { ClusterCodes } from './rabitq.js';

/**
 * The codes at positions `pos[i] − from` for i < m (ascending, each in [0, cc.n)) of `cc`, their rows shifted by
 * `base` (a part's first global row in a merged search). `from` lets a caller pass rows of a contiguous cluster
 * (firstRow + position) as they are.
 */
export function subsetCodes(cc: ClusterCodes, pos: Uint32Array, m: number, base = 0, from = 0): ClusterCodes {
  const bytes = cc.padded >> 3;
  // One buffer for the six arrays (codes are whole 32-bit words, so every array after them is 4-byte aligned): a
  // filtered query subsets every cluster it probes in every part, and each ArrayBuffer is an allocation of its own
  // outside the JS heap that the GC tracks.
  const buf = new ArrayBuffer(m * (bytes + 20));
  const codes = new Uint8Array(buf, 0, m * bytes);
  const add = new Float32Array(buf, m * bytes, m);
  const rescale = new Float32Array(buf, m * (bytes + 4), m);
  const err = new Float32Array(buf, m * (bytes + 8), m);
  const rowIds = new Uint32Array(buf, m * (bytes + 12), m);
  const at = new Uint32Array(buf, m * (bytes + 16), m);
  const src = cc.codes;
  const ids = cc.rowIds;
  // Codes are whole 32-bit words (padded is a multiple of 64): copied a word at a time when the source is aligned.
  const words = (src.byteOffset & 3) === 0 ? bytes >> 2 : 0;
  const src32 = words > 0 ? new Uint32Array(src.buffer, src.byteOffset, (src.byteLength >> 2)) : null;
  const dst32 = words > 0 ? new Uint32Array(buf, 0, m * words) : null;
  for (let j = 0; j < m; j++) {
    const p = pos[j]! - from;
    if (src32 !== null) for (let w = 0, s = p * words, t = j * words; w < words; w++) dst32![t + w] = src32[s + w]!;
    else for (let b = 0, s = p * bytes, t = j * bytes; b < bytes; b++) codes[t + b] = src[s + b]!;
    add[j] = cc.add[p]!;
    rescale[j] = cc.rescale[p]!;
    err[j] = cc.err[p]!;
    rowIds[j] = (ids === null ? cc.firstRow + p : ids[p]!) + base;
    at[j] = cc.refineAt ? cc.refineAt[p]! : p;
  }
  const out: ClusterCodes = { n: m, padded: cc.padded, codes, add, rescale, err, rowIds, firstRow: 0, radius: cc.radius };
  if (cc.refine !== undefined) {
    out.refine = cc.refine;
    out.refineAt = at;
  }
  return out;
}
