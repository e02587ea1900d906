import { describe, expect, it } from 'vitest';
import { idHash, shardOf, parseSharding, MAX_SHARDS } from './shard.js';

// The shard function is part of the on-disk format: these values must never change (docs/rfcs/0013-sharding.md).
const FIXED: [number | string, number][] = [
  [0, 1693486945],
  [1, 1428125071],
  [17, 823834948],
  [123456789, 1152259691],
  ['17', 923104776],
  ['a-b', 1415081500],
  ['doc-1', 111555801],
  ['héllo', 233178760],
  ['🙂', 3914809783],
  ['550e8400-e29b-41d4-a716-446655440000', 48465889],
];

/** An independent reference: FNV-1a 32 over TextEncoder's UTF-8, then murmur3 fmix32. */
function reference(id: number | string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(JSON.stringify(id))) h = Math.imul(h ^ b, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

describe('shardOf', () => {
  it('hashes ids to the fixed values', () => {
    for (const [id, h] of FIXED) {
      expect(idHash(id)).toBe(h);
      expect(shardOf(id, 4)).toBe(h % 4);
      expect(shardOf(id, 16)).toBe(h % 16);
    }
    expect(shardOf(17, 4)).toBe(0);
    expect(shardOf('doc-1', 4)).toBe(1);
    expect(shardOf(1, 1)).toBe(0);
  });

  it('agrees with the reference on many ids, numbers and "numbers" differ', () => {
    for (let i = 0; i < 2000; i++) {
      const s = `id-${i}-\u00e9\u4e2d${String.fromCodePoint(0x1f600 + (i % 50))}`;
      expect(idHash(i)).toBe(reference(i));
      expect(idHash(s)).toBe(reference(s));
    }
    expect(idHash(17)).not.toBe(idHash('17'));
  });

  it('spreads sequential ids evenly', () => {
    const n = 8;
    const counts = new Array(n).fill(0);
    for (let i = 0; i < 80_000; i++) counts[shardOf(i, n)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });
});

describe('parseSharding', () => {
  it('accepts 1..MAX_SHARDS and names what is wrong', () => {
    expect(parseSharding({ num_shards: 3 })).toEqual({ num_shards: 3 });
    expect(parseSharding({ num_shards: MAX_SHARDS })).toEqual({ num_shards: MAX_SHARDS });
    expect(() => parseSharding({ num_shards: 0 })).toThrowError(/sharding.num_shards must be an integer from 1 to 256, got 0/);
    expect(() => parseSharding({ num_shards: 257 })).toThrowError(/num_shards/);
    expect(() => parseSharding({ num_shards: 2.5 })).toThrowError(/num_shards/);
    expect(() => parseSharding({ num_shards: '4' })).toThrowError(/num_shards/);
    expect(() => parseSharding({})).toThrowError(/sharding.num_shards is required/);
    expect(() => parseSharding({ num_shards: 2, x: 1 })).toThrowError(/unknown key 'x'/);
    expect(() => parseSharding(4)).toThrowError(/sharding must be an object/);
  });
});
