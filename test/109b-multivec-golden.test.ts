/**
 * The multi-vector golden fixture (test/fixtures/part-multivec, RFC-0015; written once by make-part-multivec.ts, never
 * regenerated): the current build reads its multi-vector column block (kind 6) back to the written vectors and ranks
 * kNN over it as a brute-force MaxSim computed here does.
 */
import { describe, it, expect } from 'vitest';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Engine } from '../crates-ts/engine/index.js';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { isBlockHead, loadPart, readManifest } from '../crates-ts/part/index.js';
import { MULTIVEC_CREATED_AT, MULTIVEC_NS, MULTIVEC_PART_ID, multivecDocs } from './fixtures/part-multivec.js';

function cosDist(a: number[], b: number[]): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  if (na === 0 || nb === 0) return 1;
  return Math.min(2, Math.max(0, 1 - d / Math.sqrt(na * nb)));
}

describe('the multi-vector fixture (test/fixtures/part-multivec, RFC-0015)', () => {
  it('should read its multi-vector column back exactly and rank kNN by MaxSim as brute force does', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'elax-golden-multivec-'));
    try {
      cpSync(path.join(import.meta.dirname, 'fixtures', 'part-multivec'), tmp, { recursive: true });
      const store = new LocalDirStore(tmp);
      try {
        const docs = multivecDocs();
        const head = (await readManifest(store, MULTIVEC_NS, MULTIVEC_PART_ID))!;
        if (!isBlockHead(head)) throw new Error('not a block part');
        expect(head.columns.map((c) => `${c.name}:${c.kind}`)).toEqual(['cat:utf8', 'toks:multivec']);
        const part = await loadPart(store, MULTIVEC_NS, MULTIVEC_PART_ID);
        expect(part.docs.map((d) => [d.id, d.attrs])).toEqual(docs.map((d) => [d.id, d.attrs]));
        let t = Date.parse(MULTIVEC_CREATED_AT);
        const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
        try {
          const q = [[1, 0, -0.5, 0.25], [0, 1, 1, -1]];
          const want = docs
            .filter((d) => d.attrs.toks)
            .map((d) => [d.id as number, q.reduce((s, qv) => s + Math.min(...(d.attrs.toks as number[][]).map((v) => cosDist(qv, v))), 0)] as [number, number])
            .sort((a, b) => a[1] - b[1] || a[0] - b[0])
            .slice(0, 12);
          const got = await e.query(MULTIVEC_NS, { rank_by: ['toks', 'kNN', q], top_k: 12, filters: ['cat', 'In', ['p', 'q', 'r']] });
          expect(got.rows!.map((r) => r.id)).toEqual(want.map((w) => w[0]));
          got.rows!.forEach((r, i) => expect(r.$dist).toBeCloseTo(want[i]![1], 5));
        } finally {
          await e.close();
        }
      } finally {
        await store.close();
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
