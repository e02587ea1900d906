/**
 * A vector column whose blocks mix kind 7 (fixed stride) and json (RFC-0014 §4): a block holding a value that would
 * not read back as written from its f32 (0.10000000149011612, written long-hand, as a build before the write
 * normalisation might have stored it) is json, the others kind 7. kNN / ANN (candidates' blocks only) rank every row
 * as brute force does whichever kind its block has, and each value comes back as stored.
 */
import { describe, it, expect } from 'vitest';
import type { Doc, Id } from '../crates-ts/core/index.js';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore } from '../crates-ts/store/index.js';
import { blockOf, buildPartFiles, ColumnBlock, isBlockHead, newPartId, openBlockFile, readManifest } from '../crates-ts/part/index.js';
import { publishBuiltPart } from './helpers/part-namespace.js';

const DIMS = 256; // 64 rows a block (BLOCK_TARGET_BYTES at 4 bytes a number)

/** A hash of (id, j) to -48..48: no period in the id (no duplicate rows, no ties at the cut). */
function h(id: number, j: number): number {
  let x = Math.imul(id + 1, 0x9e3779b1) ^ Math.imul(j + 1, 0x85ebca6b);
  x ^= x >>> 15;
  x = Math.imul(x, 0x2c1b3c6d);
  x ^= x >>> 12;
  return ((x >>> 0) % 97) - 48;
}

function l2(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (Math.fround(a[i]!) - Math.fround(b[i]!)) ** 2;
  return s;
}

describe('a vector column of kind-7 and json blocks', () => {
  it('should rank rows of both kinds of block as brute force does and return the stored values', async () => {
    const store = new MemoryStore();
    const ns = 'mixed-blocks';
    const docs: Doc[] = Array.from({ length: 300 }, (_, id) => ({
      id,
      vector: null,
      attrs: { img: Array.from({ length: DIMS }, (_, j) => h(id, j) / 8) },
    }));
    (docs[100]!.attrs.img as number[])[3] = 0.10000000149011612; // the f32 of 0.1, long-hand: its block is json
    delete docs[200]!.attrs.img;
    const built = await buildPartFiles({
      namespace: ns,
      partId: newPartId(1, 2, 'mixed001'),
      walStart: 1,
      walEnd: 2,
      level: 0,
      changes: new Map<Id, Doc | null>(docs.map((d) => [d.id, d] as const)),
      schema: { img: { type: `[${DIMS}]f32`, ann: { distance_metric: 'euclidean_squared' } } },
      distanceMetric: 'euclidean_squared',
      hnsw: { flatThreshold: 64 },
      createdAt: '2026-12-06T00:40:00.000Z',
      partFormat: 2,
    });
    await publishBuiltPart(store, built);
    const head = (await readManifest(store, ns, built.manifest.part_id))!;
    if (!isBlockHead(head)) throw new Error('not a block part');
    const col = head.columns.find((c) => c.name === 'img')!;
    expect(col.kind).toBe('fvec');
    const bytes = new Uint8Array((await store.get(`${ns}/parts/${built.manifest.part_id}/${col.file}`))!.bytes);
    const { blocks } = openBlockFile(bytes, col.file);
    const kinds = Array.from({ length: blocks.offset.length }, (_, b) => ColumnBlock.decode(blockOf(bytes, blocks, b, col.file), col.file).kind);
    expect(kinds).toEqual(['fvec', 'json', 'fvec', 'fvec', 'fvec']);

    let t = 0;
    const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
    try {
      const withImg = docs.filter((d) => d.attrs.img !== undefined);
      for (const target of [100, 101, 5, 250]) {
        // A stored row's own vector (row 100 sits in the json block), nudged: that row first, then its neighbours.
        const q = (docs[target]!.attrs.img as number[]).map((x, j) => x + (j % 5 === 0 ? 0.25 : 0));
        const want = withImg
          .map((d) => [d.id as number, l2(q, d.attrs.img as number[])] as [number, number])
          .sort((a, b) => a[1] - b[1] || a[0] - b[0])
          .slice(0, 8);
        for (const mode of ['kNN', 'ANN'] as const) {
          const got = (await e.query(ns, { rank_by: ['img', mode, q], top_k: 8, include_attributes: ['img'] })).rows!;
          expect(got.map((r) => r.id)).toEqual(want.map(([id]) => id));
          got.forEach((r, i) => expect(r.$dist).toBeCloseTo(want[i]![1], 6));
          expect(got.map((r) => r.img)).toEqual(want.map(([id]) => docs[id]!.attrs.img));
        }
      }
    } finally {
      await e.close();
    }
  });
});
