/**
 * The store contract, as vitest cases runnable against any backend: `runStoreConformance(name, makeStore)`.
 * Every backend (memory, local directory, S3/radosgw) must pass the same suite, races included.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Witness, type ObjectStore } from './types.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

export interface ConformanceOptions {
  /** Keys for the pagination test (must exceed one S3 page of 1000 for real coverage). */
  paginationKeys?: number;
  /** Concurrent writers per race round, and rounds. */
  racers?: number;
  rounds?: number;
}

export function runStoreConformance(name: string, makeStore: () => Promise<ObjectStore>, opts: ConformanceOptions = {}): void {
  const racers = opts.racers ?? 8;
  const rounds = opts.rounds ?? 10;
  describe(`store conformance: ${name}`, () => {
    let store: ObjectStore;
    beforeAll(async () => {
      store = await makeStore();
    });
    afterAll(async () => {
      await store.close();
    });

    it('should return null for a missing key on get and head', async () => {
      expect(await store.get('missing/key')).toBeNull();
      expect(await store.head('missing/key')).toBeNull();
    });

    it('should put, get and head an object', async () => {
      await store.put('a/b/c.txt', enc('hello'));
      const got = await store.get('a/b/c.txt');
      expect(got && dec(got.bytes)).toBe('hello');
      expect(got!.info.size).toBe(5);
      const h = await store.head('a/b/c.txt');
      expect(h!.info.size).toBe(5);
    });

    it('should read byte ranges', async () => {
      await store.put('range/obj', enc('0123456789'));
      expect(dec((await store.get('range/obj', { start: 2, end: 5 }))!.bytes)).toBe('234');
      expect(dec((await store.get('range/obj', { start: 8, end: 100 }))!.bytes)).toBe('89');
    });

    it('should create with putIfAbsent only once', async () => {
      const first = await store.putIfAbsent('pia/key', enc('one'));
      expect(first.ok).toBe(true);
      const second = await store.putIfAbsent('pia/key', enc('two'));
      expect(second.ok).toBe(false);
      expect(dec((await store.get('pia/key'))!.bytes)).toBe('one');
    });

    it('should replace with putIfMatch only at the read version', async () => {
      const created = await store.putIfAbsent('pim/key', enc('v1'));
      if (!created.ok) throw new Error('setup failed');
      const read = (await store.get('pim/key'))!;
      const ok = await store.putIfMatch('pim/key', enc('v2'), read.witness);
      expect(ok.ok).toBe(true);
      // The witness we used is now stale.
      expect((await store.putIfMatch('pim/key', enc('v3'), read.witness)).ok).toBe(false);
      expect((await store.putIfMatch('pim/key', enc('v3'), Witness.neverMatches())).ok).toBe(false);
      expect(dec((await store.get('pim/key'))!.bytes)).toBe('v2');
      // The witness returned by the successful write is current.
      if (!ok.ok) throw new Error('unreachable');
      expect((await store.putIfMatch('pim/key', enc('v4'), ok.witness)).ok).toBe(true);
      expect(dec((await store.get('pim/key'))!.bytes)).toBe('v4');
    });

    it('should treat putIfMatch on a missing key as a lost race', async () => {
      expect((await store.putIfMatch('pim/missing', enc('x'), Witness.neverMatches())).ok).toBe(false);
      expect(await store.get('pim/missing')).toBeNull();
    });

    it('should list in lexicographic order with prefix, startAfter, limit and delimiter', async () => {
      const keys = ['ls/x/00002', 'ls/x/00001', 'ls/x/00010', 'ls/y/1', 'ls/z', 'lsz/other'];
      for (const k of keys) await store.put(k, enc(k));
      const all = await store.list('ls/');
      expect(all.objects.map((o) => o.key)).toEqual(['ls/x/00001', 'ls/x/00002', 'ls/x/00010', 'ls/y/1', 'ls/z']);
      expect(all.objects[0]!.size).toBe('ls/x/00001'.length);
      expect((await store.list('ls/x/', { startAfter: 'ls/x/00001' })).objects.map((o) => o.key)).toEqual(['ls/x/00002', 'ls/x/00010']);
      expect((await store.list('ls/x/', { limit: 2 })).objects.map((o) => o.key)).toEqual(['ls/x/00001', 'ls/x/00002']);
      const d = await store.list('ls/', { delimiter: '/' });
      expect(d.prefixes).toEqual(['ls/x/', 'ls/y/']);
      expect(d.objects.map((o) => o.key)).toEqual(['ls/z']);
      expect((await store.list('ls/x/0000')).objects.length).toBe(2);
    });

    it('should delete idempotently', async () => {
      await store.put('del/k', enc('x'));
      await store.delete('del/k');
      await store.delete('del/k');
      expect(await store.get('del/k')).toBeNull();
      expect((await store.list('del/')).objects).toEqual([]);
    });

    it('should follow pagination past one page', async () => {
      const n = opts.paginationKeys ?? 1100;
      const keys = Array.from({ length: n }, (_, i) => `page/${String(i).padStart(6, '0')}`);
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, enc('.'))));
      const listed = await store.list('page/');
      expect(listed.objects.map((o) => o.key)).toEqual(keys);
      expect((await store.list('page/', { startAfter: keys[n - 3] })).objects.length).toBe(2);
    });

    it(`should let exactly one of ${racers} concurrent putIfAbsent writers win (${rounds} rounds)`, async () => {
      for (let round = 0; round < rounds; round++) {
        const key = `race/pia/${round}`;
        const results = await Promise.all(Array.from({ length: racers }, (_, i) => store.putIfAbsent(key, enc(`writer-${i}`))));
        const winners = results.map((r, i) => (r.ok ? i : -1)).filter((i) => i >= 0);
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
        const winners = results.map((r, i) => (r.ok ? i : -1)).filter((i) => i >= 0);
        expect(winners.length).toBe(1);
        expect(dec((await store.get(key))!.bytes)).toBe(`writer-${winners[0]}`);
      }
    });
  });
}
