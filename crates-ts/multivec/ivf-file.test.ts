import { describe, it, expect } from 'vitest';
import {
  FdeFile,
  MvIvfFile,
  buildFdeFile,
  buildMvIvfFile,
  defaultFdeParams,
  defaultMvIvfLists,
  fetchMvIvfLists,
  maxSimDistanceOf,
  multiQuery,
  mvIvfCandidates,
  mvIvfPrefixBytes,
  openMvIvfRanged,
  probedLists,
  type MultiVector,
  type MvIvfList,
} from './index.js';
import { isElaxError } from '../core/index.js';
import { seededRandom } from '../ivf/index.js';

const randomRows = (r: () => number, n: number, dims: number): (MultiVector | null)[] =>
  Array.from({ length: n }, (_, i) => (i % 13 === 7 ? null : Array.from({ length: 1 + Math.floor(r() * 6) }, () => Array.from({ length: dims }, () => Math.fround(r() * 2 - 1)))));

/** Every list of a whole file, decoded. */
function allLists(f: MvIvfFile, bytes: Uint8Array): MvIvfList[] {
  return Array.from({ length: f.lists }, (_, c) => {
    const r = f.listRange(c);
    return f.decodeList(c, bytes.subarray(r.start, r.end));
  });
}

function expectCorrupt(fn: () => unknown, msg: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(isElaxError(e) && e.code === 'ELAX_ERR_CORRUPT').toBe(true);
    expect((e as Error).message).toMatch(msg);
    return;
  }
  throw new Error('expected ELAX_ERR_CORRUPT');
}

/** Clustered rows (token-like: noisy copies of shared topic directions), as bench/micro/multivec.ts, smaller. */
function clustered(seed: number, rows: number, dims: number, topics: number) {
  const r = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const unit = (v: number[]) => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const centres = Array.from({ length: topics }, () => unit(Array.from({ length: dims }, gauss)));
  const noisy = (v: number[], s: number) => v.map((x) => Math.fround(x + gauss() * s));
  const data: MultiVector[] = Array.from({ length: rows }, () => Array.from({ length: 1 + Math.floor(r() * 16) }, () => noisy(centres[Math.floor(r() * topics)]!, 0.15)));
  const query = () => {
    const src = data[Math.floor(r() * rows)]!;
    return Array.from({ length: 4 }, () => Float32Array.from(noisy(src[Math.floor(r() * src.length)]!, 0.1)));
  };
  return { data, query };
}

