/**
 * The namespace codebook in memory (RFC-0008 §1): k centroids in index space (metric.ts), each one's radius and
 * retired flag, the RaBitQ rotation and the metric. Plain data — typed arrays, no class instances — so it crosses a
 * worker thread by structured clone and vindex/ stores it as it is. A centroid id never changes meaning: version
 * v + 1 is version v with centroids appended and/or some retired, so a part built against v stays valid.
 *
 *  - trainCodebook: version 1 from the vectors of the part being built (hierarchy.ts: balanced, hierarchical);
 *  - assignToCodebook: every vector to its nearest non-retired centroid (an exact scan of the centroids, by the SIMD
 *    kernel of assign-kernel.ts when there is one);
 *  - extendCodebook: the clusters of a part that exceed maxSize are split (ClusterSet, SPFresh's split with
 *    neighbour reassignment), and every cluster whose centroid moved becomes an appended centroid (version + 1).
 *    The split cluster's old centroid stays, not retired: older parts may hold rows in it, and only compaction
 *    (RFC-0008 §6) knows they do not — it retires it then (codebook-merge.ts).
 *
 * A codebook radius is the largest distance of a vector assigned when the centroid was made (training or split);
 * later parts may hold farther vectors, so a query bounds a cluster with the radius the part's cluster table
 * records, not this one alone.
 */
import { ElaxError, type DistanceMetric } from '../core/index.js';
import { CentroidAssigner } from './assign-kernel.js';
import { ClusterSet } from './cluster-set.js';
import { buildClusters, DEFAULT_MAX_SIZE, DEFAULT_MIN_SIZE, type ClusteringOptions } from './hierarchy.js';
import { nearestAmong, nearestCentroid, sqDistAt, squaredNorms } from './kernels.js';
import { indexSpace } from './metric.js';
import type { Random } from './random.js';
import { FhtRotation, fhtRotation, paddedDims } from './rotation.js';
import { makeIndex, type IvfIndex } from './search.js';

export interface Codebook {
  /** ≥ 1; + 1 for every change. */
  version: number;
  metric: DistanceMetric;
  dims: number;
  k: number;
  /** k × dims, row-major, index space (for cosine: means of unit vectors, not themselves unit). */
  centroids: Float32Array;
  radii: Float32Array;
  /** 1: retired (no vector is assigned to it any more), 0: live. */
  retired: Uint8Array;
  /**
   * The rotation, as FhtRotation's whole state: rounds × padded signs (±1). Stored rather than a seed, so that the
   * rotation does not depend on the random generator's implementation staying the same forever.
   */
  rotationSigns: Int8Array;
}

/** A codebook and the centroid of each of a part's vectors under it. */
export interface CodebookAssignment {
  codebook: Codebook;
  /** Centroid id of vector r (r < n). */
  clusterOf: Uint32Array;
}

export function codebookRotation(cb: Codebook): FhtRotation {
  return new FhtRotation(cb.dims, cb.rotationSigns);
}

/**
 * The query-side index over the codebook's centroids. Retired ones are never probed (they hold no vector in any part
 * the router names: compaction retires a centroid only then, RFC-0008 §6), so they take no probe slot.
 */
export function codebookIndex(cb: Codebook): IvfIndex {
  return makeIndex(cb.metric, cb.centroids, cb.k, codebookRotation(cb), cb.radii, cb.retired);
}

/** What is wrong with a codebook's shape, or null. Decoders turn it into ELAX_ERR_CORRUPT with the object's name. */
export function codebookProblem(cb: Codebook): string | null {
  if (!Number.isSafeInteger(cb.version) || cb.version < 1) return `version ${cb.version} is not a positive integer`;
  if (cb.metric !== 'cosine_distance' && cb.metric !== 'euclidean_squared') return `unknown metric ${String(cb.metric)}`;
  if (!Number.isSafeInteger(cb.dims) || cb.dims < 1) return `dims ${cb.dims} is not a positive integer`;
  if (!Number.isSafeInteger(cb.k) || cb.k < 1) return `k ${cb.k} is not a positive integer`;
  if (cb.centroids.length !== cb.k * cb.dims) return `${cb.centroids.length} centroid values for ${cb.k} × ${cb.dims}`;
  if (cb.radii.length !== cb.k || cb.retired.length !== cb.k) return `${cb.radii.length} radii and ${cb.retired.length} retired flags for ${cb.k} centroids`;
  for (let i = 0; i < cb.centroids.length; i++) if (!Number.isFinite(cb.centroids[i]!)) return `centroid ${Math.floor(i / cb.dims)} is not finite`;
  for (let c = 0; c < cb.k; c++) {
    if (!(cb.radii[c]! >= 0) || !Number.isFinite(cb.radii[c]!)) return `radius of centroid ${c} is ${cb.radii[c]}`;
    if (cb.retired[c]! > 1) return `retired flag of centroid ${c} is ${cb.retired[c]}`;
  }
  const p = paddedDims(cb.dims);
  if (cb.rotationSigns.length === 0 || cb.rotationSigns.length % p !== 0) return `${cb.rotationSigns.length} rotation signs is not a positive multiple of ${p}`;
  for (let i = 0; i < cb.rotationSigns.length; i++) if (cb.rotationSigns[i] !== 1 && cb.rotationSigns[i] !== -1) return `rotation sign ${i} is ${cb.rotationSigns[i]}`;
  return null;
}

