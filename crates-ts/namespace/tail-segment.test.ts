/**
 * The columnar tail against a model (a map of the newest document per id): whatever mix of upserts and deletes, with
 * attributes that are numbers, strings, arrays, explicit nulls or missing, and vectors present, absent or of another
 * length, the tail gives back exactly the documents it was given — by id, as live documents, by ordinal and by
 * column reader.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { docLogicalBytes, type AttrValue, type Doc, type Id } from '../core/index.js';
import { TailSegment } from './tail-segment.js';
import { executeOnSegments, hasBit, parseQuery, vectorSlot, type ChunkedVectors } from '../query/index.js';
import { analyzeValue, analyzerFor, DEFAULT_FULL_TEXT_CONFIG, type TextAnalyzer } from '../fts/index.js';

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
    await fc.assert(
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

  it('reads back a numeric attribute first seen at a row past twice its column size (one bit per row)', () => {
    const tail = new TailSegment();
    for (let i = 0; i < 300; i++) tail.upsert({ id: i, vector: null, attrs: {} });
    tail.upsert({ id: 300, vector: null, attrs: { extra: 1 } });
    tail.upsert({ id: 301, vector: null, attrs: { extra: 2 } });
    expect([tail.value('extra', 300), tail.value('extra', 301), tail.value('extra', 299)]).toEqual([1, 2, undefined]);
    expect(tail.reader('extra')(300)).toBe(1);
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
    const chunk0 = () => (tail.vectors() as ChunkedVectors).chunks[0]!.data;
    const first = chunk0();
    expect(first.length).toBeGreaterThanOrEqual(5000 * 3);
    for (let i = 1; i < 5000; i++) tail.upsert({ id: i, vector: Float32Array.from([i, 0, 1]), attrs: {} });
    expect(chunk0()).toBe(first); // never regrown (copied)
    expect(Array.from(chunk0().subarray(4999 * 3, 5000 * 3))).toEqual([4999, 0, 1]);
  });

  it('should keep vectors in chunks that are never copied once full', () => {
    const tail = TailSegment.withChunkShift(6); // 64 rows per chunk
    const rows = 64 * 5 + 17;
    let held: Float32Array[] = [];
    for (let i = 0; i < rows; i++) {
      tail.upsert({ id: i, vector: i % 9 === 4 ? null : Float32Array.from([i, -i, 0.5]), attrs: {} });
      const v = tail.vectors() as ChunkedVectors;
      // Every full chunk is the same buffer as when it filled up.
      held.forEach((d, c) => expect(v.chunks[c]!.data).toBe(d));
      if ((i + 1) % 64 === 0) held = v.chunks.slice(0, (i + 1) / 64).map((c) => c!.data);
    }
    const v = tail.vectors()!;
    expect((v as ChunkedVectors).chunks.length).toBe(6);
    for (let i = 0; i < rows; i++) {
      if (i % 9 === 4) {
        expect(hasBit(v.present, i)).toBe(false);
        continue;
      }
      const { data, off } = vectorSlot(v, i);
      expect(Array.from(data.subarray(off, off + 3))).toEqual([i, -i, 0.5]);
      expect(Array.from(tail.get(i)!.vector!)).toEqual([i, -i, 0.5]);
    }
  });

  it('carried over past a prefix, is the tail of the rest: rows, documents, vectors, dead rows, text postings, scans', async () => {
    const analyzer = analyzerFor(DEFAULT_FULL_TEXT_CONFIG);
    const words = ['fox', 'dog', 'cat'];
    const entryArb = fc.array(
      fc.oneof(
        { weight: 5, arbitrary: fc.record({ id: fc.integer({ min: 0, max: 40 }), noVector: fc.boolean(), w: fc.constantFrom(...words) }).map((d) => ({ kind: 'upsert' as const, ...d })) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 }).map((id) => ({ kind: 'delete' as const, id })) },
      ),
      { maxLength: 8 },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), fc.boolean(), async (entries, cuts, big) => {
        // `big`: 4,096+ rows of padding first (then dropped), so vectors live in an arena and scans go through from().
        const pad = big ? 4200 : 0;
        const doc = (id: number, r: number, noVector: boolean, w: string): Doc => ({ id, vector: noVector ? null : Float32Array.from([id, r % 7, 1]), attrs: { text: `${w} ${words[r % 3]}`, n: r, sp: { [String(r % 5)]: r / 4, '9': 1 } } });
        // Small tails in chunks of 16 rows (every chunk after the first in an arena), big ones in one growing chunk.
        let tail = big ? new TailSegment() : TailSegment.withChunkShift(4);
        const ix0 = tail.loosePostings('text', analyzer); // a text index kept current from the start
        tail.sparseIndex('sp'); // sparse postings (RFC-0012) from the start too: carried-over segments read them windowed
        expect(ix0.rows).toBe(0);
        const all: { seq: number; firstRow: number; ops: ({ kind: 'upsert'; doc: Doc } | { kind: 'delete'; id: number })[] }[] = [];
        if (pad > 0) all.push({ seq: 0, firstRow: 0, ops: Array.from({ length: pad }, (_, i) => ({ kind: 'upsert' as const, doc: doc(1000 + i, i, false, 'cat') })) });
        entries.forEach((e, i) => all.push({ seq: i + 1, firstRow: 0, ops: e.map((o, j) => (o.kind === 'upsert' ? { kind: 'upsert' as const, doc: doc(o.id, i * 10 + j, o.noVector, o.w) } : o)) }));
        const fold = (t: TailSegment, e: (typeof all)[number]) => {
          for (const op of e.ops) if (op.kind === 'upsert') t.upsert(op.doc);
          else t.delete(op.id, e.seq);
        };
        for (const e of all) {
          e.firstRow = tail.rows;
          fold(tail, e);
        }
        // Carry over at increasing WAL boundaries (each cut covers some more entries, maybe none).
        let covered = 0;
        let base = 0; // index in `all` of the first entry the current segment holds
        for (const c of [...cuts].sort((a, b) => a - b)) {
          covered = Math.min(all.length, Math.max(covered, c % (all.length + 1), pad > 0 ? 1 : 0));
          const drop = (covered < all.length ? all[covered]!.firstRow : tail.rows);
          const prefixIds = all.slice(base, covered).flatMap((e) => e.ops.map((o) => (o.kind === 'upsert' ? o.doc.id : o.id)));
          const seq = covered === 0 ? -1 : all[covered - 1]!.seq;
          tail = tail.carryOver(drop, seq, prefixIds);
          for (let k = covered; k < all.length; k++) all[k]!.firstRow -= drop;
          base = covered;
        }
        // The same entries folded into a fresh segment.
        const fresh = new TailSegment();
        fresh.loosePostings('text', analyzer);
        for (const e of all.slice(covered)) fold(fresh, e);
        expect(tail.rows).toBe(fresh.rows);
        expect(tail.liveRows).toBe(fresh.liveRows);
        expect(tail.liveBytes).toBe(fresh.liveBytes);
        expect(tail.dead === null ? null : Array.from(tail.dead.subarray(0, tail.rows))).toEqual(fresh.dead === null ? null : Array.from(fresh.dead.subarray(0, fresh.rows)));
        const ords = Array.from({ length: tail.rows }, (_, o) => o);
        expect((await tail.docs(ords)).map(norm)).toEqual((await fresh.docs(ords)).map(norm));
        expect([...tail.liveDocs()].map(norm)).toEqual([...fresh.liveDocs()].map(norm));
        for (let id = 0; id <= 40; id++) {
          expect(tail.has(id)).toBe(fresh.has(id));
          const [a, b] = [tail.get(id), fresh.get(id)];
          expect(a === null || a === undefined ? a : norm(a)).toEqual(b === null || b === undefined ? b : norm(b));
        }
        const read = tail.reader('n');
        for (const o of ords) {
          expect(read(o)).toBe(fresh.value('n', o));
          expect(tail.id(o)).toBe(fresh.id(o));
          expect(tail.analyzed('text', analyzer, o)?.tokens).toEqual(fresh.analyzed('text', analyzer, o)?.tokens);
        }
        const [pa, pb] = [tail.loosePostings('text', analyzer), fresh.loosePostings('text', analyzer)];
        expect(pa.rows).toBe(pb.rows);
        for (let r = 0; r <= tail.rows; r++) {
          expect(pa.docsBefore(r)).toBe(pb.docsBefore(r));
          expect(pa.tokensBefore(r)).toBe(pb.tokensBefore(r));
        }
        for (const w of words) expect(pa.list(w)).toEqual(pb.list(w));
        const [sa, sb] = [tail.sparseIndex('sp')!, fresh.sparseIndex('sp')!];
        for (let d = 0; d <= 9; d++) {
          const [la, lb] = [sa.list(d), sb.list(d)];
          expect(la === null ? null : [Array.from(la.ords), Array.from(la.weights)], `sparse dim ${d}`).toEqual(lb === null ? null : [Array.from(lb.ords), Array.from(lb.weights)]);
        }
        for (const o of ords) expect(pa.len(o)).toBe(pb.len(o));
        // Vectors: the same rows present, the same values and norms, and a scan (the SIMD kernel when in an arena)
        // gives the same distances as over the fresh segment's buffer.
        const [va, vb] = [tail.vectors(), fresh.vectors()];
        expect(va === null).toBe(vb === null || tail.rows === 0 ? va === null : false);
        if (va !== null && vb !== null) {
          for (const o of ords) {
            expect(hasBit(va.present, o)).toBe(hasBit(vb.present, o));
            if (!hasBit(vb.present, o)) continue;
            const [a, b] = [vectorSlot(va, o), vectorSlot(vb, o)];
            expect(Array.from(a.data.subarray(a.off, a.off + 3))).toEqual(Array.from(b.data.subarray(b.off, b.off + 3)));
          }
          // A scan (the SIMD kernel for rows in arenas) over the carried-over segment gives the fresh one's answers.
          const ctx = { schema: { vector: { type: '[3]f32' } }, distanceMetric: 'cosine_distance' as const };
          for (const metric of ['cosine_distance', 'euclidean_squared'] as const) {
            const body = { rank_by: ['vector', 'kNN', [0.5, -1, 2]], top_k: 30 };
            const q = parseQuery(body, { ...ctx, distanceMetric: metric });
            const [got, want] = [await executeOnSegments(q, [tail.snapshot()]), await executeOnSegments(q, [fresh.snapshot()])];
            expect(got.rows!.map((x) => [x.id, x.$dist])).toStrictEqual(want.rows!.map((x) => [x.id, x.$dist]));
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('should build the sparse postings of a large backlog in the background, scoring from values meanwhile', async () => {
    const tail = new TailSegment();
    const n = 3 * 4096 + 7;
    for (let i = 0; i < n; i++) tail.upsert({ id: i, vector: null, attrs: { sp: { [String(i % 13)]: 1, '20': i / 4 } } });
    expect(tail.sparseIndex('sp')).toBeNull(); // more than SPARSE_SYNC_ROWS rows to index: not built in the query
    const schema = { id: { type: 'uint' }, sp: { type: '{}f32', sparse_knn: { distance_metric: 'dot_product' as const } } };
    const q = parseQuery({ rank_by: ['sp', 'SparseKNN', { 3: 2, 20: 0.5 }], top_k: 3 }, { schema, distanceMetric: null });
    const before = await executeOnSegments(q, [tail.snapshot()]);
    for (let i = 0; i < 10 && tail.sparseIndex('sp') === null; i++) await new Promise((r) => setImmediate(r));
    const ix = tail.sparseIndex('sp');
    expect(ix).not.toBeNull();
    expect(ix!.list(20)!.ords.length).toBe(n);
    tail.upsert({ id: n, vector: null, attrs: { sp: { '3': 10000 } } }); // kept current once caught up
    expect(tail.sparseIndex('sp')!.list(3)!.ords.length).toBe(Math.ceil((n - 3) / 13) + 1);
    const after = await executeOnSegments(q, [tail.snapshot()]);
    // Ids n-1, n-2, n-3 hold dimension 20 at (i / 4); rows with i % 13 = 3 add 2; the new row n scores 20000.
    const score = (i: number) => (i % 13 === 3 ? 2 : 0) + 0.5 * (i / 4);
    const want = Array.from({ length: n }, (_, i) => [i, score(i)] as [number, number]).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    expect(before.rows!.map((r) => [r.id, r.$dist])).toEqual(want.slice(0, 3));
    expect(after.rows!.map((r) => [r.id, r.$dist])).toEqual([[n, 20000], ...want.slice(0, 2)]);
  });
});
