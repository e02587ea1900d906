import { describe, it, expect } from 'vitest';
import { pickCompaction } from './compact.js';
import type { PartRef } from '../crates-ts/router/index.js';

const p = (id: string, shard: number | undefined, a: number, b: number, level = 0, rows = 10): PartRef => ({ id, wal_start: a, wal_end: b, rows, bytes: 1, level, created_at: 'now', ...(shard !== undefined ? { shard } : {}) });

describe('pickCompaction per shard (RFC-0013)', () => {
  it('unsharded: a run of adjacent parts, as before', () => {
    const parts = [p('a', undefined, 1, 1), p('b', undefined, 2, 2), p('c', undefined, 3, 3), p('d', undefined, 4, 4)];
    expect(pickCompaction(parts, 4, 8, false)).toEqual({ start: 0, count: 4, indices: [0, 1, 2, 3] });
    expect(pickCompaction(parts.slice(0, 3), 4, 8, false)).toBeNull();
  });

  it('onlyOver: no merge, not even a full tier, until the namespace or shard has more parts than that', () => {
    const parts = Array.from({ length: 6 }, (_, i) => p(`u${i}`, undefined, i + 1, i + 1));
    expect(pickCompaction(parts, 4, 8, false, 6)).toBeNull();
    expect(pickCompaction(parts.slice(0, 4), 4, 8, false, 3)).toEqual({ start: 0, count: 4, indices: [0, 1, 2, 3] });
    expect(pickCompaction(parts, 4, 8, false, 5)).toEqual({ start: 0, count: 4, indices: [0, 1, 2, 3] });
    // Per shard: shard 0's four parts are not over 4; shard 1's five are.
    const sharded = [...parts.slice(0, 4).map((x, i) => p(`s0-${i}`, 0, i + 1, i + 1)), ...Array.from({ length: 5 }, (_, i) => p(`s1-${i}`, 1, i + 1, i + 1))];
    expect(pickCompaction(sharded, 4, 8, false, 4)?.shard).toBe(1);
    // force ignores it (operator `elax compact --all`).
    expect(pickCompaction(parts, 4, 8, true, 100)).toEqual({ start: 0, count: 6, indices: [0, 1, 2, 3, 4, 5] });
  });

  it('sharded: merges only one shard\'s consecutive parts, skipping the other shards\' parts between them', () => {
    // Router order (wal_start, shard): shard 0 has 4 level-0 parts, shard 1 three.
    const parts = [p('a0', 0, 1, 1), p('a1', 1, 1, 1), p('b0', 0, 2, 2), p('b1', 1, 2, 2), p('c0', 0, 3, 3), p('d0', 0, 4, 4), p('d1', 1, 4, 4)];
    expect(pickCompaction(parts, 4, 8, false)).toEqual({ start: 0, count: 4, indices: [0, 2, 4, 5], shard: 0 });
    // Shard 0 already merged: its single level-1 part; shard 1 has three level-0 parts, not yet a tier of 4.
    const after = [p('m0', 0, 1, 4, 1), p('a1', 1, 1, 1), p('b1', 1, 2, 2), p('d1', 1, 4, 4)];
    expect(pickCompaction(after, 4, 8, false)).toBeNull();
    // maxParts is per shard: shard 1 over 2 parts merges its smallest adjacent pair.
    expect(pickCompaction(after, 4, 2, false)).toEqual({ start: 0, count: 2, indices: [1, 2], shard: 1 });
    // A level run is counted within the shard: shard 1's level-0 parts around shard 0's level-1 part are adjacent.
    const mixed = [p('x0', 0, 1, 1, 1), p('x1', 1, 1, 1), p('y1', 1, 2, 2), p('z1', 1, 3, 3), p('w0', 0, 4, 4), p('w1', 1, 4, 4)];
    expect(pickCompaction(mixed, 4, 8, false)).toEqual({ start: 0, count: 4, indices: [1, 2, 3, 5], shard: 1 });
  });

  it('sharded force: all of the first shard with two or more parts', () => {
    const parts = [p('a0', 0, 1, 1), p('a1', 1, 1, 1), p('b1', 1, 2, 2), p('c1', 1, 3, 3)];
    expect(pickCompaction(parts, 4, 8, true)).toEqual({ start: 0, count: 3, indices: [1, 2, 3], shard: 1 });
    expect(pickCompaction([p('a0', 0, 1, 1), p('a1', 1, 1, 1)], 4, 8, true)).toBeNull();
  });
});
