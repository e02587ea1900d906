/**
 * Evaluating a text rank expression over a TextCorpus: namespace-wide BM25 statistics, postings-driven scoring of
 * indexed segments, analysis-driven scoring of loose documents, and max-score pruning for top-k.
 *
 * An expression compiles to clauses (one per BM25 clause: attribute, analysis, k1, b) and leaves (one per distinct
 * query term of a clause, plus the last_as_prefix pseudo-term). A term leaf's score in a document is
 * bm25(tf, df, len, avgLen, N) times its query-term weight (k3 + 1)·qtf / (k3 + qtf) with k3 = 8, qtf its number
 * of occurrences in the query (turbopuffer: "k3 controls the saturation point for query term frequency", default
 * 8.0; one occurrence weighs exactly 1). The prefix leaf scores a constant 1.0 in every document holding a term
 * that starts with the prefix (turbopuffer: "`BM25` prefix matches are assigned a score of `1.0`"), whatever the
 * tf or the length. Statistics per clause (N, avgLen) and per term leaf (df) are summed over the live documents
 * of every source (docs/ARCHITECTURE.md, fts/):
 *   - indexed segment: the postings file's totals minus the dead rows' share (docLens of dead ordinals; dead
 *     entries of the term's posting list);
 *   - loose documents: counted from their analysed text.
 *
 * Top-k (max-score, Turtle & Flood 1995): when the expression is a positive linear combination of leaves (BM25
 * clauses under Sum and Product with positive weights), each leaf has a per-segment upper bound (its maximal tf in
 * the shortest document containing it). Leaves are sorted by bound; the ones whose bounds together cannot reach the
 * current k-th score are "non-essential": documents are only enumerated from the essential leaves' postings, and a
 * candidate's non-essential leaves are looked up only while its score can still reach the threshold. Pruning is
 * strict (bound < threshold), so ties with the k-th document (broken by id) are never lost. Max and non-positive
 * weights fall back to scoring every matching document.
 */
import { compareIds, type AttrValue, type Doc, type FullTextConfig, type Id } from '../core/index.js';
import { analyzerFor, type QueryTerms, type TextAnalyzer } from './analyzer.js';
import { analysisKey } from './config.js';
import type { TextCorpus } from './corpus.js';
import { docTermsReader, valueTerms, type DocTerms, type DocTermsReader } from './doc-terms.js';
import type { PostingList, PostingsFile } from './postings.js';

export type TextRankExpr =
  | { kind: 'bm25'; attr: string; config: FullTextConfig; query: QueryTerms }
  | { kind: 'sum'; children: TextRankExpr[] }
  | { kind: 'max'; children: TextRankExpr[] }
  | { kind: 'product'; weight: number; child: TextRankExpr };

interface Clause {
  attr: string;
  config: FullTextConfig;
  analysis: string;
  analyzer: TextAnalyzer;
  read: DocTermsReader;
  /** Leaf indexes of the clause. */
  leaves: number[];
}

/**
 * A source of rows for scoring, addressed by ordinal: a part (postings, dead rows) or loose rows (the tail, a part
 * whose postings cannot serve the query). Rows are referred to as refs: source index × REF_SHIFT + ordinal.
 */
export interface TextSource {
  readonly rows: number;
  /** Postings of `attr` built with `analysis`, or null (then the live rows are analysed). */
  postings(attr: string, analysis: string): PostingsFile | null;
  /** 1 = dead; null when every row is live. */
  readonly dead: Uint8Array | null;
  /** Dead ordinals, ascending (the same array until liveness changes: statistics are cached on it). */
  readonly deadOrdinals: readonly number[];
  id(ord: number): Id;
  /** The value of a text attribute (analysed when the source has no postings for it). */
  value(attr: string, ord: number): AttrValue | undefined;
  /** Rows the query's filters accept (null: all). */
  readonly filter: ((ord: number) => boolean) | null;
}

/** A scored row of a TextSource list. */
export interface SourceHit {
  source: number;
  ord: number;
  score: number;
}

