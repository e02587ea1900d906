/**
 * BM25 over loose rows through in-memory postings (LoosePostings, and a LooseWindow onto them as a carried-over tail
 * reads them) against analysing every live row: random rows of two text attributes (missing, null, strings, arrays,
 * long texts), random dead rows, a snapshot bound below the rows indexed, a window base, random queries (one or two
 * clauses, repeated terms, a prefix, Sum / Max / Product), a source scored before the loose one (so max-score starts
 * from its threshold), a filter, top k and every match: the same statistics and the same hits with the same scores, bit
 * for bit.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { AttrValue } from '../core/index.js';
import { DEFAULT_FULL_TEXT_CONFIG } from './config.js';
import { analyzerFor } from './analyzer.js';
import { analyzeValue } from './doc-terms.js';
import { compileExpr, type TextRankExpr } from './text-expr.js';
import { StatisticsPass } from './text-stats.js';
import { compileTextRank } from './score.js';
import { LoosePostings, LooseWindow, type LooseIndex } from './loose-postings.js';
import type { SourceHit, TextSource } from './text-source.js';

const WORDS = ['fox', 'dog', 'quick', 'lazy', 'jumps', 'over', 'brown', 'red', 'foxes', 'do', 'the'];
const text = fc.array(fc.constantFrom(...WORDS), { minLength: 0, maxLength: 6 }).map((ws) => ws.join(' '));
// Long texts: many repeated terms in one row.
const long = fc.array(fc.constantFrom(...WORDS), { minLength: 25, maxLength: 40 }).map((ws) => ws.join(' '));
const value: fc.Arbitrary<AttrValue | undefined> = fc.oneof(
  { weight: 6, arbitrary: text },
  { weight: 1, arbitrary: long },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant(7) },
  { weight: 1, arbitrary: fc.array(text, { maxLength: 3 }) },
);
const row = fc.record({ a: value, b: value });
type Row = { a: AttrValue | undefined; b: AttrValue | undefined };
const config = DEFAULT_FULL_TEXT_CONFIG;
const analyzer = analyzerFor(config);

/**
 * Rows [base, base + bound) of `rows` as a source, ordinals from 0; ids offset by `idBase`. Indexed: through postings
 * over every row of `rows` (more than the source's bound, as the tail after later writes), read through a window when
 * base > 0.
 */
function source(rows: Row[], base: number, bound: number, deadOrds: number[], indexed: boolean, idBase: number, filter: ((o: number) => boolean) | null): TextSource {
  const dead = deadOrds.length > 0 ? new Uint8Array(bound) : null;
  for (const o of deadOrds) dead![o] = 1;
  const valueOf = (attr: string, o: number) => rows[base + o]![attr as 'a' | 'b'];
  const indexes = new Map<string, LoosePostings>();
  return {
    rows: bound,
    postings: () => null,
    dead,
    deadOrdinals: deadOrds,
    id: (o) => idBase + o,
    value: valueOf,
    filter,
    ...(indexed
      ? {
          loosePostings: (attr: string): LooseIndex => {
            let ix = indexes.get(attr);
            if (ix === undefined) indexes.set(attr, (ix = new LoosePostings(analyzer, (p) => rows[p]![attr as 'a' | 'b'])));
            ix.extendTo(rows.length);
            return base === 0 ? ix : new LooseWindow(ix, base);
          },
        }
      : {}),
  };
}

function statistics(expr: TextRankExpr, src: TextSource) {
  const pass = new StatisticsPass(compileExpr(expr));
  pass.add(0, src);
  const st = pass.finish();
  return { clauses: st.clauses.map((c) => ({ ...c })), df: Array.from(st.df), idf: Array.from(st.idf) };
}

const byRank = (a: SourceHit, b: SourceHit) => b.score - a.score || (a.id as number) - (b.id as number);
const shown = (hits: SourceHit[]) => [...hits].sort(byRank).map((h) => ({ source: h.source, ord: h.ord, id: h.id, score: h.score }));

const query = fc.record({
  terms: fc.array(fc.constantFrom(...WORDS, 'absent'), { minLength: 1, maxLength: 4 }),
  prefix: fc.option(fc.constantFrom('fo', 'qu', 'zz', 'd', 'foxes'), { nil: null }),
  attr: fc.constantFrom('a', 'b'),
});
const clause = (q: { terms: string[]; prefix: string | null; attr: string }): TextRankExpr => ({
  kind: 'bm25',
  attr: q.attr,
  config,
  query: { terms: q.terms.flatMap((t) => analyzer.tokens(t)), prefix: q.prefix },
});

