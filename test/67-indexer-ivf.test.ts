/**
 * The indexer writing IVF (format-3) parts (RFC-0008 §1–2, slice 2c) on a real S3 server (radosgw): training the
 * first codebook past ivf_min_rows, reusing and extending it, a publish race between two indexers that both trained
 * one, and an indexer dying between the codebook upload and its publish; compaction splitting, folding undersized
 * clusters and retiring centroids (RFC-0008 §6). Results are checked by exhaustive kNN.
 */
import { describe, it, expect } from 'vitest';
import { Engine } from '../crates-ts/engine/index.js';
import { codebookKey, vindexPrefix, type ObjectStore, type Witness } from '../crates-ts/store/index.js';
import type { S3Store } from '../crates-ts/store/s3.js';
import { RouterStore, type Router } from '../crates-ts/router/index.js';
import { readCodebook, writeCodebook } from '../crates-ts/vindex/index.js';
import { seededRandom } from '../crates-ts/ivf/index.js';
import { Indexer, type IndexerOptions } from '../indexer/indexer.js';
import { gcNamespace } from '../indexer/gc.js';
import { ClusterUsage } from '../indexer/cluster-usage.js';
import { LivenessReader } from '../indexer/liveness.js';
import { compactNamespace } from '../indexer/compact.js';
import { makeTestS3Store } from './helpers/s3-env.js';

const clock = { now: () => Date.now() };
let n = 0;
const DIMS = 8;
const engineOn = (store: ObjectStore) => new Engine(store, { clock, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
// Small clusters so that a few hundred rows train several centroids and a dense new blob overflows one.
const ivf = { kind: 'ivf' as const, minRows: 40, targetSize: 16, minSize: 8, maxSize: 32 };
const indexerOn = (store: ObjectStore, extra: Partial<IndexerOptions> = {}) =>
  new Indexer(store, { clock, nonce: () => `v${n++}`, vectorIndex: ivf, maxEntriesPerPart: 100, ...extra });
const routerOf = async (store: ObjectStore, ns: string): Promise<Router> => (await new RouterStore(store).read(ns))!.router;

/** Rows around `centres` (gaussian-ish blobs), deterministic. */
function blobRows(first: number, count: number, centres: number[][], seed: number) {
  const r = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const c = centres[i % centres.length]!;
    return { id: first + i, vector: c.map((x) => x + (r() - 0.5) * 0.2) };
  });
}
const centres = (k: number, seed: number) => {
  const r = seededRandom(seed);
  return Array.from({ length: k }, () => Array.from({ length: DIMS }, () => r() * 10));
};

/** Every id a kNN query returns with top_k above the row count: the rows a reader can find by vector. */
async function knnIds(store: ObjectStore, ns: string, q: number[]): Promise<number[]> {
  const res = await engineOn(store).query(ns, { rank_by: ['vector', 'kNN', q], top_k: 1000 });
  return res.rows!.map((row) => row.id as number).sort((a, b) => a - b);
}
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/** Runs `hook` once, just before the next router CAS of `store` (a stand-in for another process acting then). */
function beforeNextRouterCas(store: ObjectStore, hook: () => Promise<void>): void {
  const orig = store.putIfMatch.bind(store);
  store.putIfMatch = async (key: string, bytes: Uint8Array, witness: Witness) => {
    if (key.endsWith('router.json')) {
      store.putIfMatch = orig;
      await hook();
    }
    return orig(key, bytes, witness);
  };
}

async function codebookKeys(store: ObjectStore, ns: string): Promise<string[]> {
  return (await store.list(vindexPrefix(ns))).objects.map((o) => o.key).sort();
}

