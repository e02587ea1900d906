/**
 * The tail's exact vector scan as a pool task (pool-scan.ts) against the straightforward computation: every live row
 * with a vector, its distance by the JS kernel (bit-identical to the SIMD one: vector-arena.test.ts), the k nearest
 * and all rows tied with the k-th. Randomized over chunk layouts, windows (base), dead rows, rows without vectors,
 * selections, duplicate vectors (ties), both metrics, and arenas with no free scratch slot (JS kernels).
 */
import { describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createPool } from '../pool/index.js';
import { gatedPool, runAndCancel } from '../pool/gated-test-helpers.js';
import { distanceAt, sqNormAt } from './distance.js';
import { scanVectors, type ScanChunk, type VectorScanInput } from './pool-scan.js';
import { TopKTies } from '../core/index.js';
import { VectorArena } from './vector-arena.js';
import { seededRandom } from '../ivf/index.js';

/** The multiset of (ord, dist) every correct answer holds: rows at or under the k-th smallest distance. */
function expected(all: { o: number; d: number }[], k: number): string[] {
  if (k <= 0 || all.length === 0) return [];
  const sorted = [...all].sort((a, b) => a.d - b.d);
  const kth = sorted[Math.min(k, sorted.length) - 1]!.d;
  return all.filter((x) => x.d <= kth).map((x) => `${x.o}:${x.d}`).sort();
}
const got = (r: { ords: Int32Array; dists: Float64Array }) => Array.from(r.ords, (o, j) => `${o}:${r.dists[j]}`).sort();

describe('TopKTies', () => {
  it('keeps the k smallest offers and every offer tied with the k-th, for random offers with many ties', () => {
    const rand = seededRandom(5);
    for (let round = 0; round < 300; round++) {
      const k = 1 + Math.floor(rand() * 12);
      const n = Math.floor(rand() * 80);
      const levels = 1 + Math.floor(rand() * 6); // few distinct distances: many ties
      const offers = Array.from({ length: n }, (_, o) => ({ o, d: Math.floor(rand() * levels) / levels }));
      const top = new TopKTies(k);
      for (const x of offers) top.offer(x.d, x.o);
      expect(got(top.result()), `round ${round}`).toEqual(expected(offers, k));
    }
  });
});

interface Layout {
  input: VectorScanInput;
  /** The reference: each scanned row's distance by the JS kernel. */
  rows: { o: number; d: number }[];
}

/** A random tail: chunks of 2^shift rows in shared arenas, a window from `base`, dead rows, rows without vectors. */
function makeTail(seed: number, opts: { select?: boolean } = {}): Layout {
  const rand = seededRandom(seed);
  const dims = [3, 4, 8, 13, 16][Math.floor(rand() * 5)]!;
  const shift = 3 + Math.floor(rand() * 3);
  const per = 1 << shift;
  const base = Math.floor(rand() * per * 2);
  const n = Math.floor(rand() * per * 5);
  const cosine = rand() < 0.5;
  const first = base >>> shift;
  const last = (base + Math.max(n, 1) - 1) >>> shift;
  const chunks: (ScanChunk | null)[] = [];
  const arenas: (VectorArena | null)[] = [];
  const pool = Array.from({ length: 5 }, () => Array.from({ length: dims }, () => Math.round((rand() * 2 - 1) * 8) / 8));
  const present = new Uint8Array((n + 7) >> 3);
  const dead = new Uint8Array(n);
  const noVectors = rand() < 0.2 ? first + 1 : -1; // a chunk none of whose rows has a vector
  for (let c = first; c <= last; c++) {
    if (c === noVectors) {
      chunks.push(null);
      arenas.push(null);
      continue;
    }
    const arena = VectorArena.create(dims, per, { shared: true })!;
    expect(arena.shared).toBe(true);
    const sqNorms = new Float64Array(new SharedArrayBuffer(per * 8));
    for (let r = 0; r < per; r++) {
      // Duplicate vectors (ties) and fresh ones.
      const v = rand() < 0.3 ? pool[Math.floor(rand() * pool.length)]! : Array.from({ length: dims }, () => rand() * 2 - 1);
      arena.data.set(v, r * dims);
      sqNorms[r] = sqNormAt(arena.data, r * dims, dims);
    }
    chunks.push({ memory: arena.memory, capacity: per, sqNorms });
    arenas.push(arena);
  }
  const query = Float32Array.from({ length: dims }, () => rand() * 2 - 1);
  const dist = distanceAt(cosine ? 'cosine_distance' : 'euclidean_squared', query);
  const rows: { o: number; d: number }[] = [];
  let ords: Int32Array | null = null;
  const selected: number[] = [];
  for (let o = 0; o < n; o++) {
    const p = base + o;
    const arena = arenas[(p >>> shift) - first]!;
    const has = arena !== null && rand() < 0.9;
    if (has) present[o >> 3]! |= 1 << (o & 7);
    if (rand() < 0.15) dead[o] = 1;
    const live = has && dead[o] === 0;
    if (opts.select) {
      if (live && rand() < 0.6) selected.push(o);
      else continue;
    } else if (!live) continue;
    rows.push({ o, d: dist(arena.data, (p & (per - 1)) * dims) });
  }
  if (opts.select) ords = Int32Array.from(selected);
  const k = Math.floor(rand() * 12);
  return {
    input: {
      dims,
      cosine,
      query,
      k,
      base,
      shift,
      firstChunk: first,
      chunks,
      n,
      ords,
      dead: opts.select ? null : dead,
      present: opts.select ? null : present,
      cancel: null,
    },
    rows,
  };
}

