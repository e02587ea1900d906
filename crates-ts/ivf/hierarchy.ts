/**
 * The batch build's clustering: hierarchical k-means trained on samples, every row assigned level by level, then
 * cluster sizes bounded with SPFresh's split and merge (cluster-set.ts).
 *
 * Why a hierarchy: exact assignment of 1M rows to ~1,000 centroids is 10⁹ dot products (minutes in JavaScript).
 * With √k centroids per level each row meets ≈2√k centroids (≈64 at 1M), at the price of rows near a top-level
 * boundary landing in a cluster that is not their nearest; the query probes several clusters, which hides most of
 * that (see bench/ivf-kernels.ts for recall).
 */
import { ClusterSet, type Clustering } from './cluster-set.js';
import { assignRows, meanInto, trainKMeans } from './kmeans.js';
import { allRows, sampleOf, type Random } from './random.js';

export interface ClusteringOptions {
  random: Random;
  /** Cluster size the k-means levels aim for. Default 1,000. */
  targetSize?: number;
  /** Final bounds (issue #15: roughly 500–2,000). maxSize must be ≥ 2·minSize. */
  minSize?: number;
  maxSize?: number;
  /** Training rows per centroid at each k-means (a sample of the level's rows). Default 64. */
  sampleFactor?: number;
  /** A level with more clusters than this first splits into ⌈√k⌉ groups. Default 64. */
  maxFlat?: number;
  /** Lloyd iterations per k-means. Default 12. */
  iterations?: number;
  /** SPFresh neighbour reassignment during balancing (better recall, slower build). Default true. */
  reassignNeighbours?: boolean;
  /** A monotonic clock in ms: when given, `stats` gets the time per phase. */
  clock?: () => number;
}

export interface ClusteringStats {
  /** k-means training (k-means++ seeding and Lloyd) on samples, all levels. */
  trainMs: number;
  /** Assigning every row at every level. */
  assignMs: number;
  /** Splits, merges and reassignment to bring sizes within bounds, and the final means. */
  balanceMs: number;
  /** Clusters after the k-means levels, before balancing. */
  clustersBeforeBalance: number;
}

export const DEFAULT_TARGET_SIZE = 1000;
export const DEFAULT_MIN_SIZE = 500;
export const DEFAULT_MAX_SIZE = 2000;

/** Clusters the first `n` rows of `data` (row-major, `dims` wide; for cosine pass normalised rows). */
export function buildClusters(data: Float32Array, dims: number, n: number, o: ClusteringOptions, stats?: ClusteringStats): Clustering {
  const target = o.targetSize ?? DEFAULT_TARGET_SIZE;
  const sampleFactor = o.sampleFactor ?? 64;
  const maxFlat = o.maxFlat ?? 64;
  const km = { random: o.random, iterations: o.iterations ?? 12 };
  const clock = o.clock ?? (() => 0);
  const st: ClusteringStats = stats ?? { trainMs: 0, assignMs: 0, balanceMs: 0, clustersBeforeBalance: 0 };
  const set = new ClusterSet(data, dims, { random: o.random, minSize: o.minSize ?? DEFAULT_MIN_SIZE, maxSize: o.maxSize ?? DEFAULT_MAX_SIZE });
  const centroid = new Float32Array(dims);

  const level = (rows: Uint32Array, k: number): void => {
    if (rows.length === 0) return;
    if (k <= 1) {
      meanInto(data, dims, rows, centroid, 0);
      set.addCluster(centroid, rows);
      return;
    }
    const k1 = k <= maxFlat ? k : Math.ceil(Math.sqrt(k));
    let t = clock();
    const cents = trainKMeans(data, dims, sampleOf(rows, sampleFactor * k1, o.random), k1, km);
    st.trainMs += clock() - t;
    t = clock();
    const kk = cents.length / dims;
    const groups = groupBy(rows, assignRows(data, dims, rows, cents, kk), kk);
    st.assignMs += clock() - t;
    for (const g of groups) {
      if (k1 === k) {
        if (g.length === 0) continue;
        meanInto(data, dims, g, centroid, 0); // the mean of all members, not the sample's centroid
        set.addCluster(centroid, g);
      } else level(g, Math.max(1, Math.round(g.length / target)));
    }
  };
  level(allRows(n), Math.max(1, Math.round(n / target)));
  st.clustersBeforeBalance = set.liveClusters;

  const t = clock();
  set.rebalance({ reassignNeighbours: o.reassignNeighbours ?? true });
  for (let c = 0; c < set.capacity; c++) if (set.isAlive(c)) set.recenter(c);
  st.balanceMs += clock() - t;
  return set.toClustering();
}

/** rows split by label (counting sort: one pass, no per-row allocation). */
function groupBy(rows: Uint32Array, labels: Uint32Array, k: number): Uint32Array[] {
  const counts = new Uint32Array(k + 1);
  for (let j = 0; j < labels.length; j++) counts[labels[j]! + 1]++;
  for (let c = 0; c < k; c++) counts[c + 1] += counts[c]!;
  const starts = counts.slice();
  const sorted = new Uint32Array(rows.length);
  for (let j = 0; j < rows.length; j++) sorted[starts[labels[j]!]!++] = rows[j]!;
  return Array.from({ length: k }, (_, c) => sorted.subarray(counts[c]!, counts[c + 1]!));
}
