import { describe, expect, it } from 'vitest';
import { isElaxError, type Doc, type Schema } from '../core/index.js';
import { isTextRankBy, normalizeFullTextConfig, planTextRank } from './index.js';

const fts = normalizeFullTextConfig(true, 'x');
const schema: Schema = {
  id: { type: 'uint' },
  title: { type: 'string', full_text_search: fts },
  body: { type: 'string', full_text_search: { ...fts, k1: 2, b: 0.5 } },
  tags: { type: '[]string', full_text_search: { ...fts, tokenizer: 'pre_tokenized_array' } },
  plain: { type: 'string' },
};

const docs: Doc[] = [
  { id: 1, vector: null, attrs: { title: 'quick fox', body: 'a story about a dog', tags: ['Fox', 'Quick'] } },
  { id: 2, vector: null, attrs: { title: 'lazy dog', body: 'the quick brown fox jumps over the lazy dog', tags: ['dog'] } },
  { id: 3, vector: null, attrs: { title: 'fox fox fox', body: 'foxes everywhere' } },
  { id: 4, vector: null, attrs: { plain: 'fox' } },
];

const scores = (rankBy: unknown): Map<unknown, number> => new Map(planTextRank(rankBy, schema).evaluate(docs).map((r) => [r.doc.id, r.score]));

