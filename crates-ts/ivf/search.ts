/**
 * One query against one clustered index: scan the centroids exactly, probe clusters nearest first, estimate every
 * code's distance with its RaBitQ bounds, rerank with exact distances supplied by the caller the candidates whose
 * lower bound can still reach the top k.
 *
 * Two thresholds, one cheap and one sound:
 *  - τ, the k-th smallest upper bound (estimate + bound) seen while probing, guesses the k-th distance before any
 *    exact distance is known. It skips clusters (triangle inequality with the cluster's radius:
 *    ‖x − q‖ ≥ ‖q − c‖ − radius) and picks the first rerank round, so a query usually costs one `exact` call.
 *  - d_k, the k-th exact distance found, decides what may be left out: after each round, every code whose lower
 *    bound is ≤ d_k is reranked (a cluster whose codes were dropped on τ is estimated again to recover them) and
 *    every skipped cluster the triangle inequality does not rule out at d_k is scored after all. τ can be wrong (an
 *    upper bound is probabilistic, and a zero vector under cosine distance is estimated at ½ but is at 1): it then
 *    costs another round, never a wrong answer. What is left out is left out on the lower bounds alone (ε0 sets
 *    how often one fails).
 * `nprobe` caps the clusters probed: it is the recall knob. ε0 = ∞ reranks every probed code.
 *
 * Does not fetch anything: `cluster(c)` and `exact(rows)` are the caller's (block cache, ranged GETs).
 */
import { KthSmallest, type DistanceMetric } from '../core/index.js';
import { centroidDistances, squaredNorms } from './kernels.js';
import { metricScale, normaliseInto } from './metric.js';
import { estimateSelected, QueryCodes, rotateCentroids, type ClusterCodes, type RotatedCentroids } from './rabitq.js';
import { RefineQuery } from './refine.js';
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
  /**
   * 1 for a retired centroid (a codebook's, RFC-0008 §1): it holds no vector in any part, so it is never probed and
   * takes no probe slot. Null: every centroid is live.
   */
  retired: Uint8Array | null;
  /** Centroids not retired. */
  live: number;
  /**
   * The centroids in a SIMD scan (query/vector-arena.ts, attached by the query node that loads the codebook): ranks
   * them ≈4× faster than the JS loop (10,000 × 128-d: 4.6 ms → 1.2 ms under load, RFC-0008 "Centroid ranking"). Absent: JS.
   */
  centroidScan?: CentroidScan | null;
}

/** What ranking the centroids needs of a SIMD scan (structurally query/vector-arena.ts's VectorScan). */
export interface CentroidScan {
  readonly batch: number;
  readonly sel: Int32Array;
  readonly out: Float64Array;
  setQuery(q: ArrayLike<number>): void;
  l2s(count: number): void;
}

/** Squared index-space distances from `qv` (normalised for cosine) to every centroid of `ix`, into out[0, k). */
export function rankCentroids(ix: IvfIndex, qv: Float64Array, out: Float64Array): void {
  const scan = ix.centroidScan;
  if (!scan) return centroidDistances(qv, ix.dims, ix.centroids, ix.cSq, ix.k, out);
  scan.setQuery(qv);
  const { sel, batch } = scan;
  for (let c = 0; c < ix.k; c += batch) {
    const n = Math.min(batch, ix.k - c);
    for (let j = 0; j < n; j++) sel[j] = c + j;
    scan.l2s(n);
    out.set(scan.out.subarray(0, n), c);
  }
}

export function makeIndex(metric: DistanceMetric, centroids: Float32Array, k: number, rotation: Rotation, radii: Float32Array, retired: Uint8Array | null = null): IvfIndex {
  const dims = rotation.dims;
  let maxRadius = 0;
  let live = 0;
  for (let c = 0; c < k; c++) {
    if (retired !== null && retired[c] !== 0) continue;
    live++;
    maxRadius = Math.max(maxRadius, radii[c]!);
  }
  const anyRetired = retired !== null && live < k;
  return {
    metric, dims, k, centroids, cSq: squaredNorms(centroids, k, dims), rotation, rotated: rotateCentroids(centroids, k, rotation), radii, maxRadius,
    retired: anyRetired ? retired : null, live,
  };
}

