/**
 * The statistics pass of text ranking: namespace-wide BM25 statistics over exactly the live documents, one source at
 * a time, so that a query needs only one source's postings dictionary at once (docs/ARCHITECTURE.md, fts/). Per
 * clause N (documents with text) and total length; per term leaf df. Each source adds:
 *   - a source with usable postings for every clause: the postings totals minus the dead rows' share (docLens of the
 *     dead ordinals; dead entries of each term's list, counted only when the source has dead rows);
 *   - a source with in-memory postings (the WAL tail, loose-postings.ts): their prefix sums minus the dead rows', and
 *     each query term's list bounded to the source's rows, kept for the scoring pass (scored like postings);
 *   - any other source (a part whose postings are missing or were built with another analysis, the corpus API): its
 *     live rows analysed. The rows that hold a query term are kept (their lengths and tfs) for the scoring pass.
 * Sums of integers: the order sources are added in changes no bit of the result.
 */
import type { Doc } from '../core/index.js';
import { valueTerms, type DocTerms } from './doc-terms.js';
import type { LooseIndex } from './loose-postings.js';
import { ABSENT, seek, type SourceLeaf } from './list-ops.js';
import type { PostingList, PostingsFile } from './postings.js';
import type { Clause, CompiledExpr } from './text-expr.js';
import type { TextSource } from './text-source.js';

/** Per-query statistics of a clause. */
export interface ClauseStats {
  docCount: number;
  totalTokens: number;
  avg: number;
  k1: number;
  b: number;
}

/** The analysed hits of one loose row: its text length per clause (-1: no text) and tf per leaf. */
export interface LooseHit {
  ord: number;
  lens: Float64Array;
  tfs: Float64Array;
}

/**
 * How the scoring pass scores a source: from its postings (`matches`: some leaf occurs in them), from its in-memory
 * postings' lists bounded here, or from the hits of its live rows analysed here.
 */
export type SourcePlan =
  | { kind: 'postings'; matches: boolean }
  | { kind: 'loose'; hits: LooseHit[] }
  | {
      /** In-memory postings (the WAL tail): each leaf's entries among the source's rows, ordinals + `base`. */
      kind: 'lists';
      matches: boolean;
      leaves: SourceLeaf[];
      /** Per clause, token counts by ordinal + base. */
      lens: Int32Array[];
      base: number;
    };

/** What scoring needs: per clause N, average length, k1, b; per leaf df and idf; per source its plan. */
export interface TextStatistics {
  readonly clauses: readonly ClauseStats[];
  readonly df: Float64Array;
  readonly idf: Float64Array;
  readonly plans: ReadonlyMap<number, SourcePlan>;
}

/** The analysed terms of a clause's attribute in row `o` of source `s` (the corpus API memoises them per Doc). */
export type TermsOf = (clause: Clause, s: number, src: TextSource, o: number) => DocTerms | null;

const valueTermsOf: TermsOf = (c, _s, src, o) => (src.terms ? src.terms(c.attr, c.analyzer, o) : valueTerms(src.value(c.attr, o), c.analyzer));

/** Terms through documents (the corpus API: analyses cached per Doc). */
export function docTermsOf(docOf: (s: number, o: number) => Doc): TermsOf {
  return (c, s, _src, o) => c.read(docOf(s, o));
}

/** The postings of every clause in `src`, when all are usable (built with the clause's analysis over its rows). */
export function postingsOf(expr: CompiledExpr, src: TextSource): PostingsFile[] | null {
  const files: PostingsFile[] = [];
  for (const c of expr.clauses) {
    const f = src.postings(c.attr, c.analysis);
    if (f === null || f.rows !== src.rows) return null;
    files.push(f);
  }
  return files;
}

const deadStatsCache = new WeakMap<readonly number[], Map<string, { docs: number; tokens: number }>>();

export class StatisticsPass {
  private readonly clauseStats: ClauseStats[];
  private readonly df: Float64Array;
  private readonly plans = new Map<number, SourcePlan>();

  constructor(
    private readonly expr: CompiledExpr,
    private readonly termsOf: TermsOf = valueTermsOf,
  ) {
    this.clauseStats = expr.clauses.map((c) => ({ docCount: 0, totalTokens: 0, avg: 0, k1: c.config.k1, b: c.config.b }));
    this.df = new Float64Array(expr.leaves.length);
  }

