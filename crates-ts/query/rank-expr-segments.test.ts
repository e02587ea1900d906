/**
 * Ranking expressions (Attribute, Saturate, Decay, Dist, constants, filters as rank expressions, with BM25, Sum, Max,
 * Product) over segments against a brute-force evaluator written here: random corpora split into parts (with
 * postings, or without: analysed) plus a WAL tail, dead rows, query filters, random expression trees. The brute force
 * takes each BM25 clause's scores from a plain BM25 query of that clause alone (the path text-segments.test.ts checks
 * against its own oracle), and implements the tree semantics (docs/api.md, fts/rank-eval.ts) itself: which rows are
 * ranked (the rows some non-constant leaf matches), missing values (no value: the leaf does not match), the order
 * (score desc, id asc), top_k and limit.per. Only the documented numeric formulas are shared (saturate / decay, checked against
 * turbopuffer's formulas in fts/rank-value.test.ts). Rows and order must be identical; scores equal up to rounding.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Doc, Id, Schema } from '../core/index.js';
import { analysisKey, analyzerFor, buildPostings, decay, isTextValue, looseCorpus, normalizeFullTextConfig, PostingsFile, saturate, type TextRankPlan } from '../fts/index.js';
import { compileFilter, filterAttributes } from '../filter/index.js';
import { DocsSegment, type Segment } from './segment.js';
import { executeOnSegments } from './execute-segments.js';
import { GuardedSegment } from './test-helpers.js';
import { executeQuery, parseQuery, type QueryContext } from './index.js';

const TITLE = normalizeFullTextConfig({ remove_stopwords: false, k1: 1.6, b: 0.3 }, 'title');
const SCHEMA: Schema = {
  id: { type: 'uint' },
  title: { type: 'string', full_text_search: TITLE },
  color: { type: 'string', filterable: true },
  n: { type: 'int', filterable: true },
  u: { type: 'uint', filterable: true },
  f: { type: 'float', filterable: true },
  t: { type: 'datetime', filterable: true },
};
const CTX: QueryContext = { schema: SCHEMA, distanceMetric: null };

const VOCAB = ['apple', 'banana', 'the', 'fox', 'dog', 'kiwi'];
const T0 = Date.UTC(2026, 0, 2);
const HOUR = 3_600_000;

const rowArb = fc.record({
  id: fc.integer({ min: 0, max: 40 }),
  title: fc.option(fc.array(fc.constantFrom(...VOCAB), { maxLength: 6 }).map((w) => w.join(' ')), { freq: 6 }),
  color: fc.constantFrom('red', 'green'),
  n: fc.option(fc.integer({ min: -5, max: 9 }), { freq: 4 }),
  u: fc.option(fc.integer({ min: 0, max: 400 }), { freq: 3 }),
  f: fc.option(fc.double({ min: -50, max: 50, noNaN: true }), { freq: 3 }),
  t: fc.option(fc.integer({ min: -72, max: 72 }).map((h) => new Date(T0 + h * HOUR).toISOString()), { freq: 3 }),
});
type RowIn = { id: number; title: string | null; color: string; n: number | null; u: number | null; f: number | null; t: string | null };

function toDoc(r: RowIn): Doc {
  const attrs: Doc['attrs'] = { color: r.color };
  for (const k of ['title', 'n', 'u', 'f', 't'] as const) if (r[k] !== null) attrs[k] = r[k];
  return { id: r.id, vector: null, attrs };
}

function partSegment(docs: Doc[], dead: Uint8Array | null, withPostings: boolean): DocsSegment {
  const analyzer = analyzerFor(TITLE);
  const read = (d: Doc) => {
    const v = d.attrs.title;
    return v !== null && v !== undefined && isTextValue(v) ? analyzer.tokens(v) : null;
  };
  const file = withPostings ? new PostingsFile(buildPostings(docs, 'title', analyzer, read), 'title.postings') : null;
  return new DocsSegment(docs, dead, (attr, analysis) => (attr === 'title' && analysis === analysisKey(TITLE) ? file : null));
}

interface Corpus {
  segs: Segment[];
  live: Doc[];
}

function corpus(rows: RowIn[], cuts: number[], postings: boolean[], tailRows: RowIn[]): Corpus {
  const docs = rows.map(toDoc);
  const tail = tailRows.map(toDoc);
  const seen = new Set<number>();
  const tailDead = tail.map(() => false);
  for (let i = tail.length - 1; i >= 0; i--) {
    tailDead[i] = seen.has(tail[i]!.id as number);
    seen.add(tail[i]!.id as number);
  }
  const dead = docs.map(() => false);
  for (let i = docs.length - 1; i >= 0; i--) {
    dead[i] = seen.has(docs[i]!.id as number);
    seen.add(docs[i]!.id as number);
  }
  const mask = (flags: boolean[]) => {
    const m = Uint8Array.from(flags.map((x) => (x ? 1 : 0)));
    return m.some((x) => x === 1) ? m : null;
  };
  const bounds = [...new Set(cuts.map((c) => Math.min(c, docs.length)))].sort((a, b) => a - b);
  const segs: Segment[] = [];
  let start = 0;
  let p = 0;
  for (const end of [...bounds, docs.length]) {
    if (end <= start) continue;
    segs.push(partSegment(docs.slice(start, end), mask(dead.slice(start, end)), postings[p++ % postings.length]!));
    start = end;
  }
  segs.push(new DocsSegment(tail, mask(tailDead)));
  return { segs, live: [...docs.filter((_, i) => !dead[i]), ...tail.filter((_, i) => !tailDead[i])] };
}

const corpusArb = fc
  .record({
    rows: fc.array(rowArb, { maxLength: 60, size: 'max' }),
    cuts: fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 4 }),
    postings: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
    tail: fc.array(rowArb, { maxLength: 15, size: 'max' }),
  })
  .map((c) => corpus(c.rows, c.cuts, c.postings, c.tail));

// ---- random expressions ----
const bm25Arb = fc
  .record({ words: fc.array(fc.constantFrom(...VOCAB, 'ban'), { minLength: 1, maxLength: 3 }), prefix: fc.boolean() })
  .map(({ words, prefix }) => (prefix ? ['title', 'BM25', words.join(' '), { last_as_prefix: true }] : ['title', 'BM25', words.join(' ')]));
const filterLeafArb = fc.constantFrom<unknown>(['color', 'Eq', 'red'], ['n', 'Gte', 3], ['u', 'Eq', null], ['Or', [['f', 'Lt', 0], ['color', 'Eq', 'green']]]);
const unsignedArb = fc.constantFrom<unknown>(['Attribute', 'u']);
/** Signed attributes may only appear where the value is clamped (Max, Saturate, Decay, Dist). */
const signedArb = fc.constantFrom<unknown>(['Attribute', 'n'], ['Attribute', 'f']);
const paramsArb = fc.record({ midpoint: fc.constantFrom(0.5, 3, 100), exponent: fc.constantFrom(undefined, 0.5, 2) }).map((p) => (p.exponent === undefined ? { midpoint: p.midpoint } : p));

