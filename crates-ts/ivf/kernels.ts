/**
 * Distance kernels over vectors stored row-major in one Float32Array (row r at r·dims), accumulated in float64.
 * Offsets instead of subarrays: a subarray per row costs an allocation in V8's hot loops.
 */

/** Σ a[aOff+i]·b[bOff+i] for i < dims, with 4 independent accumulators (the adds do not form one chain). */
export function dotAt(a: Float32Array | Float64Array, aOff: number, b: Float32Array | Float64Array, bOff: number, dims: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < dims; i += 4) {
    s0 += a[aOff + i]! * b[bOff + i]!;
    s1 += a[aOff + i + 1]! * b[bOff + i + 1]!;
    s2 += a[aOff + i + 2]! * b[bOff + i + 2]!;
    s3 += a[aOff + i + 3]! * b[bOff + i + 3]!;
  }
  for (; i < dims; i++) s0 += a[aOff + i]! * b[bOff + i]!;
  return s0 + s1 + s2 + s3;
}

/** Σ (a[aOff+i] − b[bOff+i])² for i < dims. */
export function sqDistAt(a: Float32Array | Float64Array, aOff: number, b: Float32Array | Float64Array, bOff: number, dims: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < dims; i += 4) {
    const d0 = a[aOff + i]! - b[bOff + i]!;
    const d1 = a[aOff + i + 1]! - b[bOff + i + 1]!;
    const d2 = a[aOff + i + 2]! - b[bOff + i + 2]!;
    const d3 = a[aOff + i + 3]! - b[bOff + i + 3]!;
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; i < dims; i++) {
    const d = a[aOff + i]! - b[bOff + i]!;
    s0 += d * d;
  }
  return s0 + s1 + s2 + s3;
}

/** ‖c‖² of each of the `k` rows of `centroids`: nearest-centroid search ranks by ‖c‖² − 2⟨x, c⟩. */
export function squaredNorms(centroids: Float32Array, k: number, dims: number): Float64Array {
  const out = new Float64Array(k);
  for (let c = 0; c < k; c++) out[c] = dotAt(centroids, c * dims, centroids, c * dims, dims);
  return out;
}

/**
 * The nearest of centroids [from, to) to the vector at x[xOff, xOff + dims), by squared euclidean distance; ties go
 * to the lower index. Four centroids per pass share each load of x (≈1.6× the one-at-a-time loop in V8). `out[0]`
 * receives ‖c‖² − 2⟨x, c⟩ of the winner (add ‖x‖² for the distance).
 */
export function nearestCentroid(
  x: Float32Array | Float64Array,
  xOff: number,
  dims: number,
  centroids: Float32Array,
  cSq: Float64Array,
  from: number,
  to: number,
  out?: Float64Array,
): number {
  let best = -1;
  let bestScore = Infinity;
  let c = from;
  for (; c + 3 < to; c += 4) {
    const o0 = c * dims;
    const o1 = o0 + dims;
    const o2 = o1 + dims;
    const o3 = o2 + dims;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let i = 0; i < dims; i++) {
      const v = x[xOff + i]!;
      s0 += v * centroids[o0 + i]!;
      s1 += v * centroids[o1 + i]!;
      s2 += v * centroids[o2 + i]!;
      s3 += v * centroids[o3 + i]!;
    }
    const t0 = cSq[c]! - 2 * s0;
    const t1 = cSq[c + 1]! - 2 * s1;
    const t2 = cSq[c + 2]! - 2 * s2;
    const t3 = cSq[c + 3]! - 2 * s3;
    if (t0 < bestScore) (bestScore = t0), (best = c);
    if (t1 < bestScore) (bestScore = t1), (best = c + 1);
    if (t2 < bestScore) (bestScore = t2), (best = c + 2);
    if (t3 < bestScore) (bestScore = t3), (best = c + 3);
  }
  for (; c < to; c++) {
    const t = cSq[c]! - 2 * dotAt(x, xOff, centroids, c * dims, dims);
    if (t < bestScore) (bestScore = t), (best = c);
  }
  if (out) out[0] = bestScore;
  return best;
}

/** nearestCentroid restricted to the centroid ids in candidates[0, count) (SPFresh reassignment among neighbours). */
export function nearestAmong(
  x: Float32Array | Float64Array,
  xOff: number,
  dims: number,
  centroids: Float32Array,
  cSq: Float64Array,
  candidates: ArrayLike<number>,
  count = candidates.length,
): number {
  let best = -1;
  let bestScore = Infinity;
  for (let j = 0; j < count; j++) {
    const c = candidates[j]!;
    const t = cSq[c]! - 2 * dotAt(x, xOff, centroids, c * dims, dims);
    if (t < bestScore || (t === bestScore && c < best)) (bestScore = t), (best = c);
  }
  return best;
}

/**
 * out[c] = ‖q − c‖² for each of the k centroids, as ‖q‖² + ‖c‖² − 2⟨q, c⟩ (clamped at 0), four centroids per pass
 * like nearestCentroid. The exact centroid scan of a query.
 */
export function centroidDistances(q: Float32Array | Float64Array, dims: number, centroids: Float32Array, cSq: Float64Array, k: number, out: Float64Array): void {
  const qSq = dotAt(q, 0, q, 0, dims);
  let c = 0;
  for (; c + 3 < k; c += 4) {
    const o0 = c * dims;
    const o1 = o0 + dims;
    const o2 = o1 + dims;
    const o3 = o2 + dims;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let i = 0; i < dims; i++) {
      const v = q[i]!;
      s0 += v * centroids[o0 + i]!;
      s1 += v * centroids[o1 + i]!;
      s2 += v * centroids[o2 + i]!;
      s3 += v * centroids[o3 + i]!;
    }
    out[c] = Math.max(0, qSq + cSq[c]! - 2 * s0);
    out[c + 1] = Math.max(0, qSq + cSq[c + 1]! - 2 * s1);
    out[c + 2] = Math.max(0, qSq + cSq[c + 2]! - 2 * s2);
    out[c + 3] = Math.max(0, qSq + cSq[c + 3]! - 2 * s3);
  }
  for (; c < k; c++) out[c] = Math.max(0, qSq + cSq[c]! - 2 * dotAt(q, 0, centroids, c * dims, dims));
}
