/**
 * Compact codes of the WAL tail's vectors and the bounds they give (RFC-0004 §5 "Codes beside the tail's vectors";
 * issue 17). When a row is folded into the tail it also gets int8 scalar codes with a scale of its own:
 *
 *   s = max|y_i| / 127,  c_i = round(y_i / s) ∈ [−127, 127],  e = y − s·c  (the residual, ‖e‖ ≤ s·√dims / 2),
 *
 * kept beside its f32 values in the chunk's arena (vector-arena.ts), with s, ‖e‖ and ‖c‖. A query is coded the same
 * way (sq, qc, eq). Then, exactly (Cauchy–Schwarz, no assumption on the data):
 *
 *   q·y = s·sq·(qc·c) + s·(eq·c) + q·e,  so  |q·y − s·sq·I| ≤ s·‖eq‖·‖c‖ + ‖q‖·‖e‖ = E,  I = qc·c (an exact integer).
 *
 * A scan computes I for every row (int8 × int8 in i32: a quarter of the bytes of the f32 rows, kernels.wat idots),
 * turns [s·sq·I − E, s·sq·I + E] into a lower and an upper bound of the row's distance (cosine from the row's Σ y²,
 * euclidean_squared as ‖q‖² + ‖y‖² − 2 q·y), keeps the k smallest upper bounds, and computes the exact distance (the
 * f64 kernel every scan uses, so $dist is bit-identical) only for rows whose lower bound is at most the k-th upper
 * bound (and not past the query's current k-th distance). Every other row has k rows, or the top k, strictly closer,
 * so the result — rows, ties by id, distances — is the full scan's (code-scan.test.ts checks it against the full scan).
 *
 * Rounding: the bounds widen by SLACK·‖q‖·‖y‖ (and SLACK·(‖q‖² + ‖y‖²) for euclidean_squared), orders of magnitude
 * above the f64 rounding of the exact kernel, of Σ y² and of the bound arithmetic (≈ dims·2⁻⁵³ relative). Rows whose
 * values are not finite, zero, or so small or large that squares would under- or overflow get no code (scale NaN) and
 * are always computed exactly; so is every row when the query is such.
 */
import type { VectorArena } from './vector-arena.js';
import type { KthSmallest } from '../core/index.js';

/** The codes of a chunk of tail rows: int8 codes in the arena, per row the scale (NaN: no code), ‖e‖ and ‖c‖. */
export interface ChunkCodes {
  readonly arena: VectorArena;
  readonly codes: Int8Array;
  readonly scale: Float64Array;
  readonly errNorm: Float64Array;
  readonly codeNorm: Float64Array;
}

/** 1.5·2^52: (t + ROUND) − ROUND is t rounded to nearest for |t| < 2^51 (Math.round is a runtime call here). */
const ROUND = 6755399441055744;

/** Relative widening of every bound (see the header). */
const SLACK = 1e-6;
/** Magnitudes a coded value may have: squares of anything in [MIN_MAG, MAX_MAG] neither underflow nor overflow. */
const MIN_MAG = 1e-140;
const MAX_MAG = 1e140;

/**
 * Codes row `r` of a chunk from its f32 values in the chunk's arena (kernels.wat encode: ≈ 0.2 µs a 128-d row, where
 * a JS loop took 1-2 µs): its int8 codes and scale, ‖e‖ and ‖c‖; scale NaN and zero codes when it gets no code.
 * Returns the row's Σ y², the same bits as distance.ts sqNormAt (the kernel sums it in the same order, in the pass
 * that finds max|y|), so the tail need not read the row again for it.
 */
export function encodeRow(into: ChunkCodes, r: number): number {
  const a = into.arena;
  const out = a.out;
  if (!a.encode(r, MIN_MAG, MAX_MAG)) {
    into.codes.fill(0, r * a.dims, (r + 1) * a.dims);
    into.scale[r] = NaN;
    into.errNorm[r] = 0;
    into.codeNorm[r] = 0;
    return out[3]!;
  }
  into.scale[r] = out[0]!;
  into.errNorm[r] = Math.sqrt(out[1]!);
  into.codeNorm[r] = Math.sqrt(out[2]!);
  return out[3]!;
}

/** A query coded for a scan of codes (queryCodes), with what the bounds read. */
export interface CodedQuery {
  readonly qc: Int8Array;
  /** The query's scale sq. */
  readonly scale: number;
  /** ‖eq‖, the query's residual norm. */
  readonly errNorm: number;
  /** ‖q‖ (distance.ts norm: the qNorm cosineFromDot is given) and Σ q². */
  readonly norm: number;
  readonly sqNorm: number;
}

/** The query coded like a row, or null when it gets no code (then the scan is exact). `qNorm`: distance.ts norm(q). */
export function queryCodes(q: ArrayLike<number>, qNorm: number): CodedQuery | null {
  const dims = q.length;
  let max = 0;
  let bad = false;
  for (let i = 0; i < dims; i++) {
    const a = Math.abs(q[i]!);
    if (a > max) max = a;
    else if (a !== a) bad = true;
  }
  if (bad || !(max >= MIN_MAG && max <= MAX_MAG) || !(qNorm > 0 && qNorm < Infinity)) return null;
  const sq = max / 127;
  const inv = 127 / max;
  const qc = new Int8Array(dims);
  let ee = 0;
  for (let i = 0; i < dims; i++) {
    let c = q[i]! * inv + ROUND - ROUND; // to nearest (as kernels.wat encode)
    if (c > 127) c = 127;
    else if (c < -127) c = -127;
    qc[i] = c;
    const e = q[i]! - sq * c;
    ee += e * e;
  }
  return { qc, scale: sq, errNorm: Math.sqrt(ee), norm: qNorm, sqNorm: qNorm * qNorm };
}

