/**
 * BM25 over segments against an exhaustive oracle: random corpora split into parts — with postings for both text
 * attributes, for one, built with another analysis, or none — plus a WAL tail, with dead rows (some sharing an id
 * with a live row, as shadowed rows do), filters, and every rank expression shape (Sum, Max, Product with positive
 * and zero weights, two attributes with different analyses and k1/b, repeated terms, last_as_prefix), top_k
 * and limit.per. The oracle is executeQuery over the live documents as one loose corpus (every document analysed,
 * statistics over all of them, the same top-k or every-match mode as the segments): rows, order, ties by id and
 * scores must be identical, bit for bit.
 *
 * (The mode matters for the last bit: with top_k a linear expression is summed leaf by leaf, which max-score needs;
 * with every match it is evaluated as the expression tree. Either way all sources of one query sum alike.)
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Doc, FullTextConfig, Schema } from '../core/index.js';
import { analysisKey, analyzerFor, buildPostings, isTextValue, looseCorpus, normalizeFullTextConfig, PostingsFile } from '../fts/index.js';
import { DocsSegment, type Segment, type SegmentNeed } from './segment.js';
import { executeOnSegments } from './execute-segments.js';
import { GuardedSegment } from './test-helpers.js';
import { TEXT_PREFETCH } from './text-segments.js';
import { executeQuery, parseQuery, type QueryContext } from './index.js';

const TITLE = normalizeFullTextConfig({ remove_stopwords: false, k1: 1.6, b: 0.3 }, 'title');
const BODY = normalizeFullTextConfig({ stemming: true, k1: 1.2, b: 0.75 }, 'body');
/** Another analysis of `title`: postings built with it must be ignored (the part's rows are analysed instead). */
const TITLE_OTHER = normalizeFullTextConfig({ remove_stopwords: true, k1: 1.6, b: 0.3 }, 'title');

const SCHEMA: Schema = {
  id: { type: 'uint' },
  title: { type: 'string', full_text_search: TITLE },
  body: { type: 'string', full_text_search: BODY },
  color: { type: 'string', filterable: true },
  n: { type: 'int', filterable: true },
};
const CTX: QueryContext = { schema: SCHEMA, distanceMetric: null };

const VOCAB = ['apple', 'apply', 'applied', 'apples', 'banana', 'band', 'the', 'and', 'of', 'fox', 'foxes', 'dog', 'kiwi', 'grape'];
const textArb = fc.oneof(
  { weight: 10, arbitrary: fc.array(fc.constantFrom(...VOCAB), { maxLength: 9 }).map((w) => w.join(' ')) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant('') },
);
const rowArb = fc.record({
  id: fc.integer({ min: 0, max: 50 }),
  title: textArb,
  body: textArb,
  color: fc.constantFrom('red', 'green'),
  n: fc.integer({ min: 0, max: 9 }),
});
type RowIn = { id: number; title: string | null; body: string | null; color: string; n: number };

function toDoc(r: RowIn): Doc {
  const attrs: Doc['attrs'] = { color: r.color, n: r.n };
  if (r.title !== null) attrs.title = r.title;
  if (r.body !== null) attrs.body = r.body;
  return { id: r.id, vector: null, attrs };
}

/** Postings of `attr` over `docs` as the part builder makes them (part/build.ts buildPostingsFiles). */
function postingsOf(docs: readonly Doc[], attr: string, config: FullTextConfig): { analysis: string; file: PostingsFile } {
  const analyzer = analyzerFor(config);
  const read = (d: Doc) => {
    const v = d.attrs[attr];
    return v !== null && v !== undefined && isTextValue(v) ? analyzer.tokens(v) : null;
  };
  return { analysis: analysisKey(config), file: new PostingsFile(buildPostings(docs, attr, analyzer, read), `${attr}.postings`) };
}

/** What a part has: postings of both attributes, title only, title built with another analysis, or none. */
const POSTINGS_KINDS = ['both', 'title', 'other-analysis', 'none'] as const;

function partSegment(docs: Doc[], dead: Uint8Array | null, kind: (typeof POSTINGS_KINDS)[number]): DocsSegment {
  const files = new Map<string, { analysis: string; file: PostingsFile }>();
  if (kind === 'both' || kind === 'title') files.set('title', postingsOf(docs, 'title', TITLE));
  if (kind === 'both') files.set('body', postingsOf(docs, 'body', BODY));
  if (kind === 'other-analysis') files.set('title', postingsOf(docs, 'title', TITLE_OTHER));
  return new DocsSegment(docs, dead, (attr, analysis) => {
    const f = files.get(attr);
    return f !== undefined && f.analysis === analysis ? f.file : null;
  });
}

const clauseArb = (attr: 'title' | 'body') =>
  fc
    .record({ words: fc.array(fc.constantFrom(...VOCAB, 'app', 'ban', 'fo'), { minLength: 1, maxLength: 4 }), prefix: fc.boolean() })
    .map(({ words, prefix }) => (prefix ? [attr, 'BM25', words.join(' '), { last_as_prefix: true }] : [attr, 'BM25', words.join(' ')]));
