/**
 * Building a part in format 3 (RFC-0008 §2): format 2's block files over rows ordered by (cluster, id), with the
 * clustered vector index instead of an HNSW graph:
 *  - every vector is assigned to the namespace codebook (clusters over maxSize are split into appended centroids:
 *    a new codebook version), or, without a codebook, trains version 1 on the part's vectors (ivf/codebook.ts);
 *    for compaction (`merge`), clusters under minSize are first folded into their nearest live neighbours and
 *    retired, and centroids left empty are retired, except those other parts still hold (ivf/codebook-merge.ts);
 *  - cluster c's rows are ordinals [first_c, first_c + n_c) (so its vectors are one range of vec.blk), clusters in
 *    centroid order, then the rows without a vector, in id order;
 *  - `codes.blk`: one block per present cluster, its RaBitQ codes and factors and its refine codes
 *    (ivf/cluster-layout.ts, ids implicit from first_c); `ivf.blk`: the cluster table (cluster-table.ts); the head's `ivf` names both and the codebook
 *    version.
 * Deterministic: the same input (and seed) gives byte-identical files.
 */
import { ElaxError, type DistanceMetric, type Doc } from '../core/index.js';
import {
  assignToCodebook, clusterByteLength, codebookRotation, estimateProbes, DEFAULT_MAX_SIZE, DEFAULT_MIN_SIZE, encodeCluster, encodeClusterBytes, encodeRefine, extendCodebook, foldSmallClusters, indexSpaceOf, paddedDims,
  retireEmpty, seededRandom, trainCodebook, CentroidAssigner, nearestAmong, squaredNorms, type Codebook, type CodebookAssignment,
} from '../ivf/index.js';
import { BlockFileWriter } from './block-file.js';
import { foldedRows, vectorDims, type BuiltPart, type PartBuildInput } from './build.js';
import { assembleBlockPart, type File } from './build-v2.js';
import { encodeClusterTable } from './cluster-table.js';
import { PART_FORMAT_V3, type IvfPartInfo } from './head.js';
import { spaceFor } from './hnsw.js';
import type { PartIndexInfo } from './manifest.js';
import { CODES_FILE, IVF_FILE } from './paths.js';

/** Seed of a format-3 build's random choices (k-means, rotation, splits) unless the input names one. */
export const IVF_SEED = 0x1f5eed;

/** How a format-3 part gets its clusters (PartBuildInput.vectorIndex). Plain data: it crosses to a build worker. */
export interface IvfBuildOptions {
  kind: 'ivf';
  /** The namespace's current codebook; null to train version 1 on this part's vectors. */
  codebook: Codebook | null;
  /** Seed of every random choice. Default IVF_SEED. */
  seed?: number;
  /** Training target cluster size. Default ivf's DEFAULT_TARGET_SIZE (1,000). */
  targetSize?: number;
  /** Cluster size bounds: training balances to them, and a part's cluster above maxSize is split. Defaults 500 / 2,000. */
  minSize?: number;
  maxSize?: number;
  /**
   * Compaction only (RFC-0008 §6): fold the part's clusters under minSize into their nearest live neighbours and
   * retire them, and retire centroids the part leaves empty — all but `keep`, the centroids other parts of the
   * router hold live rows in. Absent (the indexer's parts): no centroid is retired.
   */
  merge?: { keep: number[] };
  /**
   * Rows each centroid holds in the namespace's other parts (ivf/codebook.ts ExtendOptions `others`; for
   * compaction, the parts outside the merged run), so that a cluster full across parts is split in this one.
   */
  others?: number[];
  /**
   * Store each cluster's refine codes (ivf/refine.ts; cluster layout version 2) next to its RaBitQ codes, so a query
   * reranks exactly only the candidates whose sure bounds reach the top k. Default true; false writes layout 1.
   */
  refine?: boolean;
  /**
   * The vectors' clusters, computed beforehand by `assignPartVectors` on this same input (the indexer does that on
   * its own thread, shard after shard, since each shard's extension of the codebook is the next one's starting
   * point, then builds the shards' parts in parallel: RFC-0013 "Parallel shard builds"). `codebook` is then the
   * codebook the part is built against (the assignment's), and no training or extension happens here.
   */
  assigned?: IvfAssignment;
}