const exprArb: fc.Arbitrary<unknown> = fc.letrec<{ expr: unknown; clampedChild: unknown }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    bm25Arb,
    unsignedArb,
    filterLeafArb,
    fc.tuple(tie('expr'), tie('expr')).map((c) => ['Sum', c]),
    fc.tuple(fc.constantFrom(0, 1.5, -2), tie('expr')).map(([k, e]) => ['Sum', [e, k]]),
    fc.tuple(tie('clampedChild'), tie('expr')).map((c) => ['Max', c]),
    tie('clampedChild').map((e) => ['Max', 0, e]),
    fc.tuple(fc.constantFrom(2, 0.5, 0), tie('expr')).map(([w, e]) => ['Product', w, e]),
    fc.tuple(tie('clampedChild'), paramsArb).map(([e, p]) => ['Saturate', e, p]),
    fc.tuple(tie('clampedChild'), paramsArb).map(([e, p]) => ['Decay', e, p]),
    fc.tuple(tie('clampedChild'), fc.constantFrom(0, 4, -2.5)).map(([e, o]) => ['Dist', e, o]),
    fc
      .tuple(fc.constantFrom('2026-01-02T00:00:00Z', '2026-01-01T12:00:00Z', T0 + 5 * HOUR), fc.constantFrom<unknown>('6h', '1d', '90m', 7_200_000), fc.boolean())
      .map(([o, m, sat]) => [sat ? 'Saturate' : 'Decay', ['Dist', ['Attribute', 't'], o], { midpoint: m }]),
  ),
  clampedChild: fc.oneof({ depthSize: 'small' }, signedArb, tie('expr')),
})).expr;

