/**
 * The sparse-vector golden fixture (test/fixtures/part-sparse, RFC-0012; written once by make-part-sparse.ts, never
 * regenerated): the current build reads its sparse column blocks (kind 5) back to the written vectors, decodes its
 * inverted index to exactly the postings of those vectors, and answers SparseKNN from the index (`emb`) as a
 * brute-force dot product computed here does.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { isBlockHead, loadPart, partFileKey, readManifest } from '../crates-ts/part/index.js';
import { buildSparseIndex, SparseIndexFile } from '../crates-ts/sparse/index.js';
import { SPARSE_CREATED_AT, SPARSE_NS, SPARSE_PART_ID, sparseDocs } from './fixtures/part-sparse.js';
import { withFixtureCopy } from './helpers/fixture-copy.js';

describe('the sparse-vector fixture (test/fixtures/part-sparse, RFC-0012)', () => {
  it('should read its sparse columns and index back exactly and rank SparseKNN as brute force does', async () => {
    await withFixtureCopy('part-sparse', async (store) => {
      const docs = sparseDocs();
      const head = (await readManifest(store, SPARSE_NS, SPARSE_PART_ID))!;
      if (!isBlockHead(head)) throw new Error('not a block part');
      expect(head.columns.map((c) => `${c.name}:${c.kind}`)).toEqual(['cat:utf8', 'emb:sparse', 'raw:sparse']);
      expect(head.sparse).toEqual([{ attr: 'emb', file: 'sparse-0.idx' }]);
      const part = await loadPart(store, SPARSE_NS, SPARSE_PART_ID);
      expect(part.docs.map((d) => [d.id, d.attrs])).toEqual(docs.map((d) => [d.id, d.attrs]));
      // The index: for each dimension, the rows holding it (ascending) with their weights.
      const file = (await store.get(partFileKey(SPARSE_NS, SPARSE_PART_ID, 'sparse-0.idx')))!.bytes;
      // The current builder writes the same bytes from the same rows (the format has not moved).
      expect(Buffer.compare(Buffer.from(buildSparseIndex(part.docs.map((d) => d.attrs.emb ?? null))), Buffer.from(file))).toBe(0);
      const ix = new SparseIndexFile(file, 'golden');
      expect(ix.rows).toBe(docs.length);
      for (let d = 0; d < 60; d++) {
        const want = part.docs.flatMap((doc, o) => {
          const w = (doc.attrs.emb as Record<string, number> | undefined)?.[String(d)];
          return w === undefined ? [] : [[o, w]];
        });
        const list = ix.list(d);
        const got = list === null ? [] : Array.from(list.ords, (o, i) => [o, list.weights[i]]);
        expect(got, `dimension ${d}`).toEqual(want);
        if (list) {
          expect(list.max).toBe(Math.max(...want.map((p) => p[1]!)));
          expect(list.min).toBe(Math.min(...want.map((p) => p[1]!)));
        }
      }
      let t = Date.parse(SPARSE_CREATED_AT);
      // Ranged reads of the index file (as a large one is read): count them.
      const ranges: [number, number][] = [];
      const get = store.get.bind(store);
      store.get = (async (key: string, range?: { start: number; end: number }) => {
        if (range && key.endsWith('/sparse-0.idx')) ranges.push([range.start, range.end]);
        return get(key, range);
      }) as typeof store.get;
      for (const ranged of [false, true]) {
      const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0, catalog: ranged ? { rangedPostingsMinBytes: 0 } : {} });
      for (const q of [{ '3': 1, '40': -0.5 }, { '0': 2, '17': 1, '59': 0.25 }]) {
        const scored = docs.flatMap((doc) => {
          const v = doc.attrs.emb as Record<string, number> | undefined;
          if (!v) return [];
          let s = 0;
          let any = false;
          for (const [k, w] of Object.entries(q).sort((a, b) => Number(a[0]) - Number(b[0]))) {
            if (v[k] === undefined) continue;
            s += w * v[k]!;
            any = true;
          }
          return any ? [[doc.id as number, s] as [number, number]] : [];
        });
        scored.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
        const got = await e.query(SPARSE_NS, { rank_by: ['emb', 'SparseKNN', q], top_k: 15 });
        expect(got.rows!.map((r) => [r.id, r.$dist]), `ranged ${ranged}`).toEqual(scored.slice(0, 15));
      }
      await e.close();
      // Whole: no ranged read. Ranged: the header and table, then the query's lists.
      if (!ranged) expect(ranges).toEqual([]);
      else {
        expect(ranges.length).toBeGreaterThanOrEqual(2);
        expect(ranges[0]![0]).toBe(0);
        // (The first read takes up to 64 KiB: here the whole small file.) Then only lists, past the header and table.
        expect(ranges.slice(1).every(([a, b]) => a > 52 && b - a < file.byteLength - 52)).toBe(true);
      }
      }
    });
  });
});
