/**
 * The probe depth a part's clusters need, estimated when the part is built (RFC-0008 "Default probe depth"): how many
 * of the nearest clusters a query must probe so that its true nearest neighbours are in them.
 *
 * A sample of the part's own vectors serves as queries. For each, the exact top-k among the part's other vectors is
 * found (f32 scores, assign-kernel.ts), and so is the rank, in that query's centroid order, of the cluster each
 * neighbour is in. Probing p clusters finds a neighbour exactly when its cluster's rank is below p, so the fraction
 * of neighbours with rank < p is the recall at depth p that the clustering allows; the estimate is the smallest p
 * where it reaches the target. The codes' error bound loses a little more (a neighbour whose lower bound misses the
 * rerank), which is why the default target sits above the 0.95 the namespace is held to.
 *
 * Neighbours among the part's rows are conservative for the namespace: the namespace has more rows, so a query's
 * true neighbours are nearer and fall in fewer clusters.
 */
import { rowScorer } from './assign-kernel.js';
import type { Random } from './random.js';

/** The recall the estimate aims for: above the namespace's 0.95, for what the codes' bound loses. */
export const ESTIMATE_TARGET = 0.98;
/** Query vectors sampled per part. */
export const ESTIMATE_SAMPLES = 128;
/** Rows scored per kernel call (their f32 copy: 8 MiB at 128-d). */
const CHUNK = 16_384;

export interface ProbeEstimate {
  /** Smallest depth whose estimated recall reaches the target. */
  probes: number;
  /** recall[p − 1]: the estimated recall at depth p, up to `probes`. */
  recall: number[];
  samples: number;
}

export interface ProbeEstimateInput {
  /** The part's vectors in index space (normalised for cosine), row-major. */
  data: Float32Array;
  n: number;
  dims: number;
  /** Centroid id of each of the n vectors. */
  clusterOf: Uint32Array;
  /** The codebook's centroids (k × dims) and which are retired (never probed). */
  centroids: Float32Array;
  k: number;
  retired: Uint8Array | null;
  random: Random;
  topK?: number;
  samples?: number;
  target?: number;
  /** false: the JS scorer (tests compare). */
  simd?: boolean;
}

/** The estimate, or null when the part is too small to say anything (fewer than 2·topK + 1 vectors). */
export function estimateProbes(o: ProbeEstimateInput): ProbeEstimate | null {
  const topK = o.topK ?? 10;
  const target = o.target ?? ESTIMATE_TARGET;
  const { data, n, dims, k } = o;
  if (n < 2 * topK + 1) return null;
  const s = Math.min(o.samples ?? ESTIMATE_SAMPLES, n);
  const queries = new Uint32Array(s);
  const picked = new Set<number>();
  for (let i = 0; i < s; i++) {
    let r = Math.floor(o.random() * n);
    while (picked.has(r)) r = (r + 1) % n;
    picked.add(r);
    queries[i] = r;
  }

  // Exact top-k of every sampled query among the other rows, one chunk of rows at a time.
  const best = new Float32Array(s * topK).fill(Infinity);
  const bestRow = new Int32Array(s * topK).fill(-1);
  const scorer = rowScorer(dims, Math.min(CHUNK, n), o.simd ?? true);
  for (let from = 0; from < n; from += scorer.capacity) {
    const count = Math.min(scorer.capacity, n - from);
    scorer.load(data, from, count);
    for (let qi = 0; qi < s; qi++) {
      const q = queries[qi]!;
      const sc = scorer.scores(data, q * dims);
      const base = qi * topK;
      let worst = best[base + topK - 1]!;
      for (let j = 0; j < count; j++) {
        const v = sc[j]!;
        if (v >= worst || from + j === q) continue;
        let at = topK - 1; // insertion into the sorted top-k
        while (at > 0 && best[base + at - 1]! > v) {
          best[base + at] = best[base + at - 1]!;
          bestRow[base + at] = bestRow[base + at - 1]!;
          at--;
        }
        best[base + at] = v;
        bestRow[base + at] = from + j;
        worst = best[base + topK - 1]!;
      }
    }
  }

  // Rank of each neighbour's cluster in its query's centroid order (retired centroids are never probed: last).
  const centroidScorer = rowScorer(dims, k, o.simd ?? true);
  const sq = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let t = 0;
    for (let i = 0; i < dims; i++) t += o.centroids[c * dims + i]! * o.centroids[c * dims + i]!;
    sq[c] = o.retired !== null && o.retired[c] !== 0 ? Infinity : t;
  }
  centroidScorer.load(o.centroids, 0, k, sq);
  const order = new Uint32Array(k);
  const rank = new Uint32Array(k);
  const hist = new Float64Array(k + 1);
  let total = 0;
  for (let qi = 0; qi < s; qi++) {
    const sc = centroidScorer.scores(data, queries[qi]! * dims);
    for (let c = 0; c < k; c++) order[c] = c;
    order.sort((a, b) => sc[a]! - sc[b]! || a - b);
    for (let i = 0; i < k; i++) rank[order[i]!] = i;
    for (let j = 0; j < topK; j++) {
      const row = bestRow[qi * topK + j]!;
      if (row < 0) continue;
      hist[rank[o.clusterOf[row]!]!]++;
      total++;
    }
  }
  const recall: number[] = [];
  let found = 0;
  for (let p = 1; p <= k; p++) {
    found += hist[p - 1]!;
    recall.push(found / total);
    if (found / total >= target) break;
  }
  return { probes: recall.length, recall, samples: s };
}
