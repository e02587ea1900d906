/**
 * BM25 over one part's postings as a pool task (`bm25-part`, docs/rfcs/0010-worker-pool.md "BM25 over parts on the
 * pool"): a pure function of its input, run on a pool thread, or inline when the pool has no thread or fails the task.
 *
 * The input is what the scoring pass (text-scorer.ts) reads of a part: the row lengths per clause and the posting lists
 * of the query's leaves, all in SharedArrayBuffers (the postings file keeps them there when the engine scores on its
 * pool: postings.ts PostingsOptions.shared), posted to the thread as shared memory, not copied; the namespace-wide
 * statistics (a few numbers per clause and leaf); the part's dead rows (their ordinals, or the mask) and the query's
 * filter as a byte per row (a filter index's exact mask), copies; and the threshold the caller's top-k had when the
 * task left.
 *
 * The thread scores with the same TextScorer (the same max-score, the same arithmetic: scores are bit-identical) into
 * a TiesHeap: the k best rows and every row tied with the k-th score, none below the caller's threshold. Every row that
 * can enter the caller's top-k is in the answer (a row below the k-th score has k better rows in the part; a row below
 * the caller's threshold, k better rows there), so offering the answer with its ids gives the top-k the inline pass
 * gives (ties ranked by id there).
 */
import { TopKTies, type Id } from '../core/index.js';
import { unionLeaf, type SourceLeaf } from './list-ops.js';
import type { PostingList } from './postings.js';
import type { TopHeap } from './scored-heap.js';
import { ScoringCancelled, TextScorer } from './text-scorer.js';
import type { ClauseStats, TextStatistics } from './text-stats.js';
import type { CompiledExpr, Leaf, Node } from './text-expr.js';
import type { SourceHit, TextSource } from './text-source.js';

/** A leaf's postings in the part: one list (a term; bounds from the dictionary), or a prefix's lists (unioned there). */
export type PartLeaf = null | { list: PostingList; maxTf: number; minLen: number } | { lists: PostingList[] };

export interface Bm25PartInput {
  /** What scoring reads of the compiled expression (no analyzers: nothing is analysed on the thread). */
  expr: { leaves: Leaf[]; clauses: { leaves: number[] }[]; root: Node; linear: boolean };
  /** Per clause: N, average length, k1, b. */
  clauses: ClauseStats[];
  /** Per leaf. */
  idf: Float64Array;
  k: number;
  /** The caller's top-k threshold when the task left (-Infinity while it held fewer than k): nothing below it is kept. */
  floor: number;
  rows: number;
  /** Per clause, the row lengths (shared). */
  lens: Int32Array[];
  /** Per leaf (shared lists). */
  leaves: PartLeaf[];
  /**
   * The part's dead rows: their ordinals (while they are few: 4 bytes each, against a byte per row for the mask), or
   * the dead mask (skip[o] = 1), a copy; null: every row is live.
   */
  skip: Int32Array | Uint8Array | null;
  /** The query's filter: allow[o] = 1 for a row it accepts (a copy); null: no filter. Tested where scoring tests it. */
  allow: Uint8Array | null;
  /** Set to 1 by the caller to stop (its query was cancelled): checked every 4,096 postings. */
  cancel: Int32Array | null;
}

export interface Bm25PartOutput {
  /** The k best rows not below `floor` and every row tied with the k-th, in no order. */
  ords: Int32Array;
  scores: Float64Array;
  /** Whether the task stopped at `cancel` (then ords / scores are empty). */
  cancelled: boolean;
}

/**
 * The k best scores offered and every offer tied with the k-th, none below `floor`: core's TopKTies over the negated
 * scores (the k smallest negations are the k best scores). Ids are not asked for (the caller decides ties by id).
 */
export class TiesHeap implements TopHeap {
  private readonly top: TopKTies;

  constructor(
    private readonly k: number,
    private readonly floor = -Infinity,
  ) {
    this.top = new TopKTies(k);
  }

  get threshold(): number {
    return Math.max(this.floor, -this.top.bound);
  }

  accepts(score: number, _id?: () => Id): boolean {
    return this.k > 0 && score >= this.threshold;
  }

  push(h: SourceHit): void {
    this.offer(h.score, h.ord);
  }

  offer(score: number, ord: number): void {
    if (score >= this.floor) this.top.offer(-score, ord);
  }

  result(): { ords: Int32Array; scores: Float64Array } {
    const { ords, dists: scores } = this.top.result();
    for (let i = 0; i < scores.length; i++) scores[i] = -scores[i]!;
    return { ords, scores };
  }
}

export function scoreBm25Part(input: Bm25PartInput): Bm25PartOutput {
  const { rows, lens, allow, cancel } = input;
  let skip = input.skip;
  if (skip instanceof Int32Array) {
    const mask = new Uint8Array(rows);
    for (let j = 0; j < skip.length; j++) mask[skip[j]!] = 1;
    skip = mask;
  }
  if (cancel !== null && Atomics.load(cancel, 0) !== 0) return { ords: new Int32Array(0), scores: new Float64Array(0), cancelled: true };
  const leaves: SourceLeaf[] = input.leaves.map((l, i): SourceLeaf => {
    if (l === null) return { list: null, maxTf: 0, minLen: 0 };
    if ('lists' in l) return unionLeaf(l.lists, lens[input.expr.leaves[i]!.clause]!);
    return l;
  });
  const stats: TextStatistics = {
    clauses: input.clauses,
    df: new Float64Array(0),
    idf: input.idf,
    plans: new Map([[0, { kind: 'lists', matches: true, leaves, lens, base: 0 }]]),
  };
  const heap = new TiesHeap(input.k, input.floor);
  // Only what scoring reads of a compiled expression; `values` empty and `general` false: the expression is BM25 /
  // Sum / Max / Product (the caller hands nothing else over).
  const expr = { ...input.expr, values: [], general: false } as unknown as CompiledExpr;
  const scorer = new TextScorer(expr, stats, input.k, { heap, cancel });
  const src: TextSource = {
    rows,
    postings: () => null,
    dead: skip,
    deadOrdinals: [],
    id: (o) => o,
    value: () => undefined,
    filter: allow === null ? null : (o) => allow[o] === 1,
  };
  try {
    scorer.score(0, src);
  } catch (e) {
    if (e instanceof ScoringCancelled) return { ords: new Int32Array(0), scores: new Float64Array(0), cancelled: true };
    throw e;
  }
  return { ...heap.result(), cancelled: false };
}

/** The shared bytes an input refers to (pool/worker.ts collects garbage after enough went through a thread). */
export function bm25SharedBytes(input: Bm25PartInput): number {
  let n = 0;
  for (const l of input.lens) n += l.byteLength;
  for (const l of input.leaves) {
    if (l === null) continue;
    for (const list of 'lists' in l ? l.lists : [l.list]) n += list.ords.byteLength + list.tfs.byteLength;
  }
  return n;
}
