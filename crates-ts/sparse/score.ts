/**
 * SparseKNN scoring of one source (a part's inverted index, or rows' values: the WAL tail, parts built without the
 * index). A row is a candidate when it holds at least one of the query's dimensions; its score is the dot product,
 * summed in ascending dimension order by both paths (bit-identical scores, so the merge of parts and tail is exact).
 *
 * The index path prunes like BM25's max-score (fts/text-scorer.ts): each query dimension's contribution is bounded by
 * max(0, q·max weight, q·min weight) (negative weights are bounded exactly too: a negative query weight pairs with the
 * smallest stored weight). Given the k-th best score so far (`threshold`, carried across sources), the dimensions whose
 * bounds together stay strictly below it are non-essential: a row holding only those cannot enter, so candidates come
 * from the essential lists alone and the others are only looked up for them. Pruning is strict (ties, broken by id,
 * are never lost) with a margin for rounding.
 */
import { CHECK_EVERY_ROWS, type AttrValue, type SparseVector } from '../core/index.js';
import type { SparseList } from './index-file.js';
import { sparseDot, type SparseEntries } from './vector.js';

/** Where scored rows go: the top-k of the query (or every row, for limit.per). */
export interface SparseSink {
  /** The score a new row must reach to be able to enter (ties may enter: ids break them), or undefined (not full). */
  threshold(): number | undefined;
  offer(ord: number, score: number): void;
}

const ROW_CHECK_MASK = CHECK_EVERY_ROWS - 1;

/** Upper bound of one query dimension's contribution to any row of a list. */
export function dimBound(q: number, list: Pick<SparseList, 'max' | 'min'>): number {
  return Math.max(0, q * list.max, q * list.min);
}

export interface IndexScanStats {
  /** Query dimensions with postings in the source. */
  lists: number;
  /** Of those, the ones candidates came from. */
  essential: number;
  /** Rows scored. */
  candidates: number;
}

/**
 * Scores the rows of an index source. `lookup(dim)`: the postings of a dimension (null: none). `accept(ord)`: live
 * and passing the filter. `check()`: cooperative cancellation, called every CHECK_EVERY_ROWS candidates.
 */
export function scoreFromIndex(
  q: SparseEntries,
  lookup: (dim: number) => SparseList | null,
  accept: (ord: number) => boolean,
  sink: SparseSink,
  check: () => void = () => {},
): IndexScanStats {
  const lists: SparseList[] = [];
  const qw: number[] = [];
  for (let i = 0; i < q.dims.length; i++) {
    const l = lookup(q.dims[i]!);
    if (l === null || l.ords.length === 0) continue;
    lists.push(l);
    qw.push(q.weights[i]!);
  }
  const m = lists.length;
  if (m === 0) return { lists: 0, essential: 0, candidates: 0 };
  // Non-essential dimensions: the smallest bounds whose sum (with a rounding margin) stays below the threshold.
  const essential = new Uint8Array(m).fill(1);
  const theta = sink.threshold();
  if (theta !== undefined) {
    const order = Array.from({ length: m }, (_, j) => j).sort((a, b) => dimBound(qw[a]!, lists[a]!) - dimBound(qw[b]!, lists[b]!));
    let sum = 0;
    let mag = 0;
    for (const j of order) {
      const b = dimBound(qw[j]!, lists[j]!);
      const s = sum + b;
      const mg = mag + Math.abs(qw[j]!) * Math.max(Math.abs(lists[j]!.max), Math.abs(lists[j]!.min));
      if (!(s + mg * 1e-9 < theta)) break;
      sum = s;
      mag = mg;
      essential[j] = 0;
    }
  }
  let essentialCount = 0;
  for (let j = 0; j < m; j++) essentialCount += essential[j]!;
  if (essentialCount === 0) return { lists: m, essential: 0, candidates: 0 };
  // Candidates: the rows of the essential lists, marked; then every list in ascending dimension order adds its
  // weight to the marked rows' accumulators (term at a time: each row's sum in the same order as sparseDot).
  let rows = 0;
  for (const l of lists) if (l.ords.length > 0) rows = Math.max(rows, l.ords[l.ords.length - 1]! + 1);
  const mark = new Uint8Array(rows);
  let cand = new Uint32Array(64);
  let candidates = 0;
  for (let j = 0; j < m; j++) {
    if (essential[j] !== 1) continue;
    const ords = lists[j]!.ords;
    for (let i = 0; i < ords.length; i++) {
      const o = ords[i]!;
      if (mark[o] === 1) continue;
      mark[o] = 1;
      if (candidates === cand.length) {
        const grown = new Uint32Array(cand.length * 2);
        grown.set(cand);
        cand = grown;
      }
      cand[candidates++] = o;
    }
  }
  const acc = new Float64Array(rows);
  for (let j = 0; j < m; j++) {
    check();
    const { ords, weights } = lists[j]!;
    const w = qw[j]!;
    if (essential[j] === 1) for (let i = 0; i < ords.length; i++) acc[ords[i]!] += w * weights[i]!;
    else for (let i = 0; i < ords.length; i++) if (mark[ords[i]!] === 1) acc[ords[i]!] += w * weights[i]!;
  }
  for (let i = 0; i < candidates; i++) {
    if ((i & ROW_CHECK_MASK) === 0) check();
    const o = cand[i]!;
    const score = acc[o]!;
    const t = sink.threshold();
    if (t !== undefined && score < t) continue;
    if (!accept(o)) continue;
    sink.offer(o, score);
  }
  return { lists: m, essential: essentialCount, candidates };
}

/** Scores rows from their values (the WAL tail, or a part without the index): every accepted row is read. */
export function scoreFromValues(
  q: SparseEntries,
  rows: number,
  read: (ord: number) => AttrValue | undefined,
  accept: (ord: number) => boolean,
  sink: SparseSink,
  check: () => void = () => {},
): void {
  if (q.dims.length === 0) return;
  for (let o = 0; o < rows; o++) {
    if ((o & ROW_CHECK_MASK) === 0) check();
    const v = read(o);
    if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) continue;
    const score = sparseDot(q, v as SparseVector);
    if (score === null) continue;
    const t = sink.threshold();
    if (t !== undefined && score < t) continue;
    if (!accept(o)) continue;
    sink.offer(o, score);
  }
}