const queryFilterArb = fc.constantFrom<unknown>(undefined, ['color', 'Eq', 'red'], ['n', 'Lt', 4]);

// ---- the brute force ----
const DURATION: Record<string, number> = { '6h': 6 * HOUR, '1d': 24 * HOUR, '90m': 1.5 * HOUR };
const num = (v: unknown) => (typeof v === 'string' ? Date.parse(v) : (v as number));

/** Each BM25 clause's scores (by id) from a plain BM25 query of that clause over the live documents. */
function bm25Scores(clause: unknown, live: readonly Doc[]): Map<Id, number> {
  const q = parseQuery({ rank_by: clause, top_k: 10_000 }, CTX);
  const rows = executeQuery(q, live, { ...CTX, textCorpus: () => looseCorpus(live) }).rows!;
  return new Map(rows.map((r) => [r.id, r.$dist!]));
}

/** The expression's value on `doc`, or undefined when it does not match the row. */
function brute(e: unknown, doc: Doc, live: readonly Doc[], memo: Map<unknown, Map<Id, number>>): number | undefined {
  if (typeof e === 'number') return e;
  const node = e as unknown[];
  if (node[1] === 'BM25') {
    if (!memo.has(e)) memo.set(e, bm25Scores(e, live));
    return memo.get(e)!.get(doc.id);
  }
  const isConst = (c: unknown) => typeof c === 'number';
  switch (node[0]) {
    case 'Sum':
    case 'Max': {
      const items = node.length === 3 ? [node[1], node[2]] : (node[1] as unknown[]);
      let acc: number | undefined;
      let matched = false;
      for (const c of items) {
        const v = brute(c, doc, live, memo);
        if (v === undefined) continue;
        if (!isConst(c)) matched = true;
        acc = acc === undefined ? v : node[0] === 'Sum' ? acc + v : Math.max(acc, v);
      }
      return matched ? acc : undefined;
    }
    case 'Product': {
      const v = brute(node[2], doc, live, memo);
      return v === undefined ? undefined : (node[1] as number) * v;
    }
    case 'Attribute': {
      const v = doc.attrs[node[1] as string];
      return v === undefined || v === null ? undefined : num(v);
    }
    case 'Saturate':
    case 'Decay': {
      const v = brute(node[1], doc, live, memo);
      if (v === undefined) return undefined;
      const p = node[2] as { midpoint: number | string; exponent?: number };
      const m = typeof p.midpoint === 'string' ? DURATION[p.midpoint]! : p.midpoint;
      return node[0] === 'Saturate' ? saturate(v, m, p.exponent ?? 1) : decay(v, m, p.exponent ?? 1);
    }
    case 'Dist': {
      const v = brute(node[1], doc, live, memo);
      return v === undefined ? undefined : Math.abs(v - num(node[2]));
    }
    default:
      return compileFilter(e, SCHEMA)(doc) ? 1 : undefined;
  }
}

function bruteQuery(rankBy: unknown, filters: unknown, topK: number, live: readonly Doc[], perColor: number | null): Array<{ id: Id; $dist: number }> {
  const memo = new Map<unknown, Map<Id, number>>();
  const keep = filters === undefined ? () => true : compileFilter(filters, SCHEMA);
  const out: Array<{ id: Id; $dist: number }> = [];
  for (const doc of live) {
    if (!keep(doc)) continue;
    const v = brute(rankBy, doc, live, memo);
    if (v !== undefined) out.push({ id: doc.id, $dist: v });
  }
  out.sort((a, b) => b.$dist - a.$dist || (a.id as number) - (b.id as number));
  if (perColor === null) return out.slice(0, topK);
  // limit.per on color: at most perColor rows per color, in rank order, then the total.
  const seen = new Map<unknown, number>();
  const color = new Map(live.map((d) => [d.id, d.attrs.color]));
  return out
    .filter((r) => {
      const c = color.get(r.id);
      seen.set(c, (seen.get(c) ?? 0) + 1);
      return seen.get(c)! <= perColor;
    })
    .slice(0, topK);
}

