/**
 * The scoring pass of text ranking: with the namespace-wide statistics of the statistics pass (text-stats.ts), scores
 * one source at a time — from its postings, or the hits its analysed rows left — into one top-k carried across
 * sources, so that a query needs only the source at hand (its postings and the lists the query names, its ids and
 * filter columns). Only a row's id is kept from a released source.
 *
 * Top-k (max-score, Turtle & Flood 1995): when the expression is a positive linear combination of leaves, each leaf
 * has a per-source upper bound (its maximal tf in the shortest document containing it). Leaves are sorted by bound;
 * the ones whose bounds together cannot reach the current k-th score — the heap's, carried over from the sources
 * scored before — are "non-essential": documents are only enumerated from the essential leaves' postings, and a
 * candidate's non-essential leaves are looked up only while its score can still reach the threshold. Pruning is
 * strict (bound < threshold), so ties with the k-th document (broken by id) are never lost, and the result does not
 * depend on the order sources are scored in. Max and non-positive weights fall back to scoring every matching
 * document.
 *
 * Every path sums a document's leaf scores alike (finalScore), so identical documents get bit-identical scores
 * wherever they live.
 *
 * General expressions (Attribute, filters, constants, Saturate / Decay / Dist: text-expr.ts) are scored by
 * scoreGeneral: every candidate row evaluated with rank-eval.ts, the rows without a BM25 match skipped under top-k
 * once their upper bound (unmatchedBound) is below the k-th score.
 */
import { ElaxError, type Doc } from '../core/index.js';
import { prefixLeaf, seek, termLeaf, type SourceLeaf } from './list-ops.js';
import type { PostingList } from './postings.js';
import { ScoredHeap, type TopHeap } from './scored-heap.js';
import type { Bm25PartInput, Bm25PartOutput, PartLeaf } from './part-task.js';
import { epochMs, evalGeneral, valueOf } from './rank-eval.js';
import { monotoneShape, RANK_BOUNDS, unmatchedBound, type MonotoneShape, type Range } from './rank-bounds.js';
import { PREFIX_SCORE, type CompiledExpr, type Node, type ValueLeaf } from './text-expr.js';
import { postingsOf, type LooseHit, type TextStatistics } from './text-stats.js';
import type { SourceHit, TextSource } from './text-source.js';

interface Cursor {
  leaf: number;
  ords: Uint32Array;
  tfs: Uint32Array;
  pos: number;
  lens: Int32Array;
  ub: number;
}

/** Postings between two looks at a cancel flag (TextScorerOptions.cancel). */
const CANCEL_CHECK = 4096;

/** Thrown by scoring when its cancel flag is set (part-task.ts turns it into a cancelled answer). */
export class ScoringCancelled extends Error {
  constructor() {
    super('BM25 scoring cancelled');
  }
}

export interface TextScorerOptions {
  /** The top-k scored into (default: a ScoredHeap of k): a pool thread's TiesHeap (part-task.ts). */
  heap?: TopHeap;
  /** A flag in shared memory: scoring throws ScoringCancelled once it is set (checked every CANCEL_CHECK postings). */
  cancel?: Int32Array | null;
}

export class TextScorer {
  private readonly heap: TopHeap | null;
  private readonly top: ScoredHeap | null;
  private readonly cancel: Int32Array | null;
  private steps = 0;
  private readonly all: SourceHit[] = [];
  private readonly prune: boolean;
  /** A general expression's upper bound on rows no BM25 leaf matches, knowing no source's values (rank-bounds.ts). */
  private readonly unmatchedBound: number;
  /** Whether the unmatched rows' score is monotone in one Attribute (rank-bounds.ts): rows visited best first. */
  private readonly shape: MonotoneShape | null;
  /** Unmatched rows visited, and sources whose unmatched rows were all skipped by their bound (tests, benchmarks). */
  readonly work = { unmatchedRows: 0, sourcesSkipped: 0, walks: 0 };
  /** Scratch: per-leaf scores of the current document. */
  private readonly leafScores: Float64Array;
  /**
   * Per leaf, what leafScore() reads, hoisted into typed arrays: a few loads, so that TurboFan inlines it into the
   * scoring loops (a call it does not inline passes and returns each double boxed, a heap allocation per posting).
   */
  private readonly lIdf: Float64Array;
  private readonly lK1: Float64Array;
  private readonly lB: Float64Array;
  private readonly lAvg: Float64Array;
  private readonly lCoef: Float64Array;
  /** 1: the leaf is a prefix (it scores PREFIX_SCORE). */
  private readonly lPrefix: Uint8Array;
  /** The source being scored. */
  private s = -1;
  private src: TextSource | null = null;

