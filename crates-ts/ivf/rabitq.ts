/**
 * RaBitQ codes (Gao & Long, SIGMOD 2024): per vector one bit per (padded) dimension — the sign of its rotated
 * residual to the cluster centroid — and three f32 factors, from which a query gets an unbiased estimate of the
 * squared distance and a confidence bound on its error.
 *
 * Notation: o = x − c (residual of a data vector to its centroid), s = q − c (the query's), P the rotation, D the
 * padded dimension, b ∈ {0,1}^D the code, x̄ = (2b − 1)/√D, ō = P⁻¹x̄ the quantised unit vector.
 *   ‖x − q‖² = ‖o‖² + ‖s‖² − 2‖o‖‖s‖⟨o/‖o‖, s/‖s‖⟩                             (exact)
 *   ⟨o/‖o‖, s/‖s‖⟩ ≈ ⟨ō, s/‖s‖⟩ / ⟨ō, o/‖o‖⟩                                 (the paper's unbiased estimator)
 *   ⟨ō, o/‖o‖⟩ = Σ|(Po)_i| / (√D‖o‖),   ⟨ō, s⟩ = (2·Σ_{b_i=1}(Ps)_i − Σ_i(Ps)_i) / √D
 * so est = ‖o‖² + ‖s‖² + rescale·(2·Σ_{b_i=1}(Ps)_i − Σ(Ps)_i) with rescale = −2‖o‖²/Σ|(Po)_i|.
 * Since Ps = Pq − Pc, Σ_{b_i=1}(Ps)_i = Σ_{b_i=1}(Pq)_i − Σ_{b_i=1}(Pc)_i; the second term does not depend on the
 * query, so it is folded into the stored `add` factor:
 *   add = ‖o‖² − 2·rescale·Σ_{b_i=1}(Pc)_i,   est = add + ‖s‖² + rescale·(2·Σ_{b_i=1}(Pq)_i − Σ(Ps)_i).
 * A query then builds ONE lookup table from Pq for all clusters, and a probed cluster costs O(1) to set up.
 *
 * Error bound (the paper's Theorem 3.2): |⟨ō,s⟩/⟨ō,o⟩ − ⟨o,s⟩| ≤ √(1 − ⟨ō,o⟩²)/⟨ō,o⟩ · ε0/√(D − 1) with high
 * probability, for unit o, s. In distance units: |est − true| ≤ ε0 · ‖s‖ · err, with
 *   err = 2‖o‖ · √(1 − ⟨ō,o⟩²) / (⟨ō,o⟩ · √(D − 1)).
 * A vector equal to its centroid gets add = rescale = err = 0: est = ‖s‖², exact.
 */
import type { RefineCodes } from './refine.js';
import { FhtRotation, type Rotation } from './rotation.js';

/** One cluster's codes and factors, as encoded (cluster-layout.ts serialises them). */
export interface ClusterCodes {
  /** Vectors in the cluster. */
  n: number;
  /** Bits per code: the rotation's padded dimension (a multiple of 64). */
  padded: number;
  /** n × padded/8 bytes; bit t of byte j of a code is dimension 8j + t. */
  codes: Uint8Array;
  add: Float32Array;
  rescale: Float32Array;
  err: Float32Array;
  /** Row of each vector; null when the rows are firstRow, firstRow + 1, … (the part stores the cluster's rows together). */
  rowIds: Uint32Array | null;
  firstRow: number;
  /** max ‖o‖ over the cluster: with the centroid distance it bounds the distance of any member (triangle inequality). */
  radius: number;
  /** Second-stage codes (refine.ts); absent in layout version 1. */
  refine?: RefineCodes | null;
  /**
   * Position in `refine` of each code, for codes that are some of a cluster's sharing its refine codes (none made by
   * the engine since the searcher reads a cluster's matching codes in place: search.ts ClusterSlice); absent: the
   * same position.
   */
  refineAt?: Uint32Array;
}

/** P·c of each of the k centroids (k × padded, row-major), and Σ_i (P·c)_i of each: the query side needs both. */
export interface RotatedCentroids {
  rotated: Float32Array;
  sums: Float64Array;
}

export function rotateCentroids(centroids: Float32Array, k: number, rotation: Rotation): RotatedCentroids {
  const p = rotation.padded;
  const rotated = new Float32Array(k * p);
  const sums = new Float64Array(k);
  const buf = new Float64Array(p);
  for (let c = 0; c < k; c++) {
    rotation.apply(centroids, c * rotation.dims, buf);
    let s = 0;
    for (let i = 0; i < p; i++) {
      rotated[c * p + i] = buf[i]!;
      s += buf[i]!;
    }
    sums[c] = s;
  }
  return { rotated, sums };
}