describe('ranking expressions over segments', () => {
  it('should rank exactly the rows a brute-force evaluation ranks, in parts (postings or not) and the tail, with filters', async () => {
    let nonEmpty = 0;
    let beyondText = 0;
    await fc.assert(
      fc.asyncProperty(corpusArb, exprArb, queryFilterArb, fc.integer({ min: 1, max: 30 }), fc.option(fc.integer({ min: 1, max: 3 }), { freq: 4 }), async ({ segs, live }, rankBy, filters, topK, perColor) => {
        const limit = perColor === null ? { top_k: topK } : { limit: { total: topK, per: { attributes: ['color'], limit: perColor } } };
        const body = { rank_by: rankBy, ...limit, ...(filters === undefined ? {} : { filters }) };
        let q;
        try {
          q = parseQuery(body, CTX);
        } catch (e) {
          // Only a BM25-free expression of constants could be rejected; the generator never makes one.
          throw new Error(`rejected ${JSON.stringify(rankBy)}: ${(e as Error).message}`);
        }
        const want = bruteQuery(rankBy, filters, topK, live, perColor);
        if (want.length > 0) nonEmpty++;
        // Rows ranked although the title has no query term: matched by Attribute / filter leaves only.
        if (want.some((r) => !live.find((d) => d.id === r.id)!.attrs.title)) beyondText++;
        const strip = (rows: unknown[] | undefined) => (rows ?? []).map((r) => ({ id: (r as { id: Id }).id, $dist: (r as { $dist: number }).$dist }));
        // Same rows in the same order; scores equal up to rounding (a linear BM25 expression under top_k is summed
        // leaf by leaf for max-score, w·a + w·b rather than w·(a + b): text-segments.test.ts checks those bit for bit
        // against the engine's own exhaustive path).
        const same = (got: Array<{ id: Id; $dist: number }>) => {
          expect(got.map((r) => r.id)).toEqual(want.map((r) => r.id));
          got.forEach((r, i) => expect(r.$dist).toBeCloseTo(want[i]!.$dist, 9));
        };
        same(strip(executeQuery(q, live, { ...CTX, textCorpus: () => looseCorpus(live) }).rows));
        same(strip((await executeOnSegments(q, segs)).rows));
        // Read only what was prepared; parts (not the tail) with filter indexes, exact or answering a superset.
        for (const masks of ['none', 'exact', 'superset'] as const) {
          const guarded = segs.map((seg, i) => new MaskedSegment(seg, i < segs.length - 1 ? masks : 'none'));
          same(strip((await executeOnSegments(q, guarded, undefined, { prepareNeed: (s, need) => guarded[s]!.prepare(need) })).rows));
        }
      }),
      { numRuns: 400 },
    );
    // The generator exercises what it should: most runs rank rows, many beyond the BM25 matches.
    expect(nonEmpty).toBeGreaterThan(200);
    expect(beyondText).toBeGreaterThan(50);
  });

  it('should name the columns its Attribute and filter leaves read', () => {
    const q = parseQuery({ rank_by: ['Sum', [['Attribute', 'u'], ['Decay', ['Dist', ['Attribute', 't'], '2026-01-01'], { midpoint: '1d' }], ['color', 'Eq', 'red']]] }, CTX);
    const plan = (q.rank as { plan: TextRankPlan }).plan;
    expect(new Set(plan.valueAttributes)).toEqual(new Set(['u', 't', 'color']));
    expect(new Set(q.readAttrs)).toEqual(new Set(['u', 't', 'color']));
  });
});

/**
 * A GuardedSegment (reads only what its current prepares named); with `masks`, filter indexes over the attributes
 * prepared as filterIndexes: an exact mask, or a superset of the matches (every third row added) that the caller must
 * re-test.
 */
class MaskedSegment extends GuardedSegment {
  readonly filterMask?: Segment['filterMask'];
  constructor(inner: Segment, masks: 'none' | 'exact' | 'superset' = 'none') {
    super(inner);
    if (masks !== 'none') {
      this.filterMask = (filter) => {
        const used = filterAttributes(filter);
        this.check('filter indexes', (n) => used.every((a) => a === 'id' || (n.filterIndexes ?? []).includes(a)));
        const test = compileFilter(filter, SCHEMA);
        const docs = (this.inner as DocsSegment).rowDocs;
        const mask = Uint8Array.from(docs, (d, o) => (test(d) || (masks === 'superset' && o % 3 === 0) ? 1 : 0));
        return { mask, exact: masks === 'exact' };
      };
    }
  }
}
