/**
 * The exact scan of the WAL tail's vector chunks on this thread (execute-segments.ts rankSegments; RFC-0004 §5): rows
 * are selected into batches of their chunk's kernel (vector-arena.ts), whose distances are offered to the query's
 * top k — or, with the code scan (code-scan.ts), whose bounds are computed from the rows' int8 codes and only the rows
 * that may still enter the top k are ranked exactly when the scan leaves the chunk.
 *
 * `rows` selects the rows of a run of ordinals inside one chunk in one tight loop, with the chunk, its kernel and the
 * batch held in locals: no chunk lookup per row (issue 17: the per-row loop of the scan cost more than the kernels it
 * fed). `row` takes one row (a restriction's ordinals, in any chunk). Either way the batches are the ones a row-by-row
 * loop makes — the same rows, flushed at the same points, the chunk entered at its first selected row and left when a
 * row of another chunk is selected, at a pause or at the end — so distances, ranked candidates and codeScanStats are
 * the same (chunk-scan.test.ts compares it with that loop).
 *
 * A chunk's kernel and code arena are shared by every query on this thread: everything here is synchronous, and a
 * caller that pauses (execute-segments.ts scanSlice) calls `leave()` first.
 */
import type { KthSmallest } from '../core/index.js';
import { boundBatch, codeScanStats, newCandidates, type Candidates, type CodedQuery } from './code-scan.js';
import { cosineFromDot, cosineWithSqNormAt } from './distance.js';
import type { VectorChunk } from './segment.js';
import type { VectorScan } from './vector-arena.js';

/** What the scan reads of the query's top k (execute-segments.ts HitTopK). */
export interface TopKBound {
  /** The worst distance of a full top k, else Infinity. */
  readonly worstKey: number;
  /** Whether a distance cannot enter the full top k. */
  rejects(d: number): boolean;
}

/** Ordinals a batch holds at most (the kernels' batch is VectorArena's, 256). */
const ORDS = 256;

export class ChunkScan {
  /** The chunk whose kernel holds the batch (and, with codes, whose candidates are gathered), or null. */
  private kc: VectorChunk | null = null;
  /** Whether the batch being gathered is a code batch. */
  private codesOn = false;
  /** Rows in the batch: their chunk rows in the kernel's sel, their ordinals in `ords`. */
  private m = 0;
  private readonly ords = new Int32Array(ORDS);
  private cand: Candidates = newCandidates();

  constructor(
    private readonly query: Float32Array,
    /** The query widened to f64 (distance.ts cosineWithSqNormAt, for chunks without a kernel). */
    private readonly query64: Float64Array,
    private readonly qNorm: number,
    private readonly cosine: boolean,
    /** The distance of a row of a chunk without a kernel, when not cosine (distance.ts distanceAt). */
    private readonly generic: (data: Float32Array, off: number) => number,
    /** The coded query when the scan uses the codes (then `kth` and `top` are set), else null. */
    private readonly cq: CodedQuery | null,
    /** The k-th smallest upper bound among the segment's coded rows. */
    private readonly kth: KthSmallest | null,
    private readonly top: TopKBound | null,
    /** Takes a row's exact distance (ordinal, $dist). */
    private readonly offer: (o: number, d: number) => void,
  ) {}

  /**
   * Selects the rows of ordinals [from, to), all in chunk `c` (which has a kernel), ordinal `from` being its row
   * `r0`: those with a vector (`present` bit set, or null: all), live (`dead`) and matching (`test`, or null).
   */
  rows(c: VectorChunk, from: number, to: number, r0: number, present: Uint8Array | null, dead: Uint8Array | null, test: ((ord: number) => boolean) | null): void {
    const sel = c.scan!.sel;
    const ords = this.ords;
    const cap = Math.min(c.scan!.batch, ORDS);
    let entered = this.kc === c;
    let m = this.m;
    for (let o = from, r = r0; o < to; o++, r++) {
      if (present !== null && (present[o >> 3]! & (1 << (o & 7))) === 0) continue;
      if (dead !== null && dead[o] === 1) continue;
      if (test !== null && !test(o)) continue;
      if (!entered) {
        this.enter(c);
        entered = true;
        m = 0;
      }
      sel[m] = r;
      ords[m++] = o;
      if (m === cap) {
        this.m = m;
        this.flush();
        m = 0;
      }
    }
    this.m = m;
  }

