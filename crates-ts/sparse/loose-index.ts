/**
 * The WAL tail's sparse postings (RFC-0012 §3), the in-memory counterpart of a part's index file, as
 * fts/loose-postings.ts is for BM25: dimension → (physical row, weight), extended with the rows appended since the
 * last query (rows never change once appended), so a SparseKNN query over the tail costs O(postings of its
 * dimensions) instead of a lookup per row and dimension. A carried-over or snapshot segment reads it through a window
 * (its first physical row and its row count), ordinals shifted.
 */
import type { AttrValue, SparseVector } from '../core/index.js';
import type { SparseList } from './index-file.js';

/** What scoreFromIndex reads: the postings of a dimension. */
export interface SparseLists {
  list(dim: number): SparseList | null;
}

interface GrowingList {
  ords: Uint32Array;
  weights: Float32Array;
  n: number;
  max: number;
  min: number;
}

export class LooseSparseIndex implements SparseLists {
  /** Rows [0, indexed) are in the lists. */
  indexed = 0;
  /** A background catch-up is scheduled (TailStore.sparseLists). */
  catchingUp = false;
  private readonly byDim = new Map<number, GrowingList>();
  private entries = 0;

  /** `read(p)`: physical row p's value of the attribute. */
  constructor(private readonly read: (p: number) => AttrValue | undefined) {}

  /** Indexes rows [indexed, rows). */
  extendTo(rows: number): void {
    for (let p = this.indexed; p < rows; p++) {
      const v = this.read(p);
      if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) continue;
      const keys = Object.keys(v);
      for (let i = 0; i < keys.length; i++) {
        const d = Number(keys[i]);
        const w = (v as SparseVector)[keys[i]!]!;
        let l = this.byDim.get(d);
        if (l === undefined) this.byDim.set(d, (l = { ords: new Uint32Array(4), weights: new Float32Array(4), n: 0, max: -Infinity, min: Infinity }));
        if (l.n === l.ords.length) {
          // Grown by copy: a list handed to a running query keeps its (valid, append-only) buffer.
          const ords = new Uint32Array(l.n * 2);
          ords.set(l.ords);
          const weights = new Float32Array(l.n * 2);
          weights.set(l.weights);
          l.ords = ords;
          l.weights = weights;
        }
        l.ords[l.n] = p;
        l.weights[l.n] = w;
        l.n++;
        if (w > l.max) l.max = w;
        if (w < l.min) l.min = w;
        this.entries++;
      }
    }
    if (rows > this.indexed) this.indexed = rows;
  }

  list(dim: number): SparseList | null {
    const l = this.byDim.get(dim);
    if (l === undefined || l.n === 0) return null;
    return { ords: l.ords.subarray(0, l.n), weights: l.weights.subarray(0, l.n), max: l.max, min: l.min };
  }

  /** Approximate bytes held. */
  memoryBytes(): number {
    return this.entries * 8 * 2 + this.byDim.size * 96;
  }
}

function lowerBound(a: Uint32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Physical rows [base, base + rows) of `ix` as ordinals 0..rows-1 (bounds stay the whole list's: still bounds). */
export class SparseWindow implements SparseLists {
  constructor(
    private readonly ix: SparseLists,
    private readonly base: number,
    private readonly rows: number,
  ) {}

  list(dim: number): SparseList | null {
    const l = this.ix.list(dim);
    if (l === null) return null;
    const lo = lowerBound(l.ords, this.base);
    const hi = lowerBound(l.ords, this.base + this.rows);
    if (lo >= hi) return null;
    const ords = new Uint32Array(hi - lo);
    for (let i = 0; i < ords.length; i++) ords[i] = l.ords[lo + i]! - this.base;
    return { ords, weights: l.weights.subarray(lo, hi), max: l.max, min: l.min };
  }
}
