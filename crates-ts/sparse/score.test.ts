import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { SparseVector } from '../core/index.js';
import { buildSparseIndex, SparseIndexFile } from './index-file.js';
import { LooseSparseIndex, SparseWindow } from './loose-index.js';
import { scoreFromIndex, scoreFromValues, type SparseSink } from './score.js';
import { normalizeSparse, sparseEntries, type SparseEntries } from './vector.js';

/** Brute force, written independently: Σ q·v over shared dims (ascending), rows sharing a dim, score desc, ord asc. */
function brute(rows: (SparseVector | null)[], q: Record<string, number>, k: number, accept: (o: number) => boolean): [number, number][] {
  const dims = Object.keys(q).map(Number).sort((a, b) => a - b);
  const out: [number, number][] = [];
  rows.forEach((v, o) => {
    if (!v || !accept(o)) return;
    let s = 0;
    let any = false;
    for (const d of dims) {
      const w = v[String(d)];
      if (w === undefined) continue;
      s += Math.fround(q[String(d)]!) * w;
      any = true;
    }
    if (any) out.push([o, s]);
  });
  out.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return out.slice(0, k);
}

/** A top-k sink (score desc, ord asc), optionally starting from a threshold carried from "earlier sources". */
function topK(k: number): SparseSink & { result(): [number, number][] } {
  const kept: [number, number][] = [];
  const sort = () => kept.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return {
    threshold: () => (kept.length === k ? kept[k - 1]![1] : undefined),
    offer(o, s) {
      kept.push([o, s]);
      sort();
      if (kept.length > k) kept.pop();
    },
    result: () => kept.slice(),
  };
}

const weight = fc.integer({ min: -40, max: 80 }).map((x) => x / 8);
const vec = fc.dictionary(fc.integer({ min: 0, max: 30 }).map(String), weight, { maxKeys: 6 });
const rowsArb = fc.array(fc.option(vec, { nil: null, freq: 6 }), { maxLength: 120 });

describe('sparse scoring', () => {
  it('should give the brute-force top k from the index (with max-score pruning) and from the values, ties by ordinal', () => {
    fc.assert(
      fc.property(rowsArb, vec, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 3 }), (raw, q, k, mod) => {
        const rows = raw.map((v) => (v === null ? null : normalizeSparse(v, 'f16', 'test')));
        const accept = (o: number) => mod === 0 || o % (mod + 1) !== 0;
        const want = brute(rows, q, k, accept);
        const qe: SparseEntries = sparseEntries(normalizeSparse(q, 'f32', 'q'));
        const ix = new SparseIndexFile(buildSparseIndex(rows), 'test');
        const a = topK(k);
        scoreFromIndex(qe, (d) => ix.list(d), accept, a);
        expect(a.result()).toEqual(want);
        const b = topK(k);
        scoreFromValues(qe, rows.length, (o) => rows[o], accept, b);
        expect(b.result()).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });

  it('should give the same answer from the tail loose postings, extended in steps and read through windows', () => {
    fc.assert(
      fc.property(rowsArb, vec, fc.integer({ min: 1, max: 15 }), fc.nat(), fc.nat(), (raw, q, k, a, b) => {
        const rows = raw.map((v) => (v === null ? null : normalizeSparse(v, 'f16', 'test')));
        const qe = sparseEntries(normalizeSparse(q, 'f32', 'q'));
        const ix = new LooseSparseIndex((p) => rows[p]);
        const cut = rows.length === 0 ? 0 : a % (rows.length + 1);
        ix.extendTo(cut); // a first query saw `cut` rows; the rest arrived after
        ix.extendTo(rows.length);
        const base = rows.length === 0 ? 0 : b % (rows.length + 1);
        const window = rows.slice(base);
        const got = topK(k);
        scoreFromIndex(qe, (d) => (base === 0 ? ix : new SparseWindow(ix, base, window.length)).list(d), () => true, got);
        expect(got.result()).toEqual(brute(window, q, k, () => true));
      }),
      { numRuns: 200 },
    );
  });

  it('should prune dimensions whose bounds cannot reach the carried threshold, and still be exact', () => {
    // 1000 rows hold dimension 1 with weight 0.25; rows 0..4 also hold dimension 2 with weight 10.
    const rows: SparseVector[] = Array.from({ length: 1000 }, (_, o): SparseVector => (o < 5 ? { '1': 0.25, '2': 10 } : { '1': 0.25 }));
    const ix = new SparseIndexFile(buildSparseIndex(rows), 'test');
    const q = sparseEntries({ '1': 1, '2': 1 });
    // A threshold of 5 carried from earlier sources (a full top-3 of scores ≥ 5): dimension 1 (bound 0.25) is
    // non-essential, so only the 5 rows of dimension 2 are scored.
    const kept: [number, number][] = [[-1, 6], [-2, 5.5], [-3, 5]];
    const sink: SparseSink = {
      threshold: () => kept[2]![1],
      offer(o, s) {
        kept.push([o, s]);
        kept.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
        kept.pop();
      },
    };
    const stats = scoreFromIndex(q, (d) => ix.list(d), () => true, sink);
    expect(stats).toEqual({ lists: 2, essential: 1, candidates: 5 });
    expect(kept).toEqual([[0, 10.25], [1, 10.25], [2, 10.25]]);
  });

  it('should bound negative query weights by the smallest stored weight (no row is lost)', () => {
    const rows: SparseVector[] = [{ '1': -4 }, { '1': 2 }, { '2': 1 }];
    const ix = new SparseIndexFile(buildSparseIndex(rows), 'test');
    const sink = topK(1);
    sink.offer(99, 3.5); // carried: one row at 3.5; -1 × -4 = 4 must still enter
    scoreFromIndex(sparseEntries({ '1': -1, '2': 0.5 }), (d) => ix.list(d), () => true, sink);
    expect(sink.result()).toEqual([[0, 4]]);
  });
});

describe('sparse values', () => {
  it('should normalise dimensions and weights, and refuse what is not a sparse vector', () => {
    expect(normalizeSparse({ '10': 1, '2': 0.1 }, 'f32', 'w')).toEqual({ '2': Math.fround(0.1), '10': 1 });
    expect(normalizeSparse({ '2': 0.1 }, 'f16', 'w')).toEqual({ '2': 0.0999755859375 });
    expect(Object.keys(normalizeSparse({ '4294967295': 1, '7': 1 }, 'f32', 'w'))).toEqual(['7', '4294967295']);
    expect(() => normalizeSparse({ '4294967296': 1 }, 'f32', 'w')).toThrow(/not an integer/);
    expect(() => normalizeSparse({ '-1': 1 }, 'f32', 'w')).toThrow(/not an integer/);
    expect(() => normalizeSparse({ '1': Infinity }, 'f32', 'w')).toThrow(/finite/);
    expect(() => normalizeSparse({ '1': 70000 }, 'f16', 'w')).toThrow(/range of f16/);
    expect(() => normalizeSparse([1], 'f16', 'w')).toThrow(/object/);
  });
});
