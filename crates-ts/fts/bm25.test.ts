/**
 * BM25 against an independent, straightforward reference computed here: whitespace-split lowercase tokens of
 * plain ASCII words (no stop words in the vocabulary, so analysis reduces to that), textbook formula (with the
 * query-term saturation k3 = 8 for repeated query terms), looped.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Doc, Id, Schema } from '../core/index.js';
import { analyzerFor, bm25, collectFieldStats, mergeFieldStats, normalizeFullTextConfig, planTextRank } from './index.js';

const VOCAB = ['fox', 'dog', 'cat', 'bird', 'fish', 'run', 'jump'];
const config = normalizeFullTextConfig(true, 'body');
const schema: Schema = { id: { type: 'uint' }, body: { type: 'string', full_text_search: config } };

function referenceScores(docs: Doc[], query: string[], k1 = 1.2, b = 0.75): Map<Id, number> {
  const texts = docs.map((d) => (typeof d.attrs.body === 'string' ? d.attrs.body.toLowerCase().split(' ').filter(Boolean) : null));
  const present = texts.filter((t): t is string[] => t !== null);
  const N = present.length;
  const avg = present.reduce((s, t) => s + t.length, 0) / N;
  const out = new Map<Id, number>();
  docs.forEach((d, i) => {
    const t = texts[i];
    if (t === null || t === undefined) return;
    let score = 0;
    // Each distinct query term once, weighted by its query frequency saturated with k3 = 8.
    for (const q of new Set(query)) {
      const qtf = query.filter((w) => w === q).length;
      const tf = t.filter((w) => w === q).length;
      if (tf === 0) continue;
      const df = present.filter((p) => p.includes(q)).length;
      const idf = Math.log(1 + (N - df + 0.5) / (df + 0.5));
      score += ((idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * t.length) / avg))) * ((9 * qtf) / (8 + qtf));
    }
    if (score > 0) out.set(d.id, score);
  });
  return out;
}

// Up to 40 words: both sides of doc-terms SCAN_LIMIT (scan vs map lookups).
const docsArb = fc
  .array(fc.option(fc.array(fc.constantFrom(...VOCAB), { maxLength: 40 }).map((w) => w.join(' ')), { nil: null }), { minLength: 1, maxLength: 30 })
  .map((texts) => texts.map((t, i): Doc => ({ id: i, vector: null, attrs: t === null ? {} : { body: t } })));

describe('bm25', () => {
  it('should follow the textbook formula on a hand-computed case', () => {
    // N=2, df=1: idf = ln(1 + 1.5/1.5) = ln 2; tf=1, len=avg: 1*2.2/(1+1.2) = 1.
    expect(bm25(1, 1, 3, 3, 2, 1.2, 0.75)).toBeCloseTo(Math.LN2, 12);
    expect(bm25(0, 1, 3, 3, 2, 1.2, 0.75)).toBe(0);
    // b = 0 ignores length.
    expect(bm25(2, 1, 100, 1, 2, 1.2, 0)).toBeCloseTo(bm25(2, 1, 1, 1, 2, 1.2, 0), 12);
  });

  it('should rank like the reference on random corpora and queries', () => {
    fc.assert(
      fc.property(docsArb, fc.array(fc.constantFrom(...VOCAB), { minLength: 1, maxLength: 4 }), (docs, query) => {
        const plan = planTextRank(['body', 'BM25', query.join(' ')], schema);
        const got = new Map(plan.evaluate(docs).map((r) => [r.doc.id, r.score]));
        const want = referenceScores(docs, query);
        expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
        for (const [id, s] of want) expect(got.get(id)).toBeCloseTo(s, 9);
      }),
      { numRuns: 300 },
    );
  });

  it('should compute statistics over all docs but return only candidates', () => {
    const docs: Doc[] = ['fox dog', 'fox', 'cat cat cat', 'dog'].map((t, i) => ({ id: i, vector: null, attrs: { body: t } }));
    const plan = planTextRank(['body', 'BM25', 'fox'], schema);
    const all = new Map(plan.evaluate(docs).map((r) => [r.doc.id, r.score]));
    const some = plan.evaluate(docs, (d) => d.id === 1);
    expect(some).toHaveLength(1);
    expect(some[0]!.score).toBe(all.get(1)); // same namespace-wide statistics
    expect(all.get(1)!).toBeGreaterThan(all.get(0)!); // shorter doc ranks higher
  });

  it('should merge per-part statistics into the namespace-wide ones', () => {
    fc.assert(
      fc.property(docsArb, fc.nat(), (docs, cut) => {
        const k = cut % (docs.length + 1);
        const a = analyzerFor(config);
        const whole = collectFieldStats(docs, 'body', a, ['fox', 'dog'], ['fi']);
        const merged = mergeFieldStats(collectFieldStats(docs.slice(0, k), 'body', a, ['fox', 'dog'], ['fi']), collectFieldStats(docs.slice(k), 'body', a, ['fox', 'dog'], ['fi']));
        expect(merged).toEqual(whole);
        expect(whole.docCount).toBe(docs.filter((d) => d.attrs.body !== undefined).length);
      }),
      { numRuns: 100 },
    );
  });
});