/**
 * The probe order: the ids of the `nprobe` live centroids nearest the query (`cDist`: its distance to every
 * centroid), nearest first. Retired centroids are left out, so they cost no probe slot; so are those `skip` names
 * (a filter's clusters without a match).
 */
export function probeOrderOf(index: IvfIndex, cDist: Float64Array, nprobe: number, skip?: (c: number) => boolean): number[] {
  const retired = index.retired;
  if (skip) return nearestKept(cDist, index.k, Math.min(nprobe, index.live), retired === null ? skip : (c) => retired[c] !== 0 || skip(c));
  if (retired !== null) for (let c = 0; c < index.k; c++) if (retired[c] !== 0) cDist[c] = Infinity;
  return nearestIds(cDist, index.k, Math.min(nprobe, index.live));
}

export interface SearchOptions {
  topK: number;
  /** Clusters probed at most (the triangle-inequality skip may probe fewer). Default DEFAULT_NPROBE. */
  nprobe?: number;
  /** Confidence of the RaBitQ bound (the paper's ε0). Default 1.9. Infinity: no bound, every probed code is reranked. */
  eps0?: number;
  /** This query's squared distances to every centroid (rankCentroids), when the caller ranked them already. */
  ranked?: Float64Array;
  /**
   * Exact distances asked per `exact` call. Infinity (default): the first call asks every candidate whose lower
   * bound is ≤ τ (the k-th smallest upper bound), usually the only call. A finite batch asks nearest lower bound
   * first and stops as soon as the k-th exact distance is below every remaining lower bound: fewer distances, more
   * calls, and no margin for a failed lower bound (use ε0 ≈ 2.6 there: at 1M, batches of 16 lost 1.3 % recall@10
   * at ε0 = 1.9, bench/ivf-kernels.ts), where τ's margin usually covers one.
   */
  rerankBatch?: number;
}

/**
 * Some of one cluster's codes, named without copying them (namespace/ivf-query.ts: a part's codes of the cluster
 * under a filter): the codes at positions sel[from + i] − shift for i < n, ascending (sel null: all n = of.n of
 * them), their rows shifted by `base` (a part's first row in a merged search). The searcher only reads them, during
 * the search it is handed to: the owner may reuse `sel` after that.
 */
export interface ClusterSlice {
  of: ClusterCodes;
  sel: Uint32Array | null;
  from: number;
  n: number;
  shift: number;
  base: number;
}

export interface SearchHooks {
  /**
   * The codes of cluster c: one cluster's codes, or several segments (one per part holding c). Asked again when the
   * cluster is estimated again (a rescore): the same codes are expected.
   */
  cluster(c: number): ClusterCodes | readonly (ClusterCodes | ClusterSlice)[];
  /**
   * Exact metric distances of the query to `rows` (the caller reads the full vectors). They are returned as given:
   * compute them with the exact scan's kernels (query/distance.ts) and the results are the exact kNN's, bit for bit.
   */
  exact(rows: Uint32Array): ArrayLike<number>;
  /** False for rows that must not be returned (deleted, filtered out). A pure function of the row. */
  accept?(row: number): boolean;
  /**
   * True for clusters known to hold no acceptable row (a filter's per-cluster counts): never probed, and they do not
   * count towards nprobe — the nprobe nearest clusters that may hold a match are probed.
   */
  skip?(c: number): boolean;
}

