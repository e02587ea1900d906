/**
 * Flat k-means over a subset of rows: k-means++ seeding, then Lloyd iterations. hierarchy.ts calls it on samples,
 * with k small (≤ a few dozen), where one exact pass over the centroids per row is cheap.
 */
import { nearestCentroid, sqDistAt, squaredNorms } from './kernels.js';
import { CentroidAssigner } from './assign-kernel.js';
import type { Random } from './random.js';
import { SUM_LABELS, type SplitKernel } from './split-kernel.js';

export interface KMeansOptions {
  random: Random;
  /** Lloyd iterations at most (it stops earlier when no row changes cluster). Default 12. */
  iterations?: number;
}

/**
 * Trains min(k, rows.length) centroids on the given rows of `data` (row-major, `dims` wide). Returns them
 * row-major. Deterministic given `random`.
 */
export function trainKMeans(data: Float32Array, dims: number, rows: Uint32Array, k: number, o: KMeansOptions): Float32Array {
  const n = rows.length;
  k = Math.min(k, n);
  if (k <= 0) return new Float32Array(0);
  const centroids = seedPlusPlus(data, dims, rows, k, o.random);
  const labels = new Int32Array(n).fill(-1);
  const sums = new Float64Array(k * dims);
  const counts = new Uint32Array(k);
  for (let it = 0; it < (o.iterations ?? 12); it++) {
    const cSq = squaredNorms(centroids, k, dims);
    sums.fill(0);
    counts.fill(0);
    let changed = 0;
    for (let j = 0; j < n; j++) {
      const off = rows[j]! * dims;
      const c = nearestCentroid(data, off, dims, centroids, cSq, 0, k);
      if (c !== labels[j]) (changed++, (labels[j] = c));
      counts[c]++;
      const so = c * dims;
      for (let d = 0; d < dims; d++) sums[so + d] += data[off + d]!;
    }
    if (changed === 0) break;
    moveToMeans(centroids, sums, counts, dims);
    reseedEmpty(data, dims, rows, labels, centroids, counts);
  }
  return centroids;
}

/** k-means++ (Arthur & Vassilvitskii 2007): each next seed drawn with probability ∝ squared distance to the nearest seed so far. */
function seedPlusPlus(data: Float32Array, dims: number, rows: Uint32Array, k: number, random: Random): Float32Array {
  const n = rows.length;
  const centroids = new Float32Array(k * dims);
  const minD = new Float64Array(n).fill(Infinity);
  let pick = Math.floor(random() * n);
  for (let c = 0; c < k; c++) {
    centroids.set(data.subarray(rows[pick]! * dims, rows[pick]! * dims + dims), c * dims);
    let total = 0;
    for (let j = 0; j < n; j++) {
      const d = sqDistAt(data, rows[j]! * dims, centroids, c * dims, dims);
      if (d < minD[j]!) minD[j] = d;
      total += minD[j]!;
    }
    if (c + 1 === k) break;
    if (total === 0) {
      pick = Math.floor(random() * n); // all rows coincide with seeds: any row will do
      continue;
    }
    let r = random() * total;
    pick = n - 1;
    for (let j = 0; j < n; j++) {
      r -= minD[j]!;
      if (r < 0) {
        pick = j;
        break;
      }
    }
  }
  return centroids;
}

/**
 * trainKMeans(data, dims, rows, 2, o) for rows.length ≥ 2, with `rows` loaded in `kernel` (all of them, in order):
 * the same centroids, bit for bit — the same random draws, and every distance, score and sum is the kernel's exact
 * copy of the JS one (split-kernel.ts) — for the 2-means of a split (balance.ts splitCluster).
 */