/**
 * Encodes the vectors data[r·dims, (r+1)·dims) for r in `rows` against the centroid at centroids[cOff, cOff + dims).
 * `ids` names the vectors in search results: a number is firstRow (vector j is row firstRow + j: the part stores
 * the cluster's rows together), an array gives each vector's row (explicit ids, e.g. a vector kept in two clusters).
 */
export function encodeCluster(
  data: Float32Array,
  rows: ArrayLike<number>,
  centroids: Float32Array,
  cOff: number,
  rotation: Rotation,
  ids: number | ArrayLike<number>,
): ClusterCodes {
  const dims = rotation.dims;
  const padded = rotation.padded;
  const n = rows.length;
  const bytes = padded >> 3;
  const codes = new Uint8Array(n * bytes);
  const add = new Float32Array(n);
  const rescale = new Float32Array(n);
  const err = new Float32Array(n);
  const resid = new Float64Array(dims);
  const rot = new Float64Array(padded);
  const cRot = new Float64Array(padded);
  rotation.apply(centroids, cOff, cRot);
  const sqrtD1 = Math.sqrt(padded - 1);
  const sqrtD = Math.sqrt(padded);
  let radius = 0;
  if (typeof ids !== 'number' && ids.length !== n) throw new RangeError(`${ids.length} row ids for ${n} vectors`);
  // The fast rotation's SIMD kernel does the loop below up to the factors (rotation.wat rabitq_rows, the same
  // operations in the same order): each row's code and ‖o‖², Σ|(Po)_i|, Σ_{b_i=1}(Pc)_i.
  const stats = rotation instanceof FhtRotation ? new Float64Array(3 * n) : null;
  const inKernel = stats !== null && (rotation as FhtRotation).encodeRabitq(data, rows, centroids, cOff, cRot, codes, stats);
  for (let j = 0; j < n; j++) {
    let norm2 = 0;
    let sumAbs = 0;
    let bitsDotC = 0;
    if (inKernel) {
      norm2 = stats[3 * j]!;
      sumAbs = stats[3 * j + 1]!;
      bitsDotC = stats[3 * j + 2]!;
    } else {
      const off = rows[j]! * dims;
      for (let i = 0; i < dims; i++) {
        const d = data[off + i]! - centroids[cOff + i]!;
        resid[i] = d;
        norm2 += d * d;
      }
      rotation.apply(resid, 0, rot);
      const co = j * bytes;
      for (let by = 0; by < bytes; by++) {
        let b = 0;
        for (let t = 0; t < 8; t++) {
          const i = (by << 3) | t;
          const v = rot[i]!;
          if (v > 0) {
            b |= 1 << t;
            sumAbs += v;
            bitsDotC += cRot[i]!;
          } else sumAbs -= v;
        }
        codes[co + by] = b;
      }
    }
    const norm = Math.sqrt(norm2);
    if (norm > radius) radius = norm;
    if (norm2 === 0 || sumAbs === 0) {
      add[j] = 0;
      rescale[j] = 0;
      err[j] = 0;
      continue;
    }
    const ip = Math.min(1, sumAbs / (sqrtD * norm)); // ⟨ō, o/‖o‖⟩
    const r = (-2 * norm2) / sumAbs;
    rescale[j] = r;
    add[j] = norm2 - 2 * r * bitsDotC;
    err[j] = (2 * norm * Math.sqrt(Math.max(0, 1 - ip * ip))) / (ip * sqrtD1);
  }
  const explicit = typeof ids !== 'number';
  return { n, padded, codes, add, rescale, err, rowIds: explicit ? Uint32Array.from(ids) : null, firstRow: explicit ? 0 : ids, radius };
}

/**
 * The query side: the rotated query and its byte lookup table. lut[j·256 + b] = Σ_{bit t of b} (Pq)_{8j+t}, so
 * Σ_{b_i=1}(Pq)_i over a code is padded/8 table lookups (16 at 128-d). Built once per query (per rotation).
 */
export class QueryCodes {
  readonly padded: number;
  readonly rotated: Float64Array;
  readonly lut: Float32Array;
  /** Σ_i (Pq)_i. */
  sum = 0;

  constructor(readonly rotation: Rotation) {
    this.padded = rotation.padded;
    this.rotated = new Float64Array(this.padded);
    this.lut = new Float32Array((this.padded >> 3) * 256);
  }

  /** Sets the query (already normalised for cosine): rotates it and fills the lookup table. */
  set(q: Float32Array | Float64Array, off = 0): void {
    const { rotated, lut, padded } = this;
    this.rotation.apply(q, off, rotated);
    let s = 0;
    for (let i = 0; i < padded; i++) s += rotated[i]!;
    this.sum = s;
    for (let j = 0, base = 0; j < padded >> 3; j++, base += 256) {
      lut[base] = 0;
      for (let b = 1; b < 256; b++) {
        const low = b & -b; // lowest set bit: the entry without it is already filled
        lut[base + b] = lut[base + (b ^ low)]! + rotated[(j << 3) + 31 - Math.clz32(low)]!;
      }
    }
  }
}