export interface SearchStats {
  /** Clusters whose codes were scored (revisited ones included). */
  probed: number;
  /** Clusters within nprobe never scored: the triangle inequality ruled them out at the k-th exact distance. */
  skipped: number;
  /** Clusters skipped on τ but scored after all, because the k-th exact distance came out above τ. */
  revisited: number;
  /** Clusters estimated a second time to recover codes dropped on τ, for the same reason. */
  rescored: number;
  /** Codes estimated (rescored ones count twice). */
  scored: number;
  /** Exact distances asked for, and in how many calls. */
  reranked: number;
  exactCalls: number;
  /** Candidates whose bounds were tightened by their refine codes (refine.ts) before the exact rerank. */
  refined: number;
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

/**
 * Relative slack of the triangle-inequality test, for rounding: radii are stored as f32, and under cosine distance
 * the index holds f32-rounded unit vectors while the exact distance is computed on the originals (≈1e-7 apart).
 */
const REACH_SLACK = 1e-6;

/** Candidate states: asked (or rejected) already; waiting, accepted by hooks.accept; waiting, accept not asked yet. */
const DONE = 0;
const ACCEPTED = 1;
const UNCHECKED = 2;

/** Holds one index's per-query buffers; reuse it across queries (not concurrently). */
export class IvfSearcher {
  private readonly q: QueryCodes;
  private readonly qv: Float64Array;
  private readonly cDist: Float64Array;
  private est = new Float64Array(4096);
  private lower = new Float64Array(4096);
  private cand = new Candidates();
  /** Per scored cluster: its candidates are cand[from, to); droppedMin is the smallest lower bound it did not keep. */
  private scored: { c: number; from: number; to: number; droppedMin: number }[] = [];
  private seen: Set<number> | null = null;
  /** This query's cluster segments with refine codes (a candidate's `src`), their centroids, and the last one set. */
  private segs: ClusterCodes[] = [];
  private segCentroid: number[] = [];
  private segIndex = new Map<ClusterCodes, number>();
  private readonly refineQ: RefineQuery;
  /** refine()'s buffers: candidates to refine, their positions in one segment, their bounds. */
  private todo = new Int32Array(2048);
  private pos = new Uint32Array(2048);
  private lo = new Float64Array(2048);
  private hi = new Float64Array(2048);

  constructor(private index: IvfIndex) {
    this.refineQ = new RefineQuery(index.dims);
    this.q = new QueryCodes(index.rotation);
    this.qv = new Float64Array(index.dims);
    this.cDist = new Float64Array(index.k);
  }

  /**
   * Searches `index` from now on: the same centroids, rotation and dimensions with other radii (a query's merge of
   * its parts' cluster tables, namespace/ivf-query.ts), so the buffers are kept across queries.
   */
  use(index: IvfIndex): this {
    const ix = this.index;
    if (index.dims !== ix.dims || index.k !== ix.k || index.rotation !== ix.rotation || index.centroids !== ix.centroids) throw new RangeError('IvfSearcher.use: another codebook');
    this.index = index;
    return this;
  }

  search(query: Float32Array, o: SearchOptions, hooks: SearchHooks): SearchResult {
    try {
      return this.searchOnce(query, o, hooks);
    } finally {
      // Nothing of this query stays reachable from a kept searcher (the segments are views of cached blocks).
      this.segs = [];
      this.segCentroid = [];
      this.segIndex.clear();
      this.scored = [];
      this.seen = null;
      this.cand.clear();
    }
  }