const REF_SHIFT = 2 ** 32;

/** BM25's query-term saturation parameter: turbopuffer's documented default, 8.0 (not configurable there either). */
export const BM25_K3 = 8;

/** The weight of a term that occurs `qtf` times in the query: (k3 + 1)·qtf / (k3 + qtf); 1 for a single occurrence. */
export function qtfWeight(qtf: number): number {
  return ((BM25_K3 + 1) * qtf) / (BM25_K3 + qtf);
}

/** The score of a last_as_prefix match, whatever the term frequency or document length (turbopuffer's docs). */
export const PREFIX_SCORE = 1;

interface Leaf {
  clause: number;
  /** A term, or (isPrefix) the prefix: any term starting with it is a match, scored PREFIX_SCORE. */
  text: string;
  isPrefix: boolean;
  /** The query-term weight: qtfWeight(occurrences of the term in the query); 1 for the prefix. */
  mult: number;
  /** mult × the Product weights above the clause: the leaf's weight in a linear expression. */
  coef: number;
}

type Node = { kind: 'clause'; clause: number } | { kind: 'sum' | 'max'; children: Node[] } | { kind: 'product'; weight: number; child: Node };

export interface Scored {
  doc: Doc;
  score: number;
}

export interface CompiledTextRank {
  evaluate(corpus: TextCorpus, filter: ((doc: Doc) => boolean) | undefined, k: number | null): Scored[];
  /** The same over sources by ordinal (segments: RFC-0004 §6); only the returned rows are ever documents. */
  evaluateSources(sources: readonly TextSource[], k: number | null): SourceHit[];
}

/** The corpus API over document arrays, as sources: its segments, then its loose documents. */
function corpusSources(corpus: TextCorpus, filter: ((doc: Doc) => boolean) | undefined): { sources: TextSource[]; docs: (readonly Doc[])[] } {
  const docs: (readonly Doc[])[] = [];
  const sources: TextSource[] = [];
  const add = (rows: readonly Doc[], postings: TextSource['postings'], dead: Uint8Array | null, deadOrdinals: readonly number[]) => {
    docs.push(rows);
    sources.push({
      rows: rows.length,
      postings,
      dead,
      deadOrdinals,
      id: (o) => rows[o]!.id,
      value: (attr, o) => rows[o]!.attrs[attr],
      filter: filter ? (o) => filter(rows[o]!) : null,
    });
  };
  for (const seg of corpus.segments) add(seg.docs, (a, an) => seg.postings(a, an), seg.dead, seg.deadOrdinals);
  add(corpus.loose, () => null, null, []);
  return { sources, docs };
}

export function compileTextRank(expr: TextRankExpr): CompiledTextRank {
  const clauses: Clause[] = [];
  const leaves: Leaf[] = [];
  let linear = true;
  const build = (e: TextRankExpr, weight: number): Node => {
    switch (e.kind) {
      case 'bm25': {
        const c = clauses.length;
        const analyzer = analyzerFor(e.config);
        const clause: Clause = { attr: e.attr, config: e.config, analysis: analysisKey(e.config), analyzer, read: docTermsReader(e.attr, analyzer), leaves: [] };
        const mult = new Map<string, number>();
        for (const t of e.query.terms) mult.set(t, (mult.get(t) ?? 0) + 1);
        for (const [t, m] of mult) {
          clause.leaves.push(leaves.length);
          const w = qtfWeight(m);
          leaves.push({ clause: c, text: t, isPrefix: false, mult: w, coef: w * weight });
        }
        if (e.query.prefix !== null) {
          clause.leaves.push(leaves.length);
          leaves.push({ clause: c, text: e.query.prefix, isPrefix: true, mult: 1, coef: weight });
        }
        clauses.push(clause);
        return { kind: 'clause', clause: c };
      }
      case 'product':
        if (!(e.weight > 0)) linear = false;
        return { kind: 'product', weight: e.weight, child: build(e.child, weight * e.weight) };
      case 'sum':
      case 'max':
        if (e.kind === 'max' && e.children.length > 1) linear = false;
        return { kind: e.kind, children: e.children.map((c) => build(c, weight)) };
    }
  };
  const root = build(expr, 1);
  return {
    evaluate: (corpus, filter, k) => {
      const { sources, docs } = corpusSources(corpus, filter);
      const docOf = (s: number, o: number) => docs[s]![o]!;
      return new Evaluation(clauses, leaves, root, linear && k !== null, sources, k, docOf).run().map((h) => ({ doc: docOf(h.source, h.ord), score: h.score }));
    },
    evaluateSources: (sources, k) => new Evaluation(clauses, leaves, root, linear && k !== null, sources, k, null).run(),
  };
}

