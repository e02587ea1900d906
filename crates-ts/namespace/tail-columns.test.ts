import { describe, expect, it } from 'vitest';
import { TailColumns } from './tail-columns.js';

describe('TailColumns.vectorReader (RFC-0014 §4)', () => {
  it('should pack vectors of the asked length as f32 views, extend the packing to rows appended since, and skip other values', () => {
    const cols = new TailColumns();
    cols.set(0, { img: [0.1, 2, -3] });
    cols.set(1, { other: 1 }); // no img
    cols.set(2, { img: null });
    cols.set(3, { img: [1, 2] }); // another length
    cols.set(4, { img: 'text' });
    const read = cols.vectorReader('img', 3);
    expect(Array.from(read(0)!)).toEqual([Math.fround(0.1), 2, -3]);
    for (const r of [1, 2, 3, 4, 5]) expect(read(r)).toBeNull();
    // Appended rows are packed by the next reader; the earlier reader still answers for its rows.
    for (let r = 5; r < 200; r++) cols.set(r, { img: [r, -r, r / 2] });
    const next = cols.vectorReader('img', 3);
    expect(Array.from(next(199)!)).toEqual([199, -199, 99.5]);
    expect(Array.from(next(0)!)).toEqual([Math.fround(0.1), 2, -3]);
    expect(next(0)!.buffer).toBe(next(199)!.buffer); // one buffer: views, not copies
    expect(Array.from(read(0)!)).toEqual([Math.fround(0.1), 2, -3]);
    // Another length is another packing; values come back unchanged through value().
    expect(Array.from(cols.vectorReader('img', 2)(3)!)).toEqual([1, 2]);
    expect(cols.vectorReader('img', 2)(0)).toBeNull();
    expect(cols.value('img', 0)).toEqual([0.1, 2, -3]);
    // A row written again (not done by the tail, which only appends) drops the packing rather than serve a stale vector.
    cols.set(0, { img: [7, 8, 9] });
    expect(Array.from(cols.vectorReader('img', 3)(0)!)).toEqual([7, 8, 9]);
    // A column of numbers only, and a missing column: no vectors.
    expect(cols.vectorReader('other', 1)(1)).toBeNull();
    expect(cols.vectorReader('nope', 3)(0)).toBeNull();
  });
});
