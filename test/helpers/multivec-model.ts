/**
 * Brute-force multi-vector (late interaction) ranking for the golden fixtures' tests (test/109b, test/110b),
 * independent of elax's MaxSim kernels (crates-ts/multivec).
 */
import type { Doc } from '../../crates-ts/core/index.js';

/** 1 − cos(a, b), 1 for a zero vector, clamped to [0, 2]. */
export function cosDist(a: number[], b: number[]): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  if (na === 0 || nb === 0) return 1;
  return Math.min(2, Math.max(0, 1 - d / Math.sqrt(na * nb)));
}

/**
 * [id, MaxSim distance] of every doc with a `toks` multi-vector, best first (ties by id): the distance is the sum,
 * over the query's vectors, of the smallest cosine distance to any of the doc's vectors.
 */
export function rankByMaxSim(docs: Doc[], q: number[][]): [number, number][] {
  return docs
    .filter((d) => d.attrs.toks)
    .map((d) => [d.id as number, q.reduce((s, qv) => s + Math.min(...(d.attrs.toks as number[][]).map((v) => cosDist(qv, v))), 0)] as [number, number])
    .sort((a, b) => a[1] - b[1] || a[0] - b[0]);
}
