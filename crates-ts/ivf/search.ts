/**
 * One query against one clustered index: scan the centroids exactly, probe clusters nearest first, estimate every
 * code's distance with its RaBitQ bound, keep the candidates whose lower bound can still reach the top k, and rerank
 * those with exact distances supplied by the caller.
 *
 * Adaptive stop: a cluster whose members cannot come closer than the current k-th best upper bound (triangle
 * inequality with its radius: ‖x − q‖ ≥ ‖q − c‖ − radius) is skipped without fetching its codes, and probing
 * stops once even the largest radius cannot bring a further (farther) centroid within reach. `nprobe` caps the
 * clusters probed: it is the recall knob.
 *
 * Does not fetch anything: `cluster(c)` and `exact(rows)` are the caller's (block cache, ranged GETs).
 */
import type { DistanceMetric } from '../core/index.js';
import { centroidDistances, squaredNorms } from './kernels.js';
import { metricScale, normaliseInto } from './metric.js';
import { estimateCluster, QueryCodes, rotateCentroids, type ClusterCodes, type RotatedCentroids } from './rabitq.js';
import type { Rotation } from './rotation.js';

/** Everything a query needs in memory: centroids (index space), their rotations, norms and radii. */
export interface IvfIndex {
  metric: DistanceMetric;
  dims: number;
  k: number;
  /** k × dims. For cosine, means of unit vectors (not themselves unit). */
  centroids: Float32Array;
  cSq: Float64Array;
  rotation: Rotation;
  rotated: RotatedCentroids;
  /** max ‖x − c‖ per cluster (the codes' radius), for the triangle-inequality skip. */
  radii: Float32Array;
  maxRadius: number;
}

export function makeIndex(metric: DistanceMetric, centroids: Float32Array, k: number, rotation: Rotation, radii: Float32Array): IvfIndex {
  const dims = rotation.dims;
  let maxRadius = 0;
  for (let c = 0; c < k; c++) maxRadius = Math.max(maxRadius, radii[c]!);
  return { metric, dims, k, centroids, cSq: squaredNorms(centroids, k, dims), rotation, rotated: rotateCentroids(centroids, k, rotation), radii, maxRadius };
}

export interface SearchOptions {
  topK: number;
  /** Clusters probed at most (the triangle-inequality skip may probe fewer). Default DEFAULT_NPROBE. */
  nprobe?: number;
  /** Confidence of the RaBitQ bound (the paper's ε0). Default 1.9. */
  eps0?: number;
  /**
   * Exact distances asked per `exact` call. Infinity (default): one call with every candidate whose lower bound is
   * under the k-th smallest upper bound — one round trip. A finite batch asks nearest-lower-bound first and stops
   * as soon as the k-th exact distance is below every remaining lower bound: fewer distances, more calls, and
   * recall that depends on the bound holding (use ε0 ≈ 2.6 there: at 1M, batches of 16 lost 1.3 % recall@10 at
   * ε0 = 1.9, bench/ivf-kernels.ts). One batch is robust to a failed bound: τ is an upper bound, not a distance.
   */
  rerankBatch?: number;
}

export interface SearchHooks {
  /** The codes of cluster c. */
  cluster(c: number): ClusterCodes;
  /** Exact metric distances of the query to `rows` (the caller reads the full vectors). */
  exact(rows: Uint32Array): ArrayLike<number>;
  /** False for rows that must not be returned (deleted, filtered out). */
  accept?(row: number): boolean;
}

export interface SearchStats {
  /** Clusters whose codes were scored. */
  probed: number;
  /** Clusters within nprobe skipped by the triangle inequality (codes not fetched). */
  skipped: number;
  /** Codes estimated. */
  scored: number;
  /** Exact distances asked for, and in how many calls. */
  reranked: number;
  exactCalls: number;
}

export interface SearchResult {
  /** Best first. */
  rows: Uint32Array;
  distances: Float64Array;
  stats: SearchStats;
}

export const DEFAULT_EPS0 = 1.9;
/** Recall@10 0.999 at 1M × 128-d clustered, probing 3.8 clusters on average after the triangle skip (bench/ivf-kernels.ts). */
export const DEFAULT_NPROBE = 8;

