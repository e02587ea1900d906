import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { isElaxError } from '../core/index.js';
import { LocalDirStore, Witness } from './index.js';
import { runStoreConformance } from './conformance.js';
import { walkList } from './local-list.js';
import { ListBuilder } from './list-builder.js';
import { RaceChildren } from './test-support/race-children.js';

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'elax-local-'));
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

runStoreConformance('local directory', () => new LocalDirStore(tempDir()));
runStoreConformance('local directory, asynchronous small reads', () => new LocalDirStore(tempDir(), { syncSmallReads: false }));

describe('local directory store across processes', () => {
  const children = 8;
  const rounds = 10;
  let dir: string;
  let racers: RaceChildren;
  beforeAll(async () => {
    dir = tempDir();
    racers = await RaceChildren.spawn(children, dir);
  });
  afterAll(async () => {
    await racers?.close();
  });

  it(`should let exactly one of ${children} processes win putIfAbsent on one key (${rounds} rounds)`, async () => {
    const store = new LocalDirStore(dir);
    for (let round = 0; round < rounds; round++) {
      const key = `pia/${round}`;
      const out = await racers.all((i) => ({ op: 'putIfAbsent', key, value: `writer-${i}` }));
      const winners = out.flatMap((r, i) => (r.ok ? [i] : []));
      expect(winners.length).toBe(1);
      expect(dec((await store.get(key))!.bytes)).toBe(`writer-${winners[0]}`);
    }
  });

  it(`should let exactly one of ${children} processes win putIfMatch with the same version (${rounds} rounds)`, async () => {
    const store = new LocalDirStore(dir);
    for (let round = 0; round < rounds; round++) {
      const key = `pim/${round % 3}`;
      await store.put(key, enc(`base-${round}`));
      expect((await racers.all(() => ({ op: 'head', key }))).every((r) => r.ok)).toBe(true);
      const out = await racers.all((i) => ({ op: 'putIfMatch', key, value: `writer-${i}` }));
      const winners = out.flatMap((r, i) => (r.ok ? [i] : []));
      expect(winners.length).toBe(1);
      expect(dec((await store.get(key))!.bytes)).toBe(`writer-${winners[0]}`);
    }
  });

  it('should lose no increment when processes read-modify-write one counter', async () => {
    const store = new LocalDirStore(dir);
    await store.put('counter', enc('0'));
    const out = await racers.all(() => ({ op: 'incr', key: 'counter', count: 15 }));
    expect(dec((await store.get('counter'))!.bytes).split(' ')[0]).toBe(String(children * 15));
    // The race was real: some read-modify-write attempts lost and retried.
    expect(out.reduce((n, r) => n + (r.lost ?? 0), 0)).toBeGreaterThan(0);
  });
});

