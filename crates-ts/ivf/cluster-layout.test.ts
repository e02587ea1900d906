import { describe, expect, it } from 'vitest';
import { ElaxError } from '../core/index.js';
import { clusterByteLength, decodeClusterBytes, encodeClusterBytes } from './cluster-layout.js';
import { encodeCluster, type ClusterCodes } from './rabitq.js';
import { encodeRefine } from './refine.js';
import { fhtRotation } from './rotation.js';
import { mixture, seededRandom } from './testing.js';

function cluster(dims: number, n: number, ids: number | number[]): ClusterCodes {
  const r = seededRandom(dims + n);
  const data = mixture(n, dims, r, 2);
  const centroid = data.slice(0, dims);
  return encodeCluster(data, Array.from({ length: n }, (_, i) => i), centroid, 0, fhtRotation(dims, r), ids);
}

// The radius is stored as f32.
const plain = ({ refine: _, ...c }: ClusterCodes) => ({ ...c, radius: Math.fround(c.radius), codes: Array.from(c.codes), add: Array.from(c.add), rescale: Array.from(c.rescale), err: Array.from(c.err), rowIds: c.rowIds && Array.from(c.rowIds) });

describe('cluster layout', () => {
  it('should round-trip codes, factors and implicit rows', () => {
    const c = cluster(128, 37, 1000);
    const bytes = encodeClusterBytes(c);
    expect(bytes.length).toBe(clusterByteLength(37, 128, false));
    expect(bytes.length).toBe(32 + 37 * 28 + 4); // 28 bytes per 128-d vector, padded to 8
    const d = decodeClusterBytes(bytes);
    expect(plain(d)).toEqual(plain(c));
    expect(d.firstRow).toBe(1000);
    expect(d.radius).toBe(Math.fround(c.radius));
  });

  it('should round-trip explicit row ids, at any dimension and from an unaligned buffer', () => {
    const ids = Array.from({ length: 20 }, (_, i) => 5000 + 7 * i);
    const c = cluster(100, 20, ids);
    const bytes = encodeClusterBytes(c);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const d = decodeClusterBytes(shifted.subarray(3));
    expect(plain(d)).toEqual(plain(c));
    expect(Array.from(d.rowIds!)).toEqual(ids);
  });

  it('should decode an aligned buffer without copying it', () => {
    const bytes = encodeClusterBytes(cluster(64, 10, 0));
    const d = decodeClusterBytes(bytes);
    expect(d.add.buffer).toBe(bytes.buffer);
    expect(d.codes.buffer).toBe(bytes.buffer);
  });

  it('should fix the header bytes (golden)', () => {
    const bytes = encodeClusterBytes(cluster(64, 3, 9));
    expect(Array.from(bytes.subarray(0, 20))).toEqual([0x45, 0x49, 0x56, 0x43, 1, 0, 0, 0, 3, 0, 0, 0, 64, 0, 0, 0, 9, 0, 0, 0]);
  });

  it('should reject a wrong magic, version or length with precise errors', () => {
    const good = encodeClusterBytes(cluster(64, 4, 0));
    const bad = (f: (b: Uint8Array) => Uint8Array) => {
      try {
        decodeClusterBytes(f(good.slice()));
      } catch (e) {
        return [(e as ElaxError).code, (e as Error).message];
      }
      return null;
    };
    expect(bad((b) => ((b[0] = 0), b))).toEqual(['ELAX_ERR_CORRUPT', 'vector cluster codes: bad magic 0x43564900']);
    expect(bad((b) => ((b[4] = 3), b))?.[0]).toBe('ELAX_ERR_INCOMPATIBLE_FORMAT');
    expect(bad((b) => ((b[4] = 2), b))).toEqual(['ELAX_ERR_CORRUPT', 'vector cluster codes: layout version 2 without refine codes']);
    expect(bad((b) => b.subarray(0, b.length - 8))).toEqual(['ELAX_ERR_CORRUPT', `vector cluster codes: ${good.length - 8} bytes for 4 vectors of 64 bits; expected ${good.length}`]);
    expect(bad((b) => ((b[6] = 2), b))?.[0]).toBe('ELAX_ERR_CORRUPT');
    expect(bad((b) => b.subarray(0, 10))?.[0]).toBe('ELAX_ERR_CORRUPT');
  });

  it('should write the same bytes into a view of a larger buffer, and refuse a view of the wrong size', () => {
    for (const [dims, n, ids, refine] of [[128, 37, 1000, true], [100, 20, [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57], false]] as const) {
      const r = seededRandom(dims + 3 * n);
      const data = mixture(n, dims, r, 2);
      const rows = Array.from({ length: n }, (_, i) => i);
      const c: ClusterCodes = { ...encodeCluster(data, rows, data, 0, fhtRotation(dims, r), ids as number | number[]), ...(refine ? { refine: encodeRefine(data, rows, data, 0, dims, true) } : {}) };
      const alone = encodeClusterBytes(c);
      const file = new Uint8Array(8 + alone.length + 8);
      const view = file.subarray(8, 8 + alone.length);
      expect(encodeClusterBytes(c, view)).toBe(view);
      expect(Array.from(view)).toEqual(Array.from(alone));
      expect(file.subarray(0, 8).every((b) => b === 0) && file.subarray(8 + alone.length).every((b) => b === 0)).toBe(true);
      expect(() => encodeClusterBytes(c, file.subarray(0, alone.length - 8))).toThrow(RangeError);
    }
  });

  it('should write layout version 2 with refine codes and round-trip them (aligned and not)', () => {
    for (const [dims, n, ids] of [[128, 37, 1000], [100, 20, Array.from({ length: 20 }, (_, i) => 3 * i)], [10, 1, 0]] as const) {
      const r = seededRandom(dims * 7 + n);
      const data = mixture(n, dims, r, 2);
      const rows = Array.from({ length: n }, (_, i) => i);
      const c = { ...encodeCluster(data, rows, data, 0, fhtRotation(dims, r), ids as number | number[]), refine: encodeRefine(data, rows, data, 0, dims, true) };
      const bytes = encodeClusterBytes(c);
      expect(bytes.length).toBe(clusterByteLength(n, c.padded, typeof ids !== 'number', dims));
      expect(bytes.length % 8).toBe(0);
      expect([bytes[4], bytes[6]! & 2]).toEqual([2, 2]);
      for (const shift of [0, 3]) {
        const buf = new Uint8Array(bytes.length + shift);
        buf.set(bytes, shift);
        const d = decodeClusterBytes(buf.subarray(shift));
        expect(plain(d)).toEqual(plain(c));
        const rf = d.refine!;
        expect([rf.dims, Array.from(rf.lo), Array.from(rf.step), Array.from(rf.radius), Array.from(rf.codes)]).toEqual([dims, Array.from(c.refine.lo), Array.from(c.refine.step), Array.from(c.refine.radius), Array.from(c.refine.codes)]);
      }
    }
  });

  it('should keep writing layout version 1, byte for byte, without refine codes', () => {
    const c = cluster(64, 3, 9);
    expect(encodeClusterBytes({ ...c, refine: null })).toEqual(encodeClusterBytes(c));
    expect(encodeClusterBytes(c)[4]).toBe(1);
  });
});
