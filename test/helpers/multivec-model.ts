/**
 * Brute-force multi-vector (late interaction) ranking for the multi-vector tests (test/109, 109b, 110, 110b),
 * independent of elax's MaxSim kernels (crates-ts/multivec): MaxSim as a distance is Σ over the query's vectors of
 * the smallest distance to any of the row's vectors (= |Q| − Σ_q max_d cos_sim(q, d) for cosine_distance).
 */
import type { Doc } from '../../crates-ts/core/index.js';

export type MaxSimMetric = 'cosine_distance' | 'euclidean_squared';

/** 1 − cos(a, b), 1 for a zero vector, clamped to [0, 2]. */
export function cosDist(a: number[], b: number[]): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  if (na === 0 || nb === 0) return 1;
  return Math.min(2, Math.max(0, 1 - d / (Math.sqrt(na) * Math.sqrt(nb))));
}

export function l2(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}

/** Brute-force MaxSim as a distance: Σ over query vectors of the smallest distance to any of the row's vectors. */
export function maxSimDist(q: number[][], row: number[][], metric: MaxSimMetric = 'cosine_distance'): number {
  let s = 0;
  for (const qv of q) s += Math.min(...row.map((d) => (metric === 'cosine_distance' ? cosDist(qv, d) : l2(qv, d))));
  return s;
}

/** [id, MaxSim distance] of the best `k` rows with `toks` that `keep` accepts: distance ascending, then id. */
export function expectedMaxSim<R extends { id: number; toks?: number[][] | null }>(
  rows: Map<number, R>,
  q: number[][],
  k: number,
  metric: MaxSimMetric = 'cosine_distance',
  keep: (r: R) => boolean = () => true,
): [number, number][] {
  const out: [number, number][] = [];
  for (const r of rows.values()) if (r.toks && keep(r)) out.push([r.id, maxSimDist(q, r.toks, metric)]);
  out.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  return out.slice(0, k);
}

/** [id, cosine MaxSim distance] of every doc with a `toks` multi-vector (a golden fixture's), best first, ties by id. */
export function rankByMaxSim(docs: Doc[], q: number[][]): [number, number][] {
  return docs
    .filter((d) => d.attrs.toks)
    .map((d) => [d.id as number, maxSimDist(q, d.attrs.toks as number[][])] as [number, number])
    .sort((a, b) => a[1] - b[1] || a[0] - b[0]);
}