describe('indexer with --vector-index ivf', () => {
  it('should keep small parts format 2, train a codebook past ivf_min_rows, then reuse and extend it', async () => {
    const store = makeTestS3Store('ivf-ix');
    const e = engineOn(store);
    const ns = 'ivf';
    const ix = indexerOn(store);
    // Below ivf_min_rows: an HNSW/flat part, no codebook.
    await e.write(ns, { upsert_rows: blobRows(0, 20, centres(4, 1), 1), distance_metric: 'euclidean_squared' });
    expect((await ix.indexNamespace(ns, true)).result).toBe('published');
    let r = await routerOf(store, ns);
    expect(r.parts.map((p) => p.index_kind)).not.toContain('ivf');
    expect(r.vindex).toBeUndefined();
    // 200 vectors: trains version 1, published with the part.
    await e.write(ns, { upsert_rows: blobRows(20, 200, centres(4, 1), 2) });
    expect((await ix.indexNamespace(ns, true)).result).toBe('published');
    r = await routerOf(store, ns);
    expect(r.parts.map((p) => p.index_kind)).toEqual([r.parts[0]!.index_kind, 'ivf']);
    expect(r.vindex?.version).toBe(1);
    const v1 = r.vindex!;
    const cb1 = await readCodebook(store, ns, v1);
    expect(cb1.k).toBeGreaterThan(1);
    // A small part once a codebook exists: format 3 against it, the codebook unchanged.
    await e.write(ns, { upsert_rows: blobRows(220, 10, centres(4, 1), 3) });
    expect((await ix.indexNamespace(ns, true)).result).toBe('published');
    r = await routerOf(store, ns);
    expect(r.parts.at(-1)!.index_kind).toBe('ivf');
    expect(r.vindex).toEqual(v1);
    // A dense blob in a new place overflows its nearest cluster: split, version 2 (an extension of version 1).
    await e.write(ns, { upsert_rows: blobRows(230, 120, [[50, 50, 50, 50, 50, 50, 50, 50]], 4) });
    expect((await ix.indexNamespace(ns, true)).result).toBe('published');
    r = await routerOf(store, ns);
    expect(r.vindex?.version).toBe(2);
    const cb2 = await readCodebook(store, ns, r.vindex!);
    expect(cb2.k).toBeGreaterThan(cb1.k);
    expect(Array.from(cb2.centroids.subarray(0, cb1.k * DIMS))).toEqual(Array.from(cb1.centroids)); // ids keep their meaning
    expect(await codebookKeys(store, ns)).toEqual([codebookKey(ns, v1.codebook), codebookKey(ns, r.vindex!.codebook)].sort());
    expect(await knnIds(store, ns, [50, 50, 50, 50, 50, 50, 50, 50])).toEqual(range(0, 350));
    // GC: the superseded version 1 goes after the grace; the named one never does; results unchanged.
    const gc = await gcNamespace(store, ns, { clock: { now: () => Date.now() + 120_000 }, partGraceMs: 60_000 });
    expect(gc.codebooks).toEqual([codebookKey(ns, v1.codebook)]);
    expect(await codebookKeys(store, ns)).toEqual([codebookKey(ns, r.vindex!.codebook)]);
    expect(await knnIds(store, ns, [0, 0, 0, 0, 0, 0, 0, 0])).toEqual(range(0, 350));
    await store.close();
  });

  it('should leave exactly one codebook named when two indexers race to train it, and lose no row', async () => {
    const store = makeTestS3Store('ivf-race') as S3Store;
    const e = engineOn(store);
    const ns = 'race';
    await e.write(ns, { upsert_rows: blobRows(0, 100, centres(3, 5), 5), distance_metric: 'cosine_distance' });
    await e.write(ns, { upsert_rows: blobRows(100, 100, centres(3, 6), 6) });
    // A trains a codebook; just before its publish, B (one entry at a time) trains another and publishes first.
    const b = indexerOn(store, { maxEntriesPerPart: 1 });
    let bOut: Awaited<ReturnType<Indexer['indexNamespace']>> | undefined;
    beforeNextRouterCas(store, async () => void (bOut = await b.indexNamespace(ns, true)));
    const aOut = await indexerOn(store).indexNamespace(ns, true);
    expect(bOut?.result).toBe('published');
    expect(aOut.result).toBe('abandoned');
    expect(await codebookKeys(store, ns)).toHaveLength(2); // both trained and uploaded one
    // B carries on past A's range on top of its own codebook, reusing it.
    await e.write(ns, { upsert_rows: blobRows(200, 30, centres(3, 5), 7) });
    await b.drain(ns);
    await indexerOn(store).drain(ns);
    const r = await routerOf(store, ns);
    expect(r.indexed_wal).toBe(3);
    expect(r.parts.every((p) => p.index_kind === 'ivf')).toBe(true);
    const named = codebookKey(ns, r.vindex!.codebook);
    const all = await codebookKeys(store, ns);
    expect(all).toContain(named);
    // Versions 1.. of B's lineage (B's later parts may extend it), plus A's never-named version 1.
    expect(all.length).toBe(r.vindex!.version + 1);
    for (let i = 1; i < r.parts.length; i++) expect(r.parts[i]!.wal_start).toBe(r.parts[i - 1]!.wal_end + 1);
    expect(await knnIds(store, ns, centres(1, 9)[0]!)).toEqual(range(0, 230));
    // GC takes A's codebook (never named) and any superseded one, keeps the named one.
    const gc = await gcNamespace(store, ns, { clock: { now: () => Date.now() + 120_000 }, partGraceMs: 60_000 });
    expect(gc.codebooks).toEqual(all.filter((k) => k !== named));
    expect(await codebookKeys(store, ns)).toEqual([named]);
    expect(await knnIds(store, ns, centres(1, 9)[0]!)).toEqual(range(0, 230));
    await store.close();
  });

  it('should stay consistent when an indexer dies after uploading its codebook, before its publish', async () => {
    const store = makeTestS3Store('ivf-crash') as S3Store;
    const e = engineOn(store);
    const ns = 'crash';
    await e.write(ns, { upsert_rows: blobRows(0, 100, centres(3, 11), 11), distance_metric: 'euclidean_squared' });
    const before = await routerOf(store, ns);
    beforeNextRouterCas(store, async () => {
      throw new Error('killed');
    });
    await expect(indexerOn(store).indexNamespace(ns, true)).rejects.toThrow(/killed/);
    expect(await routerOf(store, ns)).toEqual(before); // nothing named the dead indexer's part or codebook
    const orphan = await codebookKeys(store, ns);
    expect(orphan).toHaveLength(1);
    expect(await knnIds(store, ns, [0, 0, 0, 0, 0, 0, 0, 0])).toEqual(range(0, 100)); // served from the WAL
    // A restarted indexer trains its own and publishes it; the orphan stays within the grace, goes after it.
    expect((await indexerOn(store).indexNamespace(ns, true)).result).toBe('published');
    const r = await routerOf(store, ns);
    expect(r.vindex?.version).toBe(1);
    expect(codebookKey(ns, r.vindex!.codebook)).not.toBe(orphan[0]);
    expect((await gcNamespace(store, ns, { clock, partGraceMs: 60_000 })).codebooks).toEqual([]);
    expect((await gcNamespace(store, ns, { clock: { now: () => Date.now() + 120_000 }, partGraceMs: 60_000 })).codebooks).toEqual(orphan);
    expect(await knnIds(store, ns, [0, 0, 0, 0, 0, 0, 0, 0])).toEqual(range(0, 100));
    await store.close();
  });

  it('should abandon a part built against a codebook the router no longer names', async () => {
    const store = makeTestS3Store('ivf-moved');
    const e = engineOn(store);
    const ns = 'moved';
    await e.write(ns, { upsert_rows: blobRows(0, 100, centres(3, 21), 21), distance_metric: 'euclidean_squared' });
    await indexerOn(store).drain(ns);
    const v1 = (await routerOf(store, ns)).vindex!;
    // A builds its next part against version 1 (no split: a few rows); meanwhile another publisher (a future
    // compaction) moves the router to a version 2 of which A knows nothing, without touching indexed_wal.
    await e.write(ns, { upsert_rows: blobRows(100, 5, centres(3, 21), 22) });
    beforeNextRouterCas(store, async () => {
      const rs = new RouterStore(store);
      const read = (await rs.read(ns))!;
      const cb = await readCodebook(store, ns, v1);
      const vindex = await writeCodebook(store, ns, { ...cb, version: 2 }, 'other');
      expect((await rs.publish(read.router, read.witness, RouterStore.next(read.router, { vindex }, new Date().toISOString()))).ok).toBe(true);
    });
    const out = await indexerOn(store).indexNamespace(ns, true);
    expect(out).toMatchObject({ result: 'abandoned', reason: expect.stringMatching(/codebook changed/) });
    const r = await routerOf(store, ns);
    expect(r.vindex?.version).toBe(2);
    expect(r.indexed_wal).toBe(1);
    // The next attempt builds against version 2 and publishes; nothing is lost.
    expect((await indexerOn(store).indexNamespace(ns, true)).result).toBe('published');
    expect(await knnIds(store, ns, [0, 0, 0, 0, 0, 0, 0, 0])).toEqual(range(0, 105));
    await store.close();
  });

  it('should compact into a format-3 part against the codebook, converting HNSW parts and splitting what overflows', async () => {
    const store = makeTestS3Store('ivf-compact');
    const e = engineOn(store);
    const ns = 'compact';
    const ix = indexerOn(store);
    await e.write(ns, { upsert_rows: blobRows(0, 20, centres(3, 31), 31), distance_metric: 'euclidean_squared' });
    await ix.drain(ns); // below ivf_min_rows: HNSW/flat
    await e.write(ns, { upsert_rows: blobRows(20, 100, centres(3, 31), 32) });
    await ix.drain(ns); // trains version 1
    // Seven rows near one point per part: no part holds minSize (8) of that cluster, so no part splits it even when
    // it is full across parts (ExtendOptions.others); the merge of them overflows it and splits.
    for (let i = 0; i < 5; i++) {
      await e.write(ns, { upsert_rows: blobRows(120 + i * 7, 7, [[-40, -40, -40, -40, -40, -40, -40, -40]], 33 + i), deletes: [i] });
      await ix.drain(ns);
    }
    let r = await routerOf(store, ns);
    expect(r.parts[0]!.index_kind).not.toBe('ivf');
    const before = r.vindex!;
    const out = await compactNamespace(store, ns, { clock, nonce: () => `c${n++}`, force: true, maxParts: 1, vectorIndex: ivf });
    expect(out.result).toBe('compacted');
    r = await routerOf(store, ns);
    expect(r.parts.map((p) => p.index_kind)).toEqual(['ivf']);
    expect(r.vindex!.version).toBeGreaterThan(before.version);
    expect(await codebookKeys(store, ns)).toContain(codebookKey(ns, r.vindex!.codebook));
    expect(await knnIds(store, ns, [-40, -40, -40, -40, -40, -40, -40, -40])).toEqual(range(5, 155));
    await store.close();
  });

  it('should fold undersized clusters and retire their centroids in compaction, but not while another part holds them', async () => {
    const store = makeTestS3Store('ivf-merge');
    const e = engineOn(store);
    const ns = 'merge';
    const ix = indexerOn(store);
    const blobs = centres(3, 51);
    await e.write(ns, { upsert_rows: blobRows(0, 120, blobs, 51), distance_metric: 'euclidean_squared' });
    await ix.drain(ns); // part 1 trains version 1: 40 rows per blob, clusters of 8..32
    // Blob 0 (ids ≡ 0 mod 3) loses all but 3 rows (part 2, no vector); part 3 brings 3 new rows there.
    const blob0 = range(0, 120).filter((id) => id % 3 === 0);
    await e.write(ns, { deletes: blob0.slice(3) });
    await ix.drain(ns);
    await e.write(ns, { upsert_rows: blobRows(200, 3, [blobs[0]!], 52) });
    await ix.drain(ns);
    let r = await routerOf(store, ns);
    expect(r.parts).toHaveLength(3);
    const v1 = await readCodebook(store, ns, r.vindex!);
    expect(v1.retired.every((x) => x === 0)).toBe(true);
    const usage = () => new ClusterUsage(new LivenessReader(store, ns));
    const byPart3 = await usage().held({ ...r, parts: [r.parts[2]!] }, new Set());
    expect(byPart3.size).toBeGreaterThan(0);
    const live = [...blob0.slice(0, 3), ...range(0, 120).filter((id) => id % 3 !== 0), 200, 201, 202].sort((a, b) => a - b);

    // Tiered: parts 1 and 2 merge, part 3 stays. Blob 0's clusters hold 3 rows in the merged part, but the ones part 3
    // holds stay live (and keep their rows); the others are folded away and retired.
    expect((await compactNamespace(store, ns, { clock, nonce: () => `c${n++}`, fanout: 2, maxParts: 8, vectorIndex: ivf })).result).toBe('compacted');
    r = await routerOf(store, ns);
    expect(r.parts).toHaveLength(2);
    const v2 = await readCodebook(store, ns, r.vindex!);
    for (const c of byPart3) expect(v2.retired[c]).toBe(0);
    let held = await usage().held(r, new Set());
    for (const c of held) expect(v2.retired[c]).toBe(0);
    expect(await knnIds(store, ns, blobs[0]!)).toEqual(live);

    // Forced: everything merges; blob 0's 6 rows (under minSize 8) are folded into other clusters, and every centroid
    // left without a row is retired. Each row is still its own nearest neighbour by ANN.
    expect((await compactNamespace(store, ns, { clock, nonce: () => `c${n++}`, force: true, vectorIndex: ivf })).result).toBe('compacted');
    r = await routerOf(store, ns);
    const v3 = await readCodebook(store, ns, r.vindex!);
    expect(r.vindex!.version).toBeGreaterThan(v1.version);
    for (const c of byPart3) expect(v3.retired[c]).toBe(1);
    held = await usage().held(r, new Set());
    expect([...held].sort((a, b) => a - b)).toEqual(range(0, v3.k).filter((c) => v3.retired[c] === 0));
    expect(await knnIds(store, ns, blobs[0]!)).toEqual(live);
    for (const row of [...blobRows(0, 120, blobs, 51), ...blobRows(200, 3, [blobs[0]!], 52)].filter((x) => live.includes(x.id))) {
      const res = await engineOn(store).query(ns, { rank_by: ['vector', 'ANN', row.vector], top_k: 1 });
      expect(res.rows![0]).toMatchObject({ id: row.id, $dist: 0 });
    }
    await store.close();
  });
});
