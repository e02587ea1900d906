/**
 * ivf: the algorithmic core of the clustered vector index (issue #15) — in-memory kernels over typed arrays, no
 * I/O, deterministic given the injected random source.
 *
 *  - clustering: hierarchical k-means on samples with balanced sizes (hierarchy.ts, kmeans.ts), SPFresh's split,
 *    merge and reassignment (balance.ts, cluster-set.ts);
 *  - RaBitQ codes with their error bound (rotation.ts, rabitq.ts) and one cluster's serialised byte range
 *    (cluster-layout.ts);
 *  - the namespace codebook in memory: training, assignment, extension by splits (codebook.ts); at compaction,
 *    folding small clusters into their neighbours and retiring centroids (codebook-merge.ts);
 *  - one query: exact centroid scan, probing with a triangle-inequality stop, estimate, bounded rerank through a
 *    caller's callback (search.ts); the whole batch build (build.ts).
 *
 * Owns no object keys. Does not: read or write parts, choose parts or probe depth per namespace, search centroids
 * through a graph, or merge candidates across parts (the engine does, on top of these).
 */
export type { Random } from './random.js';
export { gaussian, sampleOf, allRows, seededRandom } from './random.js';
export { dotAt, sqDistAt, squaredNorms, nearestCentroid, nearestAmong, centroidDistances } from './kernels.js';
export { CentroidAssigner, rowScorer, type RowScorer } from './assign-kernel.js';
export { estimateProbes, ESTIMATE_TARGET, ESTIMATE_SAMPLES, type ProbeEstimate, type ProbeEstimateInput } from './probe-estimate.js';
export { trainKMeans, assignRows, meanInto, type KMeansOptions } from './kmeans.js';
export { splitCluster, nearestCentroids, reassign, type Split } from './balance.js';
export { ClusterSet, type ClusterSetOptions, type Clustering } from './cluster-set.js';
export { buildClusters, DEFAULT_TARGET_SIZE, DEFAULT_MIN_SIZE, DEFAULT_MAX_SIZE, type ClusteringOptions, type ClusteringStats } from './hierarchy.js';
export { fhtRotation, FhtRotation, denseRotation, DenseRotation, paddedDims, DEFAULT_FHT_ROUNDS, type Rotation } from './rotation.js';
export { encodeCluster, estimateCluster, estimateSelected, rotateCentroids, QueryCodes, type ClusterCodes, type RotatedCentroids } from './rabitq.js';
export { encodeRefine, RefineQuery, refinedLower, refinedUpper, type RefineCodes } from './refine.js';
export { encodeClusterBytes, decodeClusterBytes, clusterByteLength, CLUSTER_LAYOUT_VERSION, CLUSTER_HEADER_BYTES, CLUSTER_MAGIC } from './cluster-layout.js';
export { metricScale, indexSpace, indexSpaceOf, normaliseInto } from './metric.js';
export { IvfSearcher, makeIndex, nearestIds, nearestKept, probeOrderOf, rankCentroids, type CentroidScan, type ClusterSlice, DEFAULT_EPS0, DEFAULT_NPROBE, type IvfIndex, type SearchOptions, type SearchHooks, type SearchStats, type SearchResult } from './search.js';
export { buildIvf, type BuildOptions, type BuildStats, type IvfBuild } from './build.js';
export {
  trainCodebook, assignToCodebook, extendCodebook, codebookRotation, codebookIndex, codebookProblem,
  type Codebook, type CodebookAssignment, type TrainOptions, type ExtendOptions,
} from './codebook.js';
export { foldSmallClusters, retireEmpty, newlyRetired, type MergeOptions } from './codebook-merge.js';