describe('local directory store specifics', () => {
  it('should change the witness on every write, even with identical bytes', async () => {
    const store = new LocalDirStore(tempDir());
    const w1 = await store.put('k', enc('same'));
    const w2 = await store.put('k', enc('same'));
    expect(Witness.backendToken(w2)).not.toBe(Witness.backendToken(w1));
    expect((await store.putIfMatch('k', enc('x'), w1)).ok).toBe(false);
    expect((await store.putIfMatch('k', enc('x'), w2)).ok).toBe(true);
  });

  it('should store keys as plain files under the root', async () => {
    const dir = tempDir();
    const store = new LocalDirStore(dir);
    expect(store.description).toBe(`file://${dir}`);
    await store.put('ns/wal/00000000000000000001.parquet', enc('PAR1'));
    expect(await fs.readFile(path.join(dir, 'ns/wal/00000000000000000001.parquet'), 'utf8')).toBe('PAR1');
    // No temp or lock files are left behind.
    expect(await fs.readdir(path.join(dir, 'ns/wal'))).toEqual(['00000000000000000001.parquet']);
  });

  it('should not list temp, lock or other .elax- files, nor directories holding only those', async () => {
    const dir = tempDir();
    const store = new LocalDirStore(dir);
    await store.put('x/a', enc('1'));
    await fs.writeFile(path.join(dir, 'x', '.elax-lock.a'), '1');
    await fs.writeFile(path.join(dir, 'x', '.elax-tmp.123.1'), '1');
    await fs.mkdir(path.join(dir, 'x', 'only-locks'));
    await fs.writeFile(path.join(dir, 'x', 'only-locks', '.elax-lock.b'), '1');
    await fs.mkdir(path.join(dir, 'x', 'empty'));
    expect((await store.list('x/')).objects.map((o) => o.key)).toEqual(['x/a']);
    expect(await store.list('x/', { delimiter: '/' })).toMatchObject({ prefixes: [] });
  });

  it('should refuse a key that is also a directory of other keys, naming the problem', async () => {
    const store = new LocalDirStore(tempDir());
    await store.put('a/b', enc('1'));
    await expect(store.put('a', enc('2'))).rejects.toSatisfy((e: unknown) => isElaxError(e, 'ELAX_ERR_INTERNAL') && /both an object and a prefix/.test(e.message));
    expect(await store.get('a')).toBeNull();
    expect(await store.head('a')).toBeNull();
  });

  it('should not create directories when deleting a missing key', async () => {
    const dir = tempDir();
    await new LocalDirStore(dir).delete('no/such/key');
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it("should break a lock left by a dead process on this host", async () => {
    const dir = tempDir();
    const store = new LocalDirStore(dir, { lockTimeoutMs: 2_000 });
    const w = await store.put('k', enc('v1'));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    await fs.writeFile(path.join(dir, '.elax-lock.k'), `${dead} ${hostname()}\n`);
    expect((await store.putIfMatch('k', enc('v2'), w)).ok).toBe(true);
    await expect(fs.stat(path.join(dir, '.elax-lock.k'))).rejects.toThrow(/ENOENT/);
  });

  it('should wait for a live lock, time out with ELAX_ERR_STORE_UNAVAILABLE, and break it once stale', async () => {
    const dir = tempDir();
    const store = new LocalDirStore(dir, { lockTimeoutMs: 100 });
    await store.put('k', enc('v1'));
    // Owned by a live process (the parent of this worker), freshly written.
    await fs.writeFile(path.join(dir, '.elax-lock.k'), `${process.ppid} ${hostname()}\n`);
    await expect(store.put('k', enc('v2'))).rejects.toSatisfy((e: unknown) => isElaxError(e, 'ELAX_ERR_STORE_UNAVAILABLE') && /timed out/.test(e.message));
    expect(dec((await store.get('k'))!.bytes)).toBe('v1');
    // Seen from a clock a minute later, the same lock is older than staleLockMs and gets broken.
    const later = new LocalDirStore(dir, { lockTimeoutMs: 100, staleLockMs: 30_000, clock: { now: () => Date.now() + 60_000 } });
    await later.put('k', enc('v3'));
    expect(dec((await store.get('k'))!.bytes)).toBe('v3');
  });

  it('should ignore temp files left by a crashed writer', async () => {
    const dir = tempDir();
    const store = new LocalDirStore(dir);
    await fs.mkdir(path.join(dir, 'w'));
    await fs.writeFile(path.join(dir, 'w', `.elax-tmp.${process.pid}.999999`), 'junk');
    expect((await store.putIfAbsent('w/1', enc('x'))).ok).toBe(true);
    expect((await store.list('w/')).objects.map((o) => o.key)).toEqual(['w/1']);
  });

  it('should read large objects by range without reading them whole', async () => {
    const store = new LocalDirStore(tempDir());
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    const w = await store.put('big', big);
    const r = (await store.get('big', { start: 2_000_000, end: 2_000_010 }))!;
    expect([...r.bytes]).toEqual([...big.subarray(2_000_000, 2_000_010)]);
    expect(r.info.size).toBe(big.length);
    expect(Witness.backendToken(r.witness)).toBe(Witness.backendToken(w));
    expect((await store.putIfMatch('big', enc('small'), r.witness)).ok).toBe(true);
  });

  it('should write into a directory again after a delete pruned it, through this store or another', async () => {
    const dir = tempDir();
    const a = new LocalDirStore(dir);
    const b = new LocalDirStore(dir);
    for (const size of [3, 5 * 1024 * 1024]) {
      // Synchronous system calls up to 4 MiB, asynchronous above: both remember or re-make the directory.
      const bytes = new Uint8Array(size).fill(9);
      expect((await a.putIfAbsent('ns/wal/1', bytes)).ok).toBe(true);
      await a.delete('ns/wal/1'); // the last key of ns/wal/ and ns/: both directories are pruned
      await expect(fs.stat(path.join(dir, 'ns'))).rejects.toThrow();
      expect((await a.putIfAbsent('ns/wal/2', bytes)).ok).toBe(true);
      await b.delete('ns/wal/2'); // pruned by another store: `a` does not know
      expect((await a.putIfAbsent('ns/wal/3', bytes)).ok).toBe(true);
      expect((await a.putIfAbsent('ns/wal/3', bytes)).ok).toBe(false);
      await a.put('ns/wal/4', bytes);
      expect((await b.get('ns/wal/3'))!.bytes.length).toBe(size);
      expect((await b.list('ns/wal/')).objects.map((o) => o.key)).toEqual(['ns/wal/3', 'ns/wal/4']);
      await b.delete('ns/wal/3');
      await b.delete('ns/wal/4');
      expect((await fs.readdir(dir)).filter((n) => !n.startsWith('.'))).toEqual([]); // no temp file left
    }
  });

  it('should witness a WAL entry by stat alone (no content hash), the same through put, get and head, and CAS on it', async () => {
    const dir = tempDir();
    const sync = new LocalDirStore(dir);
    const async_ = new LocalDirStore(dir, { syncSmallReads: false });
    const walKey = (seq: number) => `ns/wal/${String(seq).padStart(20, '0')}.parquet`;
    for (const [seq, size] of [[1, 5], [2, 200 * 1024]] as const) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 13) % 256);
      const put = await sync.putIfAbsent(walKey(seq), bytes);
      expect(put.ok).toBe(true);
      const token = Witness.backendToken((put as { witness: Witness }).witness);
      expect(token.split('.')).toHaveLength(3); // inode.size.mtimeNs: no MD5 part
      for (const s of [sync, async_]) {
        expect(Witness.backendToken((await s.get(walKey(seq)))!.witness)).toBe(token);
        expect(Witness.backendToken((await s.head(walKey(seq)))!.witness)).toBe(token);
      }
      expect((await sync.putIfMatch(walKey(seq), enc('x'), (put as { witness: Witness }).witness)).ok).toBe(true);
    }
    // Any other key of up to 1 MiB keeps its content hash.
    const w = await sync.put('ns/router.json', enc('{}'));
    expect(Witness.backendToken(w).split('.')).toHaveLength(4);
  });

  it('should give the same bytes and witness whether a small object is read synchronously or not', async () => {
    const dir = tempDir();
    const sync = new LocalDirStore(dir);
    const async_ = new LocalDirStore(dir, { syncSmallReads: false });
    // Below, at and above the synchronous read's limit (64 KiB), plus an empty object.
    for (const size of [0, 5, 64 * 1024, 64 * 1024 + 1, 200 * 1024]) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 7) % 256);
      const w = await sync.put(`k${size}`, bytes);
      const a = (await sync.get(`k${size}`))!;
      const b = (await async_.get(`k${size}`))!;
      expect(Buffer.from(a.bytes).equals(Buffer.from(bytes))).toBe(true);
      expect(Buffer.from(b.bytes).equals(Buffer.from(bytes))).toBe(true);
      expect(Witness.backendToken(a.witness)).toBe(Witness.backendToken(b.witness));
      expect(Witness.backendToken(a.witness)).toBe(Witness.backendToken(w));
      expect(a.info).toEqual(b.info);
      // A witness read synchronously guards a CAS written by the other path.
      expect((await async_.putIfMatch(`k${size}`, enc('next'), a.witness)).ok).toBe(true);
      expect((await sync.putIfMatch(`k${size}`, enc('again'), a.witness)).ok).toBe(false);
    }
    expect(await sync.get('missing/key')).toBeNull();
    await sync.put('dir/child', enc('x'));
    expect(await sync.get('dir')).toBeNull(); // a prefix of other keys, not an object
  });

  it('should read a range the same way synchronously or not, and witness a part file by stat alone', async () => {
    const dir = tempDir();
    const sync = new LocalDirStore(dir);
    const async_ = new LocalDirStore(dir, { syncSmallReads: false });
    // A part file (immutable: no content hash, so a ranged read reads only its range) and an ordinary key (hashed up
    // to 1 MiB: a ranged read of it reads it whole), small and large; ranges below, at and above the synchronous
    // limit (256 KiB), clamped at the end, and past it.
    for (const key of ['ns/parts/00000000000000000001-00000000000000000009/codes.blk', 'ns/other.bin']) {
      for (const size of [100, 300 * 1024, 2 * 1024 * 1024]) {
        const bytes = new Uint8Array(size).map((_, i) => (i * 31 + (i >> 8)) % 256);
        const w = await sync.put(key, bytes);
        const immutable = key.includes('/parts/');
        expect(Witness.backendToken(w).split('.')).toHaveLength(immutable || size > 1024 * 1024 ? 3 : 4);
        const ranges = [
          { start: 0, end: 10 },
          { start: 50, end: 50 + 256 * 1024 },
          { start: 7, end: 7 + 256 * 1024 + 1 },
          { start: size - 5, end: size + 100 },
          { start: size + 1, end: size + 10 },
        ];
        for (const range of ranges) {
          const a = (await sync.get(key, range))!;
          const b = (await async_.get(key, range))!;
          const want = bytes.subarray(Math.min(range.start, size), Math.min(range.end, size));
          expect(Buffer.from(a.bytes).equals(Buffer.from(want))).toBe(true);
          expect(Buffer.from(b.bytes).equals(Buffer.from(want))).toBe(true);
          expect(Witness.backendToken(a.witness)).toBe(Witness.backendToken(w));
          expect(Witness.backendToken(b.witness)).toBe(Witness.backendToken(w));
          expect(a.info).toEqual(b.info);
          expect(a.info.size).toBe(size);
        }
      }
    }
    expect(await sync.get('ns/parts/x/missing.blk', { start: 0, end: 10 })).toBeNull();
  });

  it('should list the same keys whether a directory is read synchronously, asynchronously or partly each way', async () => {
    const root = tempDir();
    // 300 keys in ns/wal/ plus a nested directory and reserved files, written directly (no fsync per key).
    await fs.mkdir(path.join(root, 'ns/wal/sub'), { recursive: true });
    const names = Array.from({ length: 300 }, (_, i) => String(i * 7919 % 1000).padStart(20, '0') + '.parquet');
    for (const n of names) await fs.writeFile(path.join(root, 'ns/wal', n), 'x');
    await fs.writeFile(path.join(root, 'ns/wal/sub/a'), 'x');
    await fs.writeFile(path.join(root, 'ns/wal/.elax-tmp.1.2'), 'x');
    const list = async (syncEntries: number, options: { startAfter?: string; limit?: number; delimiter?: string } = {}) => {
      const out = new ListBuilder('ns/wal/', options);
      await walkList(root, 'ns/wal/', options, out, syncEntries);
      return { keys: out.keys, prefixes: out.prefixes };
    };
    for (const options of [{}, { startAfter: `ns/wal/${names[17]}` }, { limit: 50 }, { delimiter: '/' }]) {
      const expected = await list(0, options);
      expect(expected.keys.length).toBeGreaterThan(0);
      for (const syncEntries of [1, 7, 150, 299, 300, 301, 5000]) expect(await list(syncEntries, options)).toEqual(expected);
    }
    expect((await list(0)).keys).toContain('ns/wal/sub/a');
    expect((await list(0)).keys).toHaveLength(301);
    // A missing directory lists nothing either way.
    const none = new ListBuilder('nope/', {});
    await walkList(root, 'nope/', {}, none, 10);
    expect(none.keys).toEqual([]);
  });
});
