/**
 * The fixed-stride vector column fixture (test/fixtures/part-fvec, RFC-0014 §4; written once by make-part-fvec.ts,
 * never regenerated): the head names `img` ([8]f32) and `e16` ([6]f16) as column kind `fvec`, every block of their
 * files is kind 7 (rows × N f32), the values read back are the numbers written (0.1 stays 0.1, f16-rounded values
 * exactly), kNN over both columns ranks as a brute force computed here does, ANN over `img` goes through its graph
 * with the same answer, and include_attributes returns the written numbers, or their f32 as base64. Also: the
 * older fixture test/fixtures/part-vann (a json `img` column) still answers, and compaction rewrites it as kind 7 with
 * the same values.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { isBlockHead, loadPart, readManifest } from '../crates-ts/part/index.js';
import { blockOf, openBlockFile } from '../crates-ts/part/block-file.js';
import { ColumnBlock } from '../crates-ts/part/column-block.js';
import { FVEC_CREATED_AT, FVEC_NS, FVEC_PART_ID, fvecDocs } from './fixtures/part-fvec.js';
import { VANN_CREATED_AT, VANN_NS, vannDocs } from './fixtures/part-vann.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';
import { withFixtureCopy } from './helpers/fixture-copy.js';

function l2(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (Math.fround(a[i]!) - Math.fround(b[i]!)) ** 2;
  return s;
}

function cosine(a: number[], b: number[]): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Math.fround(a[i]!);
    const y = Math.fround(b[i]!);
    d += x * y;
    na += x * x;
    nb += y * y;
  }
  return 1 - d / Math.sqrt(na * nb);
}

const f32b64 = (v: number[]) => Buffer.from(new Float32Array(v).buffer).toString('base64');

describe('the fixed-stride vector column fixture (test/fixtures/part-fvec, RFC-0014 §4)', () => {
  it('should read kind-7 vector columns back as written and rank kNN / ANN over them as brute force does', async () => {
    await withFixtureCopy('part-fvec', async (store) => {
      const docs = fvecDocs();
      const head = (await readManifest(store, FVEC_NS, FVEC_PART_ID))!;
      if (!isBlockHead(head)) throw new Error('not a block part');
      expect(head.columns.map((c) => [c.name, c.kind, c.file])).toEqual([
        ['cat', 'utf8', 'col-0.blk'],
        ['e16', 'fvec', 'col-1.blk'],
        ['img', 'fvec', 'col-2.blk'],
      ]);
      // Every block of both files is kind 7, its rows views of one f32 buffer holding the written values' f32.
      for (const [file, attr, dims] of [['col-1.blk', 'e16', 6], ['col-2.blk', 'img', 8]] as const) {
        const got = await store.get(`${FVEC_NS}/parts/${FVEC_PART_ID}/${file}`);
        const bytes = new Uint8Array(got!.bytes);
        const { blocks } = openBlockFile(bytes, file);
        let row = 0;
        for (let b = 0; b < blocks.offset.length; b++) {
          const block = ColumnBlock.decode(blockOf(bytes, blocks, b, file), file);
          expect([block.kind, block.dims]).toEqual(['fvec', dims]);
          for (let i = 0; i < block.rows; i++, row++) {
            const want = docs[row]!.attrs[attr] as number[] | undefined;
            const v = block.vectorAt(i);
            expect(v === null ? null : Array.from(v)).toEqual(want === undefined ? null : want.map(Math.fround));
          }
        }
        expect(row).toBe(docs.length);
      }
      const part = await loadPart(store, FVEC_NS, FVEC_PART_ID);
      for (const attr of ['img', 'e16']) expect(part.docs.map((d) => [d.id, d.attrs[attr] ?? null])).toEqual(docs.map((d) => [d.id, d.attrs[attr] ?? null]));
      expect(docs[0]!.attrs.img).toContain(-25.4); // a decimal that is no f32: written and read back as is

      let t = Date.parse(FVEC_CREATED_AT);
      const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      try {
        const brute = (attr: string, dist: (a: number[], b: number[]) => number, q: number[], k: number, keep: (id: number) => boolean = () => true) =>
          docs
            .filter((d) => d.attrs[attr] !== undefined && keep(d.id as number))
            .map((d) => [d.id as number, dist(q, d.attrs[attr] as number[])] as [number, number])
            .sort((a, b) => a[1] - b[1] || a[0] - b[0])
            .slice(0, k);
        const check = (rows: { id: unknown; $dist?: number }[], want: [number, number][]) => {
          expect(rows.map((r) => r.id)).toEqual(want.map(([id]) => id));
          rows.forEach((r, i) => expect(r.$dist).toBeCloseTo(want[i]![1], 9));
        };
        const qImg = [1, -1, 0.5, 2, 0, -0.25, 1, 1].map((x) => x * 30);
        const qE16 = [0.5, -2, 1, 0.25, 3, -1];
        for (const mode of ['kNN', 'ANN'] as const) {
          check((await e.query(FVEC_NS, { rank_by: ['img', mode, qImg], top_k: 12 })).rows!, brute('img', l2, qImg, 12));
          const filtered = await e.query(FVEC_NS, { rank_by: ['img', mode, qImg], top_k: 8, filters: ['cat', 'Eq', 'q'] });
          check(filtered.rows!, brute('img', l2, qImg, 8, (id) => id % 3 === 1));
        }
        check((await e.query(FVEC_NS, { rank_by: ['e16', 'kNN', qE16], top_k: 10 })).rows!, brute('e16', cosine, qE16, 10));
        // A query-level metric applies to the attribute.
        check((await e.query(FVEC_NS, { rank_by: ['img', 'kNN', qImg], top_k: 5, distance_metric: 'cosine_distance' })).rows!, brute('img', cosine, qImg, 5));

        const want = brute('img', l2, qImg, 4).map(([id]) => docs[id]!);
        const asNumbers = await e.query(FVEC_NS, { rank_by: ['img', 'kNN', qImg], top_k: 4, include_attributes: ['img', 'e16'] });
        expect(JSON.stringify(asNumbers.rows!.map((r) => [r.id, r.img, r.e16 ?? null]))).toBe(JSON.stringify(want.map((d) => [d.id, d.attrs.img, d.attrs.e16 ?? null])));
        const asB64 = await e.query(FVEC_NS, { rank_by: ['img', 'kNN', qImg], top_k: 4, include_attributes: ['img', 'e16'], vector_encoding: 'base64' });
        expect(asB64.rows!.map((r) => [r.id, r.img, r.e16 ?? null])).toEqual(
          want.map((d) => [d.id, f32b64(d.attrs.img as number[]), d.attrs.e16 === undefined ? null : f32b64(d.attrs.e16 as number[])]),
        );
      } finally {
        await e.close();
      }
    });
  });

  it('should keep reading json vector columns (part-vann, before kind 7) and rewrite them as kind 7 on compaction', async () => {
    await withFixtureCopy('part-vann', async (store) => {
      const rows = new Map(vannDocs().map((d) => [d.id as number, d.attrs.img as number[] | undefined]));
      let t = Date.parse(VANN_CREATED_AT);
      const clock = { now: () => (t += 1) };
      const e = new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      const q = [1, -1, 0.5, 2, 0, -0.25, 1, 1];
      const brute = (k: number) =>
        [...rows]
          .filter(([, v]) => v !== undefined)
          .map(([id, v]) => [id, l2(q, v!)] as [number, number])
          .sort((a, b) => a[1] - b[1] || a[0] - b[0])
          .slice(0, k);
      try {
        const before = (await e.query(VANN_NS, { rank_by: ['img', 'kNN', q], top_k: 10 })).rows!;
        expect(before.map((r) => r.id)).toEqual(brute(10).map(([id]) => id));
        // New rows (one-decimal values) in a second part, then both compacted into one.
        const up = Array.from({ length: 40 }, (_, i) => ({ id: 1000 + i, img: Array.from({ length: 8 }, (_, j) => (((i * 7 + j * 3) % 41) - 20) / 10) }));
        await e.write(VANN_NS, { upsert_rows: up });
        for (const u of up) rows.set(u.id, u.img);
      } finally {
        await e.close();
      }
      await new Indexer(store, { clock, nonce: () => `up${t}` }).indexNamespace(VANN_NS, true);
      expect((await compactNamespace(store, VANN_NS, { clock, nonce: () => `cp${t}`, force: true })).result).toBe('compacted');
      const router = (await new RouterStore(store).read(VANN_NS))!.router;
      expect(router.parts.length).toBe(1);
      const head = (await readManifest(store, VANN_NS, router.parts[0]!.id))!;
      if (!isBlockHead(head)) throw new Error('not a block part');
      expect(head.columns.find((c) => c.name === 'img')!.kind).toBe('fvec');
      const part = await loadPart(store, VANN_NS, router.parts[0]!.id);
      expect(new Map(part.docs.map((d) => [d.id as number, d.attrs.img as number[] | undefined]))).toEqual(rows);
      const e2 = new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      try {
        const got = (await e2.query(VANN_NS, { rank_by: ['img', 'kNN', q], top_k: 10, include_attributes: ['img'] })).rows!;
        expect(got.map((r) => r.id)).toEqual(brute(10).map(([id]) => id));
        expect(got.map((r) => r.img)).toEqual(brute(10).map(([id]) => rows.get(id)));
      } finally {
        await e2.close();
      }
    });
  });
});
