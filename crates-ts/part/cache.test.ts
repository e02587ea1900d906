import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Doc, Id } from '../core/index.js';
import { MemoryStore } from '../store/index.js';
import { PartFileCache, LoadedPartCache, buildPartFiles, uploadPart, loadPart, newPartId, partFileKey, type LoadedPart } from './index.js';

/** Counts store reads, to tell cache hits from fetches. */
class CountingStore extends MemoryStore {
  gets = 0;
  override async get(...args: Parameters<MemoryStore['get']>) {
    this.gets++;
    return super.get(...args);
  }
}

const bytesOf = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe('PartFileCache', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'elax-part-cache-test-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should serve repeated gets from disk and count hits and misses', async () => {
    const store = new CountingStore();
    await store.put('ns/parts/p/a', bytesOf(100, 1));
    const cache = new PartFileCache(dir, 1000);
    expect(await cache.get(store, 'ns/parts/p/a')).toEqual(bytesOf(100, 1));
    expect(await cache.get(store, 'ns/parts/p/a')).toEqual(bytesOf(100, 1));
    expect(store.gets).toBe(1);
    expect(cache.stats).toEqual({ hits: 1, misses: 1 });
    expect(cache.bytes).toBe(100);
  });

  it('should evict the least recently used files once over its byte budget', async () => {
    const store = new CountingStore();
    for (const [k, f] of [['a', 1], ['b', 2], ['c', 3]] as const) await store.put(`ns/${k}`, bytesOf(100, f));
    const cache = new PartFileCache(dir, 250);
    await cache.get(store, 'ns/a');
    await cache.get(store, 'ns/b');
    await cache.get(store, 'ns/a'); // a is now more recent than b
    await cache.get(store, 'ns/c'); // 300 > 250: evicts b
    expect(cache.bytes).toBe(200);
    expect((await readdir(dir)).length).toBe(2);
    const before = store.gets;
    await cache.get(store, 'ns/a');
    await cache.get(store, 'ns/c');
    expect(store.gets).toBe(before);
    expect(await cache.get(store, 'ns/b')).toEqual(bytesOf(100, 2));
    expect(store.gets).toBe(before + 1);
  });

  it('should not cache an object larger than the whole budget', async () => {
    const store = new CountingStore();
    await store.put('ns/big', bytesOf(500, 9));
    const cache = new PartFileCache(dir, 100);
    expect(await cache.get(store, 'ns/big')).toEqual(bytesOf(500, 9));
    expect(await cache.get(store, 'ns/big')).toEqual(bytesOf(500, 9));
    expect(store.gets).toBe(2);
    expect(cache.bytes).toBe(0);
  });

  it('should start warm from files a previous instance left, and trim them to its budget', async () => {
    const store = new CountingStore();
    await store.put('ns/a', bytesOf(100, 1));
    await store.put('ns/b', bytesOf(100, 2));
    const first = new PartFileCache(dir, 1000);
    await first.get(store, 'ns/a');
    await first.get(store, 'ns/b');
    const second = new PartFileCache(dir, 1000);
    expect(await second.get(new MemoryStore(), 'ns/a')).toEqual(bytesOf(100, 1)); // an empty store: must come from disk
    expect(second.stats).toEqual({ hits: 1, misses: 0 });
    const small = new PartFileCache(dir, 150);
    await small.get(new MemoryStore(), 'ns/b').catch(() => undefined);
    expect(small.bytes).toBeLessThanOrEqual(150);
  });

  it('should share one fetch between concurrent gets of one key', async () => {
    const store = new CountingStore();
    await store.put('ns/a', bytesOf(10, 1));
    const cache = new PartFileCache(dir, 1000);
    const all = await Promise.all([cache.get(store, 'ns/a'), cache.get(store, 'ns/a'), cache.get(store, 'ns/a')]);
    for (const b of all) expect(b).toEqual(bytesOf(10, 1));
    expect(store.gets).toBe(1);
  });

  it('should report a missing object as corrupt', async () => {
    const cache = new PartFileCache(dir, 1000);
    await expect(cache.get(new MemoryStore(), 'ns/parts/p/rows.parquet')).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT' });
  });

  it('should refetch a part file whose cached copy was damaged on disk', async () => {
    const store = new CountingStore();
    const changes = new Map<Id, Doc | null>();
    for (let i = 0; i < 20; i++) changes.set(i, { id: i, vector: Float32Array.of(i, 2), attrs: {} });
    const partId = newPartId(1, 2, 'c');
    await uploadPart(
      store,
      await buildPartFiles({ namespace: 'ns', partId, walStart: 1, walEnd: 2, level: 0, changes, schema: {}, distanceMetric: 'euclidean_squared', createdAt: 'now', partFormat: 1 }),
    );
    const cache = new PartFileCache(dir, 1 << 20);
    const a = await loadPart(store, 'ns', partId, cache);
    for (const name of await readdir(dir)) await writeFile(join(dir, name), 'garbage');
    const b = await loadPart(store, 'ns', partId, cache);
    expect(b.docs).toEqual(a.docs);
    const c = await loadPart(store, 'ns', partId, cache); // healed: served from disk again
    expect(c.docs).toEqual(a.docs);
    expect(cache.stats.misses).toBe(4); // rows + tombstones, once at first and once after the damage
    await cache.delete(partFileKey('ns', partId, 'rows.parquet'));
    expect(cache.entries).toBe(1);
  });
});

describe('LoadedPartCache', () => {
  const fake = (n: number) => ({ bytes: () => n }) as unknown as LoadedPart;

  it('should keep the most recently used parts within its byte budget', () => {
    const cache = new LoadedPartCache(300);
    const a = fake(100);
    const b = fake(100);
    const c = fake(100);
    const d = fake(100);
    cache.set('a', a);
    cache.set('b', b);
    cache.set('c', c);
    expect(cache.get('a')).toBe(a); // b is now least recent
    cache.set('d', d);
    expect(cache.has('b')).toBe(false);
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([a, c, d]);
    expect(cache.bytes).toBe(300);
    cache.set('huge', fake(301));
    expect(cache.has('huge')).toBe(false);
    expect(cache.size).toBe(3);
    cache.set('a', fake(50)); // replacing an entry re-weighs it
    expect(cache.bytes).toBe(250);
    expect(cache.stats.misses).toBe(0);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.stats).toEqual({ hits: 4, misses: 1 });
  });

  it('should load a missing part once for concurrent callers, and not cache failures', async () => {
    const cache = new LoadedPartCache(1000);
    let loads = 0;
    const part = fake(10);
    const load = async () => {
      loads++;
      await Promise.resolve();
      return part;
    };
    const got = await Promise.all([cache.getOrLoad('k', load), cache.getOrLoad('k', load)]);
    expect(got).toEqual([part, part]);
    expect(loads).toBe(1);
    expect(await cache.getOrLoad('k', load)).toBe(part);
    expect(loads).toBe(1);
    await expect(cache.getOrLoad('bad', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await cache.getOrLoad('bad', load)).toBe(part);
  });
});
