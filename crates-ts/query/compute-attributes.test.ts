import { describe, it, expect } from 'vitest';
import { isElaxError, type Doc, type FullTextConfig, type Schema } from '../core/index.js';
import { parseQuery, parseMultiQuery, executeMultiQuery, type QueryContext } from './index.js';
import { executeQuery } from './execute.js';
import { convertOffsets } from './compute-attributes.js';
import { analyzerFor, normalizeFullTextConfig } from '../fts/index.js';
import { DocsSegment, type DocFields, type Segment } from './segment.js';
import { executeOnSegments } from './execute-segments.js';
import { SCHEMA, doc, naiveDistance } from './test-helpers.js';

const ctx: QueryContext = { schema: SCHEMA, distanceMetric: 'cosine_distance' };
const V = [0.1, 0.2, 0.3, 0.4];

function rejects(body: unknown, message: string | RegExp) {
  let err: unknown;
  try {
    parseQuery(body, ctx);
  } catch (e) {
    err = e;
  }
  expect(isElaxError(err), `expected an ElaxError for ${JSON.stringify(body)}`).toBe(true);
  const e = err as { code: string; status: number; message: string };
  expect(e.code).toBe('ELAX_ERR_INVALID_QUERY');
  expect(e.status).toBe(400);
  if (typeof message === 'string') expect(e.message).toBe(message);
  else expect(e.message).toMatch(message);
}

function run(body: Record<string, unknown>, docs: Doc[], c: QueryContext = ctx) {
  return executeQuery(parseQuery(body, c), docs, c).rows!;
}

/** Independent BM25 (k1 1.2, b 0.75) of one term over a tiny corpus of token lists. */
function bm25(tokens: string[][], i: number, term: string): number {
  const n = tokens.length;
  const df = tokens.filter((t) => t.includes(term)).length;
  const avg = tokens.reduce((s, t) => s + t.length, 0) / n;
  const tf = tokens[i]!.filter((t) => t === term).length;
  if (tf === 0) return 0;
  const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
  return (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * tokens[i]!.length) / avg));
}

