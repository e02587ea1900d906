import { describe, it, expect } from 'vitest';
import { FdeEncoder, FdeFile, buildFdeFile, defaultFdeParams, fdeLength, type FdeParams } from './index.js';
import { isElaxError } from '../core/index.js';
import { seededRandom as rng } from '../ivf/random.js';

const randomSet = (r: () => number, n: number, d: number) => Array.from({ length: n }, () => Array.from({ length: d }, () => Math.fround(r() * 2 - 1)));
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
/** Chamfer similarity of unit vectors, computed here: Σ_q max_d cos(q, d). */
const chamfer = (q: number[][], d: number[][]) => q.reduce((s, a) => s + Math.max(...d.map((b) => dot(unit(a), unit(b)))), 0);

describe('MUVERA FDE', () => {
  const P: FdeParams = { seed: 42, dims: 8, kSim: 3, reps: 4, dProj: 8 };

  it('should be deterministic: the same seed and parameters give the same encoding, another seed another', () => {
    const set = randomSet(rng(1), 5, 8);
    const a = new FdeEncoder(P).encodeDoc(set, 'cosine_distance');
    const b = new FdeEncoder({ ...P }).encodeDoc(set, 'cosine_distance');
    expect(a.length).toBe(fdeLength(P));
    expect(a.length).toBe(4 * 8 * 8);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    const c = new FdeEncoder({ ...P, seed: 43 }).encodeDoc(set, 'cosine_distance');
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
    // Projection to fewer dimensions: still deterministic, the documented length.
    const p2 = { ...P, dProj: 3 };
    expect(new FdeEncoder(p2).encodeQuery(set, 'cosine_distance')).toEqual(new FdeEncoder(p2).encodeQuery(set, 'cosine_distance'));
    expect(new FdeEncoder(p2).length).toBe(4 * 8 * 3);
  });

  it('should encode one vector as the vector itself in every block of a document (empty partitions filled), and once per repetition for a query', () => {
    const v = [0.5, -0.25, 0.125, 1, 0, 0, 0, 0];
    const n = Math.hypot(...v);
    const enc = new FdeEncoder(P);
    const d = enc.encodeDoc([v], 'cosine_distance');
    for (let blk = 0; blk < 4 * 8; blk++) for (let j = 0; j < 8; j++) expect(d[blk * 8 + j]).toBeCloseTo(v[j]! / n, 6);
    const q = enc.encodeQuery([v], 'cosine_distance');
    const nonzero = Array.from({ length: 32 }, (_, blk) => q.subarray(blk * 8, blk * 8 + 8).some((x) => x !== 0)).filter(Boolean).length;
    expect(nonzero).toBe(4); // one partition per repetition
    // ⟨FDE(q), FDE(d)⟩ = reps × cos(q, d) for single vectors.
    expect(dot(q, d)).toBeCloseTo(4, 5);
  });

  it('should approximate Chamfer similarity: the FDE inner product ranks the true best row near the top', () => {
    const r = rng(7);
    const dims = 16;
    const enc = new FdeEncoder({ seed: 9, dims, kSim: 4, reps: 10, dProj: dims });
    const docs = Array.from({ length: 150 }, () => randomSet(r, 6, dims));
    let hits = 0;
    const trials = 20;
    for (let t = 0; t < trials; t++) {
      // A query made of noisy copies of one document's vectors: that document is the Chamfer best.
      const target = docs[t]!;
      const q = target.slice(0, 4).map((v) => v.map((x) => x + (r() - 0.5) * 0.2));
      const exact = docs.map((d, i) => [i, chamfer(q, d)] as const).sort((a, b) => b[1] - a[1])[0]![0];
      const qf = enc.encodeQuery(q, 'cosine_distance');
      const byFde = docs.map((d, i) => [i, dot(qf, enc.encodeDoc(d, 'cosine_distance'))] as const).sort((a, b) => b[1] - a[1]);
      if (byFde.slice(0, 10).some(([i]) => i === exact)) hits++;
    }
    expect(hits).toBeGreaterThanOrEqual(18);
  });
});

describe('MUVERA index file', () => {
  for (const version of [1, 2] as const) it(`should round-trip the encodings with their parameters and give the best candidates by inner product (version ${version})`, () => {
    const r = rng(3);
    const values: unknown[] = Array.from({ length: 50 }, (_, i) => (i % 7 === 3 ? null : randomSet(r, 1 + (i % 4), 6)));
    const params = defaultFdeParams(6);
    const bytes = buildFdeFile(values, params, 'cosine_distance', version);
    expect(Buffer.from(buildFdeFile(values, params, 'cosine_distance', version)).equals(Buffer.from(bytes))).toBe(true);
    const f = new FdeFile(bytes, 't');
    expect(f.version).toBe(version);
    // Version 2 is int8 with a per-row scale: ~4× smaller than version 1.
    if (version === 2) expect(bytes.byteLength).toBeLessThan(buildFdeFile(values, params, 'cosine_distance', 1).byteLength / 3);
    expect(f.rows).toBe(50);
    expect(f.params).toEqual(params);
    expect(f.metric).toBe('cosine_distance');
    const enc = new FdeEncoder(params);
    values.forEach((v, o) => {
      expect(f.has(o)).toBe(v !== null);
      if (v === null) return;
      const want = enc.encodeDoc(v as number[][], 'cosine_distance');
      const got = f.encodingOf(o);
      if (version === 1) expect(got).toEqual(want);
      else {
        // Each value within half a quantisation step (max |x| / 254) of the encoding.
        const step = Math.max(...Array.from(want, Math.abs)) / 127;
        want.forEach((x, j) => expect(Math.abs(got[j]! - x)).toBeLessThanOrEqual(step / 2 + 1e-6));
      }
    });
    const q = randomSet(r, 3, 6).map((v) => Float32Array.from(v));
    const qf = enc.encodeQuery(q, 'cosine_distance');
    const accept = (o: number) => o % 2 === 0;
    const want = values
      .map((v, o) => [o, v === null || !accept(o) ? null : dot(qf, f.encodingOf(o))] as const)
      .filter((x) => x[1] !== null)
      .sort((a, b) => b[1]! - a[1]! || a[0] - b[0])
      .slice(0, 7)
      .map((x) => x[0]);
    const got = f.candidates(q, 7, accept, () => {});
    if (version === 1) expect(got).toEqual(want);
    else {
      // Scores are summed over the codes then scaled: equal to the dequantised dot up to rounding; same set here.
      expect([...got].sort((a, b) => a - b)).toEqual([...want].sort((a, b) => a - b));
    }
    // Corruption is detected.
    const bad = bytes.slice();
    bad[0] = 0;
    const badVersion = bytes.slice();
    badVersion[4] = 3;
    expect(() => new FdeFile(badVersion, 't')).toThrow(/unknown MUVERA index version 3/);
    expect(() => new FdeFile(bad, 't')).toThrow(/bad magic/);
    let err: unknown = null;
    try {
      new FdeFile(bytes.subarray(0, bytes.byteLength - 4), 't');
    } catch (e) {
      err = e;
    }
    expect(isElaxError(err) && err.code).toBe('ELAX_ERR_CORRUPT');
    expect(String((err as Error).message)).toMatch(/size does not match/);
  });
});