  private searchOnce(query: Float32Array, o: SearchOptions, hooks: SearchHooks): SearchResult {
    const ix = this.index;
    const scale = metricScale(ix.metric);
    const eps0 = o.eps0 ?? DEFAULT_EPS0;
    const topK = o.topK;
    const stats: SearchStats = { probed: 0, skipped: 0, revisited: 0, rescored: 0, scored: 0, reranked: 0, exactCalls: 0, refined: 0 };
    if (topK < 1) return { rows: new Uint32Array(0), distances: new Float64Array(0), stats };
    if (ix.metric === 'cosine_distance') normaliseInto(query, 0, ix.dims, this.qv, 0);
    else this.qv.set(query.subarray(0, ix.dims));
    this.q.set(this.qv);
    const cDist = this.cDist;
    if (o.ranked) cDist.set(o.ranked);
    else rankCentroids(ix, this.qv, cDist);
    const probes = probeOrderOf(ix, cDist, o.nprobe ?? DEFAULT_NPROBE, hooks.skip);

    // τ: the largest of the k smallest upper bounds (est + bound) seen so far.
    const uppers = new KthSmallest(topK);
    this.cand.clear();
    this.scored = [];
    this.seen = null;
    this.segs = [];
    this.segCentroid = [];
    this.segIndex.clear();
    const skipped: number[] = [];
    for (let p = 0; p < probes.length; p++) {
      const c = probes[p]!;
      const tau = uppers.bound;
      if (outOfReach(cDist[c]!, ix.maxRadius, tau, scale)) {
        // Probes are nearest first: no farther cluster is within reach of τ either.
        for (; p < probes.length; p++) skipped.push(probes[p]!);
        break;
      }
      if (outOfReach(cDist[c]!, ix.radii[c]!, tau, scale)) skipped.push(c);
      else this.score(c, eps0, scale, uppers, hooks, stats);
    }

    const best = new ResultHeap(topK);
    let limit = uppers.bound;
    for (;;) {
      // The round may ask less than `limit` (refined upper bounds): then d_k decides whether another is needed.
      const asked = this.rerank(limit, o.rerankBatch ?? Infinity, best, hooks, stats, scale, topK);
      const dk = best.full() ? best.worst() : Infinity;
      let more = false;
      for (const sc of this.scored) {
        // Infinity: nothing dropped (with fewer than k accepted rows, d_k is Infinity too: not a reason to rescore).
        if (sc.droppedMin === Infinity || sc.droppedMin > dk) continue;
        this.rescore(sc, dk, eps0, scale, hooks, stats);
        more = true;
      }
      for (let i = 0; i < skipped.length; ) {
        const c = skipped[i]!;
        if (outOfReach(cDist[c]!, ix.radii[c]!, dk, scale)) {
          i++;
          continue;
        }
        skipped[i] = skipped[skipped.length - 1]!;
        skipped.pop();
        this.score(c, eps0, scale, uppers, hooks, stats);
        stats.revisited++;
        more = true;
      }
      // Done when every waiting candidate's lower bound is above limit ≥ d_k, every dropped code's above d_k, and
      // no skipped cluster is in reach.
      if (!more && asked >= dk) break;
      limit = dk;
    }
    stats.skipped = skipped.length;
    return { ...best.sorted(), stats };
  }

  /** Estimates cluster c's codes into est/lower, back to back, and returns its segments. */
  private estimate(c: number, eps0: number, scale: number, hooks: SearchHooks, stats: SearchStats): readonly ClusterSlice[] {
    const segs = slicesOf(hooks.cluster(c));
    let n = 0;
    for (const sl of segs) n += sl.n;
    if (n > this.est.length) {
      this.est = new Float64Array(n * 2);
      this.lower = new Float64Array(n * 2);
    }
    // Several segments (one per part holding c, ivf-query.ts) are estimated in turn into est/lower, back to back.
    let off = 0;
    for (const sl of segs) {
      if (sl.n === 0) continue;
      estimateSelected(this.q, sl.of, sl.sel, sl.from, sl.n, sl.shift, this.cDist[c]!, this.index.rotated.sums[c]!, eps0, scale, this.est, this.lower, off);
      if (sl.of.rowIds !== null) this.cand.explicitIds = true;
      off += sl.n;
    }
    stats.scored += n;
    return segs;
  }