const anyClause = fc.oneof(clauseArb('title'), clauseArb('body'));
const rankArb: fc.Arbitrary<unknown> = fc.oneof(
  anyClause,
  fc.tuple(anyClause, anyClause).map((c) => ['Sum', c]),
  fc.tuple(anyClause, anyClause).map((c) => ['Max', c]),
  fc.tuple(fc.constantFrom(0.5, 2, 3.25, 0), anyClause).map(([w, c]) => ['Product', w, c]),
  fc.tuple(fc.constantFrom(0.5, 2), anyClause, anyClause).map(([w, a, b]) => ['Sum', [['Product', w, a], b]]),
  fc.tuple(anyClause, anyClause, anyClause).map(([a, b, c]) => ['Max', [['Sum', [a, b]], c]]),
);
const filterArb = fc.constantFrom<unknown>(undefined, ['color', 'Eq', 'red'], ['n', 'Gte', 5], ['Or', [['color', 'Eq', 'green'], ['n', 'Lt', 3]]]);
const bodyArb = fc.oneof(
  fc.record({ rank_by: rankArb, top_k: fc.integer({ min: 1, max: 40 }), filters: filterArb }),
  fc.record({
    rank_by: rankArb,
    limit: fc.record({ total: fc.integer({ min: 1, max: 30 }), per: fc.record({ attributes: fc.constant(['color']), limit: fc.integer({ min: 1, max: 4 }) }) }),
    filters: filterArb,
  }),
);

interface Corpus {
  segs: Segment[];
  live: Doc[];
}

function corpus(rows: RowIn[], cuts: number[], kinds: (typeof POSTINGS_KINDS)[number][], deadFlags: boolean[], tailRows: RowIn[]): Corpus {
  // Newest source first decides liveness: the tail (newest row of an id wins), then parts from the last.
  const docs = rows.map(toDoc);
  const tail = tailRows.map(toDoc);
  const seen = new Set<number>();
  const tailDead = new Array<boolean>(tail.length).fill(false);
  for (let i = tail.length - 1; i >= 0; i--) {
    const id = tail[i]!.id as number;
    tailDead[i] = seen.has(id);
    seen.add(id);
  }
  const dead = new Array<boolean>(docs.length).fill(false);
  for (let i = docs.length - 1; i >= 0; i--) {
    const id = docs[i]!.id as number;
    dead[i] = deadFlags[i] === true || seen.has(id);
    seen.add(id);
  }
  const bounds = [...new Set(cuts.map((c) => Math.min(c, docs.length)))].sort((a, b) => a - b);
  const segs: Segment[] = [];
  const mask = (flags: boolean[]) => {
    const m = Uint8Array.from(flags.map((x) => (x ? 1 : 0)));
    return m.some((x) => x === 1) ? m : null;
  };
  let start = 0;
  let p = 0;
  for (const end of [...bounds, docs.length]) {
    if (end <= start) continue;
    segs.push(partSegment(docs.slice(start, end), mask(dead.slice(start, end)), kinds[p++ % kinds.length]!));
    start = end;
  }
  segs.push(new DocsSegment(tail, mask(tailDead)));
  const live = [...docs.filter((_, i) => !dead[i]), ...tail.filter((_, i) => !tailDead[i])];
  return { segs, live };
}

const corpusArb = fc
  .record({
    rows: fc.array(rowArb, { maxLength: 90, size: 'max' }),
    cuts: fc.array(fc.integer({ min: 0, max: 90 }), { minLength: 1, maxLength: 5 }),
    kinds: fc.array(fc.constantFrom(...POSTINGS_KINDS), { minLength: 1, maxLength: 6 }),
    deadFlags: fc.array(fc.integer({ min: 0, max: 4 }).map((x) => x === 0), { maxLength: 90, size: 'max' }),
    tail: fc.array(rowArb, { maxLength: 15, size: 'max' }),
  })
  .map((c) => corpus(c.rows, c.cuts, c.kinds, c.deadFlags, c.tail));

describe('BM25 over segments', () => {
  it('should return exactly what an exhaustive evaluation over the live documents returns, scores bit for bit', async () => {
    await fc.assert(
      fc.asyncProperty(corpusArb, bodyArb, async ({ segs, live }, body) => {
        const clean = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
        const q = parseQuery(clean, CTX);
        const want = executeQuery(q, live, { ...CTX, textCorpus: () => looseCorpus(live) });
        // Segments used as they are (in memory) ...
        expect(await executeOnSegments(q, segs)).toEqual(want);
        // ... and streamed: each prepared for one pass and released, and read only for what it was prepared with.
        const log: PrepareLog = { open: 0, maxOpen: 0, scoring: false };
        const guarded = segs.map((seg) => new LoggedSegment(seg, log));
        expect(await executeOnSegments(q, guarded, undefined, { prepareNeed: (s, need) => guarded[s]!.prepare(need) })).toEqual(want);
        expect(log.open).toBe(0);
        expect(log.maxOpen).toBeLessThanOrEqual(1 + TEXT_PREFETCH);
      }),
      { numRuns: 500 },
    );
  });
});

interface PrepareLog {
  /** Segments prepared and not released yet. */
  open: number;
  maxOpen: number;
  /** A scoring prepare (with ids) was seen: no statistics prepare may follow. */
  scoring: boolean;
}

/** A GuardedSegment that logs how many segments are prepared at once, and that scoring never follows a prepare without ids. */
class LoggedSegment extends GuardedSegment {
  constructor(
    inner: Segment,
    private readonly log: PrepareLog,
  ) {
    super(inner);
  }

  protected override onPrepare(need: SegmentNeed): void {
    if (need.ids === false) expect(this.log.scoring).toBe(false);
    else this.log.scoring = true;
    if (this.needs.length === 1) this.log.maxOpen = Math.max(this.log.maxOpen, ++this.log.open);
  }
  protected override onRelease(): void {
    if (this.needs.length === 0) this.log.open--;
  }
}

