/**
 * The injected random source of the ivf kernels: a function returning uniform numbers in [0, 1), like the
 * Engine's `random` option. Seed it (bench/lib.ts `rng`) and every build is reproducible.
 */
export type Random = () => number;

/**
 * mulberry32, the project's one seeded PRNG (bench/lib.ts `rng` and part/testing.ts re-export it). Builds that must be byte-identical for the same input
 * (part files, codebooks) draw from it with a fixed seed.
 */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sampler over `random` (Box–Muller; the second value of each pair is kept for the next call). */
export function gaussian(random: Random): () => number {
  let spare = NaN;
  return () => {
    if (!Number.isNaN(spare)) {
      const s = spare;
      spare = NaN;
      return s;
    }
    const u = 1 - random(); // (0, 1]: log(u) is finite
    const r = Math.sqrt(-2 * Math.log(u));
    const t = 2 * Math.PI * random();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
}

/** `m` distinct entries of `from`, in random order (a partial Fisher–Yates shuffle of a copy). All of them when m ≥ length. */
export function sampleOf(from: Uint32Array, m: number, random: Random): Uint32Array {
  if (m >= from.length) return from.slice();
  const a = from.slice();
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(random() * (a.length - i));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a.subarray(0, m);
}

/** 0, 1, …, n − 1. */
export function allRows(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}