export interface TrainOptions extends ClusteringOptions {
  /** Cosine only: the vectors are unit length already (the caller's index-space copy). */
  normalised?: boolean;
}

/**
 * Codebook version 1 from the first `n` vectors of `vectors` (row-major, `dims` wide): the batch build's clustering
 * (hierarchical k-means, balanced to [minSize, maxSize]) and a new seeded rotation, with the clustering's assignment.
 */
export function trainCodebook(vectors: Float32Array, dims: number, n: number, metric: DistanceMetric, o: TrainOptions): CodebookAssignment {
  if (n < 1) throw new ElaxError('ELAX_ERR_INTERNAL', 'a codebook is trained on at least one vector');
  const data = o.normalised ? vectors.subarray(0, n * dims) : indexSpace(metric, vectors.subarray(0, n * dims), dims);
  const clustering = buildClusters(data, dims, n, o);
  const rotation = fhtRotation(dims, o.random);
  const clusterOf = new Uint32Array(n);
  const radii = new Float32Array(clustering.k);
  for (let c = 0; c < clustering.k; c++) {
    let r2 = 0;
    for (let j = clustering.offsets[c]!; j < clustering.offsets[c + 1]!; j++) {
      const row = clustering.rows[j]!;
      clusterOf[row] = c;
      r2 = Math.max(r2, sqDistAt(data, row * dims, clustering.centroids, c * dims, dims));
    }
    radii[c] = Math.sqrt(r2);
  }
  const codebook: Codebook = {
    version: 1,
    metric,
    dims,
    k: clustering.k,
    centroids: clustering.centroids,
    radii,
    retired: new Uint8Array(clustering.k),
    rotationSigns: rotation.signs,
  };
  return { codebook, clusterOf };
}

/** The nearest non-retired centroid of each of the first `n` rows of `data` (index space), ties to the lower id. */
export function assignToCodebook(cb: Codebook, data: Float32Array, n: number): Uint32Array {
  const dims = cb.dims;
  const cSq = squaredNorms(cb.centroids, cb.k, dims);
  const live: number[] = [];
  for (let c = 0; c < cb.k; c++) if (cb.retired[c] === 0) live.push(c);
  if (live.length === 0) throw new ElaxError('ELAX_ERR_INTERNAL', `codebook version ${cb.version} has no live centroid`);
  const out = new Uint32Array(n);
  const all = live.length === cb.k;
  const simd = CentroidAssigner.create(cb.centroids, cb.k, dims, cSq, all ? null : cb.retired);
  if (simd !== null) {
    for (let r = 0; r < n; r++) out[r] = simd.nearest(data, r * dims);
    return out;
  }
  for (let r = 0; r < n; r++) {
    out[r] = all ? nearestCentroid(data, r * dims, dims, cb.centroids, cSq, 0, cb.k) : nearestAmong(data, r * dims, dims, cb.centroids, cSq, live);
  }
  return out;
}

export interface ExtendOptions {
  random: Random;
  /** Clusters of the part above this size are split. Default DEFAULT_MAX_SIZE. */
  maxSize?: number;
  /** The smallest half a split makes (when it can). Default DEFAULT_MIN_SIZE; maxSize must be ≥ 2·minSize. */
  minSize?: number;
  /** SPFresh neighbour reassignment around each split. Default true. */
  reassignNeighbours?: boolean;
  /**
   * Rows each centroid already holds in the namespace's other parts (index = centroid id; absent: none). A cluster
   * whose rows here plus there exceed maxSize is split too, when this part holds at least minSize of them: the
   * namespace's clusters then stop growing with every part that reuses the codebook (the old centroid keeps its
   * older rows; this part's go to the two halves).
   */
  others?: ArrayLike<number>;
  /** Splits in the exact SIMD kernel where available (ClusterSetOptions.kernel). Default true. */
  kernel?: boolean;
}