/** Holds one index's per-query buffers; reuse it across queries (not concurrently). */
export class IvfSearcher {
  private readonly q: QueryCodes;
  private readonly qv: Float64Array;
  private readonly cDist: Float64Array;
  private est = new Float64Array(4096);
  private lower = new Float64Array(4096);
  private cand = new Candidates();

  constructor(readonly index: IvfIndex) {
    this.q = new QueryCodes(index.rotation);
    this.qv = new Float64Array(index.dims);
    this.cDist = new Float64Array(index.k);
  }

  search(query: Float32Array, o: SearchOptions, hooks: SearchHooks): SearchResult {
    const ix = this.index;
    const scale = metricScale(ix.metric);
    const eps0 = o.eps0 ?? DEFAULT_EPS0;
    const topK = o.topK;
    const stats: SearchStats = { probed: 0, skipped: 0, scored: 0, reranked: 0, exactCalls: 0 };
    if (ix.metric === 'cosine_distance') normaliseInto(query, 0, ix.dims, this.qv, 0);
    else this.qv.set(query.subarray(0, ix.dims));
    this.q.set(this.qv);
    centroidDistances(this.qv, ix.dims, ix.centroids, ix.cSq, ix.k, this.cDist);
    const probes = nearestIds(this.cDist, ix.k, Math.min(o.nprobe ?? DEFAULT_NPROBE, ix.k));

    // The k smallest upper bounds (est + its bound) seen so far: tau, the largest of them, is a (probabilistic)
    // upper bound on the k-th distance.
    const uppers = new MaxHeap(topK);
    const cand = this.cand;
    cand.clear();
    for (const c of probes) {
      const dc = this.cDist[c]!;
      const tau = uppers.full() ? uppers.top() : Infinity;
      const gap = Math.sqrt(dc) - ix.maxRadius;
      if (gap > 0 && gap * gap * scale >= tau) break; // no farther cluster can hold a closer vector
      const g = Math.sqrt(dc) - ix.radii[c]!;
      if (g > 0 && g * g * scale >= tau) {
        stats.skipped++;
        continue;
      }
      const codes = hooks.cluster(c);
      if (codes.n > this.est.length) {
        this.est = new Float64Array(codes.n * 2);
        this.lower = new Float64Array(codes.n * 2);
      }
      const { est, lower } = this;
      estimateCluster(this.q, codes, dc, ix.rotated.sums[c]!, eps0, scale, est, lower);
      stats.probed++;
      stats.scored += codes.n;
      const ids = codes.rowIds;
      if (ids !== null) cand.explicitIds = true;
      for (let i = 0; i < codes.n; i++) {
        const lo = lower[i]!;
        if (uppers.full() && lo >= uppers.top()) continue;
        const row = ids === null ? codes.firstRow + i : ids[i]!;
        if (hooks.accept && !hooks.accept(row)) continue;
        uppers.offer(2 * est[i]! - lo);
        cand.push(row, lo);
      }
    }
    const tau = uppers.full() ? uppers.top() : Infinity;
    return { ...rerank(cand, tau, topK, o.rerankBatch ?? Infinity, hooks, stats), stats };
  }
}

/**
 * Candidates with lower bound < tau, reranked exactly. With one batch (the default) every such candidate is asked
 * for at once, in scan order; with smaller batches they are asked nearest lower bound first, and asking stops once
 * the k-th exact distance is below every remaining lower bound.
 */
