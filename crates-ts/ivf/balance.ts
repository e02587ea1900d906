/**
 * SPFresh's cluster maintenance as pure functions over typed arrays (Xu et al., SOSP 2023): split a cluster that
 * grew too big into two, dissolve one that shrank too small into its neighbours, and reassign a vector to the
 * nearest centroid among a candidate set. Used by the build (hierarchy.ts) to bound cluster sizes and by
 * cluster-set.ts for incremental updates.
 */
import { dotAt, nearestAmong, sqDistAt } from './kernels.js';
import { meanInto, trainKMeans, trainTwoMeans } from './kmeans.js';
import type { SplitKernel } from './split-kernel.js';
import type { Random } from './random.js';

export interface Split {
  /** The two new centroids, row-major (2 × dims): the means of their members. */
  centroids: Float32Array;
  members: [Uint32Array, Uint32Array];
}

/**
 * Splits `members` (rows of `data`) in two with 2-means. When 2-means leaves a side with fewer than `minSide`
 * rows, the split falls back to the median of the projection on the axis between the two 2-means centroids, so
 * both sides hold ⌊n/2⌋ or ⌈n/2⌉ rows: a split never creates a cluster that is too small when n ≥ 2·minSide.
 */
export function splitCluster(data: Float32Array, dims: number, members: Uint32Array, random: Random, minSide = 0, kernel: SplitKernel | null = null): Split {
  const n = members.length;
  if (n < 2) throw new RangeError(`cannot split a cluster of ${n} vector(s)`);
  if (kernel !== null && kernel.ensure(n)) {
    kernel.load(members, 0, n);
    return splitLoaded(data, dims, members, random, minSide, kernel);
  }
  const c = trainKMeans(data, dims, members, 2, { random, iterations: 8 });
  const side = new Uint8Array(n);
  let ones = 0;
  for (let j = 0; j < n; j++) {
    const off = members[j]! * dims;
    side[j] = c.length === 2 * dims && sqDistAt(data, off, c, dims, dims) < sqDistAt(data, off, c, 0, dims) ? 1 : 0;
    ones += side[j]!;
  }
  if (Math.min(ones, n - ones) < Math.min(minSide, n >> 1) || ones === 0 || ones === n) medianSplit(data, dims, members, c, side);
  const parts: [number[], number[]] = [[], []];
  for (let j = 0; j < n; j++) parts[side[j]!]!.push(members[j]!);
  const centroids = new Float32Array(2 * dims);
  meanInto(data, dims, parts[0], centroids, 0);
  meanInto(data, dims, parts[1], centroids, dims);
  return { centroids, members: [Uint32Array.from(parts[0]), Uint32Array.from(parts[1])] };
}

/**
 * splitCluster with the exact SIMD kernel over `data` (split-kernel.ts), `members` loaded in it as one batch (in this
 * order): the same split, bit for bit. The batch stays loaded (the caller may score it again).
 */
export function splitLoaded(data: Float32Array, dims: number, members: Uint32Array, random: Random, minSide: number, kernel: SplitKernel): Split {
  const n = members.length;
  const c = trainTwoMeans(data, dims, members, kernel, { random, iterations: 8 });
  const side = new Uint8Array(n);
  const d1 = Float64Array.from(kernel.sqDists(c, dims));
  const d0 = kernel.sqDists(c, 0);
  let ones = 0;
  for (let j = 0; j < n; j++) {
    side[j] = d1[j]! < d0[j]! ? 1 : 0;
    ones += side[j]!;
  }
  if (Math.min(ones, n - ones) < Math.min(minSide, n >> 1) || ones === 0 || ones === n) {
    medianSplit(data, dims, members, c, side);
    ones = 0;
    for (let j = 0; j < n; j++) ones += side[j]!;
  }
  const p: [Uint32Array, Uint32Array] = [new Uint32Array(n - ones), new Uint32Array(ones)];
  const at = [0, 0];
  for (let j = 0; j < n; j++) p[side[j]!]![at[side[j]!]!++] = members[j]!;
  // meanInto of each side: its rows' sums in member order, times 1/count.
  kernel.labels.set(side);
  kernel.clearSums();
  const sums = kernel.accumulate();
  const centroids = new Float32Array(2 * dims);
  for (let s = 0; s < 2; s++) {
    const inv = p[s]!.length > 0 ? 1 / p[s]!.length : 0;
    for (let d = 0; d < dims; d++) centroids[s * dims + d] = sums[s * dims + d]! * inv;
  }
  return { centroids, members: p };
}

/** side[j] = 1 for the half of members with the larger projection on (c1 − c0); rows in a tie are split by order. */
function medianSplit(data: Float32Array, dims: number, members: Uint32Array, c: Float32Array, side: Uint8Array): void {
  const n = members.length;
  const axis = new Float64Array(dims);
  if (c.length === 2 * dims) for (let d = 0; d < dims; d++) axis[d] = c[dims + d]! - c[d]!;
  let zero = true;
  for (let d = 0; d < dims && zero; d++) zero = axis[d] === 0;
  if (zero) axis[0] = 1; // all members coincide (or 2-means found one point): any half will do
  const proj = new Float64Array(n);
  for (let j = 0; j < n; j++) proj[j] = dotAt(data, members[j]! * dims, axis, 0, dims);
  const order = Array.from({ length: n }, (_, j) => j).sort((a, b) => proj[a]! - proj[b]! || a - b);
  for (let r = 0; r < n; r++) side[order[r]!] = r >= n >> 1 ? 1 : 0;
}

/**
 * The ids of the `m` centroids nearest to the vector at v[vOff, vOff + dims), nearest first, skipping `exclude`
 * (pass −1 for none). `alive(c)` filters out dissolved clusters.
 */
export function nearestCentroids(
  v: Float32Array,
  vOff: number,
  dims: number,
  centroids: Float32Array,
  k: number,
  m: number,
  exclude = -1,
  alive: (c: number) => boolean = () => true,
): Uint32Array {
  const ids: number[] = [];
  const ds: number[] = [];
  for (let c = 0; c < k; c++) {
    if (c === exclude || !alive(c)) continue;
    const d = sqDistAt(v, vOff, centroids, c * dims, dims);
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
  return Uint32Array.from(ids);
}

/** For each of `members`, the nearest centroid among `candidates` (SPFresh merge and reassignment). */
export function reassign(data: Float32Array, dims: number, members: Uint32Array, centroids: Float32Array, cSq: Float64Array, candidates: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(members.length);
  for (let j = 0; j < members.length; j++) out[j] = nearestAmong(data, members[j]! * dims, dims, centroids, cSq, candidates);
  return out;
}