  /** Takes row `r` of chunk `c` (ordinal `o`: live, matching, with a vector). */
  row(c: VectorChunk, r: number, o: number): void {
    const k = c.scan;
    if (k === undefined) {
      this.plain(c, r, o);
      return;
    }
    if (c !== this.kc) this.enter(c);
    k.sel[this.m] = r;
    this.ords[this.m++] = o;
    if (this.m === k.batch || this.m === ORDS) this.flush();
  }

  /**
   * Rows [from, to) of chunk `c` without a kernel (a small tail's first chunk, or no WebAssembly SIMD): each selected
   * row's distance computed here and offered at once (the batch of another chunk, if any, stays as it is).
   */
  plainRows(c: VectorChunk, from: number, to: number, r0: number, present: Uint8Array | null, dead: Uint8Array | null, test: ((ord: number) => boolean) | null): void {
    for (let o = from, r = r0; o < to; o++, r++) {
      if (present !== null && (present[o >> 3]! & (1 << (o & 7))) === 0) continue;
      if (dead !== null && dead[o] === 1) continue;
      if (test !== null && !test(o)) continue;
      this.plain(c, r, o);
    }
  }

  private plain(c: VectorChunk, r: number, o: number): void {
    const dims = this.query.length;
    this.offer(o, this.cosine ? cosineWithSqNormAt(this.query64, this.qNorm, c.data, r * dims, c.sqNorms[r]!) : this.generic(c.data, r * dims));
  }

  /** Leaves the current chunk (its batch flushed, its candidates ranked), so its kernel holds nothing of this scan. */
  leave(): void {
    if (this.kc === null) return;
    if (this.m > 0) this.flush();
    if (this.codesOn && this.cand.n > 0) this.rankCandidates();
    this.kc = null;
  }

  /** Leaves the current chunk and enters `c`: its kernel's query (and code query) set for the batches that follow. */
  private enter(c: VectorChunk): void {
    this.leave();
    this.kc = c;
    this.codesOn = this.cq !== null && c.codes !== undefined;
    c.scan!.setQuery(this.query);
    if (this.codesOn) c.codes!.arena.setQueryCodes(this.cq!.qc);
  }

  private flush(): void {
    const c = this.kc!;
    const m = this.m;
    this.m = 0;
    if (!this.codesOn) {
      this.exact(c.scan!, c.sqNorms, m);
      return;
    }
    const codes = c.codes!;
    codes.arena.idots(m);
    codeScanStats.coded += m;
    this.cand = boundBatch(this.cq!, this.cosine, codes, c.sqNorms, codes.arena.sel, codes.arena.out, this.ords, m, this.kth!, this.top!.worstKey, this.cand);
  }

  /** Ranks the current chunk's candidates exactly (those still within the bounds), in batches. */
  private rankCandidates(): void {
    const c = this.kc!;
    const k = c.scan!;
    const { cand, ords } = this;
    const kth = this.kth!;
    const top = this.top!;
    let b = 0;
    for (let j = 0; j < cand.n; j++) {
      const lb = cand.lb[j]!;
      if (lb > kth.bound || top.rejects(lb)) continue;
      k.sel[b] = cand.r[j]!;
      ords[b++] = cand.o[j]!;
      if (b === k.batch || b === ORDS) {
        this.exact(k, c.sqNorms, b);
        codeScanStats.exact += b;
        b = 0;
      }
    }
    if (b > 0) this.exact(k, c.sqNorms, b);
    codeScanStats.exact += b;
    cand.n = 0;
  }

  /** The exact distances of the batch's `count` rows (sel, ords), offered. */
  private exact(k: VectorScan, sq: Float64Array, count: number): void {
    const { ords, offer, qNorm } = this;
    if (this.cosine) k.dots(count);
    else k.l2s(count);
    const { out, sel } = k;
    for (let j = 0; j < count; j++) offer(ords[j]!, this.cosine ? cosineFromDot(out[j]!, qNorm, sq[sel[j]!]!) : out[j]!);
  }
}