  /**
   * Scores cluster c: a code whose lower bound is under τ (or any while there are fewer than k) becomes a
   * candidate and tightens τ with its upper bound; the others are dropped, remembering the smallest lower bound
   * dropped (the rare round that needs them estimates the cluster again: cheaper than keeping them all).
   */
  private score(c: number, eps0: number, scale: number, uppers: KthSmallest, hooks: SearchHooks, stats: SearchStats): void {
    const segs = this.estimate(c, eps0, scale, hooks, stats);
    stats.probed++;
    const { est, lower, cand } = this;
    const from = cand.length;
    let droppedMin = Infinity;
    let at = 0;
    for (const sl of segs) {
      const codes = sl.of;
      const { sel, from, shift, base } = sl;
      const ids = codes.rowIds;
      const refineAt = codes.refineAt ?? null;
      const src = this.sourceOf(codes, c);
      for (let i = 0; i < sl.n; i++, at++) {
        const lo = lower[at]!;
        if (uppers.full && lo >= uppers.bound) {
          if (lo < droppedMin) droppedMin = lo;
          continue;
        }
        const p = sel === null ? i : sel[from + i]! - shift;
        const row = (ids === null ? codes.firstRow + p : ids[p]!) + base;
        if (hooks.accept && !hooks.accept(row)) continue;
        uppers.offer(2 * est[at]! - lo);
        cand.push(row, lo, ACCEPTED, src, refineAt !== null ? refineAt[p]! : p);
      }
    }
    this.scored.push({ c, from, to: cand.length, droppedMin });
  }

  /** Estimates a scored cluster again and adds the codes it dropped whose lower bound is ≤ limit. */
  private rescore(sc: { c: number; from: number; to: number; droppedMin: number }, limit: number, eps0: number, scale: number, hooks: SearchHooks, stats: SearchStats): void {
    const segs = this.estimate(sc.c, eps0, scale, hooks, stats);
    stats.rescored++;
    const { lower, cand } = this;
    const kept = new Set<number>();
    for (let j = sc.from; j < sc.to; j++) kept.add(cand.rows[j]!);
    let at = 0;
    for (const sl of segs) {
      const codes = sl.of;
      const { sel, from, shift, base } = sl;
      const ids = codes.rowIds;
      const refineAt = codes.refineAt ?? null;
      const src = this.sourceOf(codes, sc.c);
      for (let i = 0; i < sl.n; i++, at++) {
        const p = sel === null ? i : sel[from + i]! - shift;
        const row = (ids === null ? codes.firstRow + p : ids[p]!) + base;
        if (lower[at]! <= limit && !kept.has(row)) cand.push(row, lower[at]!, UNCHECKED, src, refineAt !== null ? refineAt[p]! : p);
      }
    }
    sc.droppedMin = Infinity; // d_k only decreases: the codes still left out stay out
  }

  /** A candidate's source for refinement: the index of its segment in `segs`, or -1 when it has no refine codes. */
  private sourceOf(codes: ClusterCodes, c: number): number {
    if (!codes.refine || codes.refine.dims !== this.index.dims) return -1;
    let i = this.segIndex.get(codes);
    if (i === undefined) {
      i = this.segs.length;
      this.segs.push(codes);
      this.segCentroid.push(c);
      this.segIndex.set(codes, i);
    }
    return i;
  }

  /**
   * Replaces the bounds of the waiting candidates with lower bound ≤ limit that have refine codes (once each) and
   * returns the k-th smallest refined upper bound among the accepted ones (Infinity with fewer than k): no row
   * beyond it can be in the top k.
   */
  private refine(limit: number, scale: number, topK: number, stats: SearchStats): number {
    const cand = this.cand;
    const ix = this.index;
    const uppers = new KthSmallest(topK);
    const rq = this.refineQ;
    // The candidates to refine, in runs of one segment (they were pushed cluster by cluster).
    let todo = 0;
    for (let j = 0; j < cand.length; j++) {
      const src = cand.src[j]!;
      if (src < 0 || cand.state[j] === DONE || cand.lower[j]! > limit) continue;
      if (this.segs[src]!.refine!.radius[cand.pos[j]!] === Infinity) continue;
      if (todo === this.todo.length) this.grow();
      this.todo[todo++] = j;
    }
    for (let a = 0; a < todo; ) {
      const src = cand.src[this.todo[a]!]!;
      let b = a;
      while (b < todo && cand.src[this.todo[b]!] === src) {
        this.pos[b - a] = cand.pos[this.todo[b]!]!;
        b++;
      }
      const rc = this.segs[src]!.refine!;
      rq.setCluster(this.qv, rc, ix.centroids, this.segCentroid[src]! * ix.dims);
      rq.bounds(rc, this.pos, b - a, scale, this.lo, this.hi);
      for (let t = a; t < b; t++) {
        const j = this.todo[t]!;
        // The refined bound replaces RaBitQ's, even where it is lower: it is sure, RaBitQ's only likely (ε0).
        cand.lower[j] = this.lo[t - a]!;
        if (cand.state[j] === ACCEPTED) uppers.offer(this.hi[t - a]!);
        cand.src[j] = -1; // refined once
      }
      stats.refined += b - a;
      a = b;
    }
    return uppers.bound;
  }

