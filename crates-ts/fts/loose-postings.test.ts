/**
 * BM25 statistics over loose rows through in-memory postings (LoosePostings) against analysing every live row: random
 * rows of two text attributes (missing, null, strings, arrays), random dead rows, a snapshot bound below the rows
 * indexed, random queries (one or two clauses, repeated terms, a prefix): the same statistics and the same hits.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { AttrValue } from '../core/index.js';
import { DEFAULT_FULL_TEXT_CONFIG } from './config.js';
import { analyzerFor } from './analyzer.js';
import { compileExpr, type TextRankExpr } from './text-expr.js';
import { StatisticsPass } from './text-stats.js';
import { LoosePostings } from './loose-postings.js';
import type { TextSource } from './text-source.js';

const WORDS = ['fox', 'dog', 'quick', 'lazy', 'jumps', 'over', 'brown', 'red', 'foxes', 'do'];
const text = fc.array(fc.constantFrom(...WORDS), { minLength: 0, maxLength: 6 }).map((ws) => ws.join(' '));
const value: fc.Arbitrary<AttrValue | undefined> = fc.oneof(
  { weight: 5, arbitrary: text },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(text, { maxLength: 3 }) },
);
const row = fc.record({ a: value, b: value });
const config = DEFAULT_FULL_TEXT_CONFIG;
const analyzer = analyzerFor(config);

function source(rows: { a: AttrValue | undefined; b: AttrValue | undefined }[], bound: number, deadOrds: number[], indexed: boolean): TextSource {
  const dead = deadOrds.length > 0 ? new Uint8Array(bound) : null;
  for (const o of deadOrds) dead![o] = 1;
  const valueOf = (attr: string, o: number) => rows[o]![attr as 'a' | 'b'];
  const indexes = new Map<string, LoosePostings>();
  return {
    rows: bound,
    postings: () => null,
    dead,
    deadOrdinals: deadOrds,
    id: (o) => o,
    value: valueOf,
    filter: null,
    ...(indexed
      ? {
          loosePostings: (attr: string) => {
            let ix = indexes.get(attr);
            if (ix === undefined) indexes.set(attr, (ix = new LoosePostings(analyzer, (o) => valueOf(attr, o))));
            ix.extendTo(rows.length); // more rows than the snapshot's bound, as the tail after later writes
            return ix;
          },
        }
      : {}),
  };
}

function run(expr: TextRankExpr, src: TextSource) {
  const pass = new StatisticsPass(compileExpr(expr));
  pass.add(0, src);
  const st = pass.finish();
  const plan = st.plans.get(0)!;
  return {
    clauses: st.clauses.map((c) => ({ ...c })),
    df: Array.from(st.df),
    hits: plan.kind === 'loose' ? plan.hits.map((h) => ({ ord: h.ord, lens: Array.from(h.lens), tfs: Array.from(h.tfs) })) : plan,
  };
}

describe('LoosePostings', () => {
  it('should give the statistics and hits of analysing every live row', () => {
    const query = fc.record({
      terms: fc.array(fc.constantFrom(...WORDS, 'absent'), { minLength: 1, maxLength: 4 }),
      prefix: fc.option(fc.constantFrom('fo', 'qu', 'zz'), { nil: null }),
      attr: fc.constantFrom('a', 'b'),
    });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 40 }), fc.nat(), fc.array(fc.nat(), { maxLength: 10 }), query, fc.option(query, { nil: null }), (rows, b, deadPick, q1, q2) => {
        const bound = 1 + (b % rows.length);
        const deadOrds = [...new Set(deadPick.map((d) => d % bound))].sort((x, y) => x - y);
        const clause = (q: typeof q1): TextRankExpr => ({ kind: 'bm25', attr: q.attr, config, query: { terms: q.terms.map((t) => analyzer.tokens(t)[0] ?? t), prefix: q.prefix } });
        const expr: TextRankExpr = q2 === null ? clause(q1) : { kind: 'sum', children: [clause(q1), { kind: 'product', weight: 2, child: clause(q2) }] };
        expect(run(expr, source(rows, bound, deadOrds, true))).toEqual(run(expr, source(rows, bound, deadOrds, false)));
      }),
      { numRuns: 400 },
    );
  });

  it('should index rows once, as they are covered', () => {
    const values = ['quick fox', 'lazy dog', null, 'fox fox'];
    let reads = 0;
    const ix = new LoosePostings(analyzer, (o) => (reads++, values[o]));
    ix.extendTo(2);
    ix.extendTo(2);
    ix.extendTo(4);
    expect(reads).toBe(4);
    expect(ix.list('fox')).toEqual({ ords: [0, 3], tfs: [1, 2] });
    expect([ix.len(0), ix.len(2), ix.len(3)]).toEqual([2, -1, 2]);
    expect([ix.docsBefore(4), ix.tokensBefore(4), ix.docsBefore(1)]).toEqual([3, 6, 1]);
  });
});