/**
 * Relative rounding slack of a lower bound. The factors are stored as f32 and the query side is rotated in floating
 * point, so an estimate carries a rounding error of a few ulps of its largest term even where the RaBitQ error is 0
 * (a vector equal to its centroid, a one-vector cluster): without the slack such a lower bound lands a few ulps above
 * the exact distance for about 1 % of queries and can drop a row that ties the k-th one (rabitq.test.ts).
 */
const ROUNDING = 1e-6;

/**
 * Estimated squared euclidean distances from the query to every vector of one cluster, and their lower bounds at
 * confidence ε0: est[i] and lower[i] = est[i] − ε0·‖s‖·err[i], for i < codes.n. `centroidDist2` = ‖q − c‖²,
 * `centroidSum` = Σ(Pc)_i. Multiply by `scale` (½ for cosine distance on unit vectors) before writing.
 * ε0 = ∞ means "no bound": every lower[i] is −∞ (not ∞ · 0 = NaN where err or ‖s‖ is 0).
 */
export function estimateCluster(
  q: QueryCodes,
  codes: ClusterCodes,
  centroidDist2: number,
  centroidSum: number,
  eps0: number,
  scale: number,
  est: Float64Array,
  lower: Float64Array,
): void {
  estimateSelected(q, codes, null, 0, codes.n, 0, centroidDist2, centroidSum, eps0, scale, est, lower, 0);
}

/**
 * estimateCluster of some of the cluster's codes, in place (a filter's matches, namespace/ivf-query.ts: nothing is
 * copied out): the code at position p_i = sel[from + i] − shift for i < m (sel null: p_i = i), written to est[at + i]
 * and lower[at + i]. Each estimate is the same arithmetic on the same numbers as estimateCluster's for that code, so
 * the same bits.
 */
export function estimateSelected(
  q: QueryCodes,
  codes: ClusterCodes,
  sel: Uint32Array | null,
  from: number,
  m: number,
  shift: number,
  centroidDist2: number,
  centroidSum: number,
  eps0: number,
  scale: number,
  est: Float64Array,
  lower: Float64Array,
  at: number,
): void {
  const { lut } = q;
  const { add, rescale, err } = codes;
  const code = codes.codes;
  const bytes = codes.padded >> 3;
  const sumS = q.sum - centroidSum;
  const noBound = eps0 === Infinity;
  const bound = noBound ? 0 : eps0 * Math.sqrt(centroidDist2);
  if (bytes === 16) {
    // padded 128 (65- to 128-d vectors): fully unrolled, the case the benchmark measures.
    for (let i = 0; i < m; i++) {
      const p = sel === null ? i : sel[from + i]! - shift;
      const o = p << 4;
      const a =
        lut[code[o]!]! + lut[256 + code[o + 1]!]! + lut[512 + code[o + 2]!]! + lut[768 + code[o + 3]!]! +
        lut[1024 + code[o + 4]!]! + lut[1280 + code[o + 5]!]! + lut[1536 + code[o + 6]!]! + lut[1792 + code[o + 7]!]!;
      const b =
        lut[2048 + code[o + 8]!]! + lut[2304 + code[o + 9]!]! + lut[2560 + code[o + 10]!]! + lut[2816 + code[o + 11]!]! +
        lut[3072 + code[o + 12]!]! + lut[3328 + code[o + 13]!]! + lut[3584 + code[o + 14]!]! + lut[3840 + code[o + 15]!]!;
      const t = rescale[p]! * (2 * (a + b) - sumS);
      const e = add[p]! + centroidDist2 + t;
      est[at + i] = e * scale;
      lower[at + i] = (e - bound * err[p]! - ROUNDING * (Math.abs(add[p]!) + centroidDist2 + Math.abs(t))) * scale;
    }
    if (noBound) lower.fill(-Infinity, at, at + m);
    return;
  }
  for (let i = 0; i < m; i++) {
    const p = sel === null ? i : sel[from + i]! - shift;
    const o = p * bytes;
    let a = 0;
    let b = 0;
    let j = 0;
    for (; j + 1 < bytes; j += 2) {
      a += lut[(j << 8) + code[o + j]!]!;
      b += lut[((j + 1) << 8) + code[o + j + 1]!]!;
    }
    for (; j < bytes; j++) a += lut[(j << 8) + code[o + j]!]!;
    const t = rescale[p]! * (2 * (a + b) - sumS);
    const e = add[p]! + centroidDist2 + t;
    est[at + i] = e * scale;
    lower[at + i] = (e - bound * err[p]! - ROUNDING * (Math.abs(add[p]!) + centroidDist2 + Math.abs(t))) * scale;
  }
  if (noBound) lower.fill(-Infinity, at, at + m);
}