const clamp02 = (d: number) => (d < 0 ? 0 : d > 2 ? 2 : d);

/**
 * Lower and upper bounds of a row's distance from its code scan (`dotI`: qc·c), written to out[0] and out[1];
 * false when the row has no code (compute it exactly). `bb`: the row's Σ y² (the chunk's sqNorms).
 */
export function codeBounds(cq: CodedQuery, cosine: boolean, codes: ChunkCodes, r: number, dotI: number, bb: number, out: Float64Array): boolean {
  const s = codes.scale[r]!;
  if (s !== s || !(bb > 0)) return false;
  const yn = Math.sqrt(bb);
  const qn = cq.norm;
  const approx = s * cq.scale * dotI;
  const err = s * cq.errNorm * codes.codeNorm[r]! + qn * codes.errNorm[r]! + SLACK * qn * yn;
  if (cosine) {
    const den = qn * yn;
    out[0] = clamp02(1 - (approx + err) / den - SLACK);
    out[1] = clamp02(1 - (approx - err) / den + SLACK);
    return true;
  }
  const base = cq.sqNorm + bb;
  out[0] = base - 2 * (approx + err) - SLACK * base;
  out[1] = base - 2 * (approx - err) + SLACK * base;
  return true;
}

/** Rows a code scan ranks exactly once it leaves their chunk: ordinal, row in the chunk, lower bound. */
export interface Candidates {
  o: Int32Array;
  r: Int32Array;
  lb: Float64Array;
  n: number;
}

export function newCandidates(size = 256): Candidates {
  return { o: new Int32Array(size), r: new Int32Array(size), lb: new Float64Array(size), n: 0 };
}

function grownCandidates(c: Candidates): Candidates {
  const g = newCandidates(c.o.length * 2);
  g.o.set(c.o);
  g.r.set(c.r);
  g.lb.set(c.lb);
  g.n = c.n;
  return g;
}

/**
 * The bounds of a batch the code kernel just scanned (`sel[0, m)`: rows of the chunk, `out`: their qc·c, `ords`:
 * their ordinals): rows that may still enter the top k join `cand` (returned, grown when full), the others are
 * dropped. A row is dropped when its lower bound is past the k-th smallest upper bound (`kth`, which its upper bound
 * then cannot lower) or past `worst`, the query's k-th distance so far (Infinity until it has k). codeBounds inline.
 */
export function boundBatch(
  cq: CodedQuery,
  cosine: boolean,
  codes: ChunkCodes,
  sqNorms: Float64Array,
  sel: Int32Array,
  out: Float64Array,
  ords: Int32Array,
  m: number,
  kth: KthSmallest,
  worst: number,
  cand: Candidates,
): Candidates {
  const { scale, errNorm, codeNorm } = codes;
  const qs = cq.scale;
  const qe = cq.errNorm;
  const qn = cq.norm;
  const qq = cq.sqNorm;
  let bound = Math.min(kth.bound, worst);
  for (let j = 0; j < m; j++) {
    const r = sel[j]!;
    const s = scale[r]!;
    const bb = sqNorms[r]!;
    let lb = -Infinity;
    if (s === s && bb > 0) {
      const yn = Math.sqrt(bb);
      const approx = s * qs * out[j]!;
      const err = s * qe * codeNorm[r]! + qn * errNorm[r]! + SLACK * qn * yn;
      let ub: number;
      if (cosine) {
        const den = qn * yn;
        lb = clamp02(1 - (approx + err) / den - SLACK);
        if (lb > bound) continue; // its upper bound is past the bound too: it cannot lower the k-th
        ub = clamp02(1 - (approx - err) / den + SLACK);
      } else {
        const base = qq + bb;
        lb = base - 2 * (approx + err) - SLACK * base;
        if (lb > bound) continue;
        ub = base - 2 * (approx - err) + SLACK * base;
      }
      kth.offer(ub);
      bound = Math.min(kth.bound, worst);
    }
    if (cand.n === cand.o.length) cand = grownCandidates(cand);
    cand.o[cand.n] = ords[j]!;
    cand.r[cand.n] = r;
    cand.lb[cand.n++] = lb;
  }
  return cand;
}


/** Rows whose bounds a code scan computed, and those it then ranked exactly (bench/tail-scan.ts reports them). */
export const codeScanStats = { coded: 0, exact: 0 };

/** 'auto': code scans where they pay (see useCodeScan); 'always' / 'never': tests and benchmarks. */
let mode: 'auto' | 'always' | 'never' = process.env.ELAX_TAIL_CODES === '0' ? 'never' : 'auto';

/** Sets when code scans run (tests compare them with the full scan; bench/tail-scan.ts measures both). */
export function setCodeScanMode(m: 'auto' | 'always' | 'never'): void {
  mode = m;
}

/** Whether new tail chunks keep codes (not when ELAX_TAIL_CODES=0). */
export function codesKept(): boolean {
  return process.env.ELAX_TAIL_CODES !== '0';
}

/**
 * Whether a top-k scan of `rows` rows uses the codes: when k is small beside the rows (else most rows would be
 * re-ranked anyway and the code pass is extra work).
 */
export function useCodeScan(k: number, rows: number, only: ArrayLike<number> | null = null): boolean {
  // The k-th smallest upper bound counts each row once: a restriction listing an ordinal twice would count it twice
  // and prune a row that belongs in the top k, so such a list (none is made today) is ranked exactly.
  if (only !== null && !strictlyAscending(only)) return false;
  if (mode !== 'auto') return mode === 'always';
  return k > 0 && k * 32 <= rows;
}

function strictlyAscending(a: ArrayLike<number>): boolean {
  for (let i = 1; i < a.length; i++) if (!(a[i]! > a[i - 1]!)) return false;
  return true;
}
