/**
 * The multi-vector golden fixture (test/fixtures/part-multivec, RFC-0015; written once by make-part-multivec.ts, never
 * regenerated): the current build reads its multi-vector column block (kind 6) back to the written vectors and ranks
 * kNN over it as a brute-force MaxSim computed here does. test/fixtures/part-multivec-fde (the same rows with
 * late_interaction) adds the MUVERA index, file version 1 (f32), and test/fixtures/part-multivec-fde-v2 version 2
 * (int8, what builds write now): parameters and encodings read back, the builder writes the same bytes for the
 * version, and ANN answers from each.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Engine } from '../crates-ts/engine/index.js';
import { Indexer } from '../indexer/indexer.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { LocalDirStore } from '../crates-ts/store/index.js';
import { isBlockHead, loadPart, partFileKey, readManifest } from '../crates-ts/part/index.js';
import { FdeEncoder, FdeFile, buildFdeFile, defaultFdeParams } from '../crates-ts/multivec/index.js';
import {
  MULTIVEC_CREATED_AT,
  MULTIVEC_FDE2_NS,
  MULTIVEC_FDE2_PART_ID,
  MULTIVEC_FDE_NS,
  MULTIVEC_FDE_PART_ID,
  MULTIVEC_NS,
  MULTIVEC_PART_ID,
  multivecDocs,
} from './fixtures/part-multivec.js';
import { withFixtureCopy } from './helpers/fixture-copy.js';
import { rankByMaxSim } from './helpers/multivec-model.js';

describe('the multi-vector fixture (test/fixtures/part-multivec, RFC-0015)', () => {
  it('should read its multi-vector column back exactly and rank kNN by MaxSim as brute force does', async () => {
    await withFixtureCopy('part-multivec', async (store) => {
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
        const want = rankByMaxSim(docs, q).slice(0, 12);
        const got = await e.query(MULTIVEC_NS, { rank_by: ['toks', 'kNN', q], top_k: 12, filters: ['cat', 'In', ['p', 'q', 'r']] });
        expect(got.rows!.map((r) => r.id)).toEqual(want.map((w) => w[0]));
        got.rows!.forEach((r, i) => expect(r.$dist).toBeCloseTo(want[i]![1], 5));
      } finally {
        await e.close();
      }
    });
  });

  for (const [dir, NS, PART, version] of [
    ['part-multivec-fde', MULTIVEC_FDE_NS, MULTIVEC_FDE_PART_ID, 1],
    ['part-multivec-fde-v2', MULTIVEC_FDE2_NS, MULTIVEC_FDE2_PART_ID, 2],
  ] as const) it(`should read the MUVERA index (version ${version}) of ${dir}, rebuild it byte for byte, and answer ANN from it`, async () => {
    const MULTIVEC_FDE_NS = NS;
    const MULTIVEC_FDE_PART_ID = PART;
    await withFixtureCopy(dir, async (store) => {
      const docs = multivecDocs();
      const head = (await readManifest(store, MULTIVEC_FDE_NS, MULTIVEC_FDE_PART_ID))!;
      if (!isBlockHead(head)) throw new Error('not a block part');
      expect(head.multivec_fde).toEqual([{ attr: 'toks', file: 'mvfde-0.bin' }]);
      const bytes = (await store.get(partFileKey(MULTIVEC_FDE_NS, MULTIVEC_FDE_PART_ID, 'mvfde-0.bin')))!.bytes;
      const f = new FdeFile(bytes, 'golden');
      expect(f.params).toEqual({ seed: 0x6d757665, dims: 4, kSim: 3, reps: 4, dProj: 4 });
      expect(f.metric).toBe('cosine_distance');
      expect(f.rows).toBe(docs.length);
      const part = await loadPart(store, MULTIVEC_FDE_NS, MULTIVEC_FDE_PART_ID);
      const values = part.docs.map((d) => d.attrs.toks ?? null);
      expect(f.version).toBe(version);
      expect(Buffer.compare(Buffer.from(buildFdeFile(values, defaultFdeParams(4), 'cosine_distance', version)), Buffer.from(bytes))).toBe(0);
      const enc = new FdeEncoder(f.params);
      values.forEach((v, o) => {
        expect(f.has(o)).toBe(v !== null);
        if (v === null) return;
        const want = enc.encodeDoc(v as number[][], 'cosine_distance');
        if (version === 1) expect(f.encodingOf(o)).toEqual(want);
        else {
          const step = Math.max(...Array.from(want, Math.abs)) / 127;
          f.encodingOf(o).forEach((x, j) => expect(Math.abs(x - want[j]!)).toBeLessThanOrEqual(step / 2 + 1e-6));
        }
      });
      let t = Date.parse(MULTIVEC_CREATED_AT);
      const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      try {
        const q = (docs[17]!.attrs.toks as number[][]).slice(0, 2);
        const want = rankByMaxSim(docs, q).slice(0, 5);
        const got = await e.query(MULTIVEC_FDE_NS, { rank_by: ['toks', 'ANN', q], top_k: 5 });
        expect(got.rows!.map((r) => r.id)).toEqual(want.map((w) => w[0]));
      } finally {
        await e.close();
      }
    });
  });

  it('should read only the candidates\' column blocks of a part with a multi-vector index for ANN (kNN reads the column)', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'elax-multivec-blocks-'));
    try {
      const store = new LocalDirStore(tmp);
      let t = Date.parse(MULTIVEC_CREATED_AT);
      const clock = { now: () => (t += 1) };
      const e = new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      try {
        // 3,000 rows of 4 vectors of 8 dims: the toks column spans several 64 KiB blocks.
        let seed = 12345;
        const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / 16777216;
        const rows = Array.from({ length: 3000 }, (_, id) => ({ id, toks: Array.from({ length: 4 }, () => Array.from({ length: 8 }, () => Math.round(rnd() * 64 - 32) / 16 + 0)) }));
        await e.write('mvb', { upsert_rows: rows, schema: { toks: { type: '[][8]f32', ann: { late_interaction: true } } } });
        await new Indexer(store, { clock, nonce: () => 'mvb0' }).indexNamespace('mvb', true);
        // Bytes of column files read (ranged or whole).
        const reads: number[] = [];
        const get = store.get.bind(store);
        store.get = (async (key: string, range?: { start: number; end: number }) => {
          const got = await get(key, range);
          if (/\/col-\d+\.blk$/.test(key) && got) reads.push(got.bytes.byteLength);
          return got;
        }) as typeof store.get;
        const total = () => reads.reduce((a, b) => a + b, 0);
        const e2 = new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
        try {
          const q = rows[1234]!.toks.slice(0, 2);
          const ann = await e2.query('mvb', { rank_by: ['toks', 'ANN', q], top_k: 3, ef_search: 3 });
          expect(ann.rows![0]!.id).toBe(1234);
          const annBytes = total();
          const annReads = reads.length;
          expect(annBytes).toBeGreaterThan(0);
          reads.length = 0;
          const knn = await e2.query('mvb', { rank_by: ['toks', 'kNN', q], top_k: 3 });
          expect(knn.rows![0]!.id).toBe(1234);
          // kNN reads the whole column; ANN only the blocks of its 3 candidates (at most 3 of the column's blocks).
          const head = (await readManifest(store, 'mvb', (await new RouterStore(store).read('mvb'))!.router.parts[0]!.id))!;
          if (!isBlockHead(head)) throw new Error('not a block part');
          const col = head.columns.find((c) => c.name === 'toks')!;
          expect(col.blocks.offset.length).toBeGreaterThan(3);
          expect(annReads).toBeLessThanOrEqual(3);
          expect(total()).toBeGreaterThan(annBytes * 2);
        } finally {
          await e2.close();
        }
      } finally {
        await e.close();
        await store.close();
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