  constructor(
    private readonly expr: CompiledExpr,
    private readonly stats: TextStatistics,
    private readonly k: number | null,
    opts: TextScorerOptions = {},
  ) {
    this.prune = expr.linear && k !== null;
    this.unmatchedBound = expr.general ? unmatchedBound(expr, () => null) : Infinity;
    this.shape = expr.general && k !== null ? monotoneShape(expr) : null;
    this.top = k === null || opts.heap !== undefined ? null : new ScoredHeap(k);
    this.heap = k === null ? null : (opts.heap ?? this.top);
    this.cancel = opts.cancel ?? null;
    const n = expr.leaves.length;
    this.leafScores = new Float64Array(n);
    this.lIdf = new Float64Array(n);
    this.lK1 = new Float64Array(n);
    this.lB = new Float64Array(n);
    this.lAvg = new Float64Array(n);
    this.lCoef = new Float64Array(n);
    this.lPrefix = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const leaf = expr.leaves[i]!;
      const st = stats.clauses[leaf.clause]!;
      this.lIdf[i] = stats.idf[i]!;
      this.lK1[i] = st.k1;
      this.lB[i] = st.b;
      this.lAvg[i] = st.avg;
      this.lCoef[i] = leaf.coef;
      this.lPrefix[i] = leaf.isPrefix ? 1 : 0;
    }
  }

  /** How source `s` is scored (its plan from the statistics pass), or null when it cannot hold a match. */
  scoredFrom(s: number): 'postings' | 'rows' | null {
    const p = this.stats.plans.get(s);
    if (p === undefined) return null;
    if (this.expr.values.length > 0) {
      // Attribute / filter leaves can match any live row: every source is scored, from its postings if they match.
      return p.kind === 'postings' && p.matches ? 'postings' : 'rows';
    }
    if (p.kind === 'postings') return p.matches ? 'postings' : null;
    // In-memory lists are the source's own: nothing to prepare but its ids and filter columns.
    if (p.kind === 'lists') return p.matches ? 'rows' : null;
    return p.hits.length > 0 ? 'rows' : null;
  }

  /**
   * Scores source `s`, prepared: a postings source with its postings and the lists the query names, any source with
   * its ids and the filter's columns. Returns the rows of `s` that matched when every match is asked for (k null), to
   * be read while the source is at hand; [] with k.
   */
  score(s: number, src: TextSource): SourceHit[] {
    const plan = this.stats.plans.get(s);
    if (plan === undefined) throw new ElaxError('ELAX_ERR_INTERNAL', `text source ${s} was scored without its statistics`);
    const from = this.all.length;
    this.s = s;
    this.src = src;
    try {
      if (this.expr.general) this.scoreGeneral(src, plan);
      else if (plan.kind === 'loose') for (const h of plan.hits) this.offer(h.ord, this.scoreLoose(h));
      else if (plan.kind === 'lists') {
        if (plan.matches) this.scoreSegment(src, plan.lens, plan.leaves, plan.base);
      } else if (plan.matches) this.scorePostings(src);
    } finally {
      this.src = null;
    }
    return this.heap === null ? this.all.slice(from) : [];
  }

  /** The best k (unsorted), or every match. */
  results(): SourceHit[] {
    return this.top ? this.top.items : this.all;
  }

  /** Throws ScoringCancelled when the cancel flag is set; looks every CANCEL_CHECK calls. */
  private tick(): void {
    if ((++this.steps & (CANCEL_CHECK - 1)) === 0 && Atomics.load(this.cancel!, 0) !== 0) throw new ScoringCancelled();
  }

  /**
   * The pool task scoring source `s` (part-task.ts), or null when it is scored here: a top-k query (k) whose
   * expression is BM25 / Sum / Max / Product, a source scored from its postings whose row lengths and the query's
   * lists are all in shared memory, and at least `minPostings` postings to score (below, a round trip to a thread
   * costs more than scoring). A source with a filter goes only with `allow`, the filter as a byte per row (1: the row
   * passes; a filter index's exact mask), copied, and tested on the thread where the filter would be here (after a
   * row reaches the top-k's threshold). A filter that reads rows stays here: run over every row of the query's lists
   * before the task left, it would cost the event loop more than scoring, which tests only the rows that reach the
   * threshold (bench/micro/bm25-pool.ts).
   */
  pooledInput(s: number, src: TextSource, minPostings: number, cancel: Int32Array | null, allow: Uint8Array | null = null): Bm25PartInput | null {
    const plan = this.stats.plans.get(s);
    if (this.heap === null || this.expr.general || plan?.kind !== 'postings' || !plan.matches) return null;
    if (src.filter !== null && (allow === null || allow.length < src.rows)) return null;
    const files = postingsOf(this.expr, src);
    if (files === null || files.some((f) => !isShared(f.docLens))) return null;
    const leaves: PartLeaf[] = [];
    const lists: PostingList[] = [];
    for (const leaf of this.expr.leaves) {
      const f = files[leaf.clause]!;
      if (!leaf.isPrefix) {
        const t = f.lookup(leaf.text);
        if (t < 0) leaves.push(null);
        else {
          const list = f.list(t);
          lists.push(list);
          leaves.push({ list, maxTf: f.maxTf[t]!, minLen: f.minLen[t]! });
        }
        continue;
      }
      const [start, end] = f.prefixRange(leaf.text);
      if (start === end) leaves.push(null);
      else if (end - start === 1) {
        const list = f.list(start);
        lists.push(list);
        leaves.push({ list, maxTf: f.maxTf[start]!, minLen: f.minLen[start]! });
      } else {
        const ls: PostingList[] = [];
        for (let i = start; i < end; i++) ls.push(f.list(i));
        lists.push(...ls);
        leaves.push({ lists: ls });
      }
    }
    let postings = 0;
    for (const l of lists) {
      if (!isShared(l.ords) || !isShared(l.tfs)) return null;
      postings += l.ords.length;
    }
    if (postings < minPostings) return null;
    const e = this.expr;
    return {
      expr: { leaves: e.leaves.map((l) => ({ ...l })), clauses: e.clauses.map((c) => ({ leaves: c.leaves })), root: e.root, linear: e.linear },
      clauses: this.stats.clauses.map((c) => ({ ...c })),
      idf: this.stats.idf,
      k: this.k!,
      floor: this.heap.threshold,
      rows: src.rows,
      lens: files.map((f) => f.docLens),
      leaves,
      skip: src.dead === null ? null : 4 * src.deadOrdinals.length < src.rows ? Int32Array.from(src.deadOrdinals) : src.dead.slice(0, src.rows),
      allow: src.filter === null ? null : allow!.slice(0, src.rows),
      cancel,
    };
  }

  /** Offers a pool task's answer for source `s` (prepared: its ids) to the top-k, as scoring it here would have. */
  offerPooled(s: number, src: TextSource, out: Bm25PartOutput): void {
    const heap = this.heap!;
    for (let j = 0; j < out.ords.length; j++) {
      const ord = out.ords[j]!;
      const score = out.scores[j]!;
      if (heap.accepts(score, () => src.id(ord))) heap.push({ source: s, ord, score, id: src.id(ord) });
    }
  }

  private scorePostings(src: TextSource): void {
    const files = postingsOf(this.expr, src);
    if (files === null) throw new ElaxError('ELAX_ERR_INTERNAL', `text source ${this.s} lost its postings between the statistics and the scoring pass`);
    const leaves = this.expr.leaves.map((leaf) => (leaf.isPrefix ? prefixLeaf(files[leaf.clause]!, leaf.text) : termLeaf(files[leaf.clause]!, leaf.text)));
    this.scoreSegment(
      src,
      files.map((f) => f.docLens),
      leaves,
      0,
    );
  }

  /**
   * The unweighted score of leaf `i` for tf (> 0) in a document of `len` tokens: bm25() of bm25.ts for a term,
   * PREFIX_SCORE for the prefix.
   */
  private leafScore(i: number, tf: number, len: number): number {
    if (this.lPrefix[i] === 1) return PREFIX_SCORE;
    const avg = this.lAvg[i]!;
    const k1 = this.lK1[i]!;
    const b = this.lB[i]!;
    const norm = avg > 0 ? len / avg : 0;
    return (this.lIdf[i]! * (tf * (k1 + 1))) / (tf + k1 * (1 - b + b * norm));
  }

  private evalNode(n: Node): number {
    switch (n.kind) {
      case 'clause': {
        let s = 0;
        for (const i of this.expr.clauses[n.clause]!.leaves) s += this.expr.leaves[i]!.mult * this.leafScores[i]!;
        return s;
      }
      case 'product':
        return n.weight * this.evalNode(n.child);
      case 'sum': {
        let s = 0;
        for (const c of n.children) s += this.evalNode(c);
        return s;
      }
      case 'max': {
        let s = this.evalNode(n.children[0]!);
        for (let j = 1; j < n.children.length; j++) s = Math.max(s, this.evalNode(n.children[j]!));
        return s;
      }
      default:
        throw new ElaxError('ELAX_ERR_INTERNAL', `text ranking: node '${n.kind}' belongs to a general expression (rank-eval.ts)`);
    }
  }

  /**
   * A general expression (text-expr.ts `general`, semantics in rank-eval.ts) over source `src`: its BM25 leaf scores
   * from the source's postings / lists / analysed rows, then the candidate rows evaluated one by one — the rows a
   * BM25 leaf matches first, then, when the expression has Attribute or filter leaves, the other live rows (only the
   * filter masks' rows when every such leaf is a masked filter) until none can reach the top k. The Attribute /
   * filter leaves read the row (src.row) only for those candidates.
   */
  private scoreGeneral(src: TextSource, plan: NonNullable<ReturnType<TextStatistics['plans']['get']>>): void {
    const nLeaves = this.expr.leaves.length;
    const byOrd = new Map<number, Float64Array>();
    const at = (o: number): Float64Array => {
      let a = byOrd.get(o);
      if (a === undefined) byOrd.set(o, (a = new Float64Array(nLeaves)));
      return a;
    };
    const fromLists = (lensOf: readonly Int32Array[], sourceLeaves: readonly SourceLeaf[], base: number): void => {
      for (let i = 0; i < sourceLeaves.length; i++) {
        const list = sourceLeaves[i]!.list;
        if (list === null) continue;
        const lens = lensOf[this.expr.leaves[i]!.clause]!;
        for (let j = 0; j < list.ords.length; j++) {
          const p = list.ords[j]!;
          const o = p - base;
          if (o < 0 || o >= src.rows) continue;
          at(o)[i] = this.leafScore(i, list.tfs[j]!, lens[p]!);
        }
      }
    };
    if (plan.kind === 'loose') {
      for (const h of plan.hits) {
        const a = at(h.ord);
        for (let i = 0; i < nLeaves; i++) {
          const tf = h.tfs[i]!;
          if (tf > 0) a[i] = this.leafScore(i, tf, h.lens[this.expr.leaves[i]!.clause]!);
        }
      }
    } else if (plan.kind === 'lists') {
      if (plan.matches) fromLists(plan.lens, plan.leaves, plan.base);
    } else if (plan.matches) {
      const files = postingsOf(this.expr, src);
      if (files === null) throw new ElaxError('ELAX_ERR_INTERNAL', `text source ${this.s} lost its postings between the statistics and the scoring pass`);
      const leaves = this.expr.leaves.map((leaf) => (leaf.isPrefix ? prefixLeaf(files[leaf.clause]!, leaf.text) : termLeaf(files[leaf.clause]!, leaf.text)));
      fromLists(
        files.map((f) => f.docLens),
        leaves,
        0,
      );
    }
    const values = this.expr.values;
    const zeros = new Float64Array(nLeaves);
    const dead = src.dead;
    const cache = new Array<number | undefined>(values.length);
    // done[i] === gen: leaf i was read for the current row (gen counts rows: no clearing per row).
    const done = new Float64Array(values.length).fill(-1);
    let gen = 0;
    let doc: Doc | null = null;
    let ord = -1;
    const rowOf =
      src.row?.bind(src) ??
      ((o: number): Doc => ({
        id: src.id(o),
        vector: null,
        attrs: new Proxy({} as Doc['attrs'], { get: (_, a) => (typeof a === 'string' ? src.value(a, o) : undefined) }),
      }));
    // Filter leaves a source's filter indexes answer (parts, RFC-0009): rows outside the mask do not match without
    // being read; inside an exact mask they match without being read either.
    const masks = values.map((v) => (v.kind === 'filter' && v.compileLeaf !== undefined && src.filterMask ? src.filterMask(v.source, v.compileLeaf) : null));
    const value = (i: number): number | undefined => {
      if (done[i] === gen) return cache[i];
      const m = masks[i];
      let v: number | undefined;
      if (m && m.mask[ord] !== 1) v = undefined;
      else if (m && m.exact) v = 1;
      else v = valueOf(values[i]!, (doc ??= rowOf(ord)));
      cache[i] = v;
      done[i] = gen;
      return v;
    };
    const visit = (o: number): void => {
      if (dead !== null && dead[o] === 1) return;
      ord = o;
      doc = null;
      gen++;
      const v = evalGeneral(this.expr, this.expr.root, byOrd.get(o) ?? zeros, value);
      if (v !== undefined && !Number.isNaN(v)) this.offer(o, v);
    };
    // The rows a BM25 leaf matches first, then (Attribute / filter leaves) the others — unless no row without a BM25
    // match can reach the top k any more: their score is bounded (rank-bounds.ts, from the source's value ranges when
    // it knows them: a part's column stats), and the heap's threshold only rises. Strict (<), so a row that could tie
    // with the k-th and win on its id is never skipped.
    for (const o of [...byOrd.keys()].sort((a, b) => a - b)) visit(o);
    if (values.length === 0) return;
    const heap = this.heap;
    const bound = src.attrRange && RANK_BOUNDS.enabled ? unmatchedBound(this.expr, (i) => rangeOf(values[i]!, src)) : this.unmatchedBound;
    const beaten = () => heap !== null && bound < heap.threshold;
    if (beaten()) {
      this.work.sourcesSkipped++;
      return;
    }
    const shape = this.shape;
    if (shape !== null && heap !== null && src.walkOrder && RANK_BOUNDS.enabled && walkable(values[shape.value]!, src)) {
      // Best first through the source's index of the attribute: stop at the first value whose score (that of every
      // row after it) is below the k-th score.
      const leaf = values[shape.value] as Extract<ValueLeaf, { kind: 'attr' }>;
      const num = (x: unknown): number | undefined => (typeof x === 'number' ? x : typeof x === 'bigint' ? Number(x) : typeof x === 'string' && leaf.datetime ? epochMs(x) : undefined);
      const seen = new Uint8Array(src.rows);
      const step =
        (side: ((v: number) => boolean) | null) =>
        (value: unknown, o: number): boolean => {
          const v = num(value);
          if (v !== undefined) {
            if (side !== null && !side(v)) return false;
            const f = shape.score(v);
            if (f !== undefined && f < heap.threshold) return false;
          }
          if (seen[o] === 1 || byOrd.has(o)) return true;
          seen[o] = 1;
          this.work.unmatchedRows++;
          visit(o);
          return true;
        };
      const walk = (desc: boolean, side: ((v: number) => boolean) | null) => src.walkOrder!(leaf.attr, desc, step(side));
      const o = shape.origin;
      // Outwards from the origin: the values at or above it ascending, then those below it descending.
      const atLeast = (x: unknown) => {
        const v = num(x);
        return v !== undefined && v >= o;
      };
      const outwards = (up: boolean) => src.walkFrom !== undefined && src.walkFrom(leaf.attr, atLeast, up, step(null));
      const walked =
        shape.shape === 'up'
          ? walk(true, null)
          : shape.shape === 'down'
            ? walk(false, null)
            : shape.shape === 'vup'
              ? walk(true, (v) => v >= o) && walk(false, (v) => v < o)
              : outwards(true) && outwards(false);
      if (walked) {
        this.work.walks++;
        return;
      }
    }
    let cand: Uint8Array | null = null;
    if (masks.every((m) => m !== null)) {
      // Every value leaf is a filter its mask bounds: the other candidates are the masks' rows.
      cand = new Uint8Array(src.rows);
      for (const m of masks) for (let o = 0; o < src.rows; o++) cand[o] |= m!.mask[o]!;
    }
    for (let o = 0; o < src.rows; o++) {
      if ((cand !== null && cand[o] !== 1) || byOrd.has(o)) continue;
      if (beaten()) return;
      this.work.unmatchedRows++;
      visit(o);
    }
  }

  private scoreLoose(h: LooseHit): number {
    const leaves = this.expr.leaves;
    for (let i = 0; i < leaves.length; i++) {
      const tf = h.tfs[i]!;
      this.leafScores[i] = tf > 0 ? this.leafScore(i, tf, h.lens[leaves[i]!.clause]!) : 0;
    }
    return this.finalScore();
  }

  /**
   * The score of the document whose leaf scores are in leafScores, always summed in the same order, so identical
   * documents get bit-identical scores wherever they live (ties are then decided by id, as they must be).
   */
  private finalScore(): number {
    if (!this.prune) return this.evalNode(this.expr.root);
    const leaves = this.expr.leaves;
    let s = 0;
    for (let i = 0; i < leaves.length; i++) s += leaves[i]!.coef * this.leafScores[i]!;
    return s;
  }

  private passes(ord: number): boolean {
    const f = this.src!.filter;
    return f === null || f(ord);
  }

  /**
   * Offers a row the expression matches: it is ranked whatever its score (rank-eval.ts), e.g. 0 under ["Product", 0,
   * ...]. Only matched rows are ever offered (a posting, an analysed hit, a general expression's match).
   */
  private offer(ord: number, score: number): void {
    const src = this.src!;
    if (this.heap) {
      if (!this.heap.accepts(score, () => src.id(ord))) return;
      if (!this.passes(ord)) return;
      this.heap.push({ source: this.s, ord, score, id: src.id(ord) });
    } else if (this.passes(ord)) {
      this.all.push({ source: this.s, ord, score, id: src.id(ord) });
    }
  }

  /**
   * Top-k over one posting list (a one-term query, or one term of the query present in this source). Max-score has
   * nothing to skip here — the only list is always essential — so what matters is the cost per posting: the BM25
   * arithmetic of leafScore() inlined with the statistics hoisted, and the heap touched only by documents that
   * reach its current threshold. The expression is leafScore()'s, term for term, and the final score is what
   * finalScore() sums when this is the only non-zero leaf, so a document scores bit-identically on every path.
   */
  private scoreSingleList(c: Cursor, dead: Uint8Array | null, base: number): void {
    const heap = this.heap!;
    const leaf = this.expr.leaves[c.leaf]!;
    const st = this.stats.clauses[leaf.clause]!;
    const idf = this.stats.idf[c.leaf]!;
    const coef = leaf.coef;
    const { k1, b, avg } = st;
    const { ords, tfs, lens } = c;
    let t = heap.threshold;
    const cancel = this.cancel;
    if (leaf.isPrefix) {
      // Every match scores coef × PREFIX_SCORE: ties all the way, decided by id in offer().
      const score = coef * PREFIX_SCORE;
      for (let j = 0; j < ords.length; j++) {
        if (cancel !== null && (j & (CANCEL_CHECK - 1)) === 0 && Atomics.load(cancel, 0) !== 0) throw new ScoringCancelled();
        const d = ords[j]! - base;
        if (dead !== null && dead[d] === 1) continue;
        if (score < t) return;
        this.offer(d, score);
        t = heap.threshold;
      }
      return;
    }
    for (let j = 0; j < ords.length; j++) {
      if (cancel !== null && (j & (CANCEL_CHECK - 1)) === 0 && Atomics.load(cancel, 0) !== 0) throw new ScoringCancelled();
      const p = ords[j]!;
      const d = p - base;
      if (dead !== null && dead[d] === 1) continue;
      const tf = tfs[j]!;
      const norm = avg > 0 ? lens[p]! / avg : 0;
      const ls = (idf * (tf * (k1 + 1))) / (tf + k1 * (1 - b + b * norm));
      // finalScore() with every other leaf score 0 is exactly coef × ls (adding zeros changes no bit).
      const score = coef * ls;
      if (score < t) continue;
      this.offer(d, score);
      t = heap.threshold;
    }
  }

  /**
   * Scores a source from posting lists: a part's (`base` 0), or the WAL tail's in-memory lists, whose ordinals are the
   * source's plus `base` (a carried-over tail reads its store's lists without copying them). Cursors and `lens` (per
   * clause, by list ordinal) work on list ordinals; the dead mask, the filter and the hits on the source's.
   */
  private scoreSegment(src: TextSource, lensOf: readonly Int32Array[], sourceLeaves: readonly SourceLeaf[], base: number): void {
    const leaves = this.expr.leaves;
    // Cursors over the leaves that occur in this source.
    const cur: Cursor[] = [];
    for (let i = 0; i < sourceLeaves.length; i++) {
      const sl = sourceLeaves[i]!;
      if (sl.list === null || sl.list.ords.length === 0) continue;
      const lens = lensOf[leaves[i]!.clause]!;
      // Upper bound: bm25 grows with tf and shrinks with length. The tiny factor absorbs rounding.
      const ub = this.prune ? leaves[i]!.coef * this.leafScore(i, sl.maxTf, sl.minLen) * (1 + 1e-9) : 0;
      cur.push({ leaf: i, ords: sl.list.ords, tfs: sl.list.tfs, pos: 0, lens, ub });
    }
    if (cur.length === 0) return;
    const dead = src.dead;
    const cancel = this.cancel;
    if (!this.prune) {
      // Every matching document: document-at-a-time over the union, leaf scores into the expression.
      for (;;) {
        if (cancel !== null) this.tick();
        let d = Infinity;
        for (const c of cur) if (c.pos < c.ords.length && c.ords[c.pos]! < d) d = c.ords[c.pos]!;
        if (d === Infinity) return;
        this.leafScores.fill(0);
        for (const c of cur) {
          if (c.pos < c.ords.length && c.ords[c.pos] === d) {
            this.leafScores[c.leaf] = this.leafScore(c.leaf, c.tfs[c.pos]!, c.lens[d]!);
            c.pos++;
          }
        }
        if (dead !== null && dead[d - base] === 1) continue;
        this.offer(d - base, this.finalScore());
      }
    }
    if (cur.length === 1) return this.scoreSingleList(cur[0]!, dead, base);
    this.scoreMaxScore(cur, dead, base);
  }

  /**
   * Max-score over several cursors (the class comment). The heap's threshold is read again only after an offer (the
   * only thing that raises it), and the final score is summed here (finalScore's canonical order) before a document
   * is offered, so the loop calls out only for documents that can enter.
   */
  private scoreMaxScore(cur: Cursor[], dead: Uint8Array | null, base: number): void {
    // Cursors by bound ascending; cum[i] = sum of the bounds of cursors 0..i.
    cur.sort((a, b) => a.ub - b.ub);
    const m = cur.length;
    const cum = new Float64Array(m);
    let acc = 0;
    for (let i = 0; i < m; i++) cum[i] = acc += cur[i]!.ub;
    const heap = this.heap!;
    const cancel = this.cancel;
    const lCoef = this.lCoef;
    const nLeaves = lCoef.length;
    let t = heap.threshold;
    let essential = 0;
    while (essential < m && cum[essential]! < t) essential++;
    const scores = this.leafScores;
    scores.fill(0);
    while (essential < m) {
      if (cancel !== null) this.tick();
      let d = Infinity;
      for (let i = essential; i < m; i++) {
        const c = cur[i]!;
        if (c.pos < c.ords.length && c.ords[c.pos]! < d) d = c.ords[c.pos]!;
      }
      if (d === Infinity) return;
      const isDead = dead !== null && dead[d - base] === 1;
      // Partial score for the pruning decisions; the final score is summed in canonical order (finalScore).
      let partial = 0;
      for (let i = essential; i < m; i++) {
        const c = cur[i]!;
        if (c.pos < c.ords.length && c.ords[c.pos] === d) {
          if (!isDead) {
            const ls = this.leafScore(c.leaf, c.tfs[c.pos]!, c.lens[d]!);
            scores[c.leaf] = ls;
            partial += lCoef[c.leaf]! * ls;
          }
          c.pos++;
        }
      }
      if (isDead) continue;
      let pruned = false;
      for (let i = essential - 1; i >= 0; i--) {
        if (partial + cum[i]! < t) {
          pruned = true;
          break;
        }
        const c = cur[i]!;
        c.pos = seek(c.ords, c.pos, d);
        if (c.pos < c.ords.length && c.ords[c.pos] === d) {
          const ls = this.leafScore(c.leaf, c.tfs[c.pos]!, c.lens[d]!);
          scores[c.leaf] = ls;
          partial += lCoef[c.leaf]! * ls;
        }
      }
      if (!pruned) {
        // finalScore() inline (prune is on here: the canonical sum of coef × leaf score), and offered only when it
        // can enter (not below the threshold; a tie is decided by id in offer()).
        let score = 0;
        for (let l = 0; l < nLeaves; l++) score += lCoef[l]! * scores[l]!;
        if (!(score < t)) {
          this.offer(d - base, score);
          t = heap.threshold;
          while (essential < m && cum[essential]! < t) essential++;
        }
      }
      for (let i = 0; i < m; i++) scores[cur[i]!.leaf] = 0;
    }
  }
}

