/**
 * Filter indexes (RFC-0009 slice 2) end to end: random documents (scalars of several types, arrays some empty,
 * missing and null attributes) and random filter trees (indexed and residual operators under And / Or / Not) give
 * exactly the ids naive evaluation gives, through the WAL tail, indexed parts with dictionary indexes, deletes,
 * overwrites and compaction. The parts' heads list their indexes, and queries read the index files.
 */
import { describe, expect, it } from 'vitest';
import type { Doc, Id } from '../crates-ts/core/index.js';
import { Engine } from '../crates-ts/engine/index.js';
import { compileFilter } from '../crates-ts/filter/index.js';
import { seededRandom } from '../crates-ts/ivf/index.js';
import { isBlockHead, partFileKey, readManifest } from '../crates-ts/part/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { compactNamespace } from '../indexer/compact.js';
import { Indexer } from '../indexer/indexer.js';
import { RANDOM_FILTER_SCHEMA, randomAttrs, randomFilter } from './helpers/random-filters.js';
import { ReadLogStore } from './helpers/read-log-store.js';
import { publishIvfPart } from './helpers/part-namespace.js';

let t = 1_800_000_000_000;
const clock = { now: () => (t += 1) };
let n = 0;
const nonce = () => `f${n++}`;
const schema = RANDOM_FILTER_SCHEMA;

