/**
 * Old data keeps reading (RFC-0004 goal 4): every committed golden store (test/fixtures/store-v*, one per part
 * format, written by test/fixtures/make-fixtures.ts and never regenerated) is opened by the current build and must
 * hold exactly the documents its history defines; then the current indexer and compaction take it over (v1 parts
 * are merged into current-format parts) and it must still read the same.
 *
 * store-v2-wal-lz4 is store-v2's history written after WAL entries moved from zstd with dictionaries to LZ4 without
 * (wal/format.ts writerProperties): the same WAL format version, another Parquet writer setting.
 *
 * Part format 3 (RFC-0008 §2) has its own fixture, test/fixtures/part-v3 (part-v3.ts, make-part-v3.ts): one part
 * built against a hand-made codebook, checked byte-level (rows, cluster table, codes) and through the engine.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Engine } from '../crates-ts/engine/index.js';
import { LocalDirStore, walKey } from '../crates-ts/store/index.js';
import { decodeWalEntry, entryVoidIn } from '../crates-ts/wal/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { Indexer } from '../indexer/indexer.js';
import { compactNamespace } from '../indexer/compact.js';
import { GOLDEN_NS, expectedRows } from './fixtures/golden.js';
import { FIXTURES_DIR, withFixtureCopy } from './helpers/fixture-copy.js';
import { BlockCache } from '../crates-ts/cache/index.js';
import type { Doc } from '../crates-ts/core/index.js';
import { codebookRotation, encodeCluster, indexSpace, sqDistAt } from '../crates-ts/ivf/index.js';
import { PartData, isBlockHead, loadPart, lookupIdsV2, partFileKey, readDictIndex, readManifest, readSortedIndex, type PartHeadV3 } from '../crates-ts/part/index.js';
import { compileFilter } from '../crates-ts/filter/index.js';
import { compareValues } from '../crates-ts/query/index.js';
import { FSRT_CREATED_AT, FSRT_NS, FSRT_PART_ID, FSRT_SCHEMA, fsrtDocs } from './fixtures/part-fsrt.js';
import { readCodebook } from '../crates-ts/vindex/index.js';
import { V3_DIMS, V3_NS, V3_PART_ID, v3ClusterOf, v3Codebook, v3Docs, v3Vector } from './fixtures/part-v3.js';

const stores = readdirSync(FIXTURES_DIR).filter((d) => d.startsWith('store-')).sort();

async function readAll(e: Engine) {
  const res = await e.query(GOLDEN_NS, { rank_by: ['id', 'asc'], top_k: 1000, include_attributes: true });
  return res.rows as Record<string, unknown>[];
}

async function checkReads(e: Engine) {
  // Vectors are stored as f32 and rendered with the shortest decimal that round-trips: the written 3-decimal values.
  const want = expectedRows();
  expect(await readAll(e)).toEqual(want);
  const count = await e.query(GOLDEN_NS, { aggregate_by: { n: ['Count'] } });
  expect(count.aggregations).toEqual({ n: want.length });
  const q = want[10]!.vector as number[];
  const ann = await e.query(GOLDEN_NS, { rank_by: ['vector', 'ANN', q], top_k: 5 });
  const knn = await e.query(GOLDEN_NS, { rank_by: ['vector', 'kNN', q], top_k: 5 });
  expect(ann.rows!.map((r) => r.id)).toEqual(knn.rows!.map((r) => r.id));
  expect(ann.rows![0]!.id).toBe(want[10]!.id);
  const fox = await e.query(GOLDEN_NS, { rank_by: ['title', 'BM25', 'fox'], top_k: 100 });
  const withFox = want.filter((r) => (r.title as string).split(' ').includes('fox')).map((r) => r.id).sort((a, b) => (a as number) - (b as number));
  expect(fox.rows!.map((r) => r.id).sort((a, b) => (a as number) - (b as number))).toEqual(withFox);
  const filtered = await e.query(GOLDEN_NS, { rank_by: ['id', 'asc'], top_k: 1000, filters: ['And', [['active', 'Eq', true], ['price', 'Gte', 20]]] });
  expect(filtered.rows!.map((r) => r.id)).toEqual(want.filter((r) => r.active === true && (r.price as number) >= 20).map((r) => r.id));
}

describe('golden fixtures of every part format', () => {
  it('should have at least the v1 store', () => {
    expect(stores).toContain('store-v1');
  });

  for (const dir of stores) {
    it(`should read ${dir} exactly, and after the current indexer and compaction take it over`, async () => {
      await withFixtureCopy(dir, async (store) => {
        let t = Date.now();
        const clock = { now: () => (t += 1) };
        const e = new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
        const before = (await new RouterStore(store).read(GOLDEN_NS))!.router;
        expect(before.parts.length).toBeGreaterThanOrEqual(2);
        await checkReads(e);
        await new Indexer(store, { clock, nonce: () => 'now', hnsw: { flatThreshold: 8 } }).indexNamespace(GOLDEN_NS, true);
        await checkReads(new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 }));
        expect((await compactNamespace(store, GOLDEN_NS, { clock, nonce: () => 'cmp', force: true, hnsw: { flatThreshold: 8 } })).result).toBe('compacted');
        await checkReads(new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 }));
      });
    });
  }
});

describe('the sharded fixture (test/fixtures/store-v4-sharded, RFC-0013)', () => {
  it('should keep router format 4 with sharding, parts per shard in (wal_start, shard) order, each holding only its shard\'s ids', async () => {
    const store = new LocalDirStore(path.join(FIXTURES_DIR, 'store-v4-sharded'));
    const r = (await new RouterStore(store).read(GOLDEN_NS))!.router;
    expect(r.format_version).toBe(4);
    expect(r.sharding).toEqual({ num_shards: 3 });
    expect(r.parts.map((p) => [p.wal_start, p.wal_end, p.shard])).toEqual([[1, 2, 0], [1, 2, 1], [1, 2, 2], [3, 5, 0], [3, 5, 1], [3, 5, 2]]);
    // The shard function, written out (RFC-0013): FNV-1a 32 of the id's JSON text, murmur3 fmix32, mod num_shards.
    const shard = (id: number) => {
      let h = 0x811c9dc5;
      for (const b of new TextEncoder().encode(JSON.stringify(id))) h = Math.imul(h ^ b, 0x01000193);
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      return ((h ^ (h >>> 16)) >>> 0) % 3;
    };
    for (const ref of r.parts) {
      const part = await loadPart(store, GOLDEN_NS, ref.id, undefined, { lazy: true });
      expect(part.manifest.shard).toBe(ref.shard);
      for (const id of [...part.docs.map((d) => d.id), ...part.tombstones]) expect(shard(id as number)).toBe(ref.shard);
    }
    // The inaugural WAL entry carries the sharding, as WAL format 2; the others stay format 1.
    const first = decodeWalEntry(1, (await store.get(walKey(GOLDEN_NS, 1)))!.bytes);
    expect([first.meta.format_version, first.meta.sharding]).toEqual([2, { num_shards: 3 }]);
    const second = decodeWalEntry(2, (await store.get(walKey(GOLDEN_NS, 2)))!.bytes);
    expect([second.meta.format_version, second.meta.sharding]).toEqual([1, undefined]);
    const meta = await new Engine(store, { clock: { now: () => Date.now() }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 }).metadata(GOLDEN_NS);
    expect(meta.sharding).toEqual({ num_shards: 3 });
    await store.close();
  });
});

describe('the plan-incarnation WAL fixture (test/fixtures/wal-plan-v3, WAL format 3, RFC-0001 step 5)', () => {
  it('should read plan_wal_start, skip the void entry in views and in the part the indexer builds, and read format-1 entries beside it', async () => {
    await withFixtureCopy('wal-plan-v3', async (store) => {
      const ns = 'walplan';
      const r = (await new RouterStore(store).read(ns))!.router;
      expect([r.wal_start, r.indexed_wal, r.parts.length]).toEqual([3, 2, 0]);
      const metas = await Promise.all([3, 4, 5, 6].map(async (seq) => decodeWalEntry(seq, (await store.get(walKey(ns, seq)))!.bytes).meta));
      expect(metas.map((m) => [m.format_version, m.plan_wal_start])).toEqual([[3, 1], [3, 3], [3, 3], [1, undefined]]);
      expect(metas.map((m) => entryVoidIn(m, r.wal_start))).toEqual([true, false, false, false]);
      let t = Date.now();
      const clock = { now: () => (t += 1) };
      const engine = () => new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      const want = [{ id: 3, v: 'three', p: 'w' }, { id: 4, v: 'four', p: null }];
      const read = async (e: Engine) => {
        const res = await e.query(ns, { rank_by: ['id', 'asc'], top_k: 10, include_attributes: ['v', 'p'] });
        return (res.rows as Record<string, unknown>[]).map(({ id, v, p }) => ({ id, v, p: p ?? null }));
      };
      expect(await read(engine())).toEqual(want); // the void entry's patched row 1 is nowhere
      const out = await new Indexer(store, { clock, nonce: () => 'now' }).indexNamespace(ns, true);
      expect(out.result).toBe('published');
      const after = (await new RouterStore(store).read(ns))!.router;
      expect(after.parts.map((p) => [p.wal_start, p.wal_end, p.rows])).toEqual([[3, 6, 2]]);
      expect(await read(engine())).toEqual(want);
    });
  });
});

describe('the binary-vectors WAL fixture (test/fixtures/wal-binary-vectors-v4, WAL format 4)', () => {
  it('should read format-4 entries (vectors as fixed-size binary) in views, in the part the indexer builds, and in queries', async () => {
    await withFixtureCopy('wal-binary-vectors-v4', async (store) => {
      const ns = 'walbin';
      const metas = await Promise.all([1, 2, 3, 4].map(async (seq) => decodeWalEntry(seq, (await store.get(walKey(ns, seq)))!.bytes)));
      expect(metas.map((e) => [e.meta.format_version, e.meta.plan_wal_start])).toEqual([[4, undefined], [4, 1], [4, 1], [4, undefined]]) // a delete by id and a patch read state (RFC-0001 step 5);
      const five = metas[3]!.ops[0]!;
      expect(five.kind === 'upsert' && Array.from(five.doc.vector!)).toEqual([-0, Math.fround(1e-30), -3.5]);
      let t = Date.now();
      const clock = { now: () => (t += 1) };
      const engine = () => new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      const read = async (e: Engine) => {
        const all = await e.query(ns, { rank_by: ['id', 'asc'], top_k: 10, include_attributes: ['t', 'vector'] });
        const near = await e.query(ns, { rank_by: ['vector', 'ANN', [0.6, 0.8, 0]], top_k: 2, include_attributes: ['t'] });
        return {
          all: (all.rows as Record<string, unknown>[]).map(({ id, t, vector }) => ({ id, t, vector: vector === null || vector === undefined ? null : Array.from(vector as number[]) })),
          near: (near.rows as Record<string, unknown>[]).map(({ id, t }) => ({ id, t })),
        };
      };
      const want = {
        all: [
          { id: 1, t: 'uno', vector: [1, 0, 0] },
          { id: 3, t: 'three', vector: [0.6, 0.8, 0] }, // f32s as the API prints them: shortest decimal
          { id: 4, t: 'four', vector: null },
          { id: 5, t: 'five', vector: [-0, 1e-30, -3.5] },
        ],
        near: [
          { id: 3, t: 'three' },
          { id: 1, t: 'uno' },
        ],
      };
      expect(await read(engine())).toEqual(want); // from the WAL tail
      const out = await new Indexer(store, { clock, nonce: () => 'now' }).indexNamespace(ns, true);
      expect(out.result).toBe('published');
      expect(await read(engine())).toEqual(want); // from the part built from it
    });
  });
});

describe('the filter-index fixture (test/fixtures/store-v2-fidx, RFC-0009 slice 2)', () => {
  it("should decode every part's dictionary indexes to exactly the rows holding each value", async () => {
    await withFixtureCopy('store-v2-fidx', async (store) => {
      const router = (await new RouterStore(store).read(GOLDEN_NS))!.router;
      let indexes = 0;
      for (const p of router.parts) {
        const head = (await readManifest(store, GOLDEN_NS, p.id))!;
        if (!isBlockHead(head)) throw new Error(`${p.id} is not a block part`);
        const part = await loadPart(store, GOLDEN_NS, p.id);
        for (const info of head.filter_indexes ?? []) {
          const d = readDictIndex((await store.get(partFileKey(GOLDEN_NS, p.id, info.file)))!.bytes, info, head.rows, info.file);
          const rowsOf = (match: (v: unknown) => boolean) => part.docs.flatMap((doc, o) => (match(doc.attrs[info.attr]) ? [o] : []));
          expect(Array.from(d.nulls.toArray())).toEqual(rowsOf((v) => v === undefined || v === null));
          d.values.forEach((value, i) => {
            expect(Array.from(d.bitmaps[i]!.toArray())).toEqual(rowsOf((v) => (Array.isArray(v) ? v.includes(value) : v === value)));
          });
          indexes++;
        }
      }
      // active, price, tags, ... of golden.ts: every filterable attribute of both parts.
      expect(indexes).toBeGreaterThanOrEqual(6);
    });
  });
});

describe('the sorted-filter-index fixture (test/fixtures/part-fsrt, RFC-0009 slice 3)', () => {
  it('should decode its sorted indexes to every non-null row in value order and answer ranges, globs and order-by as a scan does', async () => {
    await withFixtureCopy('part-fsrt', async (store) => {
      const docs = fsrtDocs();
      const head = (await readManifest(store, FSRT_NS, FSRT_PART_ID))!;
      if (!isBlockHead(head)) throw new Error('not a block part');
      expect(head.filter_indexes!.map((i) => `${i.attr}:${i.kind}:${i.file}`)).toEqual(['at:sorted:fsrt-0.blk', 'cat:dict:fidx-1.blk', 'name:sorted:fsrt-2.blk', 'price:sorted:fsrt-3.blk']);
      const part = await loadPart(store, FSRT_NS, FSRT_PART_ID);
      for (const info of head.filter_indexes!.filter((i) => i.kind === 'sorted')) {
        const idx = readSortedIndex((await store.get(partFileKey(FSRT_NS, FSRT_PART_ID, info.file)))!.bytes, info, head.rows, info.file);
        const pairs = part.docs.flatMap((d, o) => (d.attrs[info.attr] == null ? [] : [[d.attrs[info.attr], o] as [string | number, number]]));
        pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
        expect(Array.from(idx.ords), info.attr).toEqual(pairs.map((p) => p[1]));
        expect(Array.from(idx.values as ArrayLike<unknown>), info.attr).toEqual(pairs.map((p) => p[0]));
        expect(Array.from(idx.nulls.toArray()), info.attr).toEqual(part.docs.flatMap((d, o) => (d.attrs[info.attr] == null ? [o] : [])));
      }
      let t = Date.parse(FSRT_CREATED_AT);
      const e = new Engine(store, { clock: { now: () => (t += 1) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      const filters = [
        ['price', 'Lt', 20],
        ['And', [['price', 'Gte', 10.25], ['at', 'Lt', '2024-01-05T00:00:00Z']]],
        ['name', 'Glob', 'bx*'],
        ['Or', [['name', 'NotGlob', 'a*'], ['price', 'In', [0, 99]]]],
      ];
      for (const f of filters) {
        const c = compileFilter(f, FSRT_SCHEMA);
        const got = await e.query(FSRT_NS, { filters: f, rank_by: ['id', 'asc'], top_k: 1000 });
        expect(got.rows!.map((r) => r.id), JSON.stringify(f)).toEqual(docs.filter((d) => c(d)).map((d) => d.id));
        expect(got.rows!.length, JSON.stringify(f)).toBeGreaterThan(0);
      }
      const top = await e.query(FSRT_NS, { filters: ['cat', 'Eq', 'q'], rank_by: ['price', 'desc'], top_k: 5 });
      const want = docs.filter((d) => d.attrs.cat === 'q').sort((a, b) => compareValues(b.attrs.price, a.attrs.price) || (a.id as number) - (b.id as number));
      expect(top.rows!.map((r) => r.id)).toEqual(want.slice(0, 5).map((d) => d.id));
    });
  });
});

describe('the part format 3 fixture (test/fixtures/part-v3)', () => {
  const cb = v3Codebook();
  const docs = v3Docs();
  /** What part-v3.ts defines, computed here: each vector's cluster is its nearest live centroid (index space). */
  const unit = (d: Doc) => indexSpace('cosine_distance', d.vector!, V3_DIMS);
  const nearest = (d: Doc) => {
    let best = -1;
    let bestD = Infinity;
    for (let c = 0; c < cb.k; c++) {
      const dist = sqDistAt(unit(d), 0, cb.centroids, c * V3_DIMS, V3_DIMS);
      if (!cb.retired[c] && dist < bestD) (bestD = dist), (best = c);
    }
    return best;
  };
  const vectorRows = docs.filter((d) => d.vector !== null).sort((a, b) => nearest(a) - nearest(b) || (a.id as number) - (b.id as number));
  const ordinalOrder = [...vectorRows, ...docs.filter((d) => d.vector === null)];

  it('should be the fixture its definition describes (nearest centroids as designed: one one-row, one empty, one retired)', () => {
    for (const d of vectorRows) expect(nearest(d), `id ${d.id}`).toBe(v3ClusterOf(d.id as number));
  });

  it('should decode the codebook, rows, ids, vectors, the cluster table and every cluster\'s codes to the defined values', async () => {
    await withFixtureCopy('part-v3', async (store) => {
      const router = (await new RouterStore(store).read(V3_NS))!.router;
      expect(router.vindex).toEqual({ codebook: 'codebook-0000000003-golden.cb', version: 3 });
      expect(await readCodebook(store, V3_NS, router.vindex!)).toEqual(cb);
      const head = (await readManifest(store, V3_NS, V3_PART_ID))! as PartHeadV3;
      expect([head.format_version, head.index.kind, head.ivf.codebook_version, head.rows, head.tombstones, head.ivf.vectors, head.ivf.padded]).toEqual([3, 'ivf', 3, 40, 1, 36, 64]);
      const data = new PartData(head, store, undefined, new BlockCache(1 << 24));

      const got = await data.docs(ordinalOrder.map((_, o) => o));
      expect(got.map((d) => d.id)).toEqual(ordinalOrder.map((d) => d.id));
      got.forEach((d, o) => {
        const want = ordinalOrder[o]!;
        expect(d.attrs).toEqual(want.attrs);
        expect(d.vector === null ? null : Array.from(d.vector)).toEqual(want.vector === null ? null : Array.from(want.vector));
      });
      const ords = await lookupIdsV2(store, head, [...docs.map((d) => d.id), 41, 1000]);
      expect([...ords].sort((a, b) => a[1] - b[1])).toEqual(ordinalOrder.map((d, o) => [d.id, o]));

      // The cluster table: clusters 0-3 in centroid order (4 retired, 5 empty), back to back from row 0.
      const table = await data.clusterTable();
      const sizes = [0, 1, 2, 3].map((c) => vectorRows.filter((d) => nearest(d) === c).length);
      expect(sizes[3]).toBe(1);
      expect(Array.from(table.centroid)).toEqual([0, 1, 2, 3]);
      expect(Array.from(table.rows)).toEqual(sizes);
      expect(Array.from(table.first)).toEqual([0, sizes[0], sizes[0]! + sizes[1]!, sizes[0]! + sizes[1]! + sizes[2]!]);
      const flat = new Float32Array(vectorRows.length * V3_DIMS);
      vectorRows.forEach((d, o) => flat.set(unit(d), o * V3_DIMS));
      const prepared = await data.prepareClusters([0, 1, 2, 3, 4, 5]);
      try {
        for (let i = 0; i < 4; i++) {
          const rows = Uint32Array.from({ length: sizes[i]! }, (_, j) => table.first[i]! + j);
          const want = encodeCluster(flat, rows, cb.centroids, i * V3_DIMS, codebookRotation(cb), table.first[i]!);
          const codes = prepared.codes(i);
          expect(table.radius[i]).toBe(Math.fround(want.radius));
          expect({ n: codes.n, firstRow: codes.firstRow, padded: codes.padded, radius: codes.radius }).toEqual({ n: want.n, firstRow: want.firstRow, padded: 64, radius: Math.fround(want.radius) });
          expect(Buffer.from(codes.codes)).toEqual(Buffer.from(want.codes));
          expect([codes.add, codes.rescale, codes.err].map((a) => Array.from(a))).toEqual([want.add, want.rescale, want.err].map((a) => Array.from(a)));
        }
        expect([prepared.codes(4).n, prepared.codes(5).n]).toEqual([0, 0]);
      } finally {
        prepared.release();
      }
    });
  });

  it('should decode the refine codes of cluster layout 2 (test/fixtures/part-v3-refine: the same part, built with them) to the defined values', async () => {
    await withFixtureCopy('part-v3-refine', async (store) => {
      const head = (await readManifest(store, V3_NS, V3_PART_ID))! as PartHeadV3;
      const data = new PartData(head, store, undefined, new BlockCache(1 << 24));
      const table = await data.clusterTable();
      const sizes = [0, 1, 2, 3].map((c) => vectorRows.filter((d) => nearest(d) === c).length);
      expect(Array.from(table.rows)).toEqual(sizes);
      const raw = (await store.get(partFileKey(V3_NS, V3_PART_ID, head.ivf.codes.file)))!.bytes;
      const prepared = await data.prepareClusters([0, 1, 2, 3]);
      try {
        for (let i = 0; i < 4; i++) {
          // The layout version (u16 at byte 4 of the block) and the refine flag (bit 1 of the u16 at byte 6).
          const at = head.ivf.codes.blocks.offset[i]!;
          expect([raw[at + 4], raw[at + 6]! & 2]).toEqual([2, 2]);
          const members = vectorRows.filter((d) => nearest(d) === i).map(unit);
          const c = cb.centroids.subarray(i * V3_DIMS, (i + 1) * V3_DIMS);
          // What the definitions say: per dimension, the residuals' f32 minimum and a 255th of their range.
          const lo = Array.from({ length: V3_DIMS }, (_, d) => Math.min(...members.map((v) => Math.fround(v[d]! - c[d]!))));
          const hi = Array.from({ length: V3_DIMS }, (_, d) => Math.max(...members.map((v) => Math.fround(v[d]! - c[d]!))));
          const rf = prepared.codes(i).refine!;
          expect(rf.dims).toBe(V3_DIMS);
          expect(Array.from(rf.lo)).toEqual(lo);
          expect(Array.from(rf.step)).toEqual(lo.map((l, d) => Math.fround((hi[d]! - l) / 255)));
          members.forEach((v, j) => {
            let err2 = 0;
            for (let d = 0; d < V3_DIMS; d++) {
              const step = rf.step[d]!;
              const code = step > 0 ? Math.min(255, Math.max(0, Math.round((v[d]! - c[d]! - lo[d]!) / step))) : 0;
              expect(rf.codes[j * V3_DIMS + d], `cluster ${i} row ${j} dim ${d}`).toBe(code);
              err2 += (v[d]! - (c[d]! + lo[d]! + step * code)) ** 2;
            }
            // The radius: ‖x − x̃‖ rounded up to f32.
            expect(rf.radius[j]).toBeGreaterThanOrEqual(Math.sqrt(err2));
            expect(rf.radius[j]).toBe(Math.fround(rf.radius[j]!));
            expect(rf.radius[j]! - Math.sqrt(err2)).toBeLessThanOrEqual(Math.sqrt(err2) * 1.2e-7 + 1e-45);
          });
        }
      } finally {
        prepared.release();
      }
    });
  });

  for (const fixture of ['part-v3', 'part-v3-refine']) it(`should answer queries through the engine, and after the current indexer and compaction take it over (${fixture})`, async () => {
    await withFixtureCopy(fixture, async (store) => {
      let t = Date.now();
      const clock = { now: () => (t += 1) };
      const e = new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      const all = await e.query(V3_NS, { rank_by: ['id', 'asc'], top_k: 100, include_attributes: true });
      expect(all.rows).toEqual(docs.map((d) => ({ id: d.id, ...(d.vector ? { vector: v3Vector(d.id as number) } : {}), ...d.attrs })));
      // Exact and (exactly scanned, for now) approximate neighbours of row 8's vector: the cosine ranking, computed here.
      const q = docs[7]!.vector!;
      const cos = (v: Float32Array) => 1 - sqDistAt(indexSpace('cosine_distance', v, V3_DIMS), 0, indexSpace('cosine_distance', q, V3_DIMS), 0, V3_DIMS) / 2;
      const want = vectorRows.map((d) => [d.id, 1 - cos(d.vector!)] as const).sort((a, b) => a[1] - b[1]).slice(0, 5).map((x) => x[0]);
      for (const mode of ['kNN', 'ANN']) {
        const r = await e.query(V3_NS, { rank_by: ['vector', mode, Array.from(q)], top_k: 5 });
        expect(r.rows!.map((x) => x.id), mode).toEqual(want);
      }
      const fox = await e.query(V3_NS, { rank_by: ['title', 'BM25', 'fox'], top_k: 100 });
      expect(fox.rows!.map((r) => r.id as number).sort((a, b) => a - b)).toEqual(docs.filter((d) => (d.attrs.title as string).split(' ').includes('fox')).map((d) => d.id));
      const filtered = await e.query(V3_NS, { rank_by: ['id', 'asc'], top_k: 100, filters: ['And', [['cat', 'Eq', 'b'], ['price', 'Gte', 20]]] });
      expect(filtered.rows!.map((r) => r.id)).toEqual(docs.filter((d) => d.attrs.cat === 'b' && (d.attrs.price as number) >= 20).map((d) => d.id));

      // The current indexer shadows rows of the format-3 part through its id index (deletion vectors by ordinal),
      // and compaction decodes it whole (rows not in id order) into a current-format part: the same documents.
      await e.write(V3_NS, { patch_rows: [{ id: 8, price: 0.5 }], deletes: [3, 10] });
      const after = docs.filter((d) => d.id !== 3 && d.id !== 10).map((d) => ({ id: d.id, ...(d.vector ? { vector: v3Vector(d.id as number) } : {}), ...d.attrs, ...(d.id === 8 ? { price: 0.5 } : {}) }));
      const readAll = async (engine: Engine) => (await engine.query(V3_NS, { rank_by: ['id', 'asc'], top_k: 100, include_attributes: true })).rows;
      expect(await readAll(e)).toEqual(after);
      await new Indexer(store, { clock, nonce: () => 'now' }).indexNamespace(V3_NS, true);
      const fresh = () => new Engine(store, { clock, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });
      expect(await readAll(fresh())).toEqual(after);
      expect((await compactNamespace(store, V3_NS, { clock, nonce: () => 'cmp', force: true })).result).toBe('compacted');
      expect(await readAll(fresh())).toEqual(after);
      expect((await new RouterStore(store).read(V3_NS))!.router.vindex).toEqual({ codebook: 'codebook-0000000003-golden.cb', version: 3 });
    });
  });
});
