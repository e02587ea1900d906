/**
 * MUVERA fixed-dimensional encodings (FDE; Jayaram et al., "MUVERA: Multi-Vector Retrieval via Fixed Dimensional
 * Encodings", 2024), RFC-0015 §3. A set of vectors becomes one vector whose inner product with a query's encoding
 * approximates the Chamfer (MaxSim) similarity Σ_q max_d ⟨q, d⟩:
 *
 *  - `reps` independent repetitions; in each, `kSim` Gaussian hyperplanes (SimHash) split the space into B = 2^kSim
 *    partitions: a vector's partition is the bit pattern of the signs of its projections on them;
 *  - each vector is projected to `dProj` dimensions by a random ±1/√dProj matrix (the identity when dProj = dims);
 *  - a row (document) block of partition p is the AVERAGE of its projected vectors falling in p; an empty partition is
 *    filled with the row's vector whose bit pattern is nearest (Hamming) to p (the paper's fill_empty_partitions);
 *  - a query block is the SUM of its projected vectors in p (empty partitions stay 0);
 *  - the encoding is the concatenation, reps × B × dProj floats.
 *
 * For cosine_distance, vectors are normalised first (MaxSim over cos_sim); for euclidean_squared the raw vectors are
 * encoded (the inner product then only approximates the ranking; candidates are re-ranked exactly either way).
 * Everything is drawn from a seeded PRNG (mulberry32 + Box–Muller), so the same (seed, dims, kSim, reps, dProj) gives
 * the same encoding on every node: a part stores them, and queries encode with the part's own parameters.
 */
import type { DistanceMetric } from '../core/index.js';
import { seededRandom } from '../ivf/random.js';

export interface FdeParams {
  seed: number;
  dims: number;
  kSim: number;
  reps: number;
  dProj: number;
}

/** The seed every build uses (stored in each part, so it could change without breaking old parts). */
export const FDE_SEED = 0x6d757665; // "muve"

/** Parameters for vectors of `dims` dimensions: 8 partitions × 4 repetitions × min(dims, 32) = at most 1,024 floats. */
export function defaultFdeParams(dims: number): FdeParams {
  return { seed: FDE_SEED, dims, kSim: 3, reps: 4, dProj: Math.min(dims, 32) };
}

export function fdeLength(p: FdeParams): number {
  return p.reps * (1 << p.kSim) * p.dProj;
}

/** The random draws of one parameter set: hyperplanes (reps × kSim × dims) and projections (reps × dProj × dims). */
export class FdeEncoder {
  readonly length: number;
  private readonly planes: Float64Array;
  private readonly proj: Float64Array | null;

  constructor(readonly params: FdeParams) {
    const { seed, dims, kSim, reps, dProj } = params;
    if (!(dims >= 1 && kSim >= 0 && kSim <= 8 && reps >= 1 && dProj >= 1 && dProj <= dims)) throw new RangeError(`bad FDE parameters ${JSON.stringify(params)}`);
    this.length = fdeLength(params);
    const rnd = seededRandom(seed);
    // One normal per pair of draws (not ivf/random.ts gaussian, which keeps the pair's second value): the draws are
    // part of the stored format (a part's FDEs were encoded with them; golden fixtures part-multivec-fde*).
    const gauss = () => {
      const u = 1 - rnd();
      const v = rnd();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    };
    this.planes = new Float64Array(reps * kSim * dims);
    for (let i = 0; i < this.planes.length; i++) this.planes[i] = gauss();
    if (dProj === dims) this.proj = null;
    else {
      this.proj = new Float64Array(reps * dProj * dims);
      const s = 1 / Math.sqrt(dProj);
      for (let i = 0; i < this.proj.length; i++) this.proj[i] = rnd() < 0.5 ? -s : s;
    }
  }

