/**
 * The probe depth a part's clusters need, estimated when the part is built (RFC-0008 "Default probe depth"): how many
 * of the nearest clusters a query must probe so that its true nearest neighbours are in them.
 *
 * A sample of the part's own vectors serves as queries. For each, the exact top-k among the part's other vectors is
 * found (f32 scores, assign-kernel.ts), and so is the rank, among the part's own clusters in that query's centroid
 * order, of the cluster each neighbour is in (a query probes each part's nearest clusters that it holds). Probing p clusters finds a neighbour exactly when its cluster's rank is below p, so the fraction
 * of neighbours with rank < p is the recall at depth p that the clustering allows; the estimate is the smallest p
 * where it reaches the target. The codes' error bound loses a little more (a neighbour whose lower bound misses the
 * rerank), which is why the default target sits above the 0.95 the namespace is held to.
 *
 * Neighbours among the part's rows are conservative for the namespace: the namespace has more rows, so a query's
 * true neighbours are nearer and fall in fewer clusters. Counting depth among the part's own clusters keeps the
 * estimate valid when later parts split clusters and the codebook grows.
 */
import { rowScorer, type RowScorer } from './assign-kernel.js';
import type { Random } from './random.js';

/** The recall the estimate aims for: above the namespace's 0.95, for what the codes' bound loses. */
export const ESTIMATE_TARGET = 0.98;
/** Query vectors sampled per part (fewer for parts above ESTIMATE_WORK / 128 rows). */
export const ESTIMATE_SAMPLES = 128;
/** Sample × row scores an estimate aims to stay under. */
const ESTIMATE_WORK = 2 ** 28;
/**
 * Bytes of rows scored per kernel call: every sampled query streams the loaded chunk, so it is sized to stay in a
 * core's L2 (1,024 rows at 128-d) rather than read from memory once per query (an 8 MiB chunk cost ≈12 % more CPU per
 * estimate: docs/benchmarks.md "Part build CPU"). At least 256 rows a call.
 */
const CHUNK_BYTES = 512 * 1024;
const chunkRows = (dims: number) => Math.max(256, Math.floor(CHUNK_BYTES / (4 * dims)));

/**
 * The row scorer of the estimate's chunks: for the SIMD kernel one per thread and dimension, kept (chunkRows rows, 512 KiB
 * at 128-d): a new kernel memory per part build costs its page faults each time (docs/benchmarks.md "Indexer CPU per
 * row"). The estimate runs synchronously, so one at a time uses it. Chunk size does not change the result: every
 * query sees the rows in the same order either way, and a row's f32 score does not depend on the rows loaded with it
 * (assign.wat sums each row's lanes alike, in a group of four or alone).
 */
const sharedScorers = new Map<number, RowScorer>();
function chunkScorer(dims: number, n: number, simd: boolean): RowScorer {
  const chunk = chunkRows(dims);
  if (!simd || n < chunk / 8) return rowScorer(dims, Math.min(chunk, n), simd);
  let s = sharedScorers.get(dims);
  if (s === undefined) {
    s = rowScorer(dims, chunk, true);
    sharedScorers.set(dims, s);
  }
  return s;
}

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
  /** The codebook's centroids (k × dims). Only those holding rows of the part count (a retired one holds none). */
  centroids: Float32Array;
  k: number;
  random: Random;
  topK?: number;
  samples?: number;
  target?: number;
  /** false: the JS scorer (tests compare). */
  simd?: boolean;
  /** Rows scored per kernel call instead of the L2-sized default (tests: the chunk size must not change the estimate). */
  chunk?: number;
}

/** The estimate, or null when the part is too small to say anything (fewer than 2·topK + 1 vectors). */
export function estimateProbes(o: ProbeEstimateInput): ProbeEstimate | null {
  const topK = o.topK ?? 10;
  const target = o.target ?? ESTIMATE_TARGET;
  const { data, n, dims, k } = o;
  if (n < 2 * topK + 1) return null;
  // Each sample scores every row: a very large part (a compaction's) gets fewer samples, at least 32 (≈3 s of the
  // kernel at 10M rows; a 250k-row part takes its 128 in ≈0.3 s).
  const s = Math.min(o.samples ?? Math.max(32, Math.min(ESTIMATE_SAMPLES, Math.floor(ESTIMATE_WORK / n))), n);
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
  const scorer = o.chunk !== undefined ? rowScorer(dims, Math.min(o.chunk, n), o.simd ?? true) : chunkScorer(dims, n, o.simd ?? true);
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

  // Rank of each neighbour's cluster among the part's own clusters, in its query's centroid order: a query probes
  // each part's nearest clusters that the part holds (namespace/ivf-query.ts), so centroids the part has no row in
  // take no rank.
  const held = new Uint8Array(k);
  for (let r = 0; r < n; r++) held[o.clusterOf[r]!] = 1;
  const heldIds = Uint32Array.from(Array.from(held.keys()).filter((c) => held[c] === 1));
  const kh = heldIds.length;
  const heldCentroids = new Float32Array(kh * dims);
  heldIds.forEach((c, i) => heldCentroids.set(o.centroids.subarray(c * dims, (c + 1) * dims), i * dims));
  const centroidScorer = rowScorer(dims, kh, o.simd ?? true);
  centroidScorer.load(heldCentroids, 0, kh);
  const order = new Uint32Array(kh);
  const rank = new Uint32Array(k);
  const hist = new Float64Array(kh + 1);
  let total = 0;
  for (let qi = 0; qi < s; qi++) {
    const sc = centroidScorer.scores(data, queries[qi]! * dims);
    for (let i = 0; i < kh; i++) order[i] = i;
    order.sort((a, b) => sc[a]! - sc[b]! || a - b);
    for (let i = 0; i < kh; i++) rank[heldIds[order[i]!]!] = i;
    for (let j = 0; j < topK; j++) {
      const row = bestRow[qi * topK + j]!;
      if (row < 0) continue;
      hist[rank[o.clusterOf[row]!]!]++;
      total++;
    }
  }
  const recall: number[] = [];
  let found = 0;
  for (let p = 1; p <= kh; p++) {
    found += hist[p - 1]!;
    recall.push(found / total);
    if (found / total >= target) break;
  }
  return { probes: recall.length, recall, samples: s };
}