  /** Room for more candidates to refine in one call. */
  private grow(): void {
    const n = this.todo.length * 2;
    const todo = new Int32Array(n);
    todo.set(this.todo);
    this.todo = todo;
    this.pos = new Uint32Array(n);
    this.lo = new Float64Array(n);
    this.hi = new Float64Array(n);
  }

  /**
   * One round: refines the candidates within `limit`, then asks exact distances of the waiting candidates with lower
   * bound ≤ min(limit, refined k-th upper bound, k-th exact distance). With one batch they are asked at once, in
   * scan order; with smaller batches nearest lower bound first, and the round stops once the k-th exact distance is
   * below every remaining lower bound. Returns the bound it asked up to: what lies above it was not asked.
   */
  private rerank(limit0: number, batch: number, best: ResultHeap, hooks: SearchHooks, stats: SearchStats, scale: number, topK: number): number {
    const cand = this.cand;
    const limit = this.segs.length > 0 ? Math.min(limit0, this.refine(limit0, scale, topK, stats)) : limit0;
    // A row kept in two clusters (explicit row ids) is one result. The set starts when the first such cluster is
    // scored, with the rows asked in earlier rounds.
    if (cand.explicitIds && this.seen === null) {
      this.seen = new Set();
      for (let j = 0; j < cand.length; j++) if (cand.state[j] === DONE) this.seen.add(cand.rows[j]!);
    }
    const seen = this.seen;
    const order: number[] = [];
    for (let i = 0; i < cand.length; i++) if (cand.state[i] !== DONE && cand.lower[i]! <= limit) order.push(i);
    if (order.length > batch) order.sort((a, b) => cand.lower[a]! - cand.lower[b]! || cand.rows[a]! - cand.rows[b]!);
    let i = 0;
    while (i < order.length) {
      const cap = best.full() ? Math.min(best.worst(), limit) : limit;
      if (cand.lower[order[i]!]! > cap) break;
      const rows: number[] = [];
      for (; i < order.length && rows.length < batch && cand.lower[order[i]!]! <= cap; i++) {
        const j = order[i]!;
        const state = cand.state[j]!;
        cand.state[j] = DONE;
        const r = cand.rows[j]!;
        if (state === UNCHECKED && hooks.accept && !hooks.accept(r)) continue;
        if (seen !== null) {
          if (seen.has(r)) continue;
          seen.add(r);
        }
        rows.push(r);
      }
      if (rows.length === 0) continue;
      const batchRows = Uint32Array.from(rows);
      const d = hooks.exact(batchRows);
      stats.exactCalls++;
      stats.reranked += rows.length;
      for (let j = 0; j < rows.length; j++) best.offer(batchRows[j]!, d[j]!);
    }
    return limit;
  }
}

function isSlice(x: ClusterCodes | ClusterSlice): x is ClusterSlice {
  return (x as ClusterSlice).of !== undefined;
}

/** A hook's answer as slices: as it is when it gives slices (namespace/ivf-query.ts), else plain codes made whole slices. */
function slicesOf(got: ClusterCodes | readonly (ClusterCodes | ClusterSlice)[]): readonly ClusterSlice[] {
  const list: readonly (ClusterCodes | ClusterSlice)[] = Array.isArray(got) ? got : [got as ClusterCodes];
  if (list.every(isSlice)) return list as readonly ClusterSlice[];
  return list.map((x) => (isSlice(x) ? x : { of: x, sel: null, from: 0, n: x.n, shift: 0, base: 0 }));
}

/**
 * Whether no vector within `radius` of a centroid at squared index-space distance `dc` from the query can be at a
 * metric distance ≤ `limit` (‖x − q‖ ≥ ‖q − c‖ − radius; ties are kept: they may win on the row order).
 */
function outOfReach(dc: number, radius: number, limit: number, scale: number): boolean {
  if (limit === Infinity) return false;
  const d = Math.sqrt(dc);
  const g = d - radius - REACH_SLACK * (d + radius);
  return g > 0 && g * g * scale > limit;
}

/** The ids of the m smallest of dist[0, k) not skipped, smallest first (ties: lower id). Sorts the kept ids. */
export function nearestKept(dist: Float64Array, k: number, m: number, skip: (c: number) => boolean): number[] {
  const kept: number[] = [];
  for (let c = 0; c < k; c++) if (!skip(c)) kept.push(c);
  kept.sort((a, b) => dist[a]! - dist[b]! || a - b);
  return kept.slice(0, m);
}

/**
 * The ids of the m smallest of dist[0, k), smallest first (ties: lower id). Insertion into a short sorted list for a
 * short prefix; a deep one (a part's walk at 10k centroids asks for all of them) selects then sorts, O(k + m log m):
 * insertion there was O(k·m), 24 ms a query at 10M rows (docs/benchmarks.md).
 */
export function nearestIds(dist: Float64Array, k: number, m: number): number[] {
  if (m > 32) return nearestBySelection(dist, k, m);
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

function nearestBySelection(dist: Float64Array, k: number, m: number): number[] {
  const ids = new Uint32Array(k);
  for (let c = 0; c < k; c++) ids[c] = c;
  const less = (a: number, b: number): boolean => dist[a]! < dist[b]! || (dist[a] === dist[b] && a < b);
  m = Math.min(m, k);
  // Quickselect (Hoare partition, middle pivot): afterwards ids[0, m) hold the m smallest.
  let lo = 0;
  let hi = k - 1;
  while (hi > lo && m < k) {
    const pivot = ids[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (less(ids[i]!, pivot)) i++;
      while (less(pivot, ids[j]!)) j--;
      if (i <= j) {
        const t = ids[i]!;
        ids[i++] = ids[j]!;
        ids[j--] = t;
      }
    }
    if (m - 1 <= j) hi = j;
    else if (m - 1 >= i) lo = i;
    else break;
  }
  return Array.from(ids.subarray(0, m)).sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0));
}

/** Growable (row, lower bound, state, refine source, position in its segment) tuples. */
class Candidates {
  rows = new Uint32Array(1024);
  lower = new Float64Array(1024);
  state = new Uint8Array(1024);
  src = new Int32Array(1024);
  pos = new Uint32Array(1024);
  length = 0;
  /** Some cluster named its rows explicitly, so a row may appear twice. */
  explicitIds = false;
  clear(): void {
    this.length = 0;
    this.explicitIds = false;
  }
  push(row: number, lo: number, state: number, src: number, pos: number): void {
    if (this.length === this.rows.length) {
      const sr = new Int32Array(this.length * 2);
      sr.set(this.src);
      this.src = sr;
      const p = new Uint32Array(this.length * 2);
      p.set(this.pos);
      this.pos = p;
      const r = new Uint32Array(this.length * 2);
      r.set(this.rows);
      this.rows = r;
      const l = new Float64Array(this.length * 2);
      l.set(this.lower);
      this.lower = l;
      const s = new Uint8Array(this.length * 2);
      s.set(this.state);
      this.state = s;
    }
    this.rows[this.length] = row;
    this.state[this.length] = state;
    this.src[this.length] = src;
    this.pos[this.length] = pos;
    this.lower[this.length++] = lo;
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
