import { describe, it, expect } from 'vitest';
import { isElaxError, type SparseVector } from '../core/index.js';
import { buildSparseIndex, SparseIndexFile } from './index-file.js';

/** 300 rows over dimensions 0..49 (and one huge dimension), some rows empty or missing. */
function rows(): (SparseVector | null)[] {
  return Array.from({ length: 300 }, (_, o) => {
    if (o % 10 === 3) return null;
    if (o % 10 === 7) return {};
    const v: Record<string, number> = { [String((o * 7) % 50)]: o / 8, [String((o * 13) % 50)]: -o / 16 };
    if (o % 50 === 0) v['4294967295'] = 1;
    return v;
  });
}

/** The postings each dimension should have, computed from the rows. */
function expectedList(rs: (SparseVector | null)[], dim: number): [number, number][] {
  return rs.flatMap((v, o) => (v && v[String(dim)] !== undefined ? [[o, v[String(dim)]!] as [number, number]] : []));
}

const asPairs = (l: { ords: Uint32Array; weights: Float32Array } | null) => (l === null ? [] : Array.from(l.ords, (o, i) => [o, l.weights[i]!]));

describe('sparse index file', () => {
  it('should answer every dimension whole and by ranges, reading only the lists fetched', async () => {
    const rs = rows();
    const bytes = buildSparseIndex(rs);
    const whole = new SparseIndexFile(bytes, 'whole');
    const reads: [number, number][] = [];
    const read = async (a: number, b: number) => {
      reads.push([a, b]);
      return bytes.slice(a, b);
    };
    const ranged = await SparseIndexFile.openRanged(read, bytes.byteLength, 'ranged');
    expect(whole.rows).toBe(300);
    expect(ranged.rows).toBe(300);
    const dims = [0, 1, 17, 49, 4294967295, 60];
    await ranged.fetch(dims);
    const after = reads.length;
    await ranged.fetch([17, 49]); // held: no read
    expect(reads.length).toBe(after);
    expect(() => ranged.list(2)).toThrow(/before fetch/);
    for (const d of dims) {
      const want = expectedList(rs, d);
      expect(asPairs(whole.list(d)), `dim ${d}`).toEqual(want);
      expect(asPairs(ranged.list(d)), `dim ${d}`).toEqual(want);
      if (want.length > 0) {
        expect(whole.list(d)!.max).toBe(Math.max(...want.map((p) => p[1])));
        expect(ranged.list(d)!.min).toBe(Math.min(...want.map((p) => p[1])));
      }
    }
    expect(whole.list(60)).toBeNull();
    expect(ranged.memoryBytes()).toBeLessThan(whole.memoryBytes());
  });

  it('should refuse a table or a list that does not match its checksum, and an unknown version', async () => {
    const bytes = buildSparseIndex(rows());
    const table = bytes.slice();
    table[52 + 4] ^= 1; // the first dimension's count
    await expect(SparseIndexFile.openRanged(async (a, b) => table.slice(a, b), table.byteLength, 't')).rejects.toThrow(/table does not match its checksum/);
    const list = bytes.slice();
    list[list.byteLength - 1] ^= 0x40; // the last list's last weight
    const f = await SparseIndexFile.openRanged(async (a, b) => list.slice(a, b), list.byteLength, 'l');
    await expect(f.fetch([49, 4294967295])).rejects.toThrow(/do not match their CRC-32/);
    const v2 = bytes.slice();
    v2[4] = 2;
    let err: unknown;
    try {
      new SparseIndexFile(v2, 'v');
    } catch (e) {
      err = e;
    }
    expect(isElaxError(err, 'ELAX_ERR_INCOMPATIBLE_FORMAT')).toBe(true);
    expect(() => new SparseIndexFile(bytes.subarray(0, bytes.byteLength - 4), 'short')).toThrow(/has \d+ bytes/);
  });
});
