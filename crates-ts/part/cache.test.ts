import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Doc, Id } from '../core/index.js';
import { MemoryStore } from '../store/index.js';
import { PartFileCache, STALE_TMP_MS, LoadedPartCache, buildPartFiles, uploadPart, loadPart, newPartId, partFileKey, type LoadedPart } from './index.js';

/** The cache's file name for a key (file-cache.ts: the first 40 hex digits of its SHA-256). */
const fileOf = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 40) + '.bin';

/** Counts store reads, to tell cache hits from fetches. */
class CountingStore extends MemoryStore {
  gets = 0;
  override async get(...args: Parameters<MemoryStore['get']>) {
    this.gets++;
    return super.get(...args);
  }
}

const bytesOf = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** What loadPart checks: size and SHA-256 of the expected bytes. */
const verifier = (want: Uint8Array) => (got: Uint8Array) => (got.byteLength === want.byteLength && sha(got) === sha(want) ? null : 'mismatch');
const dirBytes = async (d: string) => {
  let n = 0;
  for (const name of await readdir(d)) n += (await stat(join(d, name))).size;
  return n;
};

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
    expect(cache.stats).toEqual({ hits: 1, misses: 1, corrupt: 0 });
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
    expect(second.stats).toEqual({ hits: 1, misses: 0, corrupt: 0 });
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

  it('should heal a truncated or altered cached file: one fetch each, then served from disk again', async () => {
    const store = new CountingStore();
    const changes = new Map<Id, Doc | null>();
    for (let i = 0; i < 50; i++) changes.set(i, { id: i, vector: Float32Array.of(i, 1), attrs: {} });
    changes.set(99, null);
    const partId = newPartId(1, 2, 'h');
    await uploadPart(
      store,
      await buildPartFiles({ namespace: 'ns', partId, walStart: 1, walEnd: 2, level: 0, changes, schema: {}, distanceMetric: 'euclidean_squared', createdAt: 'now', partFormat: 1 }),
    );
    const first = new PartFileCache(dir, 1 << 20);
    const a = await loadPart(store, 'ns', partId, first);
    const rowsFile = join(dir, (await readdir(dir)).find((n) => n === fileOf(partFileKey('ns', partId, 'rows.parquet')))!);
    const tombFile = join(dir, fileOf(partFileKey('ns', partId, 'tombstones.json')));
    const goodRows = await readFile(rowsFile);
    const goodTomb = await readFile(tombFile);
    await truncate(rowsFile, goodRows.byteLength - 7);
    const altered = Buffer.from(goodTomb);
    altered[0] = altered[0]! ^ 0xff;
    await writeFile(tombFile, altered);

    const restarted = new PartFileCache(dir, 1 << 20); // a restarted process adopts the damaged files
    store.gets = 0;
    const b = await loadPart(store, 'ns', partId, restarted);
    expect(b.docs).toEqual(a.docs);
    expect(store.gets).toBe(1 + 2); // the manifest, then each damaged file once
    expect(restarted.stats.corrupt).toBe(2);
    expect(await readFile(rowsFile)).toEqual(goodRows); // healed in place
    expect(await readFile(tombFile)).toEqual(goodTomb);
    store.gets = 0;
    await loadPart(store, 'ns', partId, new PartFileCache(dir, 1 << 20));
    expect(store.gets).toBe(1); // the manifest only
  });

  it('should not cache store bytes that fail verification', async () => {
    const store = new CountingStore();
    await store.put('ns/a', bytesOf(10, 1));
    const cache = new PartFileCache(dir, 1000);
    await expect(cache.get(store, 'ns/a', verifier(bytesOf(10, 2)))).rejects.toMatchObject({ code: 'ELAX_ERR_CORRUPT', message: 'mismatch' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('should read a file another instance cached after it opened (a sharer of the directory)', async () => {
    const store = new CountingStore();
    await store.put('ns/a', bytesOf(100, 1));
    const reader = new PartFileCache(dir, 1000);
    await reader.open();
    await new PartFileCache(dir, 1000).get(store, 'ns/a');
    expect(await reader.get(store, 'ns/a', verifier(bytesOf(100, 1)))).toEqual(bytesOf(100, 1));
    expect(store.gets).toBe(1);
    expect(reader.bytes).toBe(100);
  });

  it('should fill the same keys from two instances at once without corrupting or losing a file', async () => {
    const store = new CountingStore();
    const want = new Map<string, Uint8Array>();
    for (let i = 0; i < 16; i++) {
      const b = new Uint8Array(256 * 1024).map((_, j) => (i * 31 + j) & 0xff);
      want.set(`ns/parts/p/f${i}`, b);
      await store.put(`ns/parts/p/f${i}`, b);
    }
    const one = new PartFileCache(dir, 1 << 30);
    const two = new PartFileCache(dir, 1 << 30);
    const keys = [...want.keys()];
    const got = await Promise.all([...keys.map((k) => one.get(store, k, verifier(want.get(k)!))), ...keys.map((k) => two.get(store, k, verifier(want.get(k)!)))]);
    got.forEach((b, i) => expect(sha(b)).toBe(sha(want.get(keys[i % keys.length]!)!)));
    const names = await readdir(dir);
    expect(names.filter((n) => !n.endsWith('.bin'))).toEqual([]); // no temp file left behind
    expect(names.length).toBe(keys.length);
    store.gets = 0;
    for (const c of [one, two, new PartFileCache(dir, 1 << 30)]) {
      for (const k of keys) expect(sha(await c.get(store, k, verifier(want.get(k)!)))).toBe(sha(want.get(k)!));
      expect(c.stats.corrupt).toBe(0);
    }
    expect(store.gets).toBe(0);
  });

  it('should keep a directory shared by two instances within the budget', async () => {
    const store = new CountingStore();
    for (let i = 0; i < 4; i++) await store.put(`ns/${i}`, bytesOf(100, i));
    const one = new PartFileCache(dir, 250);
    const two = new PartFileCache(dir, 250);
    await one.get(store, 'ns/0');
    await two.get(store, 'ns/2');
    await one.get(store, 'ns/1'); // neither instance wrote more than the budget, but together they did
    await two.get(store, 'ns/3');
    expect(await dirBytes(dir)).toBeLessThanOrEqual(250);
    expect(await one.get(store, 'ns/0')).toEqual(bytesOf(100, 0)); // evicted by the other instance: a miss, not an error
  });

  it('should trim a directory left over its budget on open, before any get', async () => {
    const store = new CountingStore();
    for (let i = 0; i < 5; i++) await store.put(`ns/${i}`, bytesOf(100, i));
    const big = new PartFileCache(dir, 1000);
    for (let i = 0; i < 5; i++) await big.get(store, `ns/${i}`);
    for (const [i, t] of [4, 0, 1, 2, 3].entries()) await utimes(join(dir, fileOf(`ns/${i}`)), 1_700_000_000 + t, 1_700_000_000 + t); // LRU: 1, 2, 3, 4, 0
    const small = new PartFileCache(dir, 250);
    await small.open();
    expect(small.bytes).toBe(200);
    expect(await dirBytes(dir)).toBe(200);
    store.gets = 0;
    expect(await small.get(store, 'ns/0')).toEqual(bytesOf(100, 0));
    expect(await small.get(store, 'ns/4')).toEqual(bytesOf(100, 4));
    expect(store.gets).toBe(0);
  });

  it('should delete temp files a dead writer left, once stale, and keep fresh ones', async () => {
    const now = 1_800_000_000_000;
    await writeFile(join(dir, `${fileOf('ns/a')}.tmp-1-0`), 'half');
    await writeFile(join(dir, `${fileOf('ns/b')}.tmp-1-1`), 'in progress');
    await utimes(join(dir, `${fileOf('ns/a')}.tmp-1-0`), (now - STALE_TMP_MS - 1000) / 1000, (now - STALE_TMP_MS - 1000) / 1000);
    await utimes(join(dir, `${fileOf('ns/b')}.tmp-1-1`), (now - 1000) / 1000, (now - 1000) / 1000);
    await new PartFileCache(dir, 1000, { clock: { now: () => now } }).open();
    expect(await readdir(dir)).toEqual([`${fileOf('ns/b')}.tmp-1-1`]);
  });

  it('should remove a temporary cache directory on close, and keep a persistent one', async () => {
    const store = new CountingStore();
    await store.put('ns/a', bytesOf(10, 1));
    const tempDir = join(dir, 'temp');
    const temp = new PartFileCache(tempDir, 1000, { temporary: true });
    await temp.get(store, 'ns/a');
    await temp.close();
    await expect(stat(tempDir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await temp.get(store, 'ns/a')).toEqual(bytesOf(10, 1)); // after close: straight from the store
    await expect(stat(tempDir)).rejects.toMatchObject({ code: 'ENOENT' });
    const kept = new PartFileCache(join(dir, 'kept'), 1000);
    await kept.get(store, 'ns/a');
    await kept.close();
    expect((await readdir(join(dir, 'kept'))).length).toBe(1);
  });

  it('should go on caching after its directory was deleted by hand', async () => {
    const store = new CountingStore();
    await store.put('ns/a', bytesOf(10, 1));
    await store.put('ns/b', bytesOf(10, 2));
    const cache = new PartFileCache(join(dir, 'c'), 1000);
    await cache.get(store, 'ns/a');
    await rm(join(dir, 'c'), { recursive: true });
    expect(await cache.get(store, 'ns/a')).toEqual(bytesOf(10, 1));
    expect(await cache.get(store, 'ns/b')).toEqual(bytesOf(10, 2));
    expect((await readdir(join(dir, 'c'))).length).toBe(2);
    store.gets = 0;
    await cache.get(store, 'ns/a');
    expect(store.gets).toBe(0);
  });

  it('should serve from the store when its directory cannot be created', async () => {
    const store = new CountingStore();
    await store.put('ns/a', bytesOf(10, 1));
    await writeFile(join(dir, 'a-file'), '');
    const cache = new PartFileCache(join(dir, 'a-file', 'cache'), 1000);
    expect(await cache.get(store, 'ns/a')).toEqual(bytesOf(10, 1));
    expect(await cache.get(store, 'ns/a')).toEqual(bytesOf(10, 1));
    expect(store.gets).toBe(2);
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