export function trainTwoMeans(data: Float32Array, dims: number, rows: Uint32Array, kernel: SplitKernel, o: KMeansOptions): Float32Array {
  const n = rows.length;
  const k = 2;
  // seedPlusPlus with k = 2 (it also measures the distances to the second seed, which nothing reads).
  const centroids = new Float32Array(k * dims);
  let pick = Math.floor(o.random() * n);
  centroids.set(data.subarray(rows[pick]! * dims, rows[pick]! * dims + dims), 0);
  const d0 = kernel.sqDists(centroids, 0);
  const minD = new Float64Array(n).fill(Infinity);
  let total = 0;
  for (let j = 0; j < n; j++) {
    if (d0[j]! < minD[j]!) minD[j] = d0[j]!;
    total += minD[j]!;
  }
  if (total === 0) pick = Math.floor(o.random() * n);
  else {
    let r = o.random() * total;
    pick = n - 1;
    for (let j = 0; j < n; j++) {
      r -= minD[j]!;
      if (r < 0) {
        pick = j;
        break;
      }
    }
  }
  centroids.set(data.subarray(rows[pick]! * dims, rows[pick]! * dims + dims), dims);
  // Lloyd, as trainKMeans (nearestCentroid over two centroids: ties to centroid 0).
  const labels = new Int32Array(n).fill(-1);
  const counts = new Uint32Array(k);
  const ids = [0, 1];
  const kl = kernel.labels;
  for (let it = 0; it < (o.iterations ?? 12); it++) {
    const cSq = squaredNorms(centroids, k, dims);
    const t = kernel.scores(centroids, ids, k, cSq);
    counts.fill(0);
    let changed = 0;
    for (let j = 0; j < n; j++) {
      let c = -1;
      let best = Infinity;
      if (t[2 * j]! < best) (best = t[2 * j]!), (c = 0);
      if (t[2 * j + 1]! < best) c = 1;
      if (c !== labels[j]) (changed++, (labels[j] = c));
      if (c >= 0) counts[c]++;
      kl[j] = c >= 0 ? c : SUM_LABELS - 1; // no centroid (NaN scores): trainKMeans adds the row nowhere
    }
    if (changed === 0) break; // trainKMeans's sums of this iteration are not read then
    kernel.clearSums();
    moveToMeans(centroids, kernel.accumulate(), counts, dims);
    reseedEmpty(data, dims, rows, labels, centroids, counts);
  }
  return centroids;
}

/** Each centroid holding rows moves to their mean: its row sums (f64, centroid-major) times 1 / count. */
function moveToMeans(centroids: Float32Array, sums: Float64Array, counts: Uint32Array, dims: number): void {
  for (let c = 0; c < counts.length; c++) {
    const so = c * dims;
    if (counts[c]! > 0) {
      const inv = 1 / counts[c]!;
      for (let d = 0; d < dims; d++) centroids[so + d] = sums[so + d]! * inv;
    }
  }
}

/**
 * An empty cluster takes the row that is farthest from its own centroid (the usual fix: it splits the worst-fit
 * cluster instead of staying dead). Rare (k-means++ seeds are distinct rows), so it recomputes the distances.
 */
function reseedEmpty(data: Float32Array, dims: number, rows: Uint32Array, labels: Int32Array, centroids: Float32Array, counts: Uint32Array): void {
  const k = counts.length;
  for (let c = 0; c < k; c++) {
    if (counts[c]! > 0) continue;
    let worst = -1;
    let worstD = -1;
    for (let j = 0; j < rows.length; j++) {
      if (counts[labels[j]!]! <= 1) continue;
      const d = sqDistAt(data, rows[j]! * dims, centroids, labels[j]! * dims, dims);
      if (d > worstD) (worstD = d), (worst = j);
    }
    if (worst < 0) return;
    counts[labels[worst]!]--;
    labels[worst] = c;
    counts[c] = 1;
    centroids.set(data.subarray(rows[worst]! * dims, rows[worst]! * dims + dims), c * dims);
  }
}

/** The nearest of `k` centroids for each of `rows` (parallel to rows). */
export function assignRows(data: Float32Array, dims: number, rows: Uint32Array, centroids: Float32Array, k: number): Uint32Array {
  const cSq = squaredNorms(centroids, k, dims);
  const labels = new Uint32Array(rows.length);
  // The SIMD assigner (exact: f32 scores, the near-best re-scored in f64) once there is enough work to pay for its
  // WebAssembly instance; the training of a codebook assigns every row of the first part (13 % of a 250k build in JS).
  const simd = rows.length >= SIMD_MIN_ROWS && k >= 4 ? CentroidAssigner.create(centroids, k, dims, cSq, null) : null;
  if (simd !== null) {
    for (let j = 0; j < rows.length; j++) labels[j] = simd.nearest(data, rows[j]! * dims);
    return labels;
  }
  for (let j = 0; j < rows.length; j++) labels[j] = nearestCentroid(data, rows[j]! * dims, dims, centroids, cSq, 0, k);
  return labels;
}

/** Rows below which assignRows keeps the JS scan. */
const SIMD_MIN_ROWS = 1024;

/** The mean of `rows` of `data`, written to out[outOff, outOff + dims). */
export function meanInto(data: Float32Array, dims: number, rows: ArrayLike<number>, out: Float32Array, outOff: number): void {
  const acc = new Float64Array(dims);
  for (let j = 0; j < rows.length; j++) {
    const off = rows[j]! * dims;
    for (let d = 0; d < dims; d++) acc[d] += data[off + d]!;
  }
  const inv = rows.length > 0 ? 1 / rows.length : 0;
  for (let d = 0; d < dims; d++) out[outOff + d] = acc[d]! * inv;
}
