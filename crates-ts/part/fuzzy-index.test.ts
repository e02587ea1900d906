import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttrValue, Doc, Schema } from '../core/index.js';
import { compileFilter, parseFuzzy } from '../filter/index.js';
import { filterMaskOf } from './filter-eval.js';
import { buildFuzzyIndex, checkFuzzyIndexes, fuzzyLookup, readFuzzyIndex, type FuzzyIndexInfo } from './fuzzy-index.js';
import { fold, lev } from '../../test/helpers/fuzzy-model.js';

const CHARS = ['a', 'b', 'c', 'A', 'B', 'é', 'É', '𝒜', 'İ'];
const word = fc.array(fc.constantFrom(...CHARS), { minLength: 0, maxLength: 8 }).map((a) => a.join(''));
const scalarValues = fc.array(fc.option(word, { nil: null }), { minLength: 1, maxLength: 80 });
const arrayValues = fc.array(fc.option(fc.array(word, { maxLength: 4 }), { nil: null }), { minLength: 1, maxLength: 60 });
const params = fc.record({
  max_edit_distance: fc.constantFrom(
    [{ distance: 0, min_query_chars: 3 }],
    [{ distance: 1, min_query_chars: 6 }],
    [{ distance: 1, min_query_chars: 3 * 2 }, { distance: 2, min_query_chars: 9 }],
    [{ distance: 2, min_query_chars: 9 }],
  ),
  case_sensitive: fc.boolean(),
});
const query = fc.array(fc.constantFrom(...CHARS), { minLength: 2, maxLength: 11 }).map((a) => a.join(''));

function built(attr: string, values: (AttrValue | null)[]) {
  const b = buildFuzzyIndex(attr, values);
  if (b === null) return null;
  const info: FuzzyIndexInfo = { ...b.info, file: 'ffz-0.blk' };
  return { info, index: readFuzzyIndex(b.bytes, info, values.length, 'ffz-0.blk') };
}

function expected(values: (AttrValue | null)[], q: string, p: { max_edit_distance: readonly { distance: number; min_query_chars: number }[]; case_sensitive: boolean }): number[] {
  let d = -1;
  for (const e of p.max_edit_distance) if (Array.from(q).length >= e.min_query_chars) d = e.distance;
  const one = (v: unknown) => typeof v === 'string' && d >= 0 && lev(p.case_sensitive ? v : fold(v), p.case_sensitive ? q : fold(q)) <= d;
  return values.flatMap((v, o) => ((Array.isArray(v) ? v.some(one) : one(v)) ? [o] : []));
}

describe('fuzzy index', () => {
  it('should find exactly the rows a brute-force Levenshtein keeps (scalars, arrays, case folding)', () => {
    for (const values of [scalarValues, arrayValues] as fc.Arbitrary<(AttrValue | null)[]>[]) {
      fc.assert(
        fc.property(values, query, params, (vals, q, p) => {
          const b = built('a', vals);
          const want = expected(vals, q, p);
          if (b === null) {
            expect(want).toEqual([]);
            return;
          }
          const spec = parseFuzzy(q, p);
          if ('error' in spec) throw new Error(spec.error);
          expect(Array.from(fuzzyLookup(b.index, spec, vals.length).bits.toArray())).toEqual(want);
        }),
        { numRuns: 600 },
      );
    }
  });

  it('should give filter evaluation the same rows as the compiled filter, under And / Or / Not', () => {
    const schema: Schema = { id: { type: 'uint' }, a: { type: 'string', fuzzy: true }, t: { type: '[]string', fuzzy: true } };
    fc.assert(
      fc.property(scalarValues, query, params, fc.integer({ min: 0, max: 2 }), (vals, q, p, shape) => {
        const tags = vals.map((v) => (v === null ? null : [v, 'zz']));
        const docs: Doc[] = vals.map((v, i) => ({ id: i, vector: null, attrs: { ...(v === null ? {} : { a: v }), ...(tags[i] ? { t: tags[i] } : {}) } }) as Doc);
        const leaf = ['a', 'Fuzzy', q, p];
        const f = shape === 0 ? ['Not', leaf] : shape === 1 ? ['Or', [leaf, ['t', 'Fuzzy', q, p]]] : ['And', [leaf, ['Not', ['t', 'Fuzzy', 'zz', { max_edit_distance: [{ distance: 0, min_query_chars: 3 }] }]]]];
        const ia = built('a', vals);
        const it = built('t', tags);
        const m = filterMaskOf(f, docs.length, () => null, (l) => compileFilter(l, schema), undefined, (attr) => (attr === 'a' ? (ia?.index ?? null) : attr === 't' ? (it?.index ?? null) : null));
        const c = compileFilter(f, schema);
        const want = docs.map((d) => (c(d) ? 1 : 0));
        if (ia !== null && it !== null) {
          expect(m?.exact).toBe(true);
          expect(Array.from(m!.mask)).toEqual(want);
        } else if (m !== null) {
          for (let o = 0; o < docs.length; o++) if (want[o] === 1) expect(m.mask[o]).toBe(1); // a superset
        }
      }),
      { numRuns: 300 },
    );
  });

  it('should reject malformed head entries and damaged blocks as ELAX_ERR_CORRUPT', () => {
    const b = buildFuzzyIndex('a', ['abc', 'abd', null])!;
    const info: FuzzyIndexInfo = { ...b.info, file: 'ffz-0.blk' };
    const check = (raw: unknown) => () => checkFuzzyIndexes(raw, new Set(['ffz-0.blk']), new Set(['a']), 'part p');
    expect(check([info])).not.toThrow();
    expect(check([{ ...info, attr: 'b' }])).toThrow(/names no column/);
    expect(check([{ ...info, file: 'x.blk' }])).toThrow(/names no listed file/);
    expect(check([{ ...info, terms: 0 }])).toThrow(/malformed/);
    expect(check({})).toThrow(/not a list/);
    expect(() => readFuzzyIndex(b.bytes, info, 1, 'ffz-0.blk')).toThrow(/outside the part's 1 rows/);
    expect(() => readFuzzyIndex(b.bytes, { ...info, attr: 'z' }, 3, 'ffz-0.blk')).toThrow(/footer says/);
  });
});