function rerank(cand: Candidates, tau: number, topK: number, batch: number, hooks: SearchHooks, stats: SearchStats): { rows: Uint32Array; distances: Float64Array } {
  let order: number[] = [];
  for (let i = 0; i < cand.length; i++) if (cand.lower[i]! < tau) order.push(i);
  if (order.length > batch) order = order.sort((a, b) => cand.lower[a]! - cand.lower[b]! || cand.rows[a]! - cand.rows[b]!);
  const best = new ResultHeap(topK);
  const seen = cand.explicitIds ? new Set<number>() : null; // a row kept in two clusters can be a candidate twice
  let i = 0;
  while (i < order.length) {
    const limit = best.full() ? Math.min(best.worst(), tau) : tau;
    if (cand.lower[order[i]!]! >= limit) break;
    const rows: number[] = [];
    for (; i < order.length && rows.length < batch && cand.lower[order[i]!]! < limit; i++) {
      const r = cand.rows[order[i]!]!;
      if (seen === null) rows.push(r);
      else if (!seen.has(r)) (seen.add(r), rows.push(r));
    }
    if (rows.length === 0) continue;
    const batchRows = Uint32Array.from(rows);
    const d = hooks.exact(batchRows);
    stats.exactCalls++;
    stats.reranked += rows.length;
    for (let j = 0; j < rows.length; j++) best.offer(batchRows[j]!, d[j]!);
  }
  return best.sorted();
}

/** The ids of the m smallest of dist[0, k), smallest first (ties: lower id). Insertion into a short sorted list. */
export function nearestIds(dist: Float64Array, k: number, m: number): number[] {
  const ids: number[] = [];
  const ds: number[] = [];
  for (let c = 0; c < k; c++) {
    const d = dist[c]!;
    if (ids.length === m && d >= ds[m - 1]!) continue;
    let i = ids.length === m ? m - 1 : ids.length;
    while (i > 0 && ds[i - 1]! > d) {
      ds[i] = ds[i - 1]!;
      ids[i] = ids[i - 1]!;
      i--;
    }
    ds[i] = d;
    ids[i] = c;
  }
  return ids;
}

/** Growable (row, lower bound) pairs. */
class Candidates {
  rows = new Uint32Array(1024);
  lower = new Float64Array(1024);
  length = 0;
  /** Some cluster named its rows explicitly, so a row may appear twice. */
  explicitIds = false;
  clear(): void {
    this.length = 0;
    this.explicitIds = false;
  }
  push(row: number, lo: number): void {
    if (this.length === this.rows.length) {
      const r = new Uint32Array(this.length * 2);
      r.set(this.rows);
      this.rows = r;
      const l = new Float64Array(this.length * 2);
      l.set(this.lower);
      this.lower = l;
    }
    this.rows[this.length] = row;
    this.lower[this.length++] = lo;
  }
}

/** The `cap` smallest numbers offered, as a binary max-heap (top = the largest kept). */
class MaxHeap {
  private readonly h: Float64Array;
  private n = 0;
  constructor(private readonly cap: number) {
    this.h = new Float64Array(Math.max(1, cap));
  }
  full(): boolean {
    return this.n >= this.cap;
  }
  top(): number {
    return this.h[0]!;
  }
  offer(v: number): void {
    const h = this.h;
    if (this.n < this.cap) {
      let i = this.n++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (h[p]! >= v) break;
        h[i] = h[p]!;
        i = p;
      }
      h[i] = v;
      return;
    }
    if (v >= h[0]!) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.n) break;
      const r = l + 1;
      const c = r < this.n && h[r]! > h[l]! ? r : l;
      if (h[c]! <= v) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = v;
  }
}

/** The best `cap` (row, distance) pairs: smaller distance wins, ties go to the smaller row. */
class ResultHeap {
  private rows: number[] = [];
  private ds: number[] = [];
  constructor(private readonly cap: number) {}
  full(): boolean {
    return this.rows.length >= this.cap;
  }
  worst(): number {
    return this.ds[this.ds.length - 1]!;
  }
  offer(row: number, d: number): void {
    const n = this.rows.length;
    if (n === this.cap && !(d < this.ds[n - 1]! || (d === this.ds[n - 1]! && row < this.rows[n - 1]!))) return;
    let i = n === this.cap ? n - 1 : n;
    while (i > 0 && (this.ds[i - 1]! > d || (this.ds[i - 1] === d && this.rows[i - 1]! > row))) {
      this.ds[i] = this.ds[i - 1]!;
      this.rows[i] = this.rows[i - 1]!;
      i--;
    }
    this.ds[i] = d;
    this.rows[i] = row;
  }
  sorted(): { rows: Uint32Array; distances: Float64Array } {
    return { rows: Uint32Array.from(this.rows), distances: Float64Array.from(this.ds) };
  }
}
