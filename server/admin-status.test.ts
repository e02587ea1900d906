/** statusFromRouter: the stall verdict, tail arithmetic and defensive reading of router.indexer. */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { Router } from '../crates-ts/router/index.js';
import type { WalObject } from '../crates-ts/wal/index.js';
import { statusFromRouter, currentFailedEntries, needsAttention } from './admin-status.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');

function router(over: Partial<Router> = {}): Router {
  return {
    format_version: 1,
    namespace: 'ns',
    epoch: 3,
    indexed_wal: 10,
    wal_start: 1,
    parts: [],
    schema: {},
    distance_metric: null,
    created_at: new Date(T0).toISOString(),
    updated_at: new Date(T0).toISOString(),
    ...over,
  };
}

const tailArb = fc
  .array(fc.record({ size: fc.integer({ min: 1, max: 10_000 }), age: fc.integer({ min: 0, max: 10_000_000 }) }), { maxLength: 12 })
  .map((xs) => {
    // Seqs above indexed_wal, written in seq order (older first).
    const ages = xs.map((x) => x.age).sort((a, b) => b - a);
    return xs.map((x, i): WalObject => ({ seq: 11 + i, size: x.size, lastModified: T0 - ages[i]! }));
  });

describe('statusFromRouter', () => {
  it('should be stalled exactly when old unindexed entries exist and no publish followed the oldest', () => {
    fc.assert(
      fc.property(
        tailArb,
        fc.integer({ min: 0, max: 5000 }),
        fc.option(fc.integer({ min: -10_000_000, max: 0 }), { nil: undefined }),
        (tail, stallAfter, successOffset) => {
          const indexer = successOffset === undefined ? undefined : { last_success_at: new Date(T0 + successOffset).toISOString() };
          const s = statusFromRouter(router({ indexer }), tail, T0, stallAfter);
          const oldest = tail[0];
          const expected =
            oldest !== undefined && T0 - oldest.lastModified > stallAfter * 1000 && (successOffset === undefined || T0 + successOffset < oldest.lastModified);
          expect(s.stalled).toBe(expected);
          expect(s.unindexed_entries).toBe(tail.length);
          expect(s.unindexed_bytes).toBe(tail.reduce((a, o) => a + o.size, 0));
          expect(s.wal_highwater).toBe(tail.length ? 10 + tail.length : 10);
          expect(s.oldest_unindexed_at).toBe(oldest ? new Date(oldest.lastModified).toISOString() : null);
          expect(s.last_indexed_at).toBe(indexer?.last_success_at ?? null);
          expect(needsAttention(s)).toBe(expected);
        },
      ),
    );
  });

  it('should never call an empty tail stalled, however old the last success', () => {
    const s = statusFromRouter(router({ indexer: { last_success_at: '2000-01-01T00:00:00Z' } }), [], T0, 0);
    expect(s).toMatchObject({ stalled: false, unindexed_entries: 0, unindexed_bytes: 0, wal_highwater: 10, last_write: null });
  });

  it('should treat an unparseable last_success_at as no publish', () => {
    const tail: WalObject[] = [{ seq: 11, size: 5, lastModified: T0 - 60_000 }];
    expect(statusFromRouter(router({ indexer: { last_success_at: 'yesterday' } }), tail, T0, 10).stalled).toBe(true);
    expect(statusFromRouter(router({ indexer: { last_success_at: new Date(T0 - 1000).toISOString() } }), tail, T0, 10).stalled).toBe(false);
  });
});

describe('currentFailedEntries', () => {
  const good = { seq: 11, wal_end: 12, stage: 'build', error: 'boom', attempts: 5, first_failed_at: 'a', last_failed_at: 'b', next_retry_at: 'c' };

  it('should report current records and the failure history fields', () => {
    const r = router({ indexer: { failed_entries: [good], last_failure_at: '2030-01-01T00:00:05.000Z', last_error: 'WAL 11..12 (build): boom' } });
    const s = statusFromRouter(r, [{ seq: 11, size: 1, lastModified: T0 }], T0, 600);
    expect(s.failed_entries).toEqual([{ seq: 11, wal_end: 12, stage: 'build', error: 'boom', attempts: 5, first_failed_at: 'a', last_failed_at: 'b' }]);
    expect(s.last_failure_at).toBe('2030-01-01T00:00:05.000Z');
    expect(s.last_error).toBe('WAL 11..12 (build): boom');
    expect(s.stalled).toBe(false);
    expect(needsAttention(s)).toBe(true);
  });

  it('should drop resolved, malformed and deleted-namespace records', () => {
    const recs = [{ ...good, seq: 10 }, { ...good, seq: 'x' }, null, 7, { error: 'no seq' }, { seq: 13 }];
    expect(currentFailedEntries(router({ indexer: { failed_entries: recs } }))).toEqual([
      { seq: 13, wal_end: 13, stage: null, error: '(no message recorded)', attempts: 0, first_failed_at: null, last_failed_at: null },
    ]);
    expect(currentFailedEntries(router({ wal_start: 20, indexer: { failed_entries: [good] } }))).toEqual([]);
    expect(currentFailedEntries(router({ deleted: { at: 'x', wal_highwater: 12 }, indexer: { failed_entries: [good] } }))).toEqual([]);
    expect(currentFailedEntries(router({ indexer: { failed_entries: 'nope' } }))).toEqual([]);
    expect(currentFailedEntries(router())).toEqual([]);
  });
});