describe('filter indexes against naive evaluation', () => {
  it('should return the same ids for random filters over tail, indexed parts, deletes and compaction', async () => {
    const store = new ReadLogStore();
    const ns = 'fidx-prop';
    const engine = new Engine(store, { clock, sleep: () => Promise.resolve(), random: seededRandom(3), groupCommitMs: 0 });
    const indexer = new Indexer(store, { clock, nonce, hnsw: { flatThreshold: 4 } });
    const r = seededRandom(80);
    const model = new Map<Id, Doc>();
    const upsert = async (ids: number[]) => {
      const rows = ids.map((id) => {
        const attrs = randomAttrs(r);
        model.set(id, { id, vector: null, attrs });
        return { id, vector: [Math.cos(id), Math.sin(id)], ...attrs };
      });
      await engine.write(ns, { upsert_rows: rows, distance_metric: 'euclidean_squared', schema });
    };
    const remove = async (ids: number[]) => {
      ids.forEach((id) => model.delete(id));
      await engine.write(ns, { deletes: ids });
    };
    const check = async (stage: string) => {
      for (let q = 0; q < 15; q++) {
        const f = randomFilter(r, 3, 260);
        const closure = compileFilter(f, schema);
        const want = [...model.values()].filter((d) => closure(d)).map((d) => d.id as number).sort((a, b) => a - b);
        const got = await engine.query(ns, { filters: f, rank_by: ['id', 'asc'], top_k: 1000 });
        expect(got.rows!.map((x) => x.id), `${stage}: ${JSON.stringify(f)}`).toEqual(want);
        // Filtered ANN over HNSW parts (view.annRestriction): top_k above the matches returns every match.
        const ann = await engine.query(ns, { filters: f, rank_by: ['vector', 'ANN', [0.3, 0.7]], top_k: 1000 });
        expect(ann.rows!.map((x) => x.id as number).sort((a, b) => a - b), `${stage} ANN: ${JSON.stringify(f)}`).toEqual(want);
        const count = await engine.query(ns, { filters: f, aggregate_by: { c: ['Count'] } });
        expect(count.aggregations, `${stage} Count: ${JSON.stringify(f)}`).toEqual({ c: want.length });
      }
    };
    const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

    await upsert(ids(0, 120));
    await check('tail only');
    await indexer.indexNamespace(ns, true);
    await check('one part');
    await upsert([...ids(100, 140), ...ids(200, 230)]);
    await remove([3, 7, 11, 50, 51, 52, 125, 999]);
    await indexer.indexNamespace(ns, true);
    await upsert(ids(230, 260));
    await remove([0, 1, 205]);
    await check('two parts, deletes, tail');

    // The parts carry dictionary indexes, and the queries read them.
    const router = (await new RouterStore(store).read(ns))!.router;
    expect(router.parts.length).toBe(2);
    for (const p of router.parts) {
      const head = (await readManifest(store, ns, p.id))!;
      expect(isBlockHead(head) && head.filter_indexes?.map((i) => i.attr).sort()).toEqual(Object.keys(schema).sort());
    }
    expect(store.reads.some((x) => /fidx-\d+\.blk$/.test(x.key))).toBe(true);

    // patch_by_filter and delete_by_filter find their rows through the same masks (namespace/view.ts scanMatches).
    for (let k = 0; k < 4; k++) {
      const pf = randomFilter(r, 2, 260);
      const pc = compileFilter(pf, schema);
      for (const d of model.values()) if (pc(d)) d.attrs = { ...d.attrs, n: 100 + k };
      await engine.write(ns, { patch_by_filter: { filters: pf, patch: { n: 100 + k } } });
      const df = randomFilter(r, 2, 260);
      const dc = compileFilter(df, schema);
      for (const d of [...model.values()]) if (dc(d)) model.delete(d.id);
      await engine.write(ns, { delete_by_filter: df });
      await check(`after patch/delete by filter ${k}: ${JSON.stringify([pf, df])}`);
      await indexer.indexNamespace(ns, true);
    }

    await indexer.indexNamespace(ns, true);
    const out = await compactNamespace(store, ns, { clock, nonce, force: true, hnsw: { flatThreshold: 4 } });
    expect(out.result).toBe('compacted');
    await check('compacted');
  });

  it('should give filtered ANN over a format-3 part the allowed rows the filter matches (bitmaps, then dead rows cleared)', async () => {
    const store = new ReadLogStore();
    const ns = 'fidx-ivf';
    const r = seededRandom(81);
    const docs: Doc[] = Array.from({ length: 300 }, (_, id) => ({ id, vector: Float32Array.of(r(), r()), attrs: randomAttrs(r) }));
    await publishIvfPart(store, ns, docs, { schema: { ...schema, vector: { type: '[2]f32', ann: { distance_metric: 'euclidean_squared' } } }, metric: 'euclidean_squared', targetSize: 50 });
    const engine = new Engine(store, { clock, sleep: () => Promise.resolve(), random: seededRandom(4), groupCommitMs: 0 });
    await engine.write(ns, { deletes: [5, 6, 7, 100, 299] });
    const live = docs.filter((d) => ![5, 6, 7, 100, 299].includes(d.id as number));
    for (let q = 0; q < 30; q++) {
      const f = randomFilter(r, 3, 300);
      const closure = compileFilter(f, schema);
      const want = live.filter((d) => closure(d)).map((d) => d.id as number);
      // Few matches (≤ exactFilterRows): the ANN path ranks exactly the allowed rows, so top_k ≥ matches returns all.
      const got = await engine.query(ns, { filters: f, rank_by: ['vector', 'ANN', [0.5, 0.5]], top_k: 1000 });
      expect(got.rows!.map((x) => x.id as number).sort((a, b) => a - b), JSON.stringify(f)).toEqual(want);
    }
    expect(store.reads.some((x) => /fidx-\d+\.blk$/.test(x.key))).toBe(true);
  });

  it('should fail a query on a part whose index block is damaged with ELAX_ERR_CORRUPT naming the file (no silent scan)', async () => {
    const store = new ReadLogStore();
    const ns = 'fidx-corrupt';
    const engine = () => new Engine(store, { clock, sleep: () => Promise.resolve(), random: seededRandom(5), groupCommitMs: 0 });
    const r = seededRandom(82);
    await engine().write(ns, { upsert_rows: Array.from({ length: 50 }, (_, id) => ({ id, vector: [id, 1], ...randomAttrs(r) })), distance_metric: 'euclidean_squared', schema });
    await new Indexer(store, { clock, nonce, hnsw: { flatThreshold: 4 } }).indexNamespace(ns, true);
    const part = (await new RouterStore(store).read(ns))!.router.parts[0]!;
    const head = (await readManifest(store, ns, part.id))!;
    const info = isBlockHead(head) ? head.filter_indexes!.find((i) => i.attr === 's')! : null;
    const key = partFileKey(ns, part.id, info!.file);
    const bytes = new Uint8Array((await store.get(key))!.bytes);
    bytes[info!.blocks.offset[0]! + 1]! ^= 0xff;
    await store.put(key, bytes);
    await expect(engine().query(ns, { filters: ['s', 'Eq', 'ab'], rank_by: ['id', 'asc'] })).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT', message: expect.stringContaining(info!.file) });
    // Queries whose filter does not read the attribute still answer.
    expect((await engine().query(ns, { filters: ['n', 'Gte', 0], rank_by: ['id', 'asc'] })).rows!.length).toBeGreaterThan(0);
  });

  it('should give BM25 with a filter the matches of a scan (text-segments: the mask decides which scored rows pass)', async () => {
    const store = new ReadLogStore();
    const ns = 'fidx-bm25';
    const engine = new Engine(store, { clock, sleep: () => Promise.resolve(), random: seededRandom(6), groupCommitMs: 0 });
    const r = seededRandom(83);
    const words = ['fox', 'dog', 'owl', 'cat'];
    const full = { ...schema, body: { type: 'string', full_text_search: true } };
    const docs: Doc[] = Array.from({ length: 120 }, (_, id) => ({ id, vector: null, attrs: { ...randomAttrs(r), body: `${words[id % 4]} ${words[(id * 3) % 4]}` } }));
    await engine.write(ns, { upsert_rows: docs.map((d) => ({ id: d.id, vector: [1, d.id as number], ...d.attrs })), distance_metric: 'euclidean_squared', schema: full });
    await new Indexer(store, { clock, nonce, hnsw: { flatThreshold: 4 } }).indexNamespace(ns, true);
    for (let q = 0; q < 20; q++) {
      const f = randomFilter(r, 3, 120);
      const closure = compileFilter(f, schema);
      const want = docs.filter((d) => closure(d) && (d.attrs.body as string).split(' ').includes('fox')).map((d) => d.id as number);
      const got = await engine.query(ns, { filters: f, rank_by: ['body', 'BM25', 'fox'], top_k: 1000 });
      expect(got.rows!.map((x) => x.id as number).sort((a, b) => a - b), JSON.stringify(f)).toEqual(want);
    }
    expect(store.reads.some((x) => /fidx-\d+\.blk$/.test(x.key))).toBe(true);
  });
});