/** Per-query statistics of a clause. */
interface ClauseStats {
  docCount: number;
  totalTokens: number;
  avg: number;
  k1: number;
  b: number;
}

/** A leaf's postings in one segment: the list (null when the term is absent) and its bound inputs. */
interface SegmentLeaf {
  list: PostingList | null;
  maxTf: number;
  minLen: number;
}

/** The analysed hits of one loose row: its text length per clause (-1: no text) and tf per leaf. */
interface LooseHit {
  ref: number;
  lens: Float64Array;
  tfs: Float64Array;
}

interface RefScored {
  ref: number;
  score: number;
}

const deadStatsCache = new WeakMap<readonly number[], Map<string, { docs: number; tokens: number }>>();

/** Ordinals are ascending: the first index in `ords` at or after `from` whose value is >= target. */
function seek(ords: Uint32Array, from: number, target: number): number {
  let lo = from;
  let hi = ords.length;
  // Gallop first: a cursor usually moves a short distance.
  let step = 1;
  while (lo + step < hi && ords[lo + step]! < target) {
    lo += step;
    step *= 2;
  }
  hi = Math.min(hi, lo + step + 1);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ords[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Union of the posting lists of terms [start, end) with tfs summed: the last_as_prefix pseudo-term. */
function mergePrefix(file: PostingsFile, start: number, end: number): SegmentLeaf {
  if (start === end) return { list: null, maxTf: 0, minLen: 0 };
  if (end - start === 1) return { list: file.list(start), maxTf: file.maxTf[start]!, minLen: file.minLen[start]! };
  const acc = new Map<number, number>();
  for (let i = start; i < end; i++) {
    const l = file.list(i);
    for (let j = 0; j < l.ords.length; j++) acc.set(l.ords[j]!, (acc.get(l.ords[j]!) ?? 0) + l.tfs[j]!);
  }
  const ords = Uint32Array.from(acc.keys()).sort();
  const tfs = new Uint32Array(ords.length);
  let maxTf = 0;
  let minLen = Infinity;
  for (let j = 0; j < ords.length; j++) {
    tfs[j] = acc.get(ords[j]!)!;
    if (tfs[j]! > maxTf) maxTf = tfs[j]!;
    const len = file.docLens[ords[j]!]!;
    if (len < minLen) minLen = len;
  }
  return { list: { ords, tfs }, maxTf, minLen };
}

/** Top-k by score descending, ties by id ascending; the worst kept entry at the root. */
class ScoredHeap {
  readonly items: RefScored[] = [];
  constructor(
    readonly k: number,
    private readonly idOf: (ref: number) => Id,
  ) {}
  private worse(a: RefScored, b: RefScored): boolean {
    return a.score < b.score || (a.score === b.score && compareIds(this.idOf(a.ref), this.idOf(b.ref)) > 0);
  }
  /** The score a candidate must reach (ties decided by id); -Infinity until full. */
  get threshold(): number {
    return this.items.length < this.k ? -Infinity : this.items[0]!.score;
  }
  accepts(score: number, ref: number): boolean {
    if (this.items.length < this.k) return true;
    const w = this.items[0]!;
    return score > w.score || (score === w.score && compareIds(this.idOf(ref), this.idOf(w.ref)) < 0);
  }
  push(s: RefScored): void {
    const h = this.items;
    if (h.length < this.k) {
      h.push(s);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.worse(h[i]!, h[p]!)) break;
        [h[i], h[p]] = [h[p]!, h[i]!];
        i = p;
      }
      return;
    }
    h[0] = s;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && this.worse(h[r]!, h[l]!) ? r : l;
      if (!this.worse(h[c]!, h[i]!)) break;
      [h[i], h[c]] = [h[c]!, h[i]!];
      i = c;
    }
  }
}

