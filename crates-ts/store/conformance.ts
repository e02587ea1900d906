/**
 * The store contract as vitest cases runnable against any backend: `runStoreConformance(name, makeStore, opts)`.
 * Memory, local directory and S3 (radosgw) all run this same suite, racing conditional writers included. LIST is
 * also checked against a pure reference model (`referenceList`) on random key sets and random options.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { isElaxError } from '../core/index.js';
import { compareKeys } from './keys.js';
import { Witness, type ListOptions, type ListResult, type ObjectStore } from './types.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

export interface ConformanceOptions {
  /** Keys for the pagination test; more than 1000 crosses an S3 page. Default 1100. */
  paginationKeys?: number;
  /** Concurrent writers per race round (default 8) and rounds per race test (default 10). */
  racers?: number;
  rounds?: number;
  /** Random LIST queries checked against the reference model (default 300). */
  listQueries?: number;
  /** Workers x increments for the read-modify-write counter race (default 4 x 10). */
  counterWorkers?: number;
  counterIncrements?: number;
}

/** S3 ListObjectsV2 semantics over a set of keys: the reference every backend's list() must equal. */
export function referenceList(allKeys: Iterable<string>, prefix: string, options: ListOptions = {}): { keys: string[]; prefixes: string[] } {
  const after = options.startAfter;
  const delim = options.delimiter || undefined;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const sorted = [...allKeys].filter((k) => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0)).sort(compareKeys);
  const keys: string[] = [];
  const prefixes: string[] = [];
  for (const k of sorted) {
    if (keys.length + prefixes.length >= limit) break;
    const i = delim === undefined ? -1 : k.indexOf(delim, prefix.length);
    if (i < 0) {
      keys.push(k);
      continue;
    }
    const cp = k.slice(0, i + delim!.length);
    // A common prefix is listed only if it sorts after startAfter (radosgw and S3 continuation behave so).
    if (after !== undefined && compareKeys(cp, after) <= 0) continue;
    if (prefixes[prefixes.length - 1] !== cp) prefixes.push(cp);
  }
  return { keys, prefixes };
}

function keysOf(r: ListResult): string[] {
  return r.objects.map((o) => o.key);
}

function winnersOf(results: { ok: boolean }[]): number[] {
  return results.map((r, i) => (r.ok ? i : -1)).filter((i) => i >= 0);
}

/** Random valid keys over a tiny alphabet that exercises ordering ('-' < '.' < '/' < '0'); no key is a directory
 * of another ('a' with 'a/b' cannot exist in a local directory store). */
function randomKeySet(seed: number, n: number): string[] {
  const seg = fc.stringMatching(/^[ab0][ab0.-]{0,2}$/).filter((s) => !s.startsWith('.'));
  const key = fc.array(seg, { minLength: 1, maxLength: 3 }).map((segs) => segs.join('/'));
  const raw = new Set(fc.sample(key, { seed, numRuns: n }));
  return [...raw].filter((k) => ![...raw].some((o) => o.startsWith(`${k}/`)));
}

