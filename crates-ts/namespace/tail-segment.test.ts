/**
 * The columnar tail against a model (a map of the newest document per id): whatever mix of upserts and deletes, with
 * attributes that are numbers, strings, arrays, explicit nulls or missing, and vectors present, absent or of another
 * length, the tail gives back exactly the documents it was given — by id, as live documents, by ordinal and by
 * column reader.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { AttrValue, Doc, Id } from '../core/index.js';
import { TailSegment } from './tail-segment.js';
import { analyzeValue, analyzerFor, DEFAULT_FULL_TEXT_CONFIG, type TextAnalyzer } from '../fts/index.js';
import { docLogicalBytes } from './logical-bytes.js';

const attrValue = fc.oneof(
  fc.double({ noNaN: true }),
  fc.integer(),
  fc.string({ maxLength: 6 }),
  fc.constant(null),
  fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 }),
  fc.boolean(),
);
const docArb = fc.record({
  id: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constantFrom('a', 'b', 'c')),
  vector: fc.oneof(fc.constant(null), fc.array(fc.float({ noNaN: true }), { minLength: 3, maxLength: 3 }), fc.array(fc.float({ noNaN: true }), { minLength: 2, maxLength: 2 })),
  attrs: fc.dictionary(fc.constantFrom('n', 's', 'x', 'tags'), attrValue, { maxKeys: 4 }),
});
const opArb = fc.oneof({ weight: 5, arbitrary: docArb.map((d) => ({ kind: 'upsert' as const, d })) }, { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constant('a')).map((id) => ({ kind: 'delete' as const, id })) });

const norm = (d: Doc) => ({ id: d.id, vector: d.vector === null ? null : Array.from(d.vector), attrs: d.attrs });

describe('TailSegment (columnar)', () => {
  it('gives back exactly the newest document of every id, whatever the attributes and vectors', async () => {
    fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 300 }), async (ops) => {
        const tail = new TailSegment();
        const model = new Map<Id, Doc | null>();
        for (const op of ops) {
          if (op.kind === 'upsert') {
            const doc: Doc = { id: op.d.id, vector: op.d.vector === null ? null : Float32Array.from(op.d.vector), attrs: op.d.attrs as Record<string, AttrValue> };
            tail.upsert(doc);
            model.set(doc.id, doc);
          } else {
            tail.delete(op.id);
            model.set(op.id, null);
          }
        }
        for (const [id, want] of model) {
          const got = tail.get(id);
          expect(got === null ? null : norm(got!)).toEqual(want === null ? null : norm(want));
        }
        const live = [...tail.liveDocs()].map(norm);
        expect(live.length).toBe(tail.liveRows);
        expect(tail.liveBytes).toBe([...tail.liveDocs()].reduce((b, d) => b + docLogicalBytes(d), 0));
        expect(new Map(live.map((d) => [d.id, d]))).toEqual(new Map([...model].filter(([, d]) => d !== null).map(([id, d]) => [id, norm(d!)])));
        // Ordinal access and column readers agree with the documents.
        const snap = tail.snapshot();
        const readers = ['n', 's', 'x', 'tags'].map((a) => [a, snap.reader!(a)] as const);
        const docs = await snap.docs(Array.from({ length: snap.rows }, (_, o) => o));
        docs.forEach((d, o) => {
          for (const [a, read] of readers) {
            expect(read(o)).toEqual(d.attrs[a]);
            expect(snap.value(a, o)).toEqual(d.attrs[a]);
          }
        });
      }),
      { numRuns: 200 },
    );
  });

  it('keeps an explicit null apart from a missing attribute, and numbers exact across a column turning generic', () => {
    const tail = new TailSegment();
    tail.upsert({ id: 1, vector: null, attrs: { n: 0.1 + 0.2, m: null } });
    tail.upsert({ id: 2, vector: null, attrs: { m: 5 } });
    tail.upsert({ id: 3, vector: null, attrs: { n: 'seven' } });
    expect(tail.get(1)!.attrs).toStrictEqual({ n: 0.1 + 0.2, m: null });
    expect(tail.get(2)!.attrs).toStrictEqual({ m: 5 });
    expect(tail.get(3)!.attrs).toStrictEqual({ n: 'seven' });
  });

  it('should analyse the text of each row once per analyser and attribute, and agree with a fresh analysis', () => {
    const base = analyzerFor(DEFAULT_FULL_TEXT_CONFIG);
    let calls = 0;
    const counting: TextAnalyzer = { ...base, config: base.config, tokens: (t) => (calls++, base.tokens(t)) };
    const tail = new TailSegment();
    const texts = ['the quick fox', 'a lazy dog', 'quick quick', null, ['x y', 'z']];
    texts.forEach((t, i) => tail.upsert({ id: i, vector: null, attrs: t === null ? {} : { text: t } }));
    tail.upsert({ id: 0, vector: null, attrs: { text: 'replaced' } }); // a new row; row 0 keeps its text
    const snap = tail.snapshot();
    for (let pass = 0; pass < 3; pass++) {
      for (let o = 0; o < tail.rows; o++) {
        const got = (pass === 1 ? snap : tail).analyzed!('text', counting, o);
        const want = analyzeValue(tail.value('text', o), base);
        expect(got?.tokens ?? null).toEqual(want?.tokens ?? null);
      }
    }
    // Five rows with text (one missing): analysed on the first pass only.
    expect(calls).toBe(5);
    expect(tail.analyzed('text', counting, 0)!.tokens).toEqual(analyzeValue('the quick fox', base)!.tokens);
    expect(tail.analyzed('text', counting, 5)!.tokens).toEqual(['replaced']);
    tail.analyzed('other', counting, 0);
    expect(calls).toBe(5); // no text in 'other': nothing to analyse
  });

  it('should keep requested text indexes current as rows arrive, and start them in a segment that inherits them', () => {
    const base = analyzerFor(DEFAULT_FULL_TEXT_CONFIG);
    let calls = 0;
    const analyzer: TextAnalyzer = { ...base, config: base.config, tokens: (t) => (calls++, base.tokens(t)) };
    const tail = new TailSegment();
    tail.upsert({ id: 1, vector: null, attrs: { text: 'quick fox' } });
    expect(tail.loosePostings('text', analyzer).list('fox').ords).toEqual([0]);
    tail.upsert({ id: 2, vector: null, attrs: { text: 'lazy fox' } });
    const ix = tail.loosePostings('text', analyzer);
    expect(ix.rows).toBe(2);
    const next = new TailSegment();
    next.inheritTextIndexes(tail);
    calls = 0;
    next.upsert({ id: 2, vector: null, attrs: { text: 'fox fox' } });
    expect(calls).toBe(1); // analysed as it was folded in, before any query asked
    const inherited = next.loosePostings('text', analyzer);
    expect(inherited.rows).toBe(1);
    expect(inherited.list('fox')).toEqual({ ords: [0], tfs: [2] });
  });

  it('should size its vector buffer once for the rows it was told are coming', () => {
    const tail = new TailSegment();
    tail.reserve(5000);
    tail.upsert({ id: 0, vector: Float32Array.from([1, 2, 3]), attrs: {} });
    const first = tail.vectors()!.data;
    expect(first.length).toBeGreaterThanOrEqual(5000 * 3);
    for (let i = 1; i < 5000; i++) tail.upsert({ id: i, vector: Float32Array.from([i, 0, 1]), attrs: {} });
    expect(tail.vectors()!.data).toBe(first); // never regrown (copied)
    expect(Array.from(tail.vectors()!.data.subarray(4999 * 3, 5000 * 3))).toEqual([4999, 0, 1]);
  });
});
