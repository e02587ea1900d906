/**
 * ANN over format-3 parts (RFC-0008 §4): the namespace codebook's nearest clusters are probed in every format-3
 * part, codes scored, candidates reranked exactly. Recall against kNN at the default probe depth; with every cluster
 * probed (ef_search at its maximum), ANN is kNN exactly — ids and $dist — also with deletes, a filter, and a mix of
 * a format-3 part, a format-2 part and the WAL tail. A fresh node's first ANN query reads a bounded number of
 * objects and far fewer bytes than the part's vectors (§7).
 */
import { describe, expect, it } from 'vitest';
import type { Doc, Id, Schema } from '../crates-ts/core/index.js';
import { Engine } from '../crates-ts/engine/index.js';
import { RouterStore } from '../crates-ts/router/index.js';
import { MemoryStore, type ByteRange, type ListOptions } from '../crates-ts/store/index.js';
import { Indexer } from '../indexer/indexer.js';
import { publishIvfPart } from './helpers/part-namespace.js';
import { ReadLogStore } from './helpers/read-log-store.js';

const DIMS = 16;
const N = 3000;
const CENTRES = 24;
const SCHEMA: Schema = {
  cat: { type: 'string', filterable: true },
  id: { type: 'uint' },
  vector: { type: `[${DIMS}]f32`, ann: { distance_metric: 'cosine_distance' } },
};


/**
 * Counts sequential round trips: every read takes a few milliseconds, and a round trip is a busy period (reads that
 * overlap in time belong to one). A read started after all earlier ones finished needed them first: a new round
 * trip. Each round trip keeps what it read, for the failure message.
 */
class RoundTripStore extends MemoryStore {
  counting = false;
  private inflight = 0;
  trips: string[][] = [];
  private async slow<T>(what: string, f: () => Promise<T>): Promise<T> {
    if (!this.counting) return f();
    if (this.inflight++ === 0) this.trips.push([]);
    this.trips[this.trips.length - 1]!.push(what);
    await new Promise((r) => setTimeout(r, 3));
    try {
      return await f();
    } finally {
      this.inflight--;
    }
  }
  override get(key: string, range?: ByteRange) {
    return this.slow(`GET ${key.slice(key.lastIndexOf('/') + 1)}`, () => super.get(key, range));
  }
  override head(key: string) {
    return this.slow(`HEAD ${key.slice(key.lastIndexOf('/') + 1)}`, () => super.head(key));
  }
  override list(prefix: string, o?: ListOptions) {
    return this.slow(`LIST ${prefix}`, () => super.list(prefix, o));
  }
  /** Round trips of `f` after the one that reads router.json. */
  async tripsOf(f: () => Promise<unknown>): Promise<string[][]> {
    this.trips = [];
    this.counting = true;
    try {
      await f();
    } finally {
      this.counting = false;
    }
    const router = this.trips.findIndex((t) => t.includes('GET router.json'));
    expect(router).toBeGreaterThanOrEqual(0);
    return this.trips.slice(router + 1);
  }
}

/** A deterministic hash in [0, 1). */
function h(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return x - Math.floor(x);
}

/** Clustered vectors around CENTRES centres; ids i*3+1. */
function vectorOf(i: number): number[] {
  const c = i % CENTRES;
  return Array.from({ length: DIMS }, (_, d) => Math.sin(c * 1.3 + d * 0.7) * 2 + (h(i * DIMS + d) - 0.5) * 0.9);
}
function docs(from: number, n: number): Doc[] {
  return Array.from({ length: n }, (_, j) => {
    const i = from + j;
    return { id: i * 3 + 1, vector: Float32Array.from(vectorOf(i)), attrs: { cat: ['a', 'b', 'c'][i % 3]! } };
  });
}

let t = Date.UTC(2026, 11, 5);
const engineOn = (store: MemoryStore) => new Engine(store, { clock: { now: () => (t += 1000) }, sleep: () => Promise.resolve(), random: () => 0.5, groupCommitMs: 0 });

async function publishV3(store: MemoryStore, ns: string, rows: Doc[]) {
  await publishIvfPart(store, ns, rows, { schema: SCHEMA, metric: 'cosine_distance', targetSize: 100 });
}

