/**
 * HNSW graphs are loaded by hnswlib from a verified local file (the disk cache's, pinned, or a private temporary
 * one), downloaded in bounded ranged GETs: never whole in a JS buffer. Same graph as the bytes path, same checks.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isElaxError, type Doc, type Id } from '../core/index.js';
import { MemoryStore, type ByteRange } from '../store/index.js';
import { BlockCache } from '../cache/index.js';
import { PartData, PartFileCache, STALE_TMP_MS, buildPartFiles, loadPart, missingPartFile, newPartId, partFileKey, partFileMissing, readManifest, uploadPart, type PartHeadV2, type PartManifest } from './index.js';
import { loadHnsw, loadHnswFile } from './hnsw.js';
import { downloadToTemp } from './file-stream.js';
import { fetchVerifiedFile, streamMismatch } from './load.js';
import { clusteredVectors } from './testing.js';

/** Records every GET of the graph file with its range. */
class RangeStore extends MemoryStore {
  reads: { key: string; range?: ByteRange; bytes: number }[] = [];
  override async get(key: string, range?: ByteRange) {
    const got = await super.get(key, range);
    if (got) this.reads.push({ key, range, bytes: got.bytes.byteLength });
    return got;
  }
  of(key: string) {
    return this.reads.filter((r) => r.key === key);
  }
}

const DIMS = 16;
const ROWS = 1500;
const CHUNK = 64 * 1024;
const fileOf = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 40) + '.bin';
const queries = clusteredVectors(8, DIMS, 6, 99, 0.3);

async function builtPart(store: MemoryStore, partFormat: 1 | 2): Promise<{ partId: string; key: string; manifest: PartManifest; size: number }> {
  const changes = new Map<Id, Doc | null>();
  clusteredVectors(ROWS, DIMS, 6, 7, 0.3).forEach((v, i) => changes.set(i, { id: i, vector: v, attrs: {} }));
  const partId = newPartId(1, 2, `g${partFormat}`);
  const built = await buildPartFiles({ namespace: 'ns', partId, walStart: 1, walEnd: 2, level: 0, changes, schema: {}, distanceMetric: 'euclidean_squared', createdAt: 'now', partFormat, hnsw: { M: 8, efConstruction: 40 } });
  await uploadPart(store, built);
  const manifest = (await readManifest(store, 'ns', partId))!;
  const key = partFileKey('ns', partId, 'vectors.hnsw');
  return { partId, key, manifest, size: manifest.files.find((f) => f.name === 'vectors.hnsw')!.bytes };
}

/** ANN results of a format-2 part through PartData (the graph loaded by prepare). */
async function annOf(store: MemoryStore, head: PartHeadV2, files: PartFileCache | undefined): Promise<number[][]> {
  const data = new PartData(head, store, files, new BlockCache(1 << 26), { graphs: new BlockCache(1 << 26) });
  const release = await data.prepare({ attrs: [], vectors: false, index: true });
  try {
    return queries.map((q) => data.annSearch(q, 10, 64, null)!.map((h) => h.ordinal));
  } finally {
    release();
  }
}

/** The old way: the whole file's bytes in memory, handed to hnswlib through a temp file. */
async function annFromBytes(store: MemoryStore, key: string): Promise<number[][]> {
  const index = await loadHnsw('l2', DIMS, (await store.get(key))!.bytes);
  index.setEf(64);
  return queries.map((q) => index.searchKnn(Array.from(q), 10).neighbors);
}

const rejection = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
};

