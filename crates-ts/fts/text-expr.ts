/**
 * A text rank expression compiled for evaluation: clauses (one per BM25 clause: attribute, analysis, k1, b) and
 * leaves (one per distinct query term of a clause, plus the last_as_prefix pseudo-term), and the expression tree over
 * the clauses. Shared by the statistics pass (text-stats.ts) and the scoring pass (text-scorer.ts).
 *
 * A term leaf's score in a document is bm25(tf, df, len, avgLen, N) times its query-term weight (k3 + 1)·qtf /
 * (k3 + qtf) with k3 = 8, qtf its number of occurrences in the query (turbopuffer: "k3 controls the saturation point
 * for query term frequency", default 8.0; one occurrence weighs exactly 1). The prefix leaf scores a constant 1.0 in
 * every document holding a term that starts with the prefix (turbopuffer: "`BM25` prefix matches are assigned a score
 * of `1.0`"), whatever the tf or the length.
 */
import type { Doc, FullTextConfig } from '../core/index.js';
import { analyzerFor, type QueryTerms, type TextAnalyzer } from './analyzer.js';
import { analysisKey } from './config.js';
import { docTermsReader, type DocTermsReader } from './doc-terms.js';

export type TextRankExpr =
  | { kind: 'bm25'; attr: string; config: FullTextConfig; query: QueryTerms }
  | { kind: 'sum'; children: TextRankExpr[] }
  | { kind: 'max'; children: TextRankExpr[] }
  | { kind: 'product'; weight: number; child: TextRankExpr }
  /** A number in a Sum / Max list (["Max", 0, expr]): a value on every row, matching none by itself. */
  | { kind: 'const'; value: number }
  /** ["Attribute", attr]: the row's numeric value (datetimes in epoch ms); rows without one are not matched by it. */
  | { kind: 'attr'; attr: string; datetime: boolean }
  /** A filter used as a rank expression: 1 on the rows it accepts, which are the rows it matches. */
  | { kind: 'filter'; test: (doc: Doc) => boolean; attrs: readonly string[]; source: unknown; compileLeaf?: LeafCompiler }
  | { kind: 'saturate' | 'decay'; child: TextRankExpr; midpoint: number; exponent: number }
  | { kind: 'dist'; child: TextRankExpr; origin: number };

/** A per-row leaf of a rank expression (rank-eval.ts): read for the candidate rows of a source only. */
export type ValueLeaf =
  | { kind: 'attr'; attr: string; datetime: boolean }
  /** `source`: the filter as given, for a source's filter indexes (TextSource.filterMask), with `compileLeaf`. */
  | { kind: 'filter'; test: (doc: Doc) => boolean; source: unknown; compileLeaf?: LeafCompiler };

/** Compiles one leaf of a filter (what filter indexes need to test the rows they cannot decide). */
export type LeafCompiler = (leaf: unknown) => (doc: Doc) => boolean;

export interface Clause {
  attr: string;
  config: FullTextConfig;
  analysis: string;
  analyzer: TextAnalyzer;
  read: DocTermsReader;
  /** Leaf indexes of the clause. */
  leaves: number[];
}

export interface Leaf {
  clause: number;
  /** A term, or (isPrefix) the prefix: any term starting with it is a match, scored PREFIX_SCORE. */
  text: string;
  isPrefix: boolean;
  /** The query-term weight: qtfWeight(occurrences of the term in the query); 1 for the prefix. */
  mult: number;
  /** mult × the Product weights above the clause: the leaf's weight in a linear expression. */
  coef: number;
}

export type Node =
  | { kind: 'clause'; clause: number }
  | { kind: 'sum' | 'max'; children: Node[] }
  | { kind: 'product'; weight: number; child: Node }
  | { kind: 'const'; value: number }
  | { kind: 'value'; value: number }
  | { kind: 'saturate' | 'decay'; child: Node; midpoint: number; exponent: number }
  | { kind: 'dist'; child: Node; origin: number };

export interface CompiledExpr {
  readonly clauses: readonly Clause[];
  readonly leaves: readonly Leaf[];
  readonly root: Node;
  /**
   * A positive linear combination of leaves (BM25 clauses under Sum and Product with positive weights): max-score
   * pruning applies. Max and non-positive weights are not.
   */
  readonly linear: boolean;
  /** The expression's Attribute and filter leaves (Node 'value' indexes them). */
  readonly values: readonly ValueLeaf[];
  /**
   * The expression uses more than BM25 / Sum / Max / Product (Attribute, filters, constants, Saturate, Decay, Dist):
   * it is evaluated exhaustively with the match semantics of rank-eval.ts, over every live row of a source when it
   * has Attribute / filter leaves, else over the rows its BM25 clauses match. No max-score pruning between leaves:
   * Decay is decreasing in its input and Max / constants are not linear, and Attribute / filter leaves have no
   * posting lists to skip over (text-scorer.ts skips rows without a BM25 match by a bound instead).
   */
  readonly general: boolean;
}

/** BM25's query-term saturation parameter: turbopuffer's documented default, 8.0 (not configurable there either). */
export const BM25_K3 = 8;

/** The weight of a term that occurs `qtf` times in the query: (k3 + 1)·qtf / (k3 + qtf); 1 for a single occurrence. */
export function qtfWeight(qtf: number): number {
  return ((BM25_K3 + 1) * qtf) / (BM25_K3 + qtf);
}

/** The score of a last_as_prefix match, whatever the term frequency or document length (turbopuffer's docs). */
export const PREFIX_SCORE = 1;

export function compileExpr(expr: TextRankExpr): CompiledExpr {
  const clauses: Clause[] = [];
  const leaves: Leaf[] = [];
  const values: ValueLeaf[] = [];
  let linear = true;
  let extended = false;
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
      case 'const':
        extended = true;
        return { kind: 'const', value: e.value };
      case 'attr':
        extended = true;
        values.push({ kind: 'attr', attr: e.attr, datetime: e.datetime });
        return { kind: 'value', value: values.length - 1 };
      case 'filter':
        extended = true;
        values.push({ kind: 'filter', test: e.test, source: e.source, ...(e.compileLeaf ? { compileLeaf: e.compileLeaf } : {}) });
        return { kind: 'value', value: values.length - 1 };
      case 'saturate':
      case 'decay':
        extended = true;
        return { kind: e.kind, child: build(e.child, weight), midpoint: e.midpoint, exponent: e.exponent };
      case 'dist':
        extended = true;
        return { kind: 'dist', child: build(e.child, weight), origin: e.origin };
    }
  };
  const root = build(expr, 1);
  return { clauses, leaves, root, linear: linear && !extended, values, general: extended };
}