describe('multi-vector token-level IVF (mvivf-{n}.bin, RFC-0015 §4)', () => {
  it('should hold every vector of every row once, in its row order, as int8 codes of the unit vector', () => {
    const rows = randomRows(seededRandom(1), 300, 8);
    const bytes = buildMvIvfFile(rows, 8, 'cosine_distance');
    // Deterministic: the same rows give the same bytes.
    expect(Buffer.compare(Buffer.from(bytes), Buffer.from(buildMvIvfFile(rows, 8, 'cosine_distance')))).toBe(0);
    const f = new MvIvfFile(bytes, 't');
    const total = rows.reduce((s, v) => s + (v?.length ?? 0), 0);
    expect(f.rows).toBe(300);
    expect(f.dims).toBe(8);
    expect(f.metric).toBe('cosine_distance');
    expect(f.entries).toBe(total);
    expect(f.lists).toBe(defaultMvIvfLists(total));
    expect(mvIvfPrefixBytes(bytes, 't')).toBe(f.listsAt);
    // Per row, the vectors found in the lists (dequantised), against the row's unit vectors.
    const found = new Map<number, Float32Array[]>();
    for (const l of allLists(f, bytes)) {
      for (let j = 0; j < l.ords.length; j++) {
        if (j > 0) expect(l.ords[j]!).toBeGreaterThanOrEqual(l.ords[j - 1]!);
        const v = Float32Array.from(l.codes.subarray(j * 8, j * 8 + 8), (c) => c * l.scales[j]!);
        found.set(l.ords[j]!, [...(found.get(l.ords[j]!) ?? []), v]);
      }
    }
    rows.forEach((row, o) => {
      if (row === null) return expect(found.has(o)).toBe(false);
      const got = found.get(o)!;
      expect(got.length).toBe(row.length);
      // Each stored vector matches one of the row's vectors (normalised) within half a quantisation step.
      for (const v of row) {
        const n = Math.hypot(...v);
        const u = v.map((x) => x / n);
        const step = Math.max(...u.map(Math.abs)) / 127;
        expect(got.some((g) => u.every((x, d) => Math.abs(x - g[d]!) <= step / 2 + 1e-6))).toBe(true);
      }
    });
    // Two levels (more lists than maxFlat): every vector still once, in row order, lists as asked for (about).
    const two = buildMvIvfFile(rows, 8, 'cosine_distance', { lists: 40, maxFlat: 8 });
    const t2 = new MvIvfFile(two, 't2');
    expect(t2.entries).toBe(total);
    expect(Math.abs(t2.lists - 40)).toBeLessThanOrEqual(4);
    const counts = new Map<number, number>();
    for (const l of allLists(t2, two)) for (const o of l.ords) counts.set(o, (counts.get(o) ?? 0) + 1);
    rows.forEach((row, o) => expect(counts.get(o) ?? 0).toBe(row?.length ?? 0));
    expect(Buffer.compare(Buffer.from(two), Buffer.from(buildMvIvfFile(rows, 8, 'cosine_distance', { lists: 40, maxFlat: 8 })))).toBe(0);
    // Euclidean: raw vectors, metric recorded.
    const e = new MvIvfFile(buildMvIvfFile(rows, 8, 'euclidean_squared', { lists: 5 }), 'e');
    expect(e.metric).toBe('euclidean_squared');
    expect(e.lists).toBe(5);
    // No vectors at all: an empty index.
    const none = new MvIvfFile(buildMvIvfFile([null, null], 8, 'cosine_distance'), 'n');
    expect([none.lists, none.entries, none.rows]).toEqual([0, 0, 2]);
    expect(mvIvfCandidates(none, [new Float32Array(8).fill(1)], none.probes([new Float32Array(8).fill(1)], 4), () => {
      throw new Error('no lists');
    }, 10, () => true, () => {})).toEqual([]);
  });

  it('should refuse damaged files with ELAX_ERR_CORRUPT', () => {
    const bytes = buildMvIvfFile(randomRows(seededRandom(2), 200, 4), 4, 'cosine_distance');
    const damaged = (at: number) => {
      const b = bytes.slice();
      b[at] = b[at]! ^ 0x40;
      return b;
    };
    expectCorrupt(() => new MvIvfFile(damaged(0), 'x'), /bad magic/);
    expectCorrupt(() => new MvIvfFile(damaged(4), 'x'), /version/);
    expectCorrupt(() => new MvIvfFile(damaged(5), 'x'), /metric/);
    expectCorrupt(() => new MvIvfFile(damaged(70), 'x'), /checksum/); // a centroid
    expectCorrupt(() => new MvIvfFile(bytes.subarray(0, bytes.length - 1), 'x'), /has \d+ bytes/);
    expectCorrupt(() => new MvIvfFile(bytes.subarray(0, 40), 'x'), /bad magic|truncated/);
    const f = new MvIvfFile(bytes, 'x');
    const r = f.listRange(1);
    const list = damaged(r.start + 5).subarray(r.start, r.end);
    expectCorrupt(() => f.decodeList(1, list), /CRC-32/);
    expectCorrupt(() => f.decodeList(1, bytes.subarray(r.start, r.end - 1)), /expected/);
  });

  it('should read by ranges: the prefix, then only the probed lists (bytes counted)', async () => {
    const rows = randomRows(seededRandom(3), 4000, 16);
    const bytes = buildMvIvfFile(rows, 16, 'cosine_distance');
    const reads: [number, number][] = [];
    const read = async (start: number, end: number) => {
      reads.push([start, end]);
      return bytes.slice(start, end);
    };
    const f = await openMvIvfRanged(read, bytes.byteLength, 'r');
    expect(f.lists).toBeGreaterThan(100);
    const prefixRead = reads.reduce((s, [a, b]) => s + b - a, 0);
    expect(prefixRead).toBeLessThanOrEqual(Math.max(f.listsAt, 64 * 1024));
    reads.length = 0;
    const q = [Float32Array.from({ length: 16 }, (_, i) => i - 8), Float32Array.from({ length: 16 }, (_, i) => (i % 3) - 1)];
    const probes = f.probes(q, 4);
    const wanted = probedLists(probes);
    expect(wanted.length).toBeGreaterThanOrEqual(4);
    expect(wanted.length).toBeLessThanOrEqual(8);
    const lists = await fetchMvIvfLists(f, read, wanted);
    expect([...lists.keys()].sort((a, b) => a - b)).toEqual(wanted);
    // Only those lists (and, when they are close together, the little between them) are read, each range within the lists.
    const listBytes = wanted.reduce((s, c) => s + f.listRange(c).end - f.listRange(c).start, 0);
    const got = reads.reduce((s, [a, b]) => s + b - a, 0);
    expect(got).toBeGreaterThanOrEqual(listBytes);
    expect(got).toBeLessThanOrEqual(listBytes + reads.length * 4 * 1024);
    expect(got).toBeLessThan((bytes.byteLength - f.listsAt) / 4);
    for (const [a, b] of reads) expect(a >= f.listsAt && b <= bytes.byteLength).toBe(true);
    // The lists read by ranges are those the whole file holds.
    for (const c of wanted) {
      const r = f.listRange(c);
      expect(lists.get(c)).toEqual(f.decodeList(c, bytes.subarray(r.start, r.end)));
    }
    // A damaged range is refused.
    const bad = async (start: number, end: number) => {
      const b = bytes.slice(start, end);
      b[b.length - 1] ^= 1;
      return b;
    };
    await expect(fetchMvIvfLists(f, bad, wanted.slice(0, 1))).rejects.toThrow(/CRC-32/);
    // A small file (≤ 64 KiB) comes whole in the first read; its lists need no more reads.
    const small = buildMvIvfFile(randomRows(seededRandom(4), 100, 4), 4, 'cosine_distance');
    reads.length = 0;
    const sf = await openMvIvfRanged(async (a, b) => {
      reads.push([a, b]);
      return small.slice(a, b);
    }, small.byteLength, 's');
    expect(reads).toEqual([[0, small.byteLength]]);
    const sl = await fetchMvIvfLists(sf, async () => {
      throw new Error('read');
    }, [0, sf.lists - 1]);
    expect(sl.get(0)).toEqual(sf.decodeList(0, small.subarray(sf.listRange(0).start, sf.listRange(0).end)));
  });

  it('should give candidates whose exact re-rank finds the true top 10 far more often than MUVERA at the same count', () => {
    const { data, query } = clustered(77, 2000, 16, 128);
    const bytes = buildMvIvfFile(data, 16, 'cosine_distance');
    const f = new MvIvfFile(bytes, 'q');
    const lists = allLists(f, bytes);
    const fde = new FdeFile(buildFdeFile(data, defaultFdeParams(16), 'cosine_distance'), 'fde');
    let ivfFound = 0;
    let fdeFound = 0;
    const Q = 20;
    const C = 100;
    for (let i = 0; i < Q; i++) {
      const q = multiQuery(query(), 'cosine_distance');
      const exact = data.map((r, o) => [o, maxSimDistanceOf(q, r)] as const).sort((a, b) => a[1] - b[1] || a[0] - b[0]).slice(0, 10).map(([o]) => o);
      const rerank = (cands: number[]) => cands.map((o) => [o, maxSimDistanceOf(q, data[o]!)] as const).sort((a, b) => a[1] - b[1] || a[0] - b[0]).slice(0, 10).map(([o]) => o);
      const ivf = mvIvfCandidates(f, q.vectors, f.probes(q.vectors, 8), (c) => lists[c]!, C, () => true, () => {});
      expect(ivf.length).toBe(C);
      ivfFound += rerank(ivf).filter((o) => exact.includes(o)).length;
      fdeFound += rerank(fde.candidates(q.vectors, C, () => true, () => {})).filter((o) => exact.includes(o)).length;
      // accept() is honoured: odd rows only.
      const odd = mvIvfCandidates(f, q.vectors, f.probes(q.vectors, 8), (c) => lists[c]!, C, (o) => o % 2 === 1, () => {});
      expect(odd.length).toBeGreaterThan(0);
      expect(odd.every((o) => o % 2 === 1)).toBe(true);
    }
    const ivfRecall = ivfFound / (Q * 10);
    const fdeRecall = fdeFound / (Q * 10);
    expect(ivfRecall).toBeGreaterThanOrEqual(0.85);
    expect(ivfRecall).toBeGreaterThan(fdeRecall + 0.2);
    // Built in two levels (as parts of more than MVIVF_MAX_FLAT lists are): still well above MUVERA.
    const twoBytes = buildMvIvfFile(data, 16, 'cosine_distance', { maxFlat: 16 });
    const two = new MvIvfFile(twoBytes, 'two');
    const twoLists = allLists(two, twoBytes);
    let twoFound = 0;
    const { query: query2 } = clustered(77, 2000, 16, 128); // the same rows, the same queries as above
    for (let i = 0; i < Q; i++) {
      const q = multiQuery(query2(), 'cosine_distance');
      const exact = data.map((r, o) => [o, maxSimDistanceOf(q, r)] as const).sort((a, b) => a[1] - b[1] || a[0] - b[0]).slice(0, 10).map(([o]) => o);
      const cands = mvIvfCandidates(two, q.vectors, two.probes(q.vectors, 8), (c) => twoLists[c]!, C, () => true, () => {});
      twoFound += cands.map((o) => [o, maxSimDistanceOf(q, data[o]!)] as const).sort((a, b) => a[1] - b[1] || a[0] - b[0]).slice(0, 10).filter(([o]) => exact.includes(o)).length;
    }
    expect(twoFound / (Q * 10)).toBeGreaterThan(fdeRecall + 0.2);
    // Probing every list scores every row: the exact answer is among the candidates when they are all of them.
    const q = multiQuery(query(), 'cosine_distance');
    const all = mvIvfCandidates(f, q.vectors, f.probes(q.vectors, Infinity), (c) => lists[c]!, data.length, () => true, () => {});
    expect(all.length).toBe(data.length);
  });
});