const query = (i: number) => vectorOf(100_000 + i).map((x, d) => x + Math.cos(i + d) * 0.3);
type Row = { id: Id; $dist: number };
async function rows(e: Engine, ns: string, body: Record<string, unknown>): Promise<Row[]> {
  const r = (await e.query(ns, body)) as { rows: Row[] };
  return r.rows.map((x) => ({ id: x.id, $dist: x.$dist }));
}
/** An ANN query on a fresh node really probes clusters: it reads codes blocks, and the format-3 part's vec.blk never whole. */
async function expectProbes(store: ReadLogStore, ns: string, extra: Record<string, unknown> = {}) {
  store.reads = [];
  const got = await rows(engineOn(store), ns, { rank_by: ['vector', 'ANN', query(1)], top_k: 10, ...extra });
  expect(got).toHaveLength(10);
  expect(store.file('codes.blk').length).toBeGreaterThan(0);
  const ivfPart = (await new RouterStore(store).read(ns))!.router.parts.find((p) => p.index_kind === 'ivf')!.id;
  expect(store.file('vec.blk').filter((x) => x.key.includes(ivfPart) && !x.ranged)).toEqual([]);
}

/** kNN and ANN with every cluster probed (ef_search at its maximum) must agree exactly. */
async function expectExact(e: Engine, ns: string, extra: Record<string, unknown> = {}, queries = 8) {
  for (let i = 0; i < queries; i++) {
    const q = query(i);
    const knn = await rows(e, ns, { rank_by: ['vector', 'kNN', q], top_k: 10, ...extra });
    const ann = await rows(e, ns, { rank_by: ['vector', 'ANN', q], top_k: 10, ef_search: 10_000, ...extra });
    expect(knn.length).toBe(10);
    expect(ann).toEqual(knn);
  }
}