  private partition(rep: number, v: Float64Array): number {
    const { dims, kSim } = this.params;
    let p = 0;
    for (let b = 0; b < kSim; b++) {
      const off = (rep * kSim + b) * dims;
      let s = 0;
      for (let i = 0; i < dims; i++) s += this.planes[off + i]! * v[i]!;
      if (s > 0) p |= 1 << b;
    }
    return p;
  }

  private project(rep: number, v: Float64Array, out: Float64Array): void {
    const { dims, dProj } = this.params;
    if (this.proj === null) {
      out.set(v);
      return;
    }
    for (let j = 0; j < dProj; j++) {
      const off = (rep * dProj + j) * dims;
      let s = 0;
      for (let i = 0; i < dims; i++) s += this.proj[off + i]! * v[i]!;
      out[j] = s;
    }
  }

  private prepared(vectors: ArrayLike<ArrayLike<number>>, metric: DistanceMetric): Float64Array[] {
    const out: Float64Array[] = [];
    for (let k = 0; k < vectors.length; k++) {
      const v = Float64Array.from(vectors[k]!);
      if (metric === 'cosine_distance') {
        let n = 0;
        for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
        n = Math.sqrt(n);
        if (n > 0) for (let i = 0; i < v.length; i++) v[i]! /= n;
      }
      out.push(v);
    }
    return out;
  }

  /** The encoding of a row's vectors (averages per partition, empty partitions filled). */
  encodeDoc(vectors: ArrayLike<ArrayLike<number>>, metric: DistanceMetric): Float32Array {
    return this.encode(this.prepared(vectors, metric), true);
  }

  /** The encoding of a query's vectors (sums per partition). */
  encodeQuery(vectors: ArrayLike<ArrayLike<number>>, metric: DistanceMetric): Float32Array {
    return this.encode(this.prepared(vectors, metric), false);
  }

  private encode(vs: Float64Array[], doc: boolean): Float32Array {
    const { reps, kSim, dProj } = this.params;
    const B = 1 << kSim;
    const out = new Float64Array(this.length);
    const pv = new Float64Array(dProj);
    const counts = new Int32Array(B);
    const parts = new Int32Array(vs.length);
    for (let r = 0; r < reps; r++) {
      counts.fill(0);
      const base = r * B * dProj;
      for (let k = 0; k < vs.length; k++) {
        const p = this.partition(r, vs[k]!);
        parts[k] = p;
        counts[p]!++;
        this.project(r, vs[k]!, pv);
        for (let j = 0; j < dProj; j++) out[base + p * dProj + j]! += pv[j]!;
      }
      if (!doc) continue;
      for (let p = 0; p < B; p++) {
        const c = counts[p]!;
        if (c > 1) for (let j = 0; j < dProj; j++) out[base + p * dProj + j]! /= c;
        else if (c === 0 && vs.length > 0) {
          // fill_empty_partitions: the vector whose partition is nearest in Hamming distance (first on ties).
          let best = 0;
          let bestD = Infinity;
          for (let k = 0; k < vs.length; k++) {
            let x = parts[k]! ^ p;
            let d = 0;
            while (x) {
              d += x & 1;
              x >>= 1;
            }
            if (d < bestD) {
              bestD = d;
              best = k;
            }
          }
          this.project(r, vs[best]!, pv);
          for (let j = 0; j < dProj; j++) out[base + p * dProj + j] = pv[j]!;
        }
      }
    }
    return Float32Array.from(out);
  }
}

const encoders = new Map<string, FdeEncoder>();

/** A (cached) encoder for the parameters: the draws are made once per process per parameter set. */
export function fdeEncoder(p: FdeParams): FdeEncoder {
  const key = `${p.seed}/${p.dims}/${p.kSim}/${p.reps}/${p.dProj}`;
  let e = encoders.get(key);
  if (e === undefined) {
    e = new FdeEncoder(p);
    if (encoders.size >= 64) encoders.clear();
    encoders.set(key, e);
  }
  return e;
}
