/**
 * Failure visibility: a namespace whose next WAL entry cannot be indexed is retried with capped exponential backoff
 * (injected clock, no sleeps), recorded in router.indexer after maxAttempts, never skipped, never blocks the other
 * namespaces, and the record goes away once the entry is fixed or the namespace deleted.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../crates-ts/engine/index.js';
import { MemoryStore, walKey } from '../crates-ts/store/index.js';
import { RouterStore, type Router } from '../crates-ts/router/index.js';
import { encodeWalEntry } from '../crates-ts/wal/index.js';
import { buildPartFiles } from '../crates-ts/part/index.js';
import { Indexer, type IndexOutcome } from './indexer.js';
import { IndexerLoop } from './loop.js';
import { backoffMs, failedEntriesOf, FailureTracker, IndexAttemptError, withFailureRecorded, clearFailuresUpTo, type FailedEntry } from './failures.js';

const T0 = 1_700_000_000_000;

function setup() {
  let t = T0;
  const clock = { now: () => t, advance: (ms: number) => (t += ms), set: (ms: number) => (t = ms) };
  const store = new MemoryStore();
  const engine = new Engine(store, { clock, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 });
  return { clock, store, engine };
}

const routerOf = async (store: MemoryStore, ns: string): Promise<Router> => (await new RouterStore(store).read(ns))!.router;
const outcome = (os: IndexOutcome[], ns: string) => os.find((o) => o.ns === ns)!;
const ids = async (e: Engine, ns: string) => (await e.query(ns, { rank_by: ['id', 'asc'], top_k: 1000 })).rows!.map((r) => r.id);

describe('backoffMs', () => {
  it('should double from the base per attempt and never exceed the cap', () => {
    const policy = { maxAttempts: 5, baseMs: 1000, maxMs: 60_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffMs(a, policy))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 2000 }), (base, cap, a) => {
        const p = { maxAttempts: 5, baseMs: base, maxMs: cap };
        const d = backoffMs(a, p);
        expect(d).toBeLessThanOrEqual(cap);
        expect(d).toBeGreaterThanOrEqual(Math.min(base, cap));
        expect(backoffMs(a + 1, p)).toBeGreaterThanOrEqual(d);
      }),
    );
  });
});

describe('failure records', () => {
  it('should carry attempts and first_failed_at over from a record of the same seq, and clear records at or below a published end', () => {
    let t = T0;
    const tracker = new FailureTracker({ maxAttempts: 2, baseMs: 10, maxMs: 100 }, { now: () => t });
    const err = new IndexAttemptError('a', 7, 9, 'build', new Error('boom'));
    tracker.fail('a', err);
    t += 10;
    const s = tracker.fail('a', err);
    expect(s.attempts).toBe(2);
    expect(s.rangeCap).toBe(2); // build failure over 7..9 (3 entries): next attempt takes at most 2
    const older: FailedEntry = { seq: 7, wal_end: 9, stage: 'build', error: 'x', attempts: 9, first_failed_at: new Date(T0 - 5000).toISOString(), last_failed_at: '', next_retry_at: '' };
    const rec = withFailureRecorded({ last_success_at: 'yesterday', failed_entries: [older] }, s);
    const [entry] = failedEntriesOf({ indexer: rec });
    expect(entry).toMatchObject({ seq: 7, wal_end: 9, stage: 'build', error: 'boom', attempts: 10, first_failed_at: older.first_failed_at });
    expect(rec.last_success_at).toBe('yesterday');
    expect(rec.last_error).toBe('WAL 7..9 (build): boom');
    expect(failedEntriesOf({ indexer: clearFailuresUpTo(rec, 6) })).toHaveLength(1);
    const cleared = clearFailuresUpTo(rec, 7);
    expect(cleared.failed_entries).toBeUndefined();
    expect(cleared.last_error).toBe('WAL 7..9 (build): boom'); // history stays
  });
});

describe('indexer failure handling', () => {
  it('should back off, record a corrupt entry after N attempts, keep other namespaces moving, and clear the record once the entry is fixed', async () => {
    const { clock, store, engine } = setup();
    const policy = { maxAttempts: 5, baseMs: 1000, maxMs: 8000 };
    const ix = new Indexer(store, { clock, nonce: () => `n${clock.now()}`, minEntries: 1, failures: policy });
    await engine.write('a', { upsert_rows: [{ id: 1, v: 1 }] });
    await engine.write('a', { upsert_rows: [{ id: 2, v: 2 }] });
    await engine.write('b', { upsert_rows: [{ id: 1, v: 1 }] });
    await store.put(walKey('a', 3), new TextEncoder().encode('this is not parquet')); // the corrupt entry

    // Pass 1: a indexes what precedes the bad entry; b is indexed.
    let os = await ix.runOnce();
    expect(outcome(os, 'a').result).toBe('published');
    expect(outcome(os, 'b').result).toBe('published');
    expect((await routerOf(store, 'a')).indexed_wal).toBe(2);

    // Attempts 1..5 at t0, +1 s, +2 s, +4 s, +8 s; in between a is backed off while b keeps being indexed.
    const attemptTimes: number[] = [];
    let bRows = 1;
    const epochBeforeRecord = (await routerOf(store, 'a')).epoch;
    for (let step = 0; step < 200 && attemptTimes.length < 5; step++) {
      await engine.write('b', { upsert_rows: [{ id: 100 + step, v: step }] });
      bRows++;
      os = await ix.runOnce();
      const oa = outcome(os, 'a');
      if (oa.result === 'failed') {
        attemptTimes.push(clock.now() - T0);
        expect(oa.attempts).toBe(attemptTimes.length);
        expect(oa.recorded).toBe(attemptTimes.length >= 5);
      } else expect(oa.result).toBe('backoff');
      expect(outcome(os, 'b').result).toBe('published'); // one bad namespace never blocks another
      if (attemptTimes.length < 4) expect(failedEntriesOf(await routerOf(store, 'a'))).toEqual([]);
      clock.advance(250);
    }
    expect(attemptTimes).toEqual([0, 1000, 3000, 7000, 15000]);
    expect((await routerOf(store, 'b')).indexed_wal).toBe(bRows);

    const ra = await routerOf(store, 'a');
    expect(ra.epoch).toBe(epochBeforeRecord + 1); // the record is one CAS publish
    expect(ra.indexed_wal).toBe(2); // never skipped
    expect(await store.get(walKey('a', 3))).not.toBeNull(); // still in the WAL tail
    const [rec] = failedEntriesOf(ra);
    expect(rec).toMatchObject({ seq: 3, wal_end: 3, stage: 'decode', attempts: 5, first_failed_at: new Date(T0).toISOString(), last_failed_at: new Date(T0 + 15000).toISOString(), next_retry_at: new Date(T0 + 15000 + 8000).toISOString() });
    expect(rec!.error.length).toBeGreaterThan(0);
    expect(ra.indexer!.last_failure_at).toBe(new Date(T0 + 15000).toISOString());
    expect(String(ra.indexer!.last_error)).toContain('WAL 3 (decode)');

    // Capped: the 6th attempt comes 8 s (the cap) after the 5th and updates the record.
    clock.set(T0 + 15000 + 7999);
    expect(outcome(await ix.runOnce(), 'a').result).toBe('backoff');
    clock.set(T0 + 15000 + 8000);
    expect(outcome(await ix.runOnce(), 'a')).toMatchObject({ result: 'failed', attempts: 6, recorded: true });
    expect(failedEntriesOf(await routerOf(store, 'a'))[0]!.attempts).toBe(6);

    // A fresh indexer process continues the count from the record instead of starting over silently.
    const other = new Indexer(store, { clock, nonce: () => `o${clock.now()}`, minEntries: 1, failures: { ...policy, maxAttempts: 1 } });
    expect(outcome(await other.runOnce({ ns: 'a' }), 'a')).toMatchObject({ result: 'failed', attempts: 1, recorded: true });
    expect(failedEntriesOf(await routerOf(store, 'a'))[0]).toMatchObject({ attempts: 7, first_failed_at: new Date(T0).toISOString() });

    // Fix the entry: the next due attempt indexes it and clears the record.
    await store.put(walKey('a', 3), encodeWalEntry({ format_version: 1, namespace: 'a', committed_at: clock.now(), requests: 1 }, [{ kind: 'upsert', doc: { id: 3, vector: null, attrs: { v: 3 } } }]));
    clock.advance(8000);
    expect(outcome(await ix.runOnce(), 'a').result).toBe('published');
    const fixed = await routerOf(store, 'a');
    expect(fixed.indexed_wal).toBe(3);
    expect(failedEntriesOf(fixed)).toEqual([]);
    expect(fixed.indexer!.last_success_at).toBe(new Date(clock.now()).toISOString());
    expect(ix.failures.get('a')).toBeUndefined();
    expect(await ids(engine, 'a')).toEqual([1, 2, 3]);
  });

  it('should clear the record when the namespace is deleted', async () => {
    const { clock, store, engine } = setup();
    const ix = new Indexer(store, { clock, nonce: () => `n${clock.now()}`, minEntries: 1, failures: { maxAttempts: 2, baseMs: 100, maxMs: 100 } });
    await engine.write('c', { upsert_rows: [{ id: 1 }] });
    await ix.runOnce();
    await store.put(walKey('c', 2), new Uint8Array([0, 1, 2, 3]));
    for (let i = 0; i < 2; i++) {
      await ix.runOnce();
      clock.advance(100);
    }
    expect(failedEntriesOf(await routerOf(store, 'c'))).toHaveLength(1);
    await engine.deleteNamespace('c');
    expect(failedEntriesOf(await routerOf(store, 'c'))).toEqual([]); // the tombstone drops the failure record
    await ix.runOnce(); // the indexer still visits c (it has a streak) although it is no longer listed, and forgets it
    const r = await routerOf(store, 'c');
    expect(r.deleted).toBeDefined();
    expect(failedEntriesOf(r)).toEqual([]);
    expect(ix.failures.namespaces()).toEqual([]);
    // Revived later: a fresh start, no stale record.
    await engine.write('c', { upsert_rows: [{ id: 9 }] });
    await ix.runOnce();
    const revived = await routerOf(store, 'c');
    expect(revived.deleted).toBeUndefined();
    expect(failedEntriesOf(revived)).toEqual([]);
    expect(await ids(engine, 'c')).toEqual([9]);
  });

  it('should isolate an entry whose part build throws by narrowing the range, index everything before it, and never skip it', async () => {
    const { clock, store, engine } = setup();
    const poison = 5;
    let poisoned = true;
    const build: typeof buildPartFiles = (input) => {
      if (poisoned && input.walStart <= poison && poison <= input.walEnd) throw new Error(`cannot build entry ${poison}`);
      return buildPartFiles(input);
    };
    const ix = new Indexer(store, { clock, nonce: () => `n${clock.now()}`, minEntries: 1, maxEntriesPerPart: 8, build, failures: { maxAttempts: 3, baseMs: 10, maxMs: 40 } });
    for (let i = 1; i <= 8; i++) await engine.write('d', { upsert_rows: [{ id: i, v: i }] });
    const ranges: string[] = [];
    let recordSeen: FailedEntry | undefined;
    for (let pass = 0; pass < 40 && !recordSeen; pass++) {
      const o = outcome(await ix.runOnce(), 'd');
      if (o.result === 'published') ranges.push(`ok ${o.part.wal_start}..${o.part.wal_end}`);
      if (o.result === 'failed') ranges.push(`fail ${ix.failures.get('d')!.seq}..${ix.failures.get('d')!.walEnd}`);
      const r = await routerOf(store, 'd');
      expect(r.indexed_wal).toBeLessThan(poison); // never past the poison entry
      recordSeen = failedEntriesOf(r)[0];
      clock.advance(40);
    }
    expect(ranges).toEqual(['fail 1..8', 'ok 1..4', 'fail 5..8', 'fail 5..6', 'fail 5..5']);
    expect(recordSeen).toMatchObject({ seq: 5, wal_end: 5, stage: 'build', attempts: 3, error: 'cannot build entry 5' });
    // Queries still see every acknowledged write: the failed entries stay in the tail.
    expect(await ids(engine, 'd')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    poisoned = false;
    clock.advance(40);
    while (outcome(await ix.runOnce(), 'd').result === 'published') clock.advance(40);
    const r = await routerOf(store, 'd');
    expect(r.indexed_wal).toBe(8);
    expect(failedEntriesOf(r)).toEqual([]);
    expect(await ids(new Engine(store, { clock, sleep: () => Promise.resolve(), random: Math.random, groupCommitMs: 0 }), 'd')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('should keep an indexer loop pass going when a namespace fails', async () => {
    const { store, engine } = setup();
    const logs: string[] = [];
    const loop = new IndexerLoop(store, { minEntries: 1, log: (m) => logs.push(m) });
    await engine.write('bad', { upsert_rows: [{ id: 1 }] });
    await store.put(walKey('bad', 1), new Uint8Array([9, 9, 9]));
    await engine.write('good', { upsert_rows: [{ id: 1 }] });
    await loop.pass(1);
    expect((await routerOf(store, 'good')).indexed_wal).toBe(1);
    expect((await routerOf(store, 'bad')).indexed_wal).toBe(0);
    expect(logs).toContain('indexer: namespace failed');
  });
});