describe('ANN over format-3 parts', () => {
  it('should reach recall@10 ≥ 0.9 at the default probe depth and equal kNN exactly when every cluster is probed, with deletes and filters', async () => {
    const store = new ReadLogStore();
    await publishV3(store, 'ivf', docs(0, N));
    await expectProbes(store, 'ivf');
    await expectProbes(store, 'ivf', { ef_search: 10_000, filters: ['cat', 'Eq', 'b'] });
    const e = engineOn(store);
    const k = (await new RouterStore(store).read('ivf'))!.router;
    expect(k.parts[0]!.index_kind).toBe('ivf');
    let found = 0;
    const Q = 20;
    for (let i = 0; i < Q; i++) {
      const q = query(i);
      const knn = await rows(e, 'ivf', { rank_by: ['vector', 'kNN', q], top_k: 10 });
      const ann = await rows(e, 'ivf', { rank_by: ['vector', 'ANN', q], top_k: 10 });
      const truth = new Set(knn.map((r) => r.id));
      found += ann.filter((r) => truth.has(r.id)).length;
      // Whatever ANN returns carries its exact distance.
      const byId = new Map((await rows(e, 'ivf', { rank_by: ['vector', 'kNN', q], top_k: N })).map((r) => [r.id, r.$dist]));
      for (const r of ann) expect(r.$dist).toBe(byId.get(r.id));
    }
    expect(found / (Q * 10)).toBeGreaterThanOrEqual(0.9);
    await expectExact(e, 'ivf');
    await expectExact(e, 'ivf', { filters: ['cat', 'Eq', 'b'] });
    // Deletes (the tail shadows part rows: dead in the part's mask) of every query's current nearest rows.
    const gone = new Set<Id>();
    for (let i = 0; i < 8; i++) for (const r of (await rows(e, 'ivf', { rank_by: ['vector', 'kNN', query(i)], top_k: 4 }))) gone.add(r.id);
    await e.write('ivf', { deletes: [...gone] });
    await expectExact(e, 'ivf');
    await expectExact(e, 'ivf', { filters: ['cat', 'In', ['a', 'c']] });
    // A filter matching fewer than k rows: the probed clusters hold fewer than k matches, the part is scanned exactly
    // (as a filtered HNSW walk falls back to the allowed rows): never fewer rows than exist.
    const few = { filters: ['id', 'In', [1, 4 + 3 * 1500, 7 + 3 * 2900, 99_999]] };
    const knnFew = await rows(e, 'ivf', { rank_by: ['vector', 'kNN', query(0)], top_k: 10, ...few });
    expect(knnFew).toHaveLength(3);
    expect(await rows(e, 'ivf', { rank_by: ['vector', 'ANN', query(0)], top_k: 10, ...few })).toEqual(knnFew);
    for (let i = 0; i < 4; i++) {
      const ann = await rows(e, 'ivf', { rank_by: ['vector', 'ANN', query(i)], top_k: 10 });
      expect(ann.some((r) => gone.has(r.id))).toBe(false);
    }
  });

  it('should equal kNN over a format-3 part, a format-2 part and the WAL tail when every cluster is probed', async () => {
    const store = new ReadLogStore();
    await publishV3(store, 'mix', docs(0, N));
    const e = engineOn(store);
    // A format-2 part from the indexer: new rows, and updates of some of the format-3 part's rows.
    await e.write('mix', { upsert_rows: docs(N, 600).map((d) => ({ id: d.id, vector: Array.from(d.vector!), cat: d.attrs.cat })) });
    await e.write('mix', { upsert_rows: docs(0, 200).map((d, j) => ({ id: d.id, vector: vectorOf(j + 7), cat: 'b' })) });
    await new Indexer(store, { clock: { now: () => (t += 1000) }, nonce: () => 'mix', hnsw: { flatThreshold: 1e9 } }).indexNamespace('mix', true);
    const r = (await new RouterStore(store).read('mix'))!.router;
    expect(r.parts.map((p) => p.index_kind).sort()).toEqual(['flat', 'ivf']);
    // The tail: more rows, updates of both parts' rows, deletes.
    await e.write('mix', { upsert_rows: docs(N + 600, 300).map((d) => ({ id: d.id, vector: Array.from(d.vector!), cat: d.attrs.cat })) });
    await e.write('mix', { upsert_rows: docs(300, 100).map((d, j) => ({ id: d.id, vector: vectorOf(j + 11), cat: 'c' })), deletes: docs(N + 10, 50).map((d) => d.id) });
    await expectProbes(store, 'mix', { ef_search: 10_000 });
    const e2 = engineOn(store);
    await expectExact(e2, 'mix');
    await expectExact(e2, 'mix', { filters: ['cat', 'Eq', 'b'] });
  });

  it('should read on a fresh node the router, head, codebook, cluster table, the probed clusters’ codes and a few vector blocks for its first ANN query', async () => {
    const store = new ReadLogStore();
    await publishV3(store, 'cold', docs(0, N));
    const r = (await new RouterStore(store).read('cold'))!.router;
    const partId = r.parts[0]!.id;
    const objects = (await store.list(`cold/parts/${partId}/`)).objects;
    const vecBytes = objects.find((o) => o.key.endsWith('vec.blk'))!.size;
    store.reads = [];
    const e = engineOn(store);
    const ann = await rows(e, 'cold', { rank_by: ['vector', 'ANN', query(3)], top_k: 10 });
    expect(ann).toHaveLength(10);
    const keys = store.reads.map((x) => x.key.slice(x.key.lastIndexOf('/') + 1));
    expect(store.file('manifest.json')).toHaveLength(1);
    expect(store.reads.filter((x) => x.key.endsWith('.cb'))).toHaveLength(1);
    expect(store.file('ivf.blk')).toHaveLength(1);
    const codes = store.file('codes.blk');
    expect(codes.length).toBeGreaterThan(0);
    expect(codes.length).toBeLessThanOrEqual(8); // DEFAULT_NPROBE clusters at most
    expect(codes.every((x) => x.ranged)).toBe(true);
    const vec = store.file('vec.blk');
    expect(vec.every((x) => x.ranged)).toBe(true);
    const vecRead = vec.reduce((s, x) => s + x.bytes, 0);
    expect(vecRead).toBeLessThan(vecBytes / 3);
    // The id column by block too, only the returned rows' blocks: never whole on a cold node (O(part)).
    const idsBytes = objects.find((o) => o.key.endsWith('ids.blk'))!.size;
    const ids = store.file('ids.blk');
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((x) => x.ranged)).toBe(true);
    expect(ids.every((x) => x.bytes < idsBytes)).toBe(true);
    // Nothing else of the part is read whole; every read accounted for.
    const allowed = /^(router\.json|manifest\.json|codebook-.*\.cb|ivf\.blk|codes\.blk|vec\.blk|presence.*|ids\.blk|.*\.json)$/;
    expect(keys.filter((k) => !allowed.test(k))).toEqual([]);
    expect(store.reads.length).toBeLessThanOrEqual(4 + codes.length + vec.length + 2);
    const partFiles = store.reads.filter((x) => x.key.includes('/parts/'));
    expect(partFiles.reduce((s, x) => s + x.bytes, 0)).toBeLessThan(vecBytes / 2);
    // A second query on the same node reads no part object again for the clusters it shares.
    store.reads = [];
    await rows(e, 'cold', { rank_by: ['vector', 'ANN', query(3)], top_k: 10 });
    expect(store.reads.filter((x) => x.key.includes('/parts/') || x.key.endsWith('.cb'))).toEqual([]);
  });

  it('should read the cluster table by range after the head when the early whole read of ivf.blk fails or holds other bytes, and answer the same', async () => {
    // The early read (catalog.ts loadParts) is only a head start: a store error, or bytes that fail the head's CRC-32
    // (a torn or replaced object), must cost one ranged read of the table, never a wrong table or a failed query.
    class EarlyIvfStore extends ReadLogStore {
      mode: 'fail' | 'garble' = 'fail';
      override async get(key: string, range?: ByteRange) {
        if (key.endsWith('ivf.blk') && range === undefined) {
          if (this.mode === 'fail') throw new Error('injected: whole ivf.blk read failed');
          const got = await super.get(key, range);
          if (got) got.bytes = got.bytes.map((b, i) => (i === 20 ? b ^ 0xff : b));
          return got;
        }
        return super.get(key, range);
      }
    }
    const store = new EarlyIvfStore();
    await publishV3(store, 'early', docs(0, N));
    const ann = { rank_by: ['vector', 'ANN', query(4)], top_k: 10 };
    const plain = new ReadLogStore();
    await publishV3(plain, 'early', docs(0, N));
    const expected = await rows(engineOn(plain), 'early', ann);
    expect(expected).toHaveLength(10);
    // Where the early read works, it is the only read of the table.
    expect(plain.file('ivf.blk').map((x) => x.ranged)).toEqual([false]);
    for (const mode of ['fail', 'garble'] as const) {
      store.mode = mode;
      store.reads = [];
      expect(await rows(engineOn(store), 'early', ann)).toEqual(expected);
      const table = store.file('ivf.blk');
      expect(table.filter((x) => x.ranged), mode).toHaveLength(1);
      expect(table.filter((x) => !x.ranged), mode).toHaveLength(mode === 'garble' ? 1 : 0);
    }
  });

  it('should answer a fresh node\'s first ANN query in at most 3 sequential round trips after the router (4 with attributes or a WAL tail)', async () => {
    // RFC-0008 §7: part heads + their cluster tables (read whole, checked once the head is here) + codebook + WAL
    // LIST together, with the router check (empty tail) as soon as the LIST answers; then the probed clusters'
    // codes; then the candidates' vectors and ids. Attributes of the returned rows take one more, and so do the
    // entries of a WAL tail (the view is built before the search starts).
    const store = new RoundTripStore();
    await publishV3(store, 'trips', docs(0, N));
    const q = query(5);
    const ann = { rank_by: ['vector', 'ANN', q], top_k: 10 };
    const cold = await store.tripsOf(() => rows(engineOn(store), 'trips', ann));
    expect(cold.length, JSON.stringify(cold)).toBeLessThanOrEqual(3);
    expect(cold[0]!.sort()).toEqual(expect.arrayContaining(['GET manifest.json', 'GET ivf.blk', 'LIST trips/wal/']));
    expect(cold[0]!.some((k) => k.endsWith('.cb'))).toBe(true); // the codebook rides with the heads
    const withAttrs = await store.tripsOf(() => rows(engineOn(store), 'trips', { ...ann, include_attributes: ['cat'] }));
    expect(withAttrs.length, JSON.stringify(withAttrs)).toBeLessThanOrEqual(4);
    // With a WAL tail: its entries replace the router check.
    await engineOn(store).write('trips', { upsert_rows: docs(N, 20).map((d) => ({ id: d.id, vector: Array.from(d.vector!), cat: d.attrs.cat })) });
    const tail = await store.tripsOf(() => rows(engineOn(store), 'trips', ann));
    expect(tail.length, JSON.stringify(tail)).toBeLessThanOrEqual(4);
    // A warm node: the WAL LIST and the router only (strong consistency), nothing of the parts again.
    const e = engineOn(store);
    await rows(e, 'trips', ann);
    expect(await store.tripsOf(() => rows(e, 'trips', ann))).toEqual([]);
  });
});