const isShared = (a: ArrayBufferView) => typeof SharedArrayBuffer === 'function' && a.buffer instanceof SharedArrayBuffer;

/**
 * Whether a walk of the leaf's index visits its values in numeric order: numbers do; datetimes (stored as canonical
 * `toISOString()` strings, sorted as strings) do when the part's smallest and largest are canonical with a 4-digit
 * year (then every value between them is too).
 */
function walkable(leaf: ValueLeaf, src: TextSource): boolean {
  if (leaf.kind !== 'attr' || !leaf.datetime) return true;
  const r = src.attrRange?.(leaf.attr);
  const canonical = (x: unknown) => typeof x === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(x);
  return !!r && canonical(r.min) && canonical(r.max);
}

/** A value leaf's range in a source: an Attribute's min and max as numbers (datetimes in epoch ms), else null. */
function rangeOf(leaf: ValueLeaf, src: TextSource): Range | null {
  if (leaf.kind !== 'attr' || leaf.attr === 'id') return null;
  const r = src.attrRange?.(leaf.attr);
  if (!r) return null;
  // Datetimes: canonical strings sort as their instants when every one has a 4-digit year (a signed or longer year
  // sorts before the digits, so it would be the min).
  const num = (x: number | string) => (typeof x === 'number' ? x : leaf.datetime && /^\d{4}-/.test(x) ? epochMs(x) : undefined);
  const lo = num(r.min);
  const hi = num(r.max);
  return lo === undefined || hi === undefined || !(lo <= hi) ? null : { lo, hi };
}