/**
 * Splits the part's clusters above maxSize. Returns `cb` itself and `clusterOf` when none is; otherwise version + 1
 * with one appended centroid per cluster whose centroid a split moved (both halves of every split: the old centroid
 * keeps its meaning and simply holds none of this part's vectors), and the vectors' new centroids. Vectors of
 * neighbouring clusters may move into the new ones (reassignment); unsplit centroids never move.
 */
export function extendCodebook(cb: Codebook, data: Float32Array, n: number, clusterOf: Uint32Array, o: ExtendOptions): CodebookAssignment {
  const dims = cb.dims;
  const maxSize = o.maxSize ?? DEFAULT_MAX_SIZE;
  const minSize = Math.min(o.minSize ?? DEFAULT_MIN_SIZE, Math.floor(maxSize / 2));
  const members: number[][] = Array.from({ length: cb.k }, () => []);
  for (let r = 0; r < n; r++) {
    const c = clusterOf[r]!;
    if (c >= cb.k || cb.retired[c] !== 0) throw new ElaxError('ELAX_ERR_INTERNAL', `vector ${r} is assigned to centroid ${c}, which codebook version ${cb.version} does not hold live`);
    members[c]!.push(r);
  }
  const others = o.others;
  // Rows elsewhere count for a cluster this part holds enough of to split meaningfully.
  const over = (c: number, local: number) => local > maxSize || (others !== undefined && local >= Math.max(2, minSize) && local + (others[c] ?? 0) > maxSize);
  if (!members.some((m, c) => over(c, m.length))) return { codebook: cb, clusterOf };

  // Set ids 0..live.length − 1 are the live centroids in id order; splits add ids after them.
  const set = new ClusterSet(data.subarray(0, n * dims), dims, { random: o.random, minSize, maxSize, kernel: o.kernel });
  const live: number[] = [];
  for (let c = 0; c < cb.k; c++) {
    if (cb.retired[c] !== 0) continue;
    live.push(c);
    set.addCluster(cb.centroids.subarray(c * dims, (c + 1) * dims), members[c]!);
  }
  const moved = new Set<number>();
  // Reassignment can refill a cluster just split; after a budget of splits with it, finish without (always halves).
  let budget = 2 * live.length + 16;
  for (;;) {
    let big = -1;
    // A set id below live.length that no split moved is still centroid live[s] (its rows elsewhere count).
    for (let s = 0; s < set.capacity && big < 0; s++) {
      if (!set.isAlive(s)) continue;
      if (s < live.length && !moved.has(s) ? over(live[s]!, set.sizeOf(s)) : set.sizeOf(s) > maxSize) big = s;
    }
    if (big < 0) break;
    moved.add(big);
    moved.add(set.split(big, (o.reassignNeighbours ?? true) && budget-- > 0));
  }

  const newId = new Int32Array(set.capacity).fill(-1);
  live.forEach((c, s) => {
    if (!moved.has(s)) newId[s] = c;
  });
  const appended: number[] = [];
  for (let s = 0; s < set.capacity; s++) {
    if (!moved.has(s) || !set.isAlive(s) || set.sizeOf(s) === 0) continue;
    newId[s] = cb.k + appended.length;
    appended.push(s);
  }
  const k = cb.k + appended.length;
  const centroids = new Float32Array(k * dims);
  centroids.set(cb.centroids);
  const radii = new Float32Array(k);
  radii.set(cb.radii);
  appended.forEach((s, i) => {
    const c = cb.k + i;
    centroids.set(set.centroidOf(s), c * dims);
    radii[c] = Math.sqrt(set.farthestSq(s));
  });
  const retired = new Uint8Array(k);
  retired.set(cb.retired);
  const out = new Uint32Array(n);
  for (let r = 0; r < n; r++) out[r] = newId[set.clusterOfRow(r)]!;
  return { codebook: { ...cb, version: cb.version + 1, k, centroids, radii, retired }, clusterOf: out };
}