/** The clusters of a part's vectors (their id order) and the codebook version they refer to. */
export interface IvfAssignment {
  codebook: Codebook;
  clusterOf: Uint32Array;
  /** The codebook was trained or extended for these vectors (a new version to upload and publish). */
  changed: boolean;
}

/** A format-3 input's final rows and its vectors in index space (normalised for cosine), in id order. */
function ivfRows(input: PartBuildInput) {
  const o = input.vectorIndex;
  if (!o || o.kind !== 'ivf') throw new ElaxError('ELAX_ERR_INTERNAL', `part ${input.partId}: format 3 needs vectorIndex {kind: 'ivf'}`);
  const { docs, deleted, seqs } = foldedRows(input);
  const dims = vectorDims(input.schema, docs);
  const metric = input.distanceMetric ?? 'cosine_distance';
  if (dims === null) throw new ElaxError('ELAX_ERR_INTERNAL', `part ${input.partId}: a clustered index needs a vector column`);
  if (o.codebook && (o.codebook.dims !== dims || o.codebook.metric !== metric)) {
    throw new ElaxError('ELAX_ERR_INTERNAL', `part ${input.partId}: codebook version ${o.codebook.version} is for ${o.codebook.dims}-d ${o.codebook.metric}, the part is ${dims}-d ${metric}`);
  }
  const withVector: number[] = [];
  docs.forEach((d, i) => {
    if (d.vector !== null) withVector.push(i);
  });
  const m = withVector.length;
  // Straight from the docs' vectors into index space: no concatenated raw copy (a fresh m × dims array costs its
  // page faults, docs/benchmarks.md "Indexer CPU per row").
  const data = indexSpaceOf(metric, withVector.map((r) => docs[r]!.vector!), dims);
  return { o, docs, deleted, seqs, dims, metric, withVector, m, data };
}

/** Train, or assign to and extend, the codebook for the part's vectors: the order-dependent step of a format-3 build. */
function assignRows(input: PartBuildInput, o: IvfBuildOptions, data: Float32Array, dims: number, m: number, metric: DistanceMetric): IvfAssignment {
  const random = seededRandom(o.seed ?? IVF_SEED);
  const sizes = { minSize: o.minSize, maxSize: o.maxSize };
  let assigned: CodebookAssignment;
  if (o.codebook === null) {
    if (m === 0) throw new ElaxError('ELAX_ERR_INTERNAL', `part ${input.partId}: no vector to train a codebook on`);
    assigned = trainCodebook(data, dims, m, metric, { random, normalised: true, targetSize: o.targetSize, ...sizes });
  } else if (o.merge === undefined) {
    assigned = extendCodebook(o.codebook, data, m, assignToCodebook(o.codebook, data, m), { random, ...sizes, others: o.others });
  } else {
    // Fold, then split (a fold may overfill its target), then retire what is left empty (split centroids whose
    // halves were appended): one new version for all of it.
    const merge = { keep: new Set(o.merge.keep) };
    const base = o.codebook;
    const minSize = Math.min(o.minSize ?? DEFAULT_MIN_SIZE, Math.floor((o.maxSize ?? DEFAULT_MAX_SIZE) / 2)); // as extendCodebook's
    const folded = foldSmallClusters(base, data, m, assignToCodebook(base, data, m), minSize, merge);
    const split = extendCodebook(folded.codebook, data, m, folded.clusterOf, { random, ...sizes, others: o.others });
    const retired = retireEmpty(split.codebook, m, split.clusterOf, merge);
    assigned = { codebook: retired === base ? base : { ...retired, version: base.version + 1 }, clusterOf: split.clusterOf };
  }
  return { codebook: assigned.codebook, clusterOf: assigned.clusterOf, changed: assigned.codebook !== o.codebook };
}

/**
 * The clusters `buildPartFilesV3(input)` would give the input's vectors (the same computation), for a caller that
 * builds parts elsewhere once their codebooks are known (IvfBuildOptions.assigned).
 */
export function assignPartVectors(input: PartBuildInput): IvfAssignment {
  const { o, data, dims, m, metric } = ivfRows(input);
  return assignRows(input, o, data, dims, m, metric);
}