class Evaluation {
  private readonly stats: ClauseStats[];
  private readonly df: Float64Array;
  private readonly idf: Float64Array;
  /** Sources scored from postings, with each leaf's postings; the others' live rows are analysed (loose). */
  private readonly indexed: Array<{ s: number; seg: TextSource; files: PostingsFile[]; leaves: SegmentLeaf[] }> = [];
  private readonly looseHits: LooseHit[] = [];
  private readonly heap: ScoredHeap | null;
  private readonly all: RefScored[] = [];
  private readonly idOf: (ref: number) => Id;
  /** Scratch: per-leaf scores of the current document (non-linear evaluation). */
  private readonly leafScores: Float64Array;

  constructor(
    private readonly clauses: Clause[],
    private readonly leaves: Leaf[],
    private readonly root: Node,
    private readonly prune: boolean,
    private readonly sources: readonly TextSource[],
    k: number | null,
    /** Documents behind the refs when the caller has them (the corpus API): their analyses are cached per Doc. */
    private readonly docOf: ((s: number, o: number) => Doc) | null,
  ) {
    this.stats = clauses.map((c) => ({ docCount: 0, totalTokens: 0, avg: 0, k1: c.config.k1, b: c.config.b }));
    this.df = new Float64Array(leaves.length);
    this.idf = new Float64Array(leaves.length);
    this.leafScores = new Float64Array(leaves.length);
    this.idOf = (ref) => {
      const s = Math.floor(ref / REF_SHIFT);
      return sources[s]!.id(ref - s * REF_SHIFT);
    };
    this.heap = k === null ? null : new ScoredHeap(k, this.idOf);
  }

  /** The analysed terms of a clause's attribute in a loose row. */
  private terms(c: Clause, s: number, o: number): DocTerms | null {
    if (this.docOf !== null) return c.read(this.docOf(s, o));
    return valueTerms(this.sources[s]!.value(c.attr, o), c.analyzer);
  }

  run(): SourceHit[] {
    if (this.leaves.length === 0) return []; // nothing to match (e.g. only stop words)
    this.collect();
    for (let c = 0; c < this.clauses.length; c++) {
      const s = this.stats[c]!;
      s.avg = s.docCount > 0 ? s.totalTokens / s.docCount : 0;
    }
    for (let i = 0; i < this.leaves.length; i++) {
      const n = this.stats[this.leaves[i]!.clause]!.docCount;
      const df = this.df[i]!;
      this.idf[i] = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    }
    for (const h of this.looseHits) this.offer(h.ref, this.scoreLoose(h));
    for (const s of this.indexed) this.scoreSegment(s.s, s.seg, s.files, s.leaves);
    const out = this.heap ? this.heap.items : this.all;
    return out.map((r) => {
      const s = Math.floor(r.ref / REF_SHIFT);
      return { source: s, ord: r.ref - s * REF_SHIFT, score: r.score };
    });
  }