describe('scanVectors', () => {
  it('answers the k nearest live rows and their ties, as the JS kernel computes them, over random tails', () => {
    for (let seed = 1; seed <= 150; seed++) {
      const t = makeTail(seed);
      const r = scanVectors(t.input);
      expect(r.cancelled).toBe(false);
      expect(r.scanned, `seed ${seed}`).toBe(t.rows.length);
      expect(got(r), `seed ${seed}`).toEqual(expected(t.rows, t.input.k));
    }
  });

  it('scans exactly the selected ordinals when given them (a filter applied by the caller)', () => {
    for (let seed = 200; seed <= 280; seed++) {
      const t = makeTail(seed, { select: true });
      const r = scanVectors(t.input);
      expect(r.scanned, `seed ${seed}`).toBe(t.rows.length);
      expect(got(r), `seed ${seed}`).toEqual(expected(t.rows, t.input.k));
    }
  });

  it('gives the same answer with the JS kernels when every scratch slot of the arenas is taken', () => {
    for (let seed = 300; seed <= 330; seed++) {
      const t = makeTail(seed);
      const leases = t.input.chunks.flatMap((c) => {
        const held = [];
        for (;;) {
          if (c === null) break;
          const l = VectorArena.attach(c.memory, t.input.dims, c.capacity);
          if (l === null) break;
          held.push(l);
        }
        return held;
      });
      expect(leases.length).toBe(t.input.chunks.filter((c) => c !== null).length * 7);
      const r = scanVectors(t.input);
      for (const l of leases) l.release();
      expect(got(r), `seed ${seed}`).toEqual(expected(t.rows, t.input.k));
      // Every slot was given back: a scan after it attaches again.
      expect(got(scanVectors(t.input))).toEqual(got(r));
    }
  });

  it('stops at once when its cancel flag is set', () => {
    const t = makeTail(7);
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(cancel, 0, 1);
    const r = scanVectors({ ...t.input, cancel });
    expect(r).toMatchObject({ cancelled: true, scanned: 0 });
    expect(r.ords.length).toBe(0);
  });
});

describe('vector-scan on a pool thread', () => {
  const now = () => performance.now();

  it('answers on the thread what it answers inline, reading the shared arenas in place', async () => {
    const pool = createPool({ threads: 1, now });
    try {
      await pool.ready();
      for (let seed = 400; seed <= 420; seed++) {
        const t = makeTail(seed, { select: seed % 2 === 0 });
        const pooled = await pool.run('vector-scan', t.input);
        expect(got(pooled), `seed ${seed}`).toEqual(got(scanVectors(t.input)));
      }
      expect(pool.stats().byKind['vector-scan']).toMatchObject({ tasks: 21, errors: 0 });
      expect(pool.stats().fallbacks + pool.stats().coldInline).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('does not keep the shared memory of finished scans alive on its thread (at most GC_AFTER_SHARED_BYTES and one input)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const pool = createPool({ threads: 1, now });
    try {
      await pool.ready();
      const dims = 128;
      const per = 1 << 14; // 8 MiB arenas, as the tail's
      const rss = () => process.memoryUsage().rss;
      gc();
      const before = rss();
      for (let i = 0; i < 96; i++) {
        // A new arena per scan, dropped here right after: 768 MiB went through the thread in all.
        const arena = VectorArena.create(dims, per, { shared: true })!;
        arena.data.fill(0.25);
        const chunk: ScanChunk = { memory: arena.memory, capacity: per, sqNorms: new Float64Array(new SharedArrayBuffer(per * 8)).fill(8) };
        const r = await pool.run('vector-scan', { dims, cosine: true, query: new Float32Array(dims).fill(1), k: 1, base: 0, shift: 14, firstChunk: 0, chunks: [chunk], n: 64, ords: null, dead: null, present: null, cancel: null });
        expect(r.scanned).toBe(64);
      }
      gc();
      await new Promise((r) => setTimeout(r, 200));
      gc();
      // Without the thread's collections the 96 arenas stay resident (≥ 768 MiB more); with them, at most the
      // threshold (256 MiB) and the last inputs.
      expect(rss() - before).toBeLessThan(512 * 1024 * 1024);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('a cancelled scan frees its thread: the next task runs, and no thread is replaced', async () => {
    // The gated entry holds the first vector-scan until its cancel flag is set (or 60 s): only cancelling frees it.
    const pool = await gatedPool(now);
    try {
      const t = makeTail(11);
      await runAndCancel(pool, 'vector-scan', t.input);
      // The same single thread answers the next scan (it would wait out the gate's 60 s had the scan kept it).
      const next = await pool.run('vector-scan', { ...t.input, cancel: new Int32Array(new SharedArrayBuffer(4)) });
      expect(got(next)).toEqual(got(scanVectors(t.input)));
      expect(pool.stats().byKind['vector-scan']).toMatchObject({ tasks: 2, cancelled: 1, errors: 1 });
      expect(pool.stats().fallbacks).toBe(0); // the thread was not terminated and replaced
    } finally {
      await pool.close();
    }
  }, 30_000);
});