describe('HNSW graphs loaded from a local file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'elax-graph-file-test-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should give the same graph as the bytes path, downloaded in ranged GETs of at most the chunk size', async () => {
    const store = new RangeStore();
    const { key, manifest, size } = await builtPart(store, 2);
    expect(size).toBeGreaterThan(3 * CHUNK); // several chunks
    const want = await annFromBytes(store, key);
    store.reads = [];
    const files = new PartFileCache(dir, 1 << 30, { chunkBytes: CHUNK });
    expect(await annOf(store, manifest as PartHeadV2, files)).toEqual(want);
    const reads = store.of(key);
    expect(reads.every((r) => r.range !== undefined && r.range.end - r.range.start <= CHUNK)).toBe(true);
    expect(reads.map((r) => r.range!.start)).toEqual(Array.from({ length: Math.ceil(size / CHUNK) }, (_, i) => i * CHUNK));
    expect(reads.reduce((s, r) => s + r.bytes, 0)).toBe(size);
    // Cached: a restarted node verifies the disk copy and reads nothing from the store.
    expect((await readFile(join(dir, fileOf(key)))).equals((await store.get(key))!.bytes)).toBe(true);
    store.reads = [];
    const restarted = new PartFileCache(dir, 1 << 30, { chunkBytes: CHUNK });
    expect(await annOf(store, manifest as PartHeadV2, restarted)).toEqual(want);
    expect(store.of(key)).toHaveLength(0);
    expect(restarted.stats).toMatchObject({ hits: 2, corrupt: 0 }); // ids and graph
    expect((await readdir(dir)).filter((n) => n.includes('.tmp-'))).toEqual([]); // pins released
    // Without a disk cache: the same graph, from a private temporary file.
    expect(await annOf(store, manifest as PartHeadV2, undefined)).toEqual(want);
  });

  it('should load format-1 graphs the same way', async () => {
    const store = new RangeStore();
    const { partId, key } = await builtPart(store, 1);
    const want = await annFromBytes(store, key);
    store.reads = [];
    const part = await loadPart(store, 'ns', partId, new PartFileCache(dir, 1 << 30, { chunkBytes: CHUNK }));
    expect(store.of(key).every((r) => r.range !== undefined && r.range.end - r.range.start <= CHUNK)).toBe(true);
    expect(store.of(key).length).toBeGreaterThan(1);
    const got = queries.map((q) => part.annSearch(q, 10, 64).map((h) => h.ordinal));
    // LoadedPart re-ranks hnswlib's candidates exactly: the same rows as hnswlib returned, as sets.
    got.forEach((g, i) => expect([...g].sort((a, b) => a - b)).toEqual([...want[i]!].sort((a, b) => a - b)));
  });

  it('should detect a damaged disk-cache copy (fetched again, healed) and a damaged stored graph (ELAX_ERR_CORRUPT, nothing cached)', async () => {
    const store = new RangeStore();
    const { key, manifest } = await builtPart(store, 2);
    const head = manifest as PartHeadV2;
    const want = await annFromBytes(store, key);
    const good = (await store.get(key))!.bytes.slice();
    await annOf(store, head, new PartFileCache(dir, 1 << 30, { chunkBytes: CHUNK }));
    const cached = join(dir, fileOf(key));
    const damaged = Buffer.from(await readFile(cached));
    damaged[damaged.length >> 1] ^= 0x01;
    await writeFile(cached, damaged);

    const files = new PartFileCache(dir, 1 << 30, { chunkBytes: CHUNK });
    store.reads = [];
    expect(await annOf(store, head, files)).toEqual(want);
    expect(files.stats.corrupt).toBe(1);
    expect(store.of(key).length).toBeGreaterThan(1); // fetched again
    expect((await readFile(cached)).equals(good)).toBe(true); // healed in place

    const bad = good.slice();
    bad[bad.length >> 1] ^= 0x01;
    await store.put(key, bad);
    await rm(dir, { recursive: true, force: true });
    for (const via of [new PartFileCache(dir, 1 << 30, { chunkBytes: CHUNK }), undefined]) {
      const e = await rejection(annOf(store, head, via));
      expect(isElaxError(e, 'ELAX_ERR_CORRUPT')).toBe(true);
      expect((e as Error).message).toBe(`${key} does not match the SHA-256 in its manifest`);
    }
    expect((await readdir(dir)).filter((n) => n.startsWith(fileOf(key).slice(0, 40)))).toEqual([]); // no copy, no temp file

    await store.put(key, good.subarray(0, good.length - 1)); // truncated: the size check
    const short = await rejection(fetchVerifiedFile(store, key, head.files.find((f) => f.name === 'vectors.hnsw')!, new PartFileCache(dir, 1 << 30)));
    expect((short as Error).message).toBe(`${key} has ${good.length - 1} bytes; its manifest says ${good.length}`);
  });

  it('should report a missing graph as the missing part file, with or without a disk cache', async () => {
    const store = new RangeStore();
    const { key, manifest } = await builtPart(store, 2);
    await store.delete(key);
    for (const via of [new PartFileCache(dir, 1 << 30, { chunkBytes: CHUNK }), undefined]) {
      const e = await rejection(annOf(store, manifest as PartHeadV2, via));
      expect(missingPartFile(e)).toBe(key);
      expect((e as Error).message).toBe(partFileMissing(key, store.description).message);
    }
    expect((await readdir(dir)).filter((n) => n.startsWith(fileOf(key).slice(0, 40)))).toEqual([]);
  });

  it('should share one download among concurrent callers and keep the pin until the last release', async () => {
    const store = new RangeStore();
    const { key, manifest, size } = await builtPart(store, 2);
    const info = manifest.files.find((f) => f.name === 'vectors.hnsw')!;
    const files = new PartFileCache(dir, 1 << 30, { chunkBytes: CHUNK });
    store.reads = [];
    const [a, b] = await Promise.all([fetchVerifiedFile(store, key, info, files), fetchVerifiedFile(store, key, info, files)]);
    expect(store.of(key)).toHaveLength(Math.ceil(size / CHUNK));
    expect(a.path).toBe(b.path);
    await a.release();
    await a.release(); // idempotent: does not drop b's reference
    expect(existsSync(b.path)).toBe(true);
    await b.release();
    expect(existsSync(b.path)).toBe(false);
    expect(await readdir(dir)).toEqual([fileOf(key)]);
  });

  it('should keep a pinned graph readable while the cache evicts it (its own rescan, or another process sharing the directory)', async () => {
    const store = new RangeStore();
    const { key, manifest, size } = await builtPart(store, 2);
    const info = manifest.files.find((f) => f.name === 'vectors.hnsw')!;
    const want = await annFromBytes(store, key);
    const search = async (path: string) => {
      const ix = await loadHnswFile('l2', DIMS, path);
      ix.setEf(64);
      return queries.map((q) => ix.searchKnn(Array.from(q), 10).neighbors);
    };
    await store.put('ns/other', new Uint8Array(100).fill(7));
    const files = new PartFileCache(dir, size + 50, { chunkBytes: CHUNK });

    const pinned = await fetchVerifiedFile(store, key, info, files);
    await files.get(store, 'ns/other'); // size + 100 > budget: the graph, least recently used, is evicted
    expect(existsSync(join(dir, fileOf(key)))).toBe(false);
    expect(await search(pinned.path)).toEqual(want);
    await pinned.release();
    expect(await readdir(dir)).toEqual([fileOf('ns/other')]);

    const again = await fetchVerifiedFile(store, key, info, files); // fetched and cached again (evicts ns/other)
    await new PartFileCache(dir, 1).open(); // a sharer with a tiny budget evicts everything
    expect(existsSync(join(dir, fileOf(key)))).toBe(false);
    expect(await search(again.path)).toEqual(want);
    await again.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('should delete a pin left by a crashed process like any stale temp file', async () => {
    const store = new RangeStore();
    const { key, manifest } = await builtPart(store, 2);
    let now = 1_700_000_000_000;
    const files = new PartFileCache(dir, 1 << 30, { clock: { now: () => now } });
    const left = await fetchVerifiedFile(store, key, manifest.files.find((f) => f.name === 'vectors.hnsw')!, files); // never released
    expect((await stat(left.path)).mtimeMs).toBe(now);
    now += STALE_TMP_MS - 1000;
    await new PartFileCache(dir, 1 << 30, { clock: { now: () => now } }).open();
    expect(existsSync(left.path)).toBe(true); // a load may still be reading it
    now += 2000;
    await new PartFileCache(dir, 1 << 30, { clock: { now: () => now } }).open();
    expect(existsSync(left.path)).toBe(false);
  });

  it('should check a stream by size and SHA-256, and stop a download at the first byte too many', async () => {
    const store = new RangeStore();
    const { key, manifest, size } = await builtPart(store, 2);
    const info = manifest.files.find((f) => f.name === 'vectors.hnsw')!;
    const good = (await store.get(key))!.bytes;
    await store.put(key, Buffer.concat([good, new Uint8Array(10 * CHUNK)]));
    store.reads = [];
    const e = await rejection(downloadToTemp(store, key, () => streamMismatch(key, info), CHUNK));
    expect((e as Error).message).toBe(`${key} has more than ${size} bytes; its manifest says ${size}`);
    expect(store.of(key).length).toBeLessThanOrEqual(Math.ceil(size / CHUNK) + 2); // not the 10 extra chunks
  });
});