  /**
   * Adds source `s`, prepared with its postings dictionaries (and, when it has dead rows, the lists of the query's
   * terms), or, when postingsOf() is null for it, with the clauses' text attributes.
   */
  add(s: number, src: TextSource): void {
    const files = postingsOf(this.expr, src);
    if (files === null) this.addLoose(s, src);
    else this.addIndexed(s, src, files);
  }

  finish(): TextStatistics {
    for (const s of this.clauseStats) s.avg = s.docCount > 0 ? s.totalTokens / s.docCount : 0;
    const leaves = this.expr.leaves;
    const idf = new Float64Array(leaves.length);
    for (let i = 0; i < leaves.length; i++) {
      const n = this.clauseStats[leaves[i]!.clause]!.docCount;
      const df = this.df[i]!;
      idf[i] = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    }
    return { clauses: this.clauseStats, df: this.df, idf, plans: this.plans };
  }

  private addIndexed(s: number, src: TextSource, files: PostingsFile[]): void {
    const clauses = this.expr.clauses;
    for (let c = 0; c < clauses.length; c++) {
      const file = files[c]!;
      const dead = deadStats(src, clauses[c]!, file);
      const st = this.clauseStats[c]!;
      st.docCount += file.header.docCount - dead.docs;
      st.totalTokens += file.header.totalTokens - dead.tokens;
    }
    const hasDead = src.dead !== null && src.deadOrdinals.length > 0;
    let matches = false;
    this.expr.leaves.forEach((leaf, i) => {
      const file = files[leaf.clause]!;
      if (leaf.isPrefix) {
        // A prefix match scores a constant: its document frequency is never needed.
        const [start, end] = file.prefixRange(leaf.text);
        if (start < end) matches = true;
        return;
      }
      const t = file.lookup(leaf.text);
      if (t < 0) return;
      matches = true;
      // A list holds df[t] entries; only its dead entries need the list itself.
      this.df[i]! += file.df[t]! - (hasDead ? deadEntries(src, file.list(t)) : 0);
    });
    this.plans.set(s, { kind: 'postings', matches });
  }

  private addLoose(s: number, src: TextSource): void {
    const indexes = this.looseIndexes(src);
    if (indexes !== null) return this.addLooseIndexed(s, src, indexes);
    const hits: LooseHit[] = [];
    const dead = src.dead;
    for (let o = 0; o < src.rows; o++) {
      if (dead !== null && dead[o] !== 0) continue;
      const h = this.looseRow(s, src, o);
      if (h !== null) hits.push(h);
    }
    this.plans.set(s, { kind: 'loose', hits });
  }

  /**
   * The source's in-memory postings of every clause (the WAL tail's, loose-postings.ts), covering its rows; null when
   * it has none, or when terms come from elsewhere than the source's values: then the rows are analysed one by one.
   */
  private looseIndexes(src: TextSource): LooseIndex[] | null {
    if (src.loosePostings === undefined || this.termsOf !== valueTermsOf) return null;
    const out: LooseIndex[] = [];
    for (const c of this.expr.clauses) {
      const ix = src.loosePostings(c.attr, c.analyzer);
      if (ix === null || ix.rows < src.rows) return null;
      out.push(ix);
    }
    if (out.some((ix) => ix.base !== out[0]!.base)) return null;
    return out;
  }

  /**
   * addLoose through in-memory postings: the statistics of analysing every live row (the property test in
   * loose-postings.test.ts compares both), from prefix sums, each query term's list bounded to the source's rows
   * (binary search), and the dead rows only. The source is then scored from those lists (text-scorer.ts), like a part
   * from its postings: no pass over its rows, no object per match.
   */
  private addLooseIndexed(s: number, src: TextSource, indexes: readonly LooseIndex[]): void {
    const { clauses, leaves } = this.expr;
    const rows = src.rows;
    const base = indexes[0]!.base;
    for (let c = 0; c < clauses.length; c++) {
      const dead = deadLooseStats(src, clauses[c]!, indexes[c]!);
      const st = this.clauseStats[c]!;
      st.docCount += indexes[c]!.docsBefore(rows) - dead.docs;
      st.totalTokens += indexes[c]!.tokensBefore(rows) - dead.tokens;
    }
    let matches = false;
    const lists: SourceLeaf[] = [];
    for (let i = 0; i < leaves.length; i++) {
      const leaf = leaves[i]!;
      const ix = indexes[leaf.clause]!;
      const sl = leaf.isPrefix ? ix.prefixSlice(leaf.text, rows) : ix.slice(leaf.text, rows);
      if (sl === null) {
        lists.push(ABSENT);
        continue;
      }
      matches = true;
      lists.push({ list: sl, maxTf: sl.maxTf, minLen: sl.minLen });
      // A prefix match scores a constant: its document frequency is never needed.
      if (!leaf.isPrefix) this.df[i]! += sl.ords.length - deadEntries(src, sl, base);
    }
    this.plans.set(s, { kind: 'lists', matches, leaves: lists, lens: indexes.map((ix) => ix.lengths()), base });
  }