/** A format-3 input's vectors in index space (id order) and their nearest live centroids in its codebook. */
export interface NearestCentroids {
  data: Float32Array;
  nearest: Uint32Array;
  /**
   * Found by the exact SIMD assigner (assign-kernel.ts), whose scores are nearestAmong's: only then can
   * `assignFromNearest` extend them to a later version of the codebook exactly as assigning to it would.
   */
  exact: boolean;
}

/**
 * The part of assigning an input's vectors that does not depend on other shards of the pass (RFC-0013 "Parallel
 * shard builds"): each vector's nearest centroid in `input.vectorIndex.codebook` (the pass's starting codebook).
 */
export function nearestInCodebook(input: PartBuildInput): NearestCentroids {
  const { o, data, m, dims } = ivfRows(input);
  const cb = o.codebook;
  if (cb === null) throw new ElaxError('ELAX_ERR_INTERNAL', `part ${input.partId}: no codebook to assign to`);
  let live = 0;
  for (let c = 0; c < cb.k; c++) if (cb.retired[c] === 0) live++;
  const exact = live > 0 && CentroidAssigner.create(cb.centroids, cb.k, dims, squaredNorms(cb.centroids, cb.k, dims), live === cb.k ? null : cb.retired) !== null;
  return { data, nearest: exact ? assignToCodebook(cb, data, m) : new Uint32Array(0), exact };
}

/**
 * `assignPartVectors(input)` from the vectors' nearest centroids in `base`, an earlier version of the input's
 * codebook (versions only append centroids, and the indexer retires none): a vector's nearest centroid in the input's
 * codebook is its nearest in `base` unless an appended one scores strictly lower (ties go to the lower id), by the
 * scores the assigner's exact step uses (nearestAmong). Then the splits, as assigning does.
 */
export function assignFromNearest(input: PartBuildInput, found: NearestCentroids, base: Codebook): IvfAssignment {
  const o = input.vectorIndex;
  const cb = o?.codebook;
  if (!o || !cb || o.merge !== undefined || !found.exact || cb.k < base.k || cb.dims !== base.dims) {
    throw new ElaxError('ELAX_ERR_INTERNAL', `part ${input.partId}: cannot assign from nearest centroids of codebook version ${base.version}`);
  }
  const { data, nearest } = found;
  const dims = cb.dims;
  const m = nearest.length;
  if (data.length !== m * dims) throw new ElaxError('ELAX_ERR_INTERNAL', `part ${input.partId}: ${m} nearest centroids for ${data.length / dims} vectors`);
  let clusterOf = nearest;
  const appended: number[] = [];
  for (let c = base.k; c < cb.k; c++) if (cb.retired[c] === 0) appended.push(c);
  if (appended.length > 0) {
    const cSq = squaredNorms(cb.centroids, cb.k, dims);
    const candidates = new Int32Array(1 + appended.length);
    candidates.set(appended, 1);
    clusterOf = new Uint32Array(m);
    for (let r = 0; r < m; r++) {
      candidates[0] = nearest[r]!;
      clusterOf[r] = nearestAmong(data, r * dims, dims, cb.centroids, cSq, candidates);
    }
  }
  const assigned = extendCodebook(cb, data, m, clusterOf, { random: seededRandom(o.seed ?? IVF_SEED), minSize: o.minSize, maxSize: o.maxSize, others: o.others });
  return { codebook: assigned.codebook, clusterOf: assigned.clusterOf, changed: assigned.codebook !== cb };
}