describe('LoosePostings', () => {
  it('should give the statistics and the scored hits of analysing every live row', () => {
    fc.assert(
      fc.property(
        fc.array(row, { minLength: 1, maxLength: 40 }),
        fc.array(row, { maxLength: 15 }),
        fc.nat(),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 10 }),
        query,
        fc.option(query, { nil: null }),
        fc.constantFrom('one', 'sum', 'max', 'negative'),
        fc.option(fc.integer({ min: 1, max: 12 }), { nil: null }),
        fc.boolean(),
        (rows, other, b, w, deadPick, q1, q2, shape, k, filtered) => {
          const base = w % rows.length;
          const bound = 1 + (b % (rows.length - base));
          const deadOrds = [...new Set(deadPick.map((d) => d % bound))].sort((x, y) => x - y);
          const second = q2 ?? q1;
          const expr: TextRankExpr =
            shape === 'one'
              ? clause(q1)
              : shape === 'sum'
                ? { kind: 'sum', children: [clause(q1), { kind: 'product', weight: 2, child: clause(second) }] }
                : shape === 'max'
                  ? { kind: 'max', children: [clause(q1), clause(second)] }
                  : { kind: 'sum', children: [clause(q1), { kind: 'product', weight: -0.5, child: clause(second) }] };
          const filter = filtered ? (o: number) => o % 3 !== 1 : null;
          const make = (indexed: boolean) => source(rows, base, bound, deadOrds, indexed, 0, filter);
          expect(statistics(expr, make(true))).toEqual(statistics(expr, make(false)));
          // A source scored first (ids 1000+), analysed row by row in both runs: the loose one starts from its threshold.
          const first = source(other, 0, other.length, [], false, 1000, null);
          const rank = compileTextRank(expr);
          const got = shown(rank.evaluateSources([first, make(true)], k));
          const want = shown(rank.evaluateSources([first, make(false)], k));
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('should bound slices to the rows asked for, past the window base, without copying a term list', () => {
    const values = ['quick fox', 'lazy dog', null, 'fox fox', '', 'fox dog fox'];
    const ix = new LoosePostings(analyzer, (o) => values[o]);
    ix.extendTo(values.length);
    const s = ix.slice('fox', 4)!;
    expect([Array.from(s.ords), Array.from(s.tfs), s.maxTf, s.minLen]).toEqual([[0, 3], [1, 2], 2, 2]);
    expect(ix.slice('fox', 0)).toBeNull();
    expect(ix.slice('cat', 6)).toBeNull();
    const win = new LooseWindow(ix, 2);
    const ws = win.slice('fox', 4)!;
    // Ordinals keep the window's base (the scorer subtracts it); lengths are read at ordinal + base.
    expect([Array.from(ws.ords), Array.from(ws.tfs)]).toEqual([[3, 5], [2, 2]]);
    expect(ws.ords.buffer).toBe(s.ords.buffer);
    expect(win.lengths()[win.base + 1]).toBe(2);
    expect([win.rows, win.docsBefore(4), win.tokensBefore(4), win.len(0), win.len(2)]).toEqual([4, 3, 5, -1, 0]);
    expect(win.list('fox')).toEqual({ ords: [1, 3], tfs: [2, 2] });
    const p = ix.prefixSlice('fo', 6)!;
    expect([Array.from(p.ords), Array.from(p.tfs)]).toEqual([[0, 3, 5], [1, 2, 2]]);
    const d = ix.prefixSlice('', 6)!; // every term: the union, tfs summed
    expect([Array.from(d.ords), Array.from(d.tfs), d.maxTf, d.minLen]).toEqual([[0, 1, 3, 5], [2, 2, 2, 3], 3, 2]);
  });

  it('should index rows once, as they are covered, with the token counts of analyzeValue', () => {
    const values: (AttrValue | undefined)[] = ['quick fox', 'lazy dog', null, 'fox fox', ['a fox', 'the'], '', 5, undefined];
    let reads = 0;
    const ix = new LoosePostings(analyzer, (o) => (reads++, values[o]));
    ix.extendTo(2);
    ix.extendTo(2);
    ix.extendTo(values.length);
    expect(reads).toBe(values.length);
    expect(ix.list('fox')).toEqual({ ords: [0, 3, 4], tfs: [1, 2, 1] });
    for (let o = 0; o < values.length; o++) expect(ix.len(o)).toBe(analyzeValue(values[o], analyzer)?.tokens.length ?? -1);
    expect([ix.docsBefore(8), ix.tokensBefore(8), ix.docsBefore(1)]).toEqual([5, 7, 1]);
  });

  it('should grow term lists and lengths past their first capacity, keeping earlier slices valid', () => {
    const ix = new LoosePostings(analyzer, (o) => (o % 3 === 0 ? 'fox fox dog' : 'dog'));
    ix.extendTo(10);
    const early = ix.slice('fox', 10)!;
    ix.extendTo(5000);
    expect(Array.from(early.ords)).toEqual([0, 3, 6, 9]);
    const all = ix.slice('fox', 5000)!;
    expect(all.ords.length).toBe(1667);
    expect(all.ords[1666]).toBe(4998);
    expect(ix.slice('dog', 5000)!.ords.length).toBe(5000);
    expect([ix.len(4999), ix.docsBefore(5000), ix.tokensBefore(5000)]).toEqual([1, 5000, 1667 * 3 + 3333]);
  });
});