export function runStoreConformance(name: string, makeStore: () => Promise<ObjectStore> | ObjectStore, opts: ConformanceOptions = {}): void {
  const racers = opts.racers ?? 8;
  const rounds = opts.rounds ?? 10;
  describe(`store conformance: ${name}`, () => {
    let store: ObjectStore;
    beforeAll(async () => {
      store = await makeStore();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('should return null for a missing key on get, ranged get and head, and ignore deleting it', async () => {
      expect(await store.get('missing/key')).toBeNull();
      expect(await store.get('missing/key', { start: 0, end: 4 })).toBeNull();
      expect(await store.head('missing/key')).toBeNull();
      await expect(store.delete('missing/key')).resolves.toBeUndefined();
    });

    it('should put, get and head an object with matching size and witness', async () => {
      const w = await store.put('a/b/c.txt', enc('hello'));
      const got = (await store.get('a/b/c.txt'))!;
      expect(dec(got.bytes)).toBe('hello');
      expect(got.info).toMatchObject({ key: 'a/b/c.txt', size: 5 });
      expect(Math.abs(got.info.lastModified - Date.now())).toBeLessThan(10 * 60_000);
      const h = (await store.head('a/b/c.txt'))!;
      expect(h.info.size).toBe(5);
      // The witness from put, get and head all name the same version: each is accepted by putIfMatch.
      expect(Witness.backendToken(h.witness)).toBe(Witness.backendToken(got.witness));
      expect(Witness.backendToken(w)).toBe(Witness.backendToken(got.witness));
      expect((await store.putIfMatch('a/b/c.txt', enc('bye'), h.witness)).ok).toBe(true);
    });

    it('should store an empty object', async () => {
      await store.put('empty/obj', new Uint8Array(0));
      const got = (await store.get('empty/obj'))!;
      expect(got.bytes.length).toBe(0);
      expect(got.info.size).toBe(0);
      expect(keysOf(await store.list('empty/'))).toEqual(['empty/obj']);
    });

    it('should keep stored bytes independent of the caller buffers', async () => {
      const buf = enc('abc');
      await store.put('copy/k', buf);
      buf[0] = 0x7a;
      const got = (await store.get('copy/k'))!;
      got.bytes[1] = 0x7a;
      expect(dec((await store.get('copy/k'))!.bytes)).toBe('abc');
    });

    it('should read byte ranges clamped to the object, reporting the full size', async () => {
      await store.put('range/obj', enc('0123456789'));
      const r = (await store.get('range/obj', { start: 2, end: 5 }))!;
      expect(dec(r.bytes)).toBe('234');
      expect(r.info.size).toBe(10);
      expect(dec((await store.get('range/obj', { start: 0, end: 1 }))!.bytes)).toBe('0');
      expect(dec((await store.get('range/obj', { start: 8, end: 100 }))!.bytes)).toBe('89');
      expect((await store.get('range/obj', { start: 3, end: 3 }))!.bytes.length).toBe(0);
      const past = (await store.get('range/obj', { start: 20, end: 30 }))!;
      expect(past.bytes.length).toBe(0);
      expect(past.info.size).toBe(10);
      await expect(store.get('range/obj', { start: 5, end: 2 })).rejects.toThrow(/invalid byte range/);
    });

    it('should replace an object with put and make older witnesses stale', async () => {
      const w1 = await store.put('over/k', enc('one'));
      const w2 = await store.put('over/k', enc('two'));
      expect(dec((await store.get('over/k'))!.bytes)).toBe('two');
      expect((await store.putIfMatch('over/k', enc('x'), w1)).ok).toBe(false);
      expect((await store.putIfMatch('over/k', enc('three'), w2)).ok).toBe(true);
    });

    it('should create with putIfAbsent only once, and again after a delete', async () => {
      const first = await store.putIfAbsent('pia/key', enc('one'));
      expect(first.ok).toBe(true);
      expect((await store.putIfAbsent('pia/key', enc('two'))).ok).toBe(false);
      expect(dec((await store.get('pia/key'))!.bytes)).toBe('one');
      if (!first.ok) return;
      expect((await store.putIfMatch('pia/key', enc('one-b'), first.witness)).ok).toBe(true);
      await store.delete('pia/key');
      expect((await store.putIfAbsent('pia/key', enc('three'))).ok).toBe(true);
      expect(dec((await store.get('pia/key'))!.bytes)).toBe('three');
    });

    it('should replace with putIfMatch only at the read version', async () => {
      const created = await store.putIfAbsent('pim/key', enc('v1'));
      expect(created.ok).toBe(true);
      const read = (await store.get('pim/key'))!;
      const ok = await store.putIfMatch('pim/key', enc('v2'), read.witness);
      expect(ok.ok).toBe(true);
      expect((await store.putIfMatch('pim/key', enc('v3'), read.witness)).ok).toBe(false);
      expect((await store.putIfMatch('pim/key', enc('v3'), Witness.neverMatches())).ok).toBe(false);
      expect(dec((await store.get('pim/key'))!.bytes)).toBe('v2');
      if (!ok.ok) return;
      expect((await store.putIfMatch('pim/key', enc('v4'), ok.witness)).ok).toBe(true);
      expect(dec((await store.get('pim/key'))!.bytes)).toBe('v4');
    });

    it('should treat putIfMatch on a missing or deleted key as a lost race', async () => {
      expect((await store.putIfMatch('pim/missing', enc('x'), Witness.neverMatches())).ok).toBe(false);
      expect(await store.get('pim/missing')).toBeNull();
      const w = await store.put('pim/deleted', enc('old'));
      await store.delete('pim/deleted');
      expect((await store.putIfMatch('pim/deleted', enc('x'), w)).ok).toBe(false);
      expect(await store.get('pim/deleted')).toBeNull();
      await store.put('pim/deleted', enc('new'));
      expect((await store.putIfMatch('pim/deleted', enc('x'), w)).ok).toBe(false);
    });

    it('should reject keys that are not portable across backends', async () => {
      for (const bad of ['', '/abs', '../up', 'a/../b', 'a/./b', 'a//b', 'dir/', '.elax-lock.x', 'a/.elax-tmp.1']) {
        await expect(store.put(bad, enc('x')), bad).rejects.toSatisfy((e: unknown) => isElaxError(e) && /invalid object key/.test(e.message));
        await expect(store.get(bad), bad).rejects.toThrow(/invalid object key/);
      }
    });

    it('should list in UTF-8 byte order with prefix, startAfter, limit and delimiter', async () => {
      const keys = ['ls/x/00002', 'ls/x/00001', 'ls/x/00010', 'ls/y/1', 'ls/z', 'lsz/other', 'ls/a-b', 'ls/a.b', 'ls/a/c', 'ls/a0'];
      await Promise.all(keys.map((k) => store.put(k, enc(k))));
      const all = await store.list('ls/');
      expect(keysOf(all)).toEqual(['ls/a-b', 'ls/a.b', 'ls/a/c', 'ls/a0', 'ls/x/00001', 'ls/x/00002', 'ls/x/00010', 'ls/y/1', 'ls/z']);
      expect(all.prefixes).toEqual([]);
      expect(all.objects[4]!.size).toBe('ls/x/00001'.length);
      expect(keysOf(await store.list('ls/x/', { startAfter: 'ls/x/00001' }))).toEqual(['ls/x/00002', 'ls/x/00010']);
      expect(keysOf(await store.list('ls/x/', { startAfter: 'ls/' }))).toEqual(['ls/x/00001', 'ls/x/00002', 'ls/x/00010']);
      expect(keysOf(await store.list('ls/x/', { limit: 2 }))).toEqual(['ls/x/00001', 'ls/x/00002']);
      expect(keysOf(await store.list('ls/x/0000'))).toEqual(['ls/x/00001', 'ls/x/00002']);
      const d = await store.list('ls/', { delimiter: '/' });
      expect(d.prefixes).toEqual(['ls/a/', 'ls/x/', 'ls/y/']);
      expect(keysOf(d)).toEqual(['ls/a-b', 'ls/a.b', 'ls/a0', 'ls/z']);
      // limit counts objects and common prefixes together, in key order.
      const l = await store.list('ls/', { delimiter: '/', limit: 4 });
      expect([...keysOf(l), ...l.prefixes].sort(compareKeys)).toEqual(['ls/a-b', 'ls/a.b', 'ls/a/', 'ls/a0']);
      // startAfter inside or at a common prefix skips that whole group.
      expect((await store.list('ls/', { delimiter: '/', startAfter: 'ls/x/00001' })).prefixes).toEqual(['ls/y/']);
      expect((await store.list('ls/', { delimiter: '/', startAfter: 'ls/x/' })).prefixes).toEqual(['ls/y/']);
      expect((await store.list('ls/', { delimiter: '/', startAfter: 'ls/x' })).prefixes).toEqual(['ls/x/', 'ls/y/']);
      // Any delimiter, not only '/'.
      const dash = await store.list('ls/', { delimiter: '-' });
      expect(dash.prefixes).toEqual(['ls/a-']);
      expect(keysOf(dash)).not.toContain('ls/a-b');
      expect(keysOf(await store.list('nothing-here/'))).toEqual([]);
    });

    it('should order keys with non-ASCII characters by UTF-8 bytes', async () => {
      // U+FFFD (EF BF BD) sorts before U+1F600 (F0 9F 98 80) in UTF-8, though not in UTF-16 code units.
      const keys = ['utf/\u{1F600}', 'utf/\uFFFD', 'utf/\u00e9', 'utf/z'];
      await Promise.all(keys.map((k) => store.put(k, enc('x'))));
      expect(keysOf(await store.list('utf/'))).toEqual(['utf/z', 'utf/\u00e9', 'utf/\uFFFD', 'utf/\u{1F600}']);
    });

    it('should not show a common prefix once its last key is deleted', async () => {
      await store.put('ghost/a/1', enc('x'));
      await store.put('ghost/b', enc('x'));
      await store.delete('ghost/a/1');
      const r = await store.list('ghost/', { delimiter: '/' });
      expect(r.prefixes).toEqual([]);
      expect(keysOf(r)).toEqual(['ghost/b']);
    });

    it('should delete idempotently', async () => {
      await store.put('del/k', enc('x'));
      await store.delete('del/k');
      await store.delete('del/k');
      expect(await store.get('del/k')).toBeNull();
      expect((await store.list('del/')).objects).toEqual([]);
    });

    it('should match the reference LIST model on random keys and options', async () => {
      const seed = 0x5eed;
      const keys = randomKeySet(seed, 60).map((k) => `model/${k}`);
      await Promise.all(keys.map((k) => store.put(k, enc('.'))));
      const frag = fc.stringMatching(/^[ab0/.-]{0,4}$/);
      await fc.assert(
        fc.asyncProperty(
          frag,
          fc.option(frag, { nil: undefined }),
          fc.option(fc.constantFrom('/', '-', '.', 'b/'), { nil: undefined }),
          fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
          async (p, sa, delimiter, limit) => {
            const prefix = `model/${p}`.replace(/\/\/+/g, '/');
            if (/(^|\/)\.\.?(\/|$)/.test(prefix)) return; // not a valid prefix
            const startAfter = sa === undefined ? undefined : `model/${sa}`;
            const got = await store.list(prefix, { startAfter, delimiter, limit });
            const want = referenceList(keys, prefix, { startAfter, delimiter, limit });
            expect({ keys: keysOf(got), prefixes: got.prefixes }).toEqual(want);
          },
        ),
        { numRuns: opts.listQueries ?? 300, seed },
      );
    });

    it('should follow pagination past one page', async () => {
      const n = opts.paginationKeys ?? 1100;
      const keys = Array.from({ length: n }, (_, i) => `page/${String(i).padStart(6, '0')}`);
      for (let i = 0; i < keys.length; i += 64) await Promise.all(keys.slice(i, i + 64).map((k) => store.put(k, enc('.'))));
      expect(keysOf(await store.list('page/'))).toEqual(keys);
      expect(keysOf(await store.list('page/', { startAfter: keys[n - 3] }))).toEqual(keys.slice(n - 2));
      expect(keysOf(await store.list('page/', { startAfter: keys[10], limit: n - 20 }))).toEqual(keys.slice(11, n - 9));
    });

    it(`should let exactly one of ${racers} concurrent putIfAbsent writers win (${rounds} rounds)`, async () => {
      for (let round = 0; round < rounds; round++) {
        const key = `race/pia/${round}`;
        const results = await Promise.all(Array.from({ length: racers }, (_, i) => store.putIfAbsent(key, enc(`writer-${i}`))));
        const winners = winnersOf(results);
        expect(winners.length).toBe(1);
        expect(dec((await store.get(key))!.bytes)).toBe(`writer-${winners[0]}`);
      }
    });

    it(`should let exactly one of ${racers} concurrent putIfMatch writers with the same witness win (${rounds} rounds)`, async () => {
      for (let round = 0; round < rounds; round++) {
        const key = `race/pim/${round}`;
        await store.put(key, enc('base'));
        const w = (await store.get(key))!.witness;
        const results = await Promise.all(Array.from({ length: racers }, (_, i) => store.putIfMatch(key, enc(`writer-${i}`), w)));
        const winners = winnersOf(results);
        expect(winners.length).toBe(1);
        expect(dec((await store.get(key))!.bytes)).toBe(`writer-${winners[0]}`);
        // The winner's witness is current; the shared one is stale.
        const won = results[winners[0]!]!;
        expect((await store.putIfMatch(key, enc('stale'), w)).ok).toBe(false);
        if (won.ok) expect((await store.putIfMatch(key, enc('next'), won.witness)).ok).toBe(true);
      }
    });

    it('should lose no increment when concurrent workers read-modify-write one counter with putIfMatch', async () => {
      const workers = opts.counterWorkers ?? 4;
      const increments = opts.counterIncrements ?? 10;
      const key = 'race/counter';
      await store.put(key, enc('0'));
      // Each write carries its writer's tag: the contract does not separate two racers writing byte-identical
      // content when S3 answers with an unknown outcome (see PutResult), and elax never writes such twins.
      await Promise.all(
        Array.from({ length: workers }, async (_, w) => {
          for (let i = 0; i < increments; ) {
            const cur = (await store.get(key))!;
            const next = Number(dec(cur.bytes).split(' ')[0]) + 1;
            const res = await store.putIfMatch(key, enc(`${next} w${w}`), cur.witness);
            if (res.ok) i++;
          }
        }),
      );
      expect(Number(dec((await store.get(key))!.bytes).split(' ')[0])).toBe(workers * increments);
    });
  });
}