export async function buildPartFilesV3(input: PartBuildInput): Promise<BuiltPart> {
  const { o, docs, deleted, seqs, dims, metric, withVector, m, data } = ivfRows(input);
  const assigned = o.assigned ?? assignRows(input, o, data, dims, m, metric);
  if (assigned.clusterOf.length !== m) throw new ElaxError('ELAX_ERR_INTERNAL', `part ${input.partId}: ${assigned.clusterOf.length} cluster assignments for ${m} vectors`);
  const cb = assigned.codebook;

  // Ordinals: vectors by (centroid, id) — a stable counting sort of the id-ordered vectors — then the rest.
  const counts = new Uint32Array(cb.k + 1);
  for (let j = 0; j < m; j++) counts[assigned.clusterOf[j]! + 1]++;
  for (let c = 0; c < cb.k; c++) counts[c + 1] += counts[c]!;
  const starts = counts.slice(0, cb.k);
  const byCluster = new Uint32Array(m); // position → index j of the vector
  for (let j = 0; j < m; j++) byCluster[starts[assigned.clusterOf[j]!]!++] = j;
  const order: number[] = Array.from(byCluster, (j) => withVector[j]!);
  docs.forEach((d, i) => {
    if (d.vector === null) order.push(i);
  });

  const rotation = codebookRotation(cb);
  const padded = paddedDims(dims);
  // codes.blk is built in its own buffer (BlockFileWriter arena): every cluster's size is known before it is encoded.
  const refineDims = o.refine !== false ? dims : 0;
  let present = 0;
  let codesBytes = 0;
  for (let c = 0; c < cb.k; c++) {
    const n = counts[c + 1]! - counts[c]!;
    if (n === 0) continue;
    present++;
    codesBytes += clusterByteLength(n, padded, false, refineDims);
  }
  const codesExtra = { clusters: present, padded, codebook_version: cb.version };
  const codesArena = new Uint8Array(codesBytes + BlockFileWriter.tailBytes('ivf-codes', present, true, codesExtra));
  const codesFile = new BlockFileWriter(codesArena);
  let codesAt = 0;
  const table = { offset: [] as number[], centroid: [] as number[], first: [] as number[], rows: [] as number[], radius: [] as number[] };
  for (let c = 0; c < cb.k; c++) {
    const first = counts[c]!;
    const n = counts[c + 1]! - first;
    if (n === 0) continue;
    const rows = byCluster.subarray(first, first + n);
    const codes = encodeCluster(data, rows, cb.centroids, c * dims, rotation, first);
    if (o.refine !== false) codes.refine = encodeRefine(data, rows, cb.centroids, c * dims, dims, metric === 'cosine_distance');
    const length = clusterByteLength(n, padded, false, refineDims);
    const b = codesFile.add(encodeClusterBytes(codes, codesArena.subarray(codesAt, codesAt + length)), first);
    codesAt += length;
    table.offset.push(codesFile.table().offset[b]!);
    table.centroid.push(c);
    table.first.push(first);
    table.rows.push(n);
    table.radius.push(codes.radius);
  }
  const clusters = table.centroid.length;
  const tableBytes = encodeClusterTable({
    offset: Float64Array.from(table.offset),
    centroid: Uint32Array.from(table.centroid),
    first: Uint32Array.from(table.first),
    rows: Uint32Array.from(table.rows),
    radius: Float32Array.from(table.radius),
  });
  const ivfFile = new BlockFileWriter();
  ivfFile.add(tableBytes);
  const files: File[] = [
    { name: IVF_FILE, bytes: ivfFile.finish('ivf-clusters', { clusters, vectors: m, codebook_version: cb.version }) },
    { name: CODES_FILE, bytes: codesFile.finish('ivf-codes', codesExtra) },
  ];
  // The probe depth these clusters need (ivf/probe-estimate.ts), from its own random stream so that the clustering
  // above stays what it was before the estimate existed.
  const estimate = estimateProbes({ data, n: m, dims, clusterOf: assigned.clusterOf, centroids: cb.centroids, k: cb.k, random: seededRandom((o.seed ?? IVF_SEED) + 1) });
  const ivf: IvfPartInfo = {
    file: IVF_FILE,
    blocks: ivfFile.table(),
    codebook_version: cb.version,
    clusters,
    vectors: m,
    padded,
    codes: { file: CODES_FILE, blocks: codesFile.table() },
    ...(estimate ? { probes_hint: estimate.probes } : {}),
  };
  const index: PartIndexInfo = { kind: 'ivf', M: null, ef_construction: null, seed: o.seed ?? IVF_SEED, space: spaceFor(metric), vectors: m };
  const rows = { docs: order.map((i) => docs[i]!) as Doc[], deleted, seqs: order.map((i) => seqs[i]!) };
  const built = assembleBlockPart(input, rows, dims, { info: index, files }, PART_FORMAT_V3, { ivf });
  return { ...built, codebook: { codebook: cb, changed: assigned.changed } };
}
