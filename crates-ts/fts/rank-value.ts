/**
 * The numeric operators of rank_by expressions (turbopuffer's full-text docs, "Rank by attribute" / "Rank by distance"):
 *
 *   Saturate(x) = x^exponent / (x^exponent + midpoint^exponent)     x taken as max(x, 0): [0, 1), 0.5 at the midpoint
 *   Decay(x)    = midpoint^exponent / (x^exponent + midpoint^exponent)  x taken as max(x, 0)*: (0, 1], 0.5 at the midpoint
 *   Dist(x, origin) = |x - origin|                                   datetimes in epoch milliseconds
 *
 * exponent defaults to 1. Both are computed as 1 / (1 + r^exponent) with r = midpoint / x (Saturate) or x / midpoint
 * (Decay): the same function, without overflowing to Infinity / Infinity for large x or exponents.
 * (* turbopuffer documents the clamp for Saturate only; Decay of a negative value would be undefined for fractional
 * exponents and unbounded for others, so elax clamps it too: a negative input decays like 0.)
 *
 * A midpoint on a datetime (a Dist over a datetime attribute, or the attribute itself) may be a number of
 * milliseconds or a duration string: a sequence of <number><unit> with units ms, s, m, h, d, w ("6h", "1d12h", "1.5h").
 */

export function saturate(x: number, midpoint: number, exponent: number): number {
  const v = x > 0 ? x : 0;
  if (v === 0) return 0;
  return 1 / (1 + Math.pow(midpoint / v, exponent));
}

export function decay(x: number, midpoint: number, exponent: number): number {
  const v = x > 0 ? x : 0;
  if (v === 0) return 1;
  return 1 / (1 + Math.pow(v / midpoint, exponent));
}

export function dist(x: number, origin: number): number {
  return Math.abs(x - origin);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/** Milliseconds of a duration string such as "6h", "500ms" or "1d12h"; null if it is not one. */
export function parseDuration(s: string): number | null {
  if (!DURATION_RE.test(s)) return null;
  let ms = 0;
  for (const m of s.matchAll(PART_RE)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}
