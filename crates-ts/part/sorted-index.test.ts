import { describe, expect, it } from 'vitest';
import { seededRandom } from '../ivf/index.js';
import { serializeSorted } from '../bitmap/index.js';
import { BlockFileWriter } from './block-file.js';
import { encodeColumnBlock } from './column-block.js';
import { buildFilterIndexes, checkFilterIndexes, type FilterIndexInfo } from './filter-index.js';
import { buildSortedIndex, readSortedIndex, type SortedIndex } from './sorted-index.js';
import { walkIndexOrder } from './order-walk.js';

function roundTrip(values: unknown[]): { idx: SortedIndex; info: FilterIndexInfo; bytes: Uint8Array } {
  const built = buildSortedIndex('a', values as never)!;
  const info = { ...built.info, file: 'fsrt-0.blk' };
  return { idx: readSortedIndex(built.bytes, info, values.length, info.file), info, bytes: built.bytes };
}

describe('sorted filter indexes', () => {
  it('should hold every non-null row once, in value order then ordinal order, across several blocks', () => {
    const r = seededRandom(9);
    const values = Array.from({ length: 40_000 }, () => (r() < 0.1 ? null : Math.floor(r() * 5000) / 4));
    const { idx, info } = roundTrip(values);
    expect(info.blocks.offset.length).toBeGreaterThan(3);
    expect(info.type).toBe('number');
    const want = values.flatMap((v, o) => (v === null ? [] : [[v, o] as const])).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(Array.from(idx.ords)).toEqual(want.map((p) => p[1]));
    expect(Array.from(idx.values as Float64Array)).toEqual(want.map((p) => p[0]));
    expect(Array.from(idx.nulls.toArray())).toEqual(values.flatMap((v, o) => (v === null ? [o] : [])));
  });

  it('should walk strings in order, nulls first ascending and last descending', () => {
    const values = ['b', null, 'a', 'c', 'a', undefined];
    const { idx } = roundTrip(values);
    const seen = (desc: boolean) => {
      const out: [unknown, number][] = [];
      walkIndexOrder(idx, desc, (v, o) => (out.push([v, o]), true));
      return out;
    };
    expect(seen(false)).toEqual([[null, 1], [null, 5], ['a', 2], ['a', 4], ['b', 0], ['c', 3]]);
    expect(seen(true)).toEqual([['c', 3], ['b', 0], ['a', 4], ['a', 2], [null, 1], [null, 5]]);
  });

  it('should not build for booleans, arrays, mixed types or no values', () => {
    for (const values of [[true, false], [[1], [2]], [1, 'a'], [null, undefined]]) expect(buildSortedIndex('a', values as never)).toBeNull();
  });

  it('should pick a sorted index only when a single-typed attribute has too many distinct values for a dictionary', () => {
    const col = (values: unknown[]) => ({ name: 'a', values: values as never });
    const kinds = (values: unknown[]) => buildFilterIndexes({}, [col(values)]).infos.map((i) => `${i.kind}:${i.file}`);
    expect(kinds(Array.from({ length: 200 }, (_, i) => i % 64))).toEqual(['dict:fidx-0.blk']);
    expect(kinds(Array.from({ length: 200 }, (_, i) => i % 65))).toEqual(['sorted:fsrt-0.blk']);
    expect(kinds(Array.from({ length: 400 }, (_, i) => `v${i % 100}`))).toEqual(['dict:fidx-0.blk']); // ≤ rows/4
    expect(kinds(Array.from({ length: 200 }, (_, i) => (i % 2 ? i : `v${i}`)))).toEqual(['dict:fidx-0.blk']); // mixed
  });

  it('should fail a sorted index whose values are out of order, or a malformed head entry, with ELAX_ERR_CORRUPT', () => {
    const { info, bytes } = roundTrip([1, 2, 3]);
    // A file whose pairs are out of value order (a builder bug): decoding refuses it rather than answer wrong runs.
    const w = new BlockFileWriter();
    w.add(serializeSorted([]));
    const col = encodeColumnBlock([2, 1, 3], 'f64');
    const run = new Uint8Array(16 + col.byteLength);
    new Uint32Array(run.buffer, 0, 4).set([3, 0, 1, 2]);
    run.set(col, 16);
    w.add(run);
    const unsorted = w.finish('filter-sorted', { sorted_version: 1, attr: 'a', type: 'number', values: 3 });
    expect(() => readSortedIndex(unsorted, { ...info, blocks: w.table() }, 3, 'fsrt-0.blk')).toThrow(/fsrt-0.blk: values 0 and 1 are out of order/);
    expect(() => readSortedIndex(bytes, { ...info, values: 2 }, 3, 'x')).toThrow(expect.objectContaining({ code: 'ELAX_ERR_CORRUPT' }));
    expect(() => readSortedIndex(bytes, info, 2, 'x')).toThrow(/ordinal 2 is outside the part's 2 rows/);
    const files = new Set(['fsrt-0.blk']);
    const cols = new Set(['a']);
    expect(() => checkFilterIndexes([{ ...info, type: 'bool' }], files, cols, 'part p')).toThrow(/filter_indexes entry for "a" is malformed/);
    expect(() => checkFilterIndexes([{ ...info, kind: 'btree' }], files, cols, 'part p')).toThrow(/unknown kind "btree"/);
    expect(() => checkFilterIndexes([info], files, cols, 'part p')).not.toThrow();
  });
});