  /** Statistics over every live document, and the inputs of scoring. */
  private collect(): void {
    const loose: number[] = [];
    this.sources.forEach((seg, s) => {
      const files: PostingsFile[] = [];
      for (const c of this.clauses) {
        const f = seg.postings(c.attr, c.analysis);
        if (f === null || f.rows !== seg.rows) break;
        files.push(f);
      }
      if (files.length < this.clauses.length) {
        // No usable postings for some clause (the tail, or a part built with another analysis): analyse its live rows.
        const dead = seg.dead;
        for (let o = 0; o < seg.rows; o++) if (dead === null || dead[o] === 0) loose.push(s * REF_SHIFT + o);
        return;
      }
      const segLeaves: SegmentLeaf[] = [];
      for (let c = 0; c < this.clauses.length; c++) {
        const file = files[c]!;
        const dead = this.deadStats(seg, this.clauses[c]!, file);
        const st = this.stats[c]!;
        st.docCount += file.header.docCount - dead.docs;
        st.totalTokens += file.header.totalTokens - dead.tokens;
      }
      for (let i = 0; i < this.leaves.length; i++) {
        const leaf = this.leaves[i]!;
        const file = files[leaf.clause]!;
        let sl: SegmentLeaf;
        if (leaf.isPrefix) {
          const [start, end] = file.prefixRange(leaf.text);
          sl = mergePrefix(file, start, end);
        } else {
          const t = file.lookup(leaf.text);
          sl = t < 0 ? { list: null, maxTf: 0, minLen: 0 } : { list: file.list(t), maxTf: file.maxTf[t]!, minLen: file.minLen[t]! };
        }
        segLeaves.push(sl);
        // A prefix match scores a constant: its document frequency is never needed.
        if (sl.list !== null && !leaf.isPrefix) this.df[i]! += sl.list.ords.length - this.deadEntries(seg, sl.list);
      }
      this.indexed.push({ s, seg, files, leaves: segLeaves });
    });
    for (const ref of loose) this.collectLoose(ref);
  }

  /** The dead rows' share of a clause's docCount and totalTokens in one segment (cached per liveness state). */
  private deadStats(seg: TextSource, clause: Clause, file: PostingsFile): { docs: number; tokens: number } {
    const deadOrds = seg.deadOrdinals;
    if (deadOrds.length === 0) return { docs: 0, tokens: 0 };
    let perAttr = deadStatsCache.get(deadOrds);
    if (perAttr === undefined) deadStatsCache.set(deadOrds, (perAttr = new Map()));
    const key = `${clause.attr}\u0000${clause.analysis}`;
    let s = perAttr.get(key);
    if (s === undefined) {
      s = { docs: 0, tokens: 0 };
      for (const ord of deadOrds) {
        const len = file.docLens[ord]!;
        if (len >= 0) {
          s.docs++;
          s.tokens += len;
        }
      }
      perAttr.set(key, s);
    }
    return s;
  }

  /** Dead entries of a posting list: probe the dead ordinals or scan the list, whichever is shorter. */
  private deadEntries(seg: TextSource, list: PostingList): number {
    const deadOrds = seg.deadOrdinals;
    const dead = seg.dead;
    if (dead === null || deadOrds.length === 0) return 0;
    let n = 0;
    if (deadOrds.length * 8 < list.ords.length) {
      let pos = 0;
      for (const ord of deadOrds) {
        pos = seek(list.ords, pos, ord);
        if (pos < list.ords.length && list.ords[pos] === ord) n++;
      }
    } else {
      for (let j = 0; j < list.ords.length; j++) n += dead[list.ords[j]!]!;
    }
    return n;
  }

  private collectLoose(ref: number): void {
    const s = Math.floor(ref / REF_SHIFT);
    const o = ref - s * REF_SHIFT;
    let lens: Float64Array | null = null;
    let tfs: Float64Array | null = null;
    const seen: (DocTerms | null)[] = [];
    for (let c = 0; c < this.clauses.length; c++) {
      const clause = this.clauses[c]!;
      const dt = this.terms(clause, s, o);
      seen.push(dt);
      if (dt === null) continue;
      const st = this.stats[c]!;
      st.docCount++;
      st.totalTokens += dt.tokens.length;
      for (const i of clause.leaves) {
        const leaf = this.leaves[i]!;
        const tf = leaf.isPrefix ? dt.prefixCount(leaf.text) : dt.count(leaf.text);
        if (tf > 0) {
          if (!leaf.isPrefix) this.df[i]!++;
          if (tfs === null) {
            tfs = new Float64Array(this.leaves.length);
            lens = new Float64Array(this.clauses.length).fill(-1);
          }
          tfs[i] = tf;
        }
      }
      if (lens !== null) lens[c] = dt.tokens.length;
    }
    if (tfs !== null) {
      // Lengths of clauses evaluated before the first hit were not recorded yet.
      for (let c = 0; c < this.clauses.length; c++) if (lens![c]! < 0) lens![c] = seen[c]?.tokens.length ?? -1;
      this.looseHits.push({ ref, lens: lens!, tfs });
    }
  }

