/**
 * The whole batch build of one clustered index: clustering (hierarchy.ts), a seeded rotation, and the RaBitQ codes
 * of every cluster. Rows come out grouped cluster by cluster (`clustering.rows`): the part stores them in that
 * order, so cluster c's codes name their vectors implicitly as part rows offsets[c] … offsets[c + 1] − 1.
 */
import type { DistanceMetric } from '../core/index.js';
import type { Clustering } from './cluster-set.js';
import { buildClusters, type ClusteringOptions, type ClusteringStats } from './hierarchy.js';
import { indexSpace } from './metric.js';
import { encodeCluster, type ClusterCodes } from './rabitq.js';
import { encodeRefine } from './refine.js';
import { fhtRotation, type Rotation } from './rotation.js';
import { makeIndex, type IvfIndex } from './search.js';

export interface BuildOptions extends ClusteringOptions {
  /** The rotation to use (e.g. the namespace's, so parts share centroids); default a new seeded fhtRotation. */
  rotation?: Rotation;
  /**
   * Cosine only: the vectors are unit length already, so they are used in place instead of copied normalised. The
   * copy is mostly first-touch of fresh memory (≈1.9 s of a 1M × 128-d build on this VM, bench/ivf-kernels.ts).
   */
  normalised?: boolean;
  /** Also encode each cluster's refine codes (refine.ts). Default false here; parts decide for themselves. */
  refine?: boolean;
}

export interface BuildStats extends ClusteringStats {
  /** Normalising a copy of the vectors (cosine only). */
  normaliseMs: number;
  /** Rotating residuals and writing codes and factors. */
  encodeMs: number;
}

export interface IvfBuild {
  index: IvfIndex;
  clustering: Clustering;
  /** Codes of cluster c, vectors named by their position in clustering.rows (the part's row order). */
  clusters: ClusterCodes[];
  stats: BuildStats;
}

/** Builds the index of the first `n` rows of `vectors` (row-major, `dims` wide). */
export function buildIvf(vectors: Float32Array, dims: number, n: number, metric: DistanceMetric, o: BuildOptions): IvfBuild {
  const clock = o.clock ?? (() => 0);
  const stats: BuildStats = { normaliseMs: 0, trainMs: 0, assignMs: 0, balanceMs: 0, encodeMs: 0, clustersBeforeBalance: 0 };
  let t = clock();
  const data = o.normalised ? vectors.subarray(0, n * dims) : indexSpace(metric, vectors.subarray(0, n * dims), dims);
  stats.normaliseMs = clock() - t;
  const clustering = buildClusters(data, dims, n, o, stats);
  t = clock();
  const rotation = o.rotation ?? fhtRotation(dims, o.random);
  const clusters: ClusterCodes[] = [];
  const radii = new Float32Array(clustering.k);
  for (let c = 0; c < clustering.k; c++) {
    const from = clustering.offsets[c]!;
    const rows = clustering.rows.subarray(from, clustering.offsets[c + 1]!);
    const codes = encodeCluster(data, rows, clustering.centroids, c * dims, rotation, from);
    if (o.refine) codes.refine = encodeRefine(data, rows, clustering.centroids, c * dims, dims, metric === 'cosine_distance');
    clusters.push(codes);
    radii[c] = codes.radius;
  }
  stats.encodeMs = clock() - t;
  return { index: makeIndex(metric, clustering.centroids, clustering.k, rotation, radii), clustering, clusters, stats };
}
