import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { Doc } from '../core/index.js';
import { analyzerFor } from './analyzer.js';
import { analysisKey, normalizeFullTextConfig } from './config.js';
import { buildPostings, neededLists, PostingsFile } from './postings.js';

const analyzer = analyzerFor(normalizeFullTextConfig(true, 'text'));
const read = (d: Doc) => (typeof d.attrs.text === 'string' ? analyzer.tokens(d.attrs.text) : null);
/**
 * The postings file as buildPostings wrote it before it counted terms in flat arrays (a per-row count map, then a
 * JS list per term): the reference its bytes are compared with.
 */
function referencePostings(docs: readonly Doc[], attr: string, read: (doc: Doc) => readonly string[] | null): Uint8Array {
  const docLens = new Int32Array(docs.length).fill(-1);
  const lists = new Map<string, { ords: number[]; tfs: number[]; maxTf: number; minLen: number }>();
  let docCount = 0;
  let totalTokens = 0;
  docs.forEach((d, ord) => {
    const tokens = read(d);
    if (tokens === null) return;
    docCount++;
    totalTokens += tokens.length;
    docLens[ord] = tokens.length;
    const counts = new Map<string, number>();
    for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [t, tf] of counts) {
      let l = lists.get(t);
      if (l === undefined) lists.set(t, (l = { ords: [], tfs: [], maxTf: 0, minLen: 0xffffffff }));
      l.ords.push(ord);
      l.tfs.push(tf);
      l.maxTf = Math.max(l.maxTf, tf);
      l.minLen = Math.min(l.minLen, tokens.length);
    }
  });
  const terms = [...lists.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const varint = (out: number[], v: number) => {
    for (; v >= 0x80; v >>>= 7) out.push((v & 0x7f) | 0x80);
    out.push(v);
  };
  const u32 = (xs: number[]) => Buffer.from(Uint32Array.from(xs).buffer);
  const postings: number[] = [];
  const postOff: number[] = [];
  const crcs: number[] = [];
  const termBytes = terms.map((t) => Buffer.from(t, 'utf8'));
  const termOff = [0];
  for (const t of terms) {
    const l = lists.get(t)!;
    postOff.push(postings.length);
    const list: number[] = [];
    l.ords.forEach((o, j) => varint(list, o - (j === 0 ? 0 : l.ords[j - 1]!)));
    for (const tf of l.tfs) varint(list, tf);
    crcs.push(crc32(Uint8Array.from(list)));
    postings.push(...list);
    termOff.push(termOff[termOff.length - 1]! + Buffer.byteLength(t));
  }
  postOff.push(postings.length);
  const blob = Buffer.concat(termBytes);
  const dict = Buffer.concat([
    Buffer.from(docLens.buffer),
    u32(terms.map((t) => lists.get(t)!.ords.length)),
    u32(terms.map((t) => lists.get(t)!.maxTf)),
    u32(terms.map((t) => lists.get(t)!.minLen)),
    u32(crcs),
    u32(postOff),
    u32(termOff),
    blob,
    Buffer.alloc((4 - (blob.length % 4)) % 4),
  ]);
  const header = {
    attr,
    analysis: analysisKey(analyzer.config),
    rows: docs.length,
    docCount,
    totalTokens,
    terms: terms.length,
    postingsStart: 0,
    postingsBytes: postings.length,
    dictSha256: createHash('sha256').update(dict).digest('hex'),
  };
  let json = Buffer.from(JSON.stringify(header));
  while (header.postingsStart !== 12 + ((json.length + 3) & ~3) + dict.length) {
    header.postingsStart = 12 + ((json.length + 3) & ~3) + dict.length;
    json = Buffer.from(JSON.stringify(header));
  }
  const head = Buffer.alloc(12);
  head.writeUInt32LE(0x50584c45, 0);
  head.writeUInt32LE(1, 4);
  head.writeUInt32LE(json.length, 8);
  return new Uint8Array(Buffer.concat([head, json, Buffer.alloc((4 - (json.length % 4)) % 4), dict, Buffer.from(postings)]));
}

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

  it('should write the bytes of the per-row-map reference for any token lists', () => {
    // `read` hands out the token lists as they are: repeats in a row, rows without text, empty rows, non-ASCII and
    // empty terms; vocabularies and row counts past the builder's first array capacities (1,024 terms, 4,096 entries).
    const token = fc.oneof(fc.constantFrom(...WORDS, '', 'Ω', '\u{1F600}', 'a'), fc.integer({ min: 0, max: 3000 }).map((i) => `t${i}`), fc.string({ maxLength: 4 }));
    const rows = fc.array(fc.option(fc.array(token, { maxLength: 12 }), { nil: null, freq: 6 }), { maxLength: 1500 });
    fc.assert(
      fc.property(rows, (lists) => {
        const docs: Doc[] = lists.map((_, i) => ({ id: i, vector: null, attrs: {} }));
        const readList = (d: Doc) => lists[d.id as number]!;
        expect(Buffer.from(buildPostings(docs, 'text', analyzer, readList)).equals(Buffer.from(referencePostings(docs, 'text', readList)))).toBe(true);
      }),
      { numRuns: 60 },
    );
    // One large input: several growths of every array.
    const big = Array.from({ length: 20000 }, (_, i) => Array.from({ length: 1 + (i % 9) }, (_, j) => `w${(i * 31 + j * j * 17) % (j % 3 === 0 ? 7 : 5000)}`));
    const docs: Doc[] = big.map((_, i) => ({ id: i, vector: null, attrs: {} }));
    const readBig = (d: Doc) => big[d.id as number]!;
    expect(Buffer.from(buildPostings(docs, 'text', analyzer, readBig)).equals(Buffer.from(referencePostings(docs, 'text', readBig)))).toBe(true);
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
