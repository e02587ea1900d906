/**
 * The token-level IVF golden fixture (test/fixtures/part-multivec-ivf, RFC-0015 §4; written once by
 * make-part-multivec.ts --ivf, never regenerated): the current build reads its `mvivf-0.bin` (header, centroids,
 * directory, every list), finds every stored vector of every row in it, rebuilds it byte for byte, and answers ANN
 * from it as brute-force MaxSim computed here does. The MUVERA fixtures of §3 (part-multivec-fde*) stay read by
 * test/109b.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { isBlockHead, loadPart, partFileKey, readManifest } from '../crates-ts/part/index.js';
import { MvIvfFile, buildMvIvfFile } from '../crates-ts/multivec/index.js';
import { MULTIVEC_CREATED_AT, MULTIVEC_IVF_NS, MULTIVEC_IVF_PART_ID, multivecDocs } from './fixtures/part-multivec.js';
import { withFixtureCopy } from './helpers/fixture-copy.js';
import { rankByMaxSim } from './helpers/multivec-model.js';

describe('the token-level IVF fixture (test/fixtures/part-multivec-ivf, RFC-0015 §4)', () => {
  it('should read mvivf-0.bin back, rebuild it byte for byte, and answer ANN from it', async () => {
    await withFixtureCopy('part-multivec-ivf', async (store) => {
      const docs = multivecDocs();
      const head = (await readManifest(store, MULTIVEC_IVF_NS, MULTIVEC_IVF_PART_ID))!;
      if (!isBlockHead(head)) throw new Error('not a block part');
      expect(head.multivec_ivf).toEqual([{ attr: 'toks', file: 'mvivf-0.bin' }]);
      expect(head.multivec_fde).toBeUndefined();
      const bytes = (await store.get(partFileKey(MULTIVEC_IVF_NS, MULTIVEC_IVF_PART_ID, 'mvivf-0.bin')))!.bytes;
      expect(Buffer.from(bytes.subarray(0, 8)).toString('hex')).toBe('454d564901000100'); // "EMVI", v1, cosine, i8
      const f = new MvIvfFile(bytes, 'golden');
      const part = await loadPart(store, MULTIVEC_IVF_NS, MULTIVEC_IVF_PART_ID);
      const values = part.docs.map((d) => (d.attrs.toks as number[][] | undefined) ?? null);
      const total = values.reduce((s, v) => s + (v?.length ?? 0), 0);
      expect([f.rows, f.dims, f.metric, f.entries]).toEqual([docs.length, 4, 'cosine_distance', total]);
      expect(f.lists).toBe(45); // round(2.5 · √330)
      // Every row's vectors, normalised, are in the lists within half a quantisation step.
      const found = new Map<number, number[][]>();
      for (let c = 0; c < f.lists; c++) {
        const r = f.listRange(c);
        const l = f.decodeList(c, bytes.subarray(r.start, r.end));
        l.ords.forEach((o, j) => found.set(o, [...(found.get(o) ?? []), Array.from(l.codes.subarray(j * 4, j * 4 + 4), (x) => x * l.scales[j]!)]));
      }
      values.forEach((v, o) => {
        if (v === null) return expect(found.has(o)).toBe(false);
        expect(found.get(o)!.length).toBe(v.length);
        for (const x of v) {
          const n = Math.hypot(...x);
          const u = x.map((y) => y / n);
          const step = Math.max(...u.map(Math.abs)) / 127;
          expect(found.get(o)!.some((g) => g.every((y, d) => Math.abs(y - u[d]!) <= step / 2 + 1e-6))).toBe(true);
        }
      });
      // The builder is deterministic: the current build writes the same bytes.
      expect(Buffer.compare(Buffer.from(buildMvIvfFile(values, 4, 'cosine_distance')), Buffer.from(bytes))).toBe(0);
      let t = Date.parse(MULTIVEC_CREATED_AT);
      const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      try {
        for (const src of [17, 64, 101]) {
          const q = (docs[src]!.attrs.toks as number[][]).slice(0, 2);
          const want = rankByMaxSim(docs, q);
          // Default candidates (400) cover the part's 120 rows: every list is probed, the answer is exact.
          const got = await e.query(MULTIVEC_IVF_NS, { rank_by: ['toks', 'ANN', q], top_k: 5 });
          expect(got.rows!.map((r) => r.id)).toEqual(want.slice(0, 5).map((w) => w[0]));
          got.rows!.forEach((r, i) => expect(r.$dist).toBeCloseTo(want[i]![1], 5));
          // Few candidates (ef_search 8: 1 list a query vector): a best row (distance 0: the source row or one with
          // the same vectors) is still first, distances exact.
          const few = await e.query(MULTIVEC_IVF_NS, { rank_by: ['toks', 'ANN', q], top_k: 3, ef_search: 8 });
          expect(few.rows![0]!.$dist).toBeCloseTo(want[0]![1], 6);
          for (const r of few.rows!) expect(r.$dist).toBeCloseTo(want.find((w) => w[0] === r.id)![1], 5);
        }
      } finally {
        await e.close();
      }
    });
  });
});