function errorOf(rankBy: unknown): string {
  try {
    planTextRank(rankBy, schema);
  } catch (e) {
    expect(isElaxError(e, 'ELAX_ERR_INVALID_QUERY')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('expected a rejection');
}

describe('isTextRankBy', () => {
  it('should recognise text expressions and nothing else', () => {
    expect(isTextRankBy(['title', 'BM25', 'fox'])).toBe(true);
    expect(isTextRankBy(['Sum', [['title', 'BM25', 'fox']]])).toBe(true);
    expect(isTextRankBy(['Max', []])).toBe(true);
    expect(isTextRankBy(['Product', 2, ['title', 'BM25', 'fox']])).toBe(true);
    expect(isTextRankBy(['Product', [2, ['title', 'BM25', 'fox']]])).toBe(true);
    expect(isTextRankBy(['Saturate', ['title', 'BM25', 'x'], {}])).toBe(true);
    expect(isTextRankBy(['title', 'asc'])).toBe(false);
    expect(isTextRankBy(['Sum', 'desc'])).toBe(false); // ordering by an attribute named Sum
    expect(isTextRankBy(['vector', 'ANN', [0.1, 0.2]])).toBe(false);
    expect(isTextRankBy([['a', 'asc'], ['b', 'desc']])).toBe(false);
    expect(isTextRankBy('title')).toBe(false);
  });
});

describe('planTextRank', () => {
  it('should score only documents that match, with per-attribute k1/b', () => {
    const s = scores(['title', 'BM25', 'fox']);
    expect([...s.keys()].sort()).toEqual([1, 3]);
    expect(s.get(3)!).toBeGreaterThan(s.get(1)!); // tf 3 beats tf 1
    expect(planTextRank(['title', 'BM25', 'fox'], schema).attributes).toEqual(['title']);
  });

  it('should saturate a repeated query term with k3 = 8: weight (k3 + 1)·qtf / (k3 + qtf)', () => {
    const once = scores(['title', 'BM25', 'fox']).get(1)!;
    expect(scores(['title', 'BM25', 'fox fox']).get(1)!).toBeCloseTo((18 / 10) * once, 12);
    expect(scores(['title', 'BM25', 'fox fox fox fox']).get(1)!).toBeCloseTo((36 / 12) * once, 12);
    const dog = scores(['title', 'BM25', 'dog']).get(2)!;
    const fox3 = scores(['title', 'BM25', 'fox']).get(3)!;
    const mixed = scores(['title', 'BM25', 'fox dog fox']);
    expect(mixed.get(2)!).toBeCloseTo(dog, 12); // dog once: weight 1
    expect(mixed.get(3)!).toBeCloseTo(1.8 * fox3, 12);
  });

  it('should combine with Sum, Max and Product (both argument orders and the nested form)', () => {
    const t = scores(['title', 'BM25', 'fox']);
    const b = scores(['body', 'BM25', 'fox']);
    const sum = scores(['Sum', [['title', 'BM25', 'fox'], ['body', 'BM25', 'fox']]]);
    const max = scores(['Max', [['title', 'BM25', 'fox'], ['body', 'BM25', 'fox']]]);
    for (const id of [1, 2, 3]) {
      const ti = t.get(id) ?? 0;
      const bi = b.get(id) ?? 0;
      if (ti + bi > 0) expect(sum.get(id)!).toBeCloseTo(ti + bi, 12);
      if (ti + bi > 0) expect(max.get(id)!).toBeCloseTo(Math.max(ti, bi), 12);
    }
    expect(sum.has(2)).toBe(true); // only body matches for doc 2
    expect(scores(['Product', 3, ['title', 'BM25', 'fox']]).get(1)!).toBeCloseTo(3 * t.get(1)!, 12);
    expect(scores(['Product', ['title', 'BM25', 'fox'], 0.5]).get(3)!).toBeCloseTo(0.5 * t.get(3)!, 12);
    expect(scores(['Product', [2, ['title', 'BM25', 'fox']]]).get(3)!).toBeCloseTo(2 * t.get(3)!, 12);
    // A 0 weight keeps the rows the clause matches, each scoring 0 (a negative weight is a 400, as turbopuffer documents).
    expect([...scores(['Product', 0, ['title', 'BM25', 'fox']]).entries()].sort()).toEqual([...t.keys()].sort().map((id) => [id, 0]));
  });

  it('should match the last query word as a prefix with last_as_prefix, scoring a prefix match 1.0', () => {
    expect(scores(['body', 'BM25', 'fo']).size).toBe(0);
    const s = scores(['body', 'BM25', 'fo', { last_as_prefix: true }]);
    expect([...s.entries()].sort()).toEqual([[2, 1], [3, 1]]); // fox, foxes: 1.0 whatever the tf or length
    const dog = scores(['body', 'BM25', 'dog']);
    const both = scores(['body', 'BM25', 'dog fox', { last_as_prefix: true }]);
    expect(both.get(1)!).toBeCloseTo(dog.get(1)!, 12); // no word starting with 'fox'
    expect(both.get(2)!).toBeCloseTo(dog.get(2)! + 1, 12);
    expect(both.get(3)!).toBe(1);
    expect(scores(['Product', 2.5, ['body', 'BM25', 'fo', { last_as_prefix: true }]]).get(3)).toBe(2.5);
  });

  it('should match nothing for a query that analyses to no terms', () => {
    expect(scores(['title', 'BM25', 'the of and']).size).toBe(0);
    expect(scores(['title', 'BM25', '']).size).toBe(0);
  });

  it('should take the array as tokens for pre_tokenized_array attributes', () => {
    expect([...scores(['tags', 'BM25', ['Fox']]).keys()]).toEqual([1]);
    expect(scores(['tags', 'BM25', ['fox']]).size).toBe(0);
  });

  it.each([
    [['plain', 'BM25', 'fox'], /rank_by: attribute 'plain' does not have full_text_search enabled/],
    [['nope', 'BM25', 'fox'], /attribute 'nope' is not in the namespace schema/],
    [['title', 'BM25', 5], /BM25 query for 'title' must be a string or an array of strings/],
    [['title', 'BM25', 'x', { prefix: true }], /unknown BM25 param 'prefix'/],
    [['title', 'BM25', 'x', { last_as_prefix: 1 }], /last_as_prefix must be a boolean/],
    [['tags', 'BM25', 'fox'], /pre_tokenized_array: the BM25 query must be an array of tokens/],
    [['Sum', [['title', 'BM25', 'x'], ['plain', 'BM25', 'x']]], /at rank_by\[1\]\[1\]: attribute 'plain'/],
    [['Sum', []], /Sum needs at least one expression/],
    [['Product', 'two', ['title', 'BM25', 'x']], /Product needs a numeric weight/],
    [['Product', -1, ['title', 'BM25', 'x']], /Product weight must be a finite non-negative number, got -1/],
    [['Product', 2, ['title', 'BM25', 5]], /at rank_by\[2\]: BM25 query/],
    [['Product', [['title', 'BM25', 5], 2]], /at rank_by\[1\]\[0\]: BM25 query/],
    [['Saturate', ['title', 'BM25', 'x'], {}], /Saturate needs a midpoint/],
    [['Sum', [['title', 'Eq', 'x']]], /filters used as rank expressions are not supported here/],
    [['title', 'asc'], /expected a text ranking expression/],
  ])('should reject %j', (rankBy, re) => {
    expect(errorOf(rankBy)).toMatch(re);
  });
});

describe('ranking expressions: Attribute, Saturate, Decay, Dist, constants, filters', () => {
  const xschema: Schema = {
    ...schema,
    clicks: { type: 'uint' },
    delta: { type: 'int' },
    at: { type: 'datetime' },
    color: { type: 'string' },
  };
  const xdocs: Doc[] = [
    { id: 1, vector: null, attrs: { title: 'quick fox', clicks: 300, delta: -4, at: '2026-01-01T06:00:00.000Z', color: 'red' } },
    { id: 2, vector: null, attrs: { title: 'lazy dog', clicks: 0, delta: 3, color: 'blue' } },
    { id: 3, vector: null, attrs: { title: 'fox fox fox', at: '2026-01-02T00:00:00.000Z' } },
    { id: 4, vector: null, attrs: { plain: 'nothing', color: 'red' } },
  ];
  // A filter compiler standing in for filter/'s (the query layer passes the real one): [attr, "Eq", v] only.
  const eqOnly = (f: unknown) => {
    const [attr, , v] = f as [string, string, unknown];
    return { test: (d: Doc) => d.attrs[attr] === v, attrs: [attr] };
  };
  const xscores = (rankBy: unknown): Map<unknown, number> =>
    new Map(planTextRank(rankBy, xschema, eqOnly).evaluate(xdocs).map((r) => [r.doc.id, r.score]));
  const fox = scores(['title', 'BM25', 'fox']); // the same titles: docs 1 and 3 match
  const xfox = xscores(['title', 'BM25', 'fox']);

  it('should rank every row with a value by an Attribute (0 included) and no row without one', () => {
    expect([...xscores(['Attribute', 'clicks'])].sort()).toEqual([[1, 300], [2, 0]]);
    expect([...xscores(['Max', 0, ['Attribute', 'delta']])].sort()).toEqual([[1, 0], [2, 3]]);
    expect([...xscores(['Max', [['Attribute', 'delta'], 1]])].sort()).toEqual([[1, 1], [2, 3]]);
  });

  it('should apply Saturate / Decay / Dist to the child value, datetimes in epoch ms and durations as midpoints', () => {
    const s = xscores(['Saturate', ['Attribute', 'clicks'], { midpoint: 100 }]);
    expect(s.get(1)).toBeCloseTo(300 / 400, 15);
    expect(s.get(2)).toBe(0);
    const d = xscores(['Decay', ['Dist', ['Attribute', 'at'], '2026-01-02T00:00:00Z'], { midpoint: '6h' }]);
    expect([...d.keys()].sort()).toEqual([1, 3]);
    expect(d.get(1)).toBeCloseTo(6 / (18 + 6), 15); // 18 h away, midpoint 6 h
    expect(d.get(3)).toBe(1);
    expect(xscores(['Dist', ['Attribute', 'delta'], 2]).get(1)).toBe(6);
  });

  it('should rank the union of what its leaves match, a missing value contributing nothing', () => {
    const s = xscores(['Sum', [['title', 'BM25', 'fox'], ['Product', 2, ['Saturate', ['Attribute', 'clicks'], { midpoint: 100 }]], ['color', 'Eq', 'red']]]);
    expect([...s.keys()].sort()).toEqual([1, 2, 3, 4]);
    expect(s.get(1)).toBeCloseTo(xfox.get(1)! + 2 * 0.75 + 1, 12);
    expect(s.get(2)).toBe(0); // clicks 0: Saturate 0, no fox, not red
    expect(s.get(3)).toBe(xfox.get(3)!); // no clicks, not red: BM25 only
    expect(s.get(4)).toBe(1); // red only
    // Decay of a row without the attribute is not Decay(0) = 1: the row is not ranked by it.
    expect([...xscores(['Decay', ['Attribute', 'clicks'], { midpoint: 1 }]).keys()].sort()).toEqual([1, 2]);
    // A constant does not rank rows by itself.
    expect([...xscores(['Sum', [['title', 'BM25', 'fox'], 5]])].sort()).toEqual([[1, xfox.get(1)! + 5], [3, xfox.get(3)! + 5]]);
    expect(xfox.get(1)).toBeGreaterThan(0);
    expect(fox.size).toBe(2);
  });

  it('should list the attributes its value leaves read, apart from the BM25 ones', () => {
    const plan = planTextRank(['Sum', [['title', 'BM25', 'x'], ['Attribute', 'clicks'], ['color', 'Eq', 'red']]], xschema, eqOnly);
    expect(plan.attributes).toEqual(['title']);
    expect(plan.valueAttributes.sort()).toEqual(['clicks', 'color']);
    expect(isTextRankBy(['Attribute', 'clicks'])).toBe(true);
    expect(isTextRankBy(['Decay', ['Attribute', 'clicks'], { midpoint: 1 }])).toBe(true);
    expect(isTextRankBy(['color', 'Eq', 'red'])).toBe(true);
    expect(isTextRankBy(['Max', 0, ['Attribute', 'delta']])).toBe(true);
  });

  it.each([
    [['Attribute', 'delta'], /Attribute 'delta' has the signed type int/],
    [['Sum', [['Attribute', 'delta']]], /signed type int/],
    [['Product', 2, ['Attribute', 'delta']], /signed type int/],
    [['Attribute', 'color'], /'color' has type string/],
    [['Attribute', 'clicks', 'x'], /Attribute takes \["Attribute", "attr"\]/],
    [['Saturate', ['Attribute', 'clicks'], { midpoint: -1 }], /Saturate midpoint must be a positive number, got -1/],
    [['Saturate', ['Attribute', 'clicks']], /Saturate takes/],
    [['Saturate', ['Attribute', 'clicks'], [1]], /Saturate params must be an object/],
    [['Decay', ['Attribute', 'clicks'], { midpoint: '1d' }], /is a duration, which needs a datetime input/],
    [['Decay', ['Attribute', 'at'], { midpoint: '1 day' }], /not a positive duration/],
    [['Dist', ['Attribute', 'at'], 'soon'], /Dist origin must be a datetime/],
    [['Dist', ['Attribute', 'clicks']], /Dist takes \["Dist", expr, origin\]/],
    [['Product', 2, 3], /Product takes one weight and one expression, got two numbers/],
    [['Sum', [1, 2]], /Sum needs at least one expression that is not a number/],
    [['Saturate', 5, { midpoint: 1 }], /expected a text ranking expression/],
    [['Max', [['Attribute', 'clicks'], Infinity]], /expected a text ranking expression|constants must be finite/],
  ])('should reject %j', (rankBy, re) => {
    let message = '';
    try {
      planTextRank(rankBy, xschema, eqOnly);
    } catch (e) {
      expect(isElaxError(e, 'ELAX_ERR_INVALID_QUERY')).toBe(true);
      message = (e as Error).message;
    }
    expect(message).toMatch(re);
  });
});