describe('compute_attributes: validation', () => {
  it('should reject names that clash with attributes or row fields', () => {
    const d = ['vector', 'VectorDist', V];
    rejects({ compute_attributes: { color: d } }, "compute_attributes.color: the name clashes with the namespace attribute 'color'; choose another name");
    for (const name of ['id', 'vector', '$dist', '$x']) {
      rejects({ compute_attributes: { [name]: d } }, `compute_attributes.${name}: the name '${name}' is reserved for the row's own fields (id, vector, $dist, $...)`);
    }
    rejects({ compute_attributes: { '': d } }, 'compute_attributes: a computed attribute name must not be empty');
    rejects(JSON.parse(`{"compute_attributes": {"__proto__": ${JSON.stringify(d)}}}`), "compute_attributes.__proto__: '__proto__' cannot be an attribute name");
    rejects({ compute_attributes: [d] }, /compute_attributes must be an object/);
  });

  it('should name unknown and unsupported expressions', () => {
    rejects({ compute_attributes: { x: ['Bogus', 'title'] } }, 'compute_attributes.x: unknown expression "Bogus"; supported: [attr, "VectorDist", vector] and ["Highlight", attr, {...}]');
    rejects({ compute_attributes: { x: ['title', 'Frobnicate', 1] } }, /compute_attributes\.x: unknown expression "Frobnicate"/);
    rejects({ compute_attributes: { x: ['title', 'BM25', 'cat'] } }, 'compute_attributes.x: the rank expression "BM25" cannot be a computed attribute in elax; supported: VectorDist and Highlight');
    rejects({ compute_attributes: { x: ['Embed', 'hello'] } }, 'compute_attributes.x: "Embed" is not supported (elax has no embedding provider)');
    rejects({ compute_attributes: { x: { $ref_new: 'title' } } }, /compute_attributes\.x: \{"\$ref_new": \.\.\.\} refers to a conditional write/);
    rejects({ compute_attributes: { x: 3 } }, /compute_attributes\.x: expected an expression/);
  });

  it('should check VectorDist operands', () => {
    rejects({ compute_attributes: { x: ['color', 'VectorDist', V] } }, "compute_attributes.x: VectorDist needs a vector attribute; 'color' has type string");
    rejects({ compute_attributes: { x: ['nope', 'VectorDist', V] } }, "compute_attributes.x: attribute 'nope' does not exist in the namespace schema");
    rejects({ compute_attributes: { x: ['vector', 'VectorDist', [1, 2]] } }, "compute_attributes.x: the vector has 2 dimensions but the namespace's vectors have 4");
    rejects({ compute_attributes: { x: ['vector', 'VectorDist', [1, 2, 'a', 4]] } }, 'compute_attributes.x: vector element 2 must be a finite number, got "a"');
    rejects({ compute_attributes: { x: ['vector', 'VectorDist'] } }, /VectorDist takes \[attr, "VectorDist", vector\]/);
  });

  it('should check Highlight operands', () => {
    const rb = { rank_by: ['title', 'BM25', 'cat'] };
    rejects({ ...rb, compute_attributes: { h: ['Highlight', 'color'] } }, "compute_attributes.h: Highlight needs an attribute with full_text_search; 'color' has none");
    rejects({ ...rb, compute_attributes: { h: ['Highlight', 'nope'] } }, "compute_attributes.h: attribute 'nope' does not exist in the namespace schema");
    rejects({ ...rb, compute_attributes: { h: ['Highlight', 'title', { fragment_by: 'line' }] } }, 'compute_attributes.h: fragment_by must be one of none, sentence, paragraph, word, got "line"');
    rejects({ ...rb, compute_attributes: { h: ['Highlight', 'title', { include_offsets: 'bytes' }] } }, 'compute_attributes.h: include_offsets must be one of utf-8, utf-16, codepoints, got "bytes"');
    rejects({ ...rb, compute_attributes: { h: ['Highlight', 'title', { fragment_limit: 0 }] } }, 'compute_attributes.h: fragment_limit must be an integer in 1..1024, got 0');
    rejects({ ...rb, compute_attributes: { h: ['Highlight', 'title', { pre_tag: '<b>' }] } }, /unknown Highlight parameter 'pre_tag'/);
    rejects({ rank_by: ['vector', 'ANN', V], compute_attributes: { h: ['Highlight', 'title'] } }, "compute_attributes.h: Highlight ranks fragments by the query's BM25 clauses over 'title', and rank_by has none; give rank_fragments_by");
    rejects({ rank_by: ['n', 'asc'], compute_attributes: { h: ['Highlight', 'title', { rank_fragments_by: ['color', 'BM25', 'x'] }] } }, /compute_attributes\.h: rank_fragments_by: .*'color' does not have full_text_search/);
    const notes: QueryContext = { schema: { ...SCHEMA, notes: { type: 'string', full_text_search: SCHEMA.title!.full_text_search } }, distanceMetric: null };
    let err: unknown;
    try {
      parseQuery({ rank_by: ['notes', 'BM25', 'x'], compute_attributes: { h: ['Highlight', 'title'] } }, notes);
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toBe("compute_attributes.h: rank_by has no BM25 clause over 'title', so nothing in 'title' can be highlighted");
  });
});

describe('compute_attributes: VectorDist', () => {
  const docs = [doc(1, [1, 0, 0, 0], { n: 3 }), doc(2, [0.5, 0.5, 0.1, 0], { n: 1 }), doc(3, null, { n: 2 }), doc(4, [-1, 2, 0.3, 0.7], { n: 0 })];

  it('should give the same number $dist gives, for every metric', () => {
    for (const metric of ['cosine_distance', 'euclidean_squared'] as const) {
      const rows = run({ rank_by: ['vector', 'kNN', V], distance_metric: metric, top_k: 10, compute_attributes: { d: ['vector', 'VectorDist', V] } }, docs);
      expect(rows.map((r) => r.id)).toEqual(metric === 'cosine_distance' ? [4, 2, 1] : [2, 1, 4]);
      for (const r of rows) {
        expect(r.d).toBe(r.$dist);
        const v = docs.find((x) => x.id === r.id)!.vector!;
        expect(r.d as number).toBeCloseTo(naiveDistance(metric, Float32Array.from(V), v), 6);
      }
    }
  });

  it('should be computed for any rank and omitted for rows without a vector', () => {
    const q = [0, 1, 0, 0];
    const rows = run({ rank_by: ['n', 'desc'], compute_attributes: { d: ['vector', 'VectorDist', q] } }, docs);
    expect(rows.map((r) => r.id)).toEqual([1, 3, 2, 4]);
    expect(rows[1]).toEqual({ id: 3 });
    expect(rows[0]!.d).toBeCloseTo(1, 6); // orthogonal
    expect(rows[2]!.d as number).toBeCloseTo(naiveDistance('cosine_distance', Float32Array.from(q), Float32Array.from([0.5, 0.5, 0.1, 0])), 6);
  });

  it('should only read the returned rows', () => {
    let reads = 0;
    const many: Doc[] = [];
    for (let i = 0; i < 50; i++) {
      const v = Float32Array.from([i, 1, 0, 0]);
      const d = { id: i, attrs: { n: i } } as unknown as Doc;
      Object.defineProperty(d, 'vector', { get: () => (reads++, v), enumerable: true });
      many.push(d);
    }
    const rows = run({ rank_by: ['n', 'asc'], top_k: 3, compute_attributes: { d: ['vector', 'VectorDist', V] } }, many);
    expect(rows.map((r) => r.id)).toEqual([0, 1, 2]);
    expect(reads).toBe(3);
  });

  it('should accept a base64 vector', () => {
    const b64 = Buffer.from(Float32Array.from(V).buffer).toString('base64');
    const rows = run({ rank_by: ['vector', 'kNN', V], top_k: 2, compute_attributes: { d: ['vector', 'VectorDist', b64] } }, docs);
    for (const r of rows) expect(r.d).toBe(r.$dist);
  });
});

describe('compute_attributes: Highlight', () => {
  const text = 'The cat sat. Dogs bark loudly at night. A cat and a dog played together.';
  const docs = [doc(1, null, { title: text, color: 'red' }), doc(2, null, { title: 'no felines', color: 'blue' }), doc(3, null, { color: 'green' })];

  it('should return the best sentences, shorter first at equal term frequency', () => {
    const rows = run({ rank_by: ['title', 'BM25', 'cat'], compute_attributes: { h: ['Highlight', 'title'] } }, docs);
    expect(rows).toEqual([{ id: 1, $dist: expect.any(Number), h: [{ text: 'The cat sat.' }, { text: 'A cat and a dog played together.' }] }]);
  });

  it('should honour fragment_limit, none and paragraph, scored as BM25 over the row\'s fragments', () => {
    expect(run({ rank_by: ['title', 'BM25', 'cat'], compute_attributes: { h: ['Highlight', 'title', { fragment_limit: 1 }] } }, docs)[0]!.h).toEqual([{ text: 'The cat sat.' }]);
    expect(run({ rank_by: ['title', 'BM25', 'cat'], compute_attributes: { h: ['Highlight', 'title', { fragment_by: 'none' }] } }, docs)[0]!.h).toEqual([{ text }]);

    const para = '  alpha cat\n\nbeta dog\r\ngamma cat cat  ';
    const toks = [['alpha', 'cat'], ['beta', 'dog'], ['gamma', 'cat', 'cat']];
    const s = toks.map((_, i) => bm25(toks, i, 'cat'));
    expect(s[2]).toBeGreaterThan(s[0]!); // so the third paragraph comes first
    const rows = run({ rank_by: ['title', 'BM25', 'cat'], compute_attributes: { h: ['Highlight', 'title', { fragment_by: 'paragraph' }] } }, [doc(1, null, { title: para })]);
    expect(rows[0]!.h).toEqual([{ text: 'gamma cat cat' }, { text: 'alpha cat' }]);
  });

  it('should split words with the attribute\'s tokenizer and keep position order among equal scores', () => {
    const rows = run(
      { rank_by: ['title', 'BM25', 'cat'], compute_attributes: { h: ['Highlight', 'title', { fragment_by: 'word', fragment_limit: 10, include_offsets: 'utf-16' }] } },
      [doc(1, null, { title: 'Cat, cat! dog CAT' })],
    );
    expect(rows[0]!.h).toEqual([
      { text: 'Cat', fragment_range: [0, 3], match_ranges: [[0, 3]] },
      { text: 'cat', fragment_range: [5, 8], match_ranges: [[5, 8]] },
      { text: 'CAT', fragment_range: [14, 17], match_ranges: [[14, 17]] },
    ]);
  });

  it('should rank fragments by Sum / Product of BM25 clauses and mark every clause\'s terms', () => {
    // Three fragments of 2 tokens; cat and dog each in one (same idf and length), so dog's Product 2 puts it first.
    const rows = run(
      { rank_by: ['Sum', [['title', 'BM25', 'cat'], ['Product', 2, ['title', 'BM25', 'dog']]]], compute_attributes: { h: ['Highlight', 'title', { include_offsets: 'utf-16' }] } },
      [doc(1, null, { title: 'A cat. A dog. Birds fly.' })],
    );
    expect(rows[0]!.h).toEqual([
      { text: 'A dog.', fragment_range: [7, 13], match_ranges: [[9, 12]] },
      { text: 'A cat.', fragment_range: [0, 6], match_ranges: [[2, 5]] },
    ]);
  });

  it('should report offsets in utf-8, utf-16 and code points', () => {
    const t = 'Café ☕ über cat. Ünï 😀 cat cat!';
    const starts: number[] = [];
    for (let i = t.indexOf('cat'); i >= 0; i = t.indexOf('cat', i + 1)) starts.push(i);
    expect(starts.length).toBe(3);
    const conv = {
      'utf-16': (p: number) => p,
      codepoints: (p: number) => Array.from(t.slice(0, p)).length,
      'utf-8': (p: number) => Buffer.byteLength(t.slice(0, p), 'utf8'),
    };
    for (const unit of ['utf-8', 'utf-16', 'codepoints'] as const) {
      const rows = run({ rank_by: ['title', 'BM25', 'cat'], compute_attributes: { h: ['Highlight', 'title', { fragment_by: 'none', include_offsets: unit }] } }, [doc(1, null, { title: t })]);
      const f = conv[unit];
      expect(rows[0]!.h, unit).toEqual([{ text: t, fragment_range: [0, f(t.length)], match_ranges: starts.map((s) => [f(s), f(s + 3)]) }]);
    }
    // Sentences: offsets stay relative to the whole value.
    const rows = run({ rank_by: ['title', 'BM25', 'cat'], compute_attributes: { h: ['Highlight', 'title', { include_offsets: 'utf-8' }] } }, [doc(1, null, { title: t })]);
    const second = t.indexOf('Ünï');
    expect(rows[0]!.h).toEqual([
      { text: 'Ünï 😀 cat cat!', fragment_range: [conv['utf-8'](second), conv['utf-8'](t.length)], match_ranges: starts.slice(1).map((s) => [conv['utf-8'](s), conv['utf-8'](s + 3)]) },
      { text: 'Café ☕ über cat.', fragment_range: [0, conv['utf-8'](second - 1)], match_ranges: [[conv['utf-8'](starts[0]!), conv['utf-8'](starts[0]! + 3)]] },
    ]);
  });

  it('should match last_as_prefix words and analysed terms (case folded)', () => {
    const rows = run(
      { rank_by: ['title', 'BM25', 'ca', { last_as_prefix: true }], compute_attributes: { h: ['Highlight', 'title', { fragment_by: 'none', include_offsets: 'utf-16' }] } },
      [doc(1, null, { title: 'CAT dog Cabin' })],
    );
    expect(rows[0]!.h).toEqual([{ text: 'CAT dog Cabin', fragment_range: [0, 13], match_ranges: [[0, 3], [8, 13]] }]);
  });

  it('should give [] when the clause has no terms left after analysis', () => {
    const schema: Schema = { ...SCHEMA, body: { type: 'string', full_text_search: { ...(SCHEMA.title!.full_text_search as FullTextConfig), remove_stopwords: true } } };
    const c: QueryContext = { schema, distanceMetric: null };
    const rows = run({ rank_by: ['id', 'asc'], compute_attributes: { h: ['Highlight', 'body', { rank_fragments_by: ['body', 'BM25', 'the'] }] } }, [doc(1, null, { body: 'the cat' })], c);
    expect(rows).toEqual([{ id: 1, h: [] }]);
  });

  it('should highlight []string elements separately and give [] without text', () => {
    const schema: Schema = { ...SCHEMA, notes: { type: '[]string', full_text_search: SCHEMA.title!.full_text_search } };
    const c: QueryContext = { schema, distanceMetric: 'cosine_distance' };
    const rows = run(
      { rank_by: ['notes', 'BM25', 'cat'], compute_attributes: { h: ['Highlight', 'notes', { include_offsets: 'codepoints' }] }, include_attributes: ['id'] },
      [doc(1, null, { notes: ['nothing here', 'über cat'] })],
      c,
    );
    expect(rows[0]!.h).toEqual([{ text: 'über cat', fragment_range: [0, 8], match_ranges: [[5, 8]], array_index: 1 }]);
    const none = run({ rank_by: ['id', 'asc'], compute_attributes: { h: ['Highlight', 'title', { rank_fragments_by: ['title', 'BM25', 'cat'] }] } }, docs);
    expect(none.map((r) => r.h)).toEqual([[{ text: 'The cat sat.' }, { text: 'A cat and a dog played together.' }], [], []]);
  });

  it('should work with rank_fragments_by under a vector rank, and never leak the source attribute', () => {
    const vdocs = [doc(1, [1, 0, 0, 0], { title: 'A dog. A cat.', color: 'red' }), doc(2, [0, 1, 0, 0], { title: 'cat', color: 'blue' })];
    const rows = run(
      {
        rank_by: ['vector', 'kNN', [1, 0, 0, 0]],
        include_attributes: ['color'],
        compute_attributes: { h: ['Highlight', 'title', { rank_fragments_by: ['title', 'BM25', 'cat'] }], d: ['vector', 'VectorDist', [0, 1, 0, 0]] },
      },
      vdocs,
    );
    expect(rows).toEqual([
      { id: 1, $dist: 0, color: 'red', h: [{ text: 'A cat.' }], d: 1 },
      { id: 2, $dist: 1, color: 'blue', h: [{ text: 'cat' }], d: 0 },
    ]);
  });
});

describe('compute_attributes: multi-query', () => {
  it('should compute per sub-query and carry values through RRF fusion', () => {
    const docs = [doc(1, [1, 0, 0, 0], { title: 'cat cat' }), doc(2, [0, 1, 0, 0], { title: 'a cat and a dog' })];
    const body = {
      queries: [
        { rank_by: ['title', 'BM25', 'cat'], compute_attributes: { h: ['Highlight', 'title'] } },
        { rank_by: ['vector', 'kNN', [0, 1, 0, 0]], compute_attributes: { d: ['vector', 'VectorDist', [1, 0, 0, 0]] } },
      ],
    };
    const q = parseMultiQuery(body, ctx);
    const { results } = executeMultiQuery(q, docs, ctx);
    expect(results[0]!.rows).toEqual([
      { id: 1, $dist: expect.any(Number), h: [{ text: 'cat cat' }] },
      { id: 2, $dist: expect.any(Number), h: [{ text: 'a cat and a dog' }] },
    ]);
    expect(results[1]!.rows).toEqual([
      { id: 2, $dist: 0, d: 1 },
      { id: 1, $dist: 1, d: 0 },
    ]);
    const fused = executeMultiQuery(parseMultiQuery({ ...body, rerank_by: ['RRF'] }, ctx), docs, ctx).results[0]!.rows!;
    for (const r of fused) {
      expect(r.h).toEqual([{ text: r.id === 1 ? 'cat cat' : 'a cat and a dog' }]);
      expect(r.d).toBe(r.id === 1 ? 0 : 1);
    }
  });
});

describe('compute_attributes over segments', () => {
  it('should read only the returned rows, with the attributes the expressions need, and return only the projection', async () => {
    const all = Array.from({ length: 40 }, (_, i) => doc(i, [1, i, 0, 0], { n: i, color: i % 2 ? 'red' : 'blue', title: `cat number ${i}. Dog here.` }));
    const asked: Array<{ ords: number[]; fields: DocFields | undefined }> = [];
    const segs = [all.slice(0, 25), all.slice(25)].map((rows) => {
      const seg = new DocsSegment(rows);
      // The segment with docs() recording what the executor asks for (DocsSegment itself ignores `fields`).
      const spy: Segment = Object.create(seg);
      spy.docs = (ords: readonly number[], fields?: DocFields) => {
        asked.push({ ords: [...ords], fields });
        return seg.docs(ords);
      };
      return spy;
    });
    const q = parseQuery(
      {
        rank_by: ['n', 'desc'],
        top_k: 3,
        include_attributes: ['color'],
        compute_attributes: { d: ['vector', 'VectorDist', V], h: ['Highlight', 'title', { rank_fragments_by: ['title', 'BM25', 'cat'] }] },
      },
      ctx,
    );
    const { rows } = await executeOnSegments(q, segs);
    expect(rows!.map((r) => r.id)).toEqual([39, 38, 37]);
    expect(asked).toEqual([{ ords: [14, 13, 12], fields: { attrs: ['color', 'title'], vector: true } }]);
    for (const r of rows!) {
      expect(Object.keys(r)).toEqual(['id', 'color', 'd', 'h']);
      expect(r.h).toEqual([{ text: `cat number ${r.id}.` }]);
      expect(r.d as number).toBeCloseTo(naiveDistance('cosine_distance', Float32Array.from(V), Float32Array.from([1, r.id as number, 0, 0])), 6);
    }
  });
});

describe('TextAnalyzer.spans', () => {
  it('should give the analysed tokens, in order, at the places of their raw words', () => {
    const texts = ['The Quick brown fox, jumping!', 'Ünïcödé 😀 cafés & naïve 東京 tower', '  ', 'a1b2 x_y'];
    for (const opts of [{}, { stemming: true, ascii_folding: true }, { case_sensitive: true, remove_stopwords: false }, { tokenizer: 'word_v0' }]) {
      const a = analyzerFor(normalizeFullTextConfig(opts, 't'));
      for (const t of texts) {
        const spans = a.spans(t);
        expect(spans.filter((s) => s.term !== null).map((s) => s.term), `${JSON.stringify(opts)} ${t}`).toEqual(a.tokens(t));
        for (const s of spans) {
          const raw = t.slice(s.start, s.end);
          expect(raw.length).toBeGreaterThan(0);
          // Each span is one raw word: analysing it alone gives its term (or nothing when dropped).
          expect(a.tokens(raw)).toEqual(s.term === null ? [] : [s.term]);
        }
      }
    }
  });
});

describe('convertOffsets', () => {
  it('should count UTF-8 bytes and code points of surrogate pairs and BMP characters', () => {
    const t = 'aé€😀b';
    const m8 = convertOffsets(t, [0, 1, 2, 3, 5, 6], 'utf-8');
    expect([...m8.values()]).toEqual([0, 1, 3, 6, 10, 11]);
    const mc = convertOffsets(t, [6, 3, 5], 'codepoints');
    expect([mc.get(3), mc.get(5), mc.get(6)]).toEqual([3, 4, 5]);
  });
});
