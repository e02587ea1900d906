import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { Doc } from '../core/index.js';
import { analyzerFor } from './analyzer.js';
import { normalizeFullTextConfig } from './config.js';
import { buildPostings, neededLists, PostingsFile } from './postings.js';

const analyzer = analyzerFor(normalizeFullTextConfig(true, 'text'));
const read = (d: Doc) => (typeof d.attrs.text === 'string' ? analyzer.tokens(d.attrs.text) : null);
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'épée', 'über', 'the', 'x'.repeat(30), 'al', 'alp'];

describe('postings file', () => {
  it('should round-trip term lists, tfs, lengths, bounds and statistics exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.array(fc.constantFrom(...WORDS), { maxLength: 400 }), { nil: null }), { maxLength: 60 }), (texts) => {
        const docs: Doc[] = texts.map((t, i) => ({ id: i, vector: null, attrs: t === null ? ({} as Doc['attrs']) : { text: t.join(' ') } }));
        const bytes = buildPostings(docs, 'text', analyzer, read);
        expect(buildPostings(docs, 'text', analyzer, read)).toEqual(bytes); // deterministic
        // An unaligned copy decodes the same.
        const unaligned = new Uint8Array(bytes.length + 1).subarray(1);
        unaligned.set(bytes);
        for (const file of [new PostingsFile(bytes, 't'), new PostingsFile(unaligned, 't')]) {
          const tokens = docs.map(read);
          expect(file.header.docCount).toBe(tokens.filter((t) => t !== null).length);
          expect(file.header.totalTokens).toBe(tokens.reduce((s, t) => s + (t?.length ?? 0), 0));
          expect([...file.docLens]).toEqual(tokens.map((t) => (t === null ? -1 : t.length)));
          const vocab = new Set(tokens.flatMap((t) => t ?? []));
          for (const term of [...vocab, 'missing']) {
            const i = file.lookup(term);
            if (!vocab.has(term)) {
              expect(i).toBe(-1);
              continue;
            }
            const want = tokens.flatMap((t, ord) => (t?.includes(term) ? [[ord, t.filter((x) => x === term).length]] : []));
            const l = file.list(i);
            expect([...l.ords].map((o, j) => [o, l.tfs[j]])).toEqual(want);
            expect(file.df[i]).toBe(want.length);
            expect(file.maxTf[i]).toBe(Math.max(...want.map((w) => w[1]!)));
            expect(file.minLen[i]).toBe(Math.min(...want.map((w) => tokens[w[0]!]!.length)));
          }
          const [s, e] = file.prefixRange('al');
          const terms = [...vocab].filter((t) => t.startsWith('al')).sort();
          expect(e - s).toBe(terms.length);
          for (let j = s; j < e; j++) expect(terms).toContain([...vocab].find((t) => file.lookup(t) === j));
        }
      }),
      { numRuns: 80 },
    );
  });

  it('should reject bytes that are not a postings file', () => {
    expect(() => new PostingsFile(new Uint8Array(40), 'p')).toThrow(/bad magic/);
    const ok = buildPostings([{ id: 1, vector: null, attrs: { text: 'alpha beta' } }], 'text', analyzer, read);
    expect(() => new PostingsFile(ok.subarray(0, ok.length - 1), 'p')).toThrow(/header says/);
  });

  describe('ranged reads', () => {
    const docs: Doc[] = Array.from({ length: 20000 }, (_, i) => ({
      id: i,
      vector: null,
      attrs: { text: `w${i % 97} w${i % 13} alpha${i % 5} ${Array.from({ length: 10 }, (_, j) => `f${(i * 7 + j * 31) % 300}`).join(' ')}` },
    }));
    const bytes = buildPostings(docs, 'text', analyzer, read);
    const reader = (src: Uint8Array, log: Array<[number, number]>) => async (start: number, end: number) => {
      log.push([start, end]);
      return src.slice(start, end);
    };

    it('should read the dictionary and then only the named lists, and decode them like the whole file', async () => {
      const log: Array<[number, number]> = [];
      const file = await PostingsFile.openRanged(reader(bytes, log), bytes.length, 'r');
      const whole = new PostingsFile(bytes, 'w');
      const need = { attr: 'text', terms: ['w5', 'missing'], prefixes: ['alpha'] };
      const idx = neededLists(file, need);
      expect(idx).toHaveLength(1 + 5);
      expect(() => file.list(idx[0]!)).toThrow(/before fetch/);
      await file.fetch(idx);
      for (const i of idx) expect(file.list(i)).toEqual(whole.list(i));
      expect(file.bytesRead).toBeLessThan(bytes.length / 2);
      // Adjacent lists (the five alpha* terms) come in one request.
      expect(log.length).toBeLessThanOrEqual(4);
      await file.fetch(idx); // already fetched: no new reads
      expect(log.length).toBeLessThanOrEqual(4);
    });

    it('should detect a corrupted list and a corrupted dictionary', async () => {
      const file = new PostingsFile(bytes, 'w');
      const i = file.lookup('w5');
      const bad = bytes.slice();
      bad[bad.length - 1]! ^= 0xff; // inside the last list
      const last = file.header.terms - 1;
      const r1 = await PostingsFile.openRanged(reader(bad, []), bad.length, 'r');
      await r1.fetch([i]); // untouched list: fine
      await expect(r1.fetch([last])).rejects.toThrow(/CRC-32/);
      const bad2 = bytes.slice();
      bad2[file.header.postingsStart - 1]! ^= 0xff; // inside the dictionary (terms blob or padding)
      await expect(PostingsFile.openRanged(reader(bad2, []), bad2.length, 'r')).rejects.toThrow(/dictionary does not match/);
    });
  });
});