  private looseRow(s: number, src: TextSource, o: number): LooseHit | null {
    const { clauses, leaves } = this.expr;
    let lens: Float64Array | null = null;
    let tfs: Float64Array | null = null;
    const seen: (DocTerms | null)[] = [];
    for (let c = 0; c < clauses.length; c++) {
      const clause = clauses[c]!;
      const dt = this.termsOf(clause, s, src, o);
      seen.push(dt);
      if (dt === null) continue;
      const st = this.clauseStats[c]!;
      st.docCount++;
      st.totalTokens += dt.tokens.length;
      for (const i of clause.leaves) {
        const leaf = leaves[i]!;
        const tf = leaf.isPrefix ? dt.prefixCount(leaf.text) : dt.count(leaf.text);
        if (tf > 0) {
          if (!leaf.isPrefix) this.df[i]!++;
          if (tfs === null) {
            tfs = new Float64Array(leaves.length);
            lens = new Float64Array(clauses.length).fill(-1);
          }
          tfs[i] = tf;
        }
      }
      if (lens !== null) lens[c] = dt.tokens.length;
    }
    if (tfs === null) return null;
    // Lengths of clauses evaluated before the first hit were not recorded yet.
    for (let c = 0; c < clauses.length; c++) if (lens![c]! < 0) lens![c] = seen[c]?.tokens.length ?? -1;
    return { ord: o, lens: lens!, tfs };
  }
}

/** The dead rows' share of a clause's docCount and totalTokens in one source (cached per liveness state). */
function deadStats(src: TextSource, clause: Clause, file: PostingsFile): { docs: number; tokens: number } {
  const deadOrds = src.deadOrdinals;
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

const deadLooseCache = new WeakMap<readonly number[], Map<string, { docs: number; tokens: number }>>();

/**
 * The dead rows' share of a clause's docCount and totalTokens in a source with in-memory postings (cached per liveness
 * state: a view's tail snapshot keeps its dead ordinals until the next write).
 */
function deadLooseStats(src: TextSource, clause: Clause, ix: LooseIndex): { docs: number; tokens: number } {
  const deadOrds = src.deadOrdinals;
  if (deadOrds.length === 0) return { docs: 0, tokens: 0 };
  let perAttr = deadLooseCache.get(deadOrds);
  if (perAttr === undefined) deadLooseCache.set(deadOrds, (perAttr = new Map()));
  const key = `${clause.attr}\u0000${clause.analysis}\u0000${src.rows}\u0000${ix.base}`;
  let s = perAttr.get(key);
  if (s === undefined) {
    s = { docs: 0, tokens: 0 };
    for (const o of deadOrds) {
      if (o >= src.rows) break;
      const len = ix.len(o);
      if (len >= 0) {
        s.docs++;
        s.tokens += len;
      }
    }
    perAttr.set(key, s);
  }
  return s;
}

/**
 * Dead entries of a posting list whose ordinals carry `base` (0 but for a carried-over tail's in-memory lists): probe
 * the dead ordinals or scan the list, whichever is shorter.
 */
function deadEntries(src: TextSource, list: PostingList, base = 0): number {
  const deadOrds = src.deadOrdinals;
  const dead = src.dead;
  if (dead === null || deadOrds.length === 0) return 0;
  let n = 0;
  if (deadOrds.length * 8 < list.ords.length) {
    let pos = 0;
    for (const ord of deadOrds) {
      pos = seek(list.ords, pos, ord + base);
      if (pos < list.ords.length && list.ords[pos] === ord + base) n++;
    }
  } else {
    for (let j = 0; j < list.ords.length; j++) n += dead[list.ords[j]! - base]!;
  }
  return n;
}
