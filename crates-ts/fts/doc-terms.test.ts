import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Doc } from '../core/index.js';
import { analyzerFor, docTerms, normalizeFullTextConfig } from './index.js';

const a = analyzerFor(normalizeFullTextConfig(true, 'body'));

describe('docTerms', () => {
  it('should count terms and prefixes like a plain scan, for short and long texts', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('ab', 'abc', 'b', 'bc', 'c'), { maxLength: 60 }), fc.constantFrom('ab', 'b', 'c', 'x'), (words, probe) => {
        const doc: Doc = { id: 1, vector: null, attrs: { body: words.join(' ') } };
        const dt = docTerms(doc, 'body', a)!;
        expect(dt.tokens).toEqual(words);
        expect(dt.count(probe)).toBe(words.filter((w) => w === probe).length);
        expect(dt.prefixCount(probe)).toBe(words.filter((w) => w.startsWith(probe)).length);
        expect(dt.counts().get(probe) ?? 0).toBe(dt.count(probe));
      }),
    );
  });

  it('should return null for missing, null or non-text values', () => {
    expect(docTerms({ id: 1, vector: null, attrs: {} }, 'body', a)).toBeNull();
    expect(docTerms({ id: 1, vector: null, attrs: { body: null } }, 'body', a)).toBeNull();
    expect(docTerms({ id: 1, vector: null, attrs: { body: 5 } }, 'body', a)).toBeNull();
  });

  it('should re-analyse a document whose value was replaced instead of serving a stale cache', () => {
    const doc: Doc = { id: 1, vector: null, attrs: { body: 'old words' } };
    expect(docTerms(doc, 'body', a)!.tokens).toEqual(['old', 'words']);
    doc.attrs.body = 'new text';
    expect(docTerms(doc, 'body', a)!.tokens).toEqual(['new', 'text']);
  });
});