  /**
   * The unweighted score of leaf `i` for tf (> 0) in a document of `len` tokens: bm25() of bm25.ts for a term,
   * PREFIX_SCORE for the prefix.
   */
  private leafScore(i: number, tf: number, len: number): number {
    const leaf = this.leaves[i]!;
    if (leaf.isPrefix) return PREFIX_SCORE;
    const st = this.stats[leaf.clause]!;
    const norm = st.avg > 0 ? len / st.avg : 0;
    return (this.idf[i]! * (tf * (st.k1 + 1))) / (tf + st.k1 * (1 - st.b + st.b * norm));
  }

  private evalNode(n: Node): number {
    switch (n.kind) {
      case 'clause': {
        let s = 0;
        for (const i of this.clauses[n.clause]!.leaves) s += this.leaves[i]!.mult * this.leafScores[i]!;
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
    }
  }

  private scoreLoose(h: LooseHit): number {
    for (let i = 0; i < this.leaves.length; i++) {
      const tf = h.tfs[i]!;
      this.leafScores[i] = tf > 0 ? this.leafScore(i, tf, h.lens[this.leaves[i]!.clause]!) : 0;
    }
    return this.finalScore();
  }

  /**
   * The score of the document whose leaf scores are in leafScores, always summed in the same order, so identical
   * documents get bit-identical scores wherever they live (ties are then decided by id, as they must be).
   */
  private finalScore(): number {
    if (!this.prune) return this.evalNode(this.root);
    let s = 0;
    for (let i = 0; i < this.leaves.length; i++) s += this.leaves[i]!.coef * this.leafScores[i]!;
    return s;
  }

  /**
   * Top-k over one posting list (a one-term query, or one term of the query present in this part). Max-score has
   * nothing to skip here — the only list is always essential — so what matters is the cost per posting: the BM25
   * arithmetic of leafScore() inlined with the statistics hoisted, and the heap touched only by documents that
   * reach its current threshold. The expression is leafScore()'s, term for term, and the final score is what
   * finalScore() sums when this is the only non-zero leaf, so a document scores bit-identically on every path.
   */
  private scoreSingleList(c: { leaf: number; ords: Uint32Array; tfs: Uint32Array; lens: Int32Array }, dead: Uint8Array | null, base: number): void {
    const heap = this.heap!;
    const leaf = this.leaves[c.leaf]!;
    const st = this.stats[leaf.clause]!;
    const idf = this.idf[c.leaf]!;
    const coef = leaf.coef;
    const { k1, b, avg } = st;
    const { ords, tfs, lens } = c;
    let t = heap.threshold;
    if (leaf.isPrefix) {
      // Every match scores coef × PREFIX_SCORE: ties all the way, decided by id in offer().
      const score = coef * PREFIX_SCORE;
      for (let j = 0; j < ords.length; j++) {
        const d = ords[j]!;
        if (dead !== null && dead[d] === 1) continue;
        if (score < t) return;
        this.offer(base + d, score);
        t = heap.threshold;
      }
      return;
    }
    for (let j = 0; j < ords.length; j++) {
      const d = ords[j]!;
      if (dead !== null && dead[d] === 1) continue;
      const tf = tfs[j]!;
      const norm = avg > 0 ? lens[d]! / avg : 0;
      const ls = (idf * (tf * (k1 + 1))) / (tf + k1 * (1 - b + b * norm));
      // finalScore() with every other leaf score 0 is exactly coef × ls (adding zeros changes no bit).
      const score = coef * ls;
      if (score < t) continue;
      this.offer(base + d, score);
      t = heap.threshold;
    }
  }

  private passes(ref: number): boolean {
    const s = Math.floor(ref / REF_SHIFT);
    const f = this.sources[s]!.filter;
    return f === null || f(ref - s * REF_SHIFT);
  }

  private offer(ref: number, score: number): void {
    if (!(score > 0)) return;
    if (this.heap) {
      if (!this.heap.accepts(score, ref)) return;
      if (!this.passes(ref)) return;
      this.heap.push({ ref, score });
    } else if (this.passes(ref)) {
      this.all.push({ ref, score });
    }
  }

  private scoreSegment(s: number, seg: TextSource, files: PostingsFile[], segLeaves: SegmentLeaf[]): void {
    // Cursors over the leaves that occur in this segment.
    const cur: Array<{ leaf: number; ords: Uint32Array; tfs: Uint32Array; pos: number; lens: Int32Array; ub: number }> = [];
    for (let i = 0; i < segLeaves.length; i++) {
      const sl = segLeaves[i]!;
      if (sl.list === null || sl.list.ords.length === 0) continue;
      const lens = files[this.leaves[i]!.clause]!.docLens;
      // Upper bound: bm25 grows with tf and shrinks with length. The tiny factor absorbs rounding.
      const ub = this.prune ? this.leaves[i]!.coef * this.leafScore(i, sl.maxTf, sl.minLen) * (1 + 1e-9) : 0;
      cur.push({ leaf: i, ords: sl.list.ords, tfs: sl.list.tfs, pos: 0, lens, ub });
    }
    if (cur.length === 0) return;
    const dead = seg.dead;
    const base = s * REF_SHIFT;
    if (!this.prune) {
      // Every matching document: document-at-a-time over the union, leaf scores into the expression.
      for (;;) {
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
        if (dead !== null && dead[d] === 1) continue;
        this.offer(base + d, this.finalScore());
      }
    }
    if (cur.length === 1) return this.scoreSingleList(cur[0]!, dead, base);
    // Max-score: cursors by bound ascending; cum[i] = sum of the bounds of cursors 0..i.
    cur.sort((a, b) => a.ub - b.ub);
    const m = cur.length;
    const cum = new Float64Array(m);
    let acc = 0;
    for (let i = 0; i < m; i++) cum[i] = acc += cur[i]!.ub;
    const heap = this.heap!;
    let essential = 0;
    const advanceEssential = () => {
      const t = heap.threshold;
      while (essential < m && cum[essential]! < t) essential++;
    };
    advanceEssential();
    const scores = this.leafScores;
    scores.fill(0);
    while (essential < m) {
      let d = Infinity;
      for (let i = essential; i < m; i++) {
        const c = cur[i]!;
        if (c.pos < c.ords.length && c.ords[c.pos]! < d) d = c.ords[c.pos]!;
      }
      if (d === Infinity) return;
      const isDead = dead !== null && dead[d] === 1;
      // Partial score for the pruning decisions; the final score is summed in canonical order (finalScore).
      let partial = 0;
      for (let i = essential; i < m; i++) {
        const c = cur[i]!;
        if (c.pos < c.ords.length && c.ords[c.pos] === d) {
          if (!isDead) {
            const ls = this.leafScore(c.leaf, c.tfs[c.pos]!, c.lens[d]!);
            scores[c.leaf] = ls;
            partial += this.leaves[c.leaf]!.coef * ls;
          }
          c.pos++;
        }
      }
      if (isDead) continue;
      const t = heap.threshold;
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
          partial += this.leaves[c.leaf]!.coef * ls;
        }
      }
      if (!pruned) this.offer(base + d, this.finalScore());
      for (const c of cur) scores[c.leaf] = 0;
      advanceEssential();
    }
  }
}
