/**
 * Retry timing, pure: exponential backoff with full jitter, and Retry-After parsing. Which answers are retried
 * lives in http.ts.
 */

export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Delay before retry number `attempt` (0 = first retry): uniform in [0, min(max, base·2^attempt)] ("full
 * jitter"), so many clients that failed together do not retry together.
 */
export function backoffDelay(attempt: number, random: () => number, o: BackoffOptions): number {
  const ceiling = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/**
 * Retry-After (RFC 9110 §10.2.3) in ms: delay-seconds, or an HTTP-date relative to `nowMs`. A date in the past
 * is 0; anything unparseable is undefined (the caller falls back to its own backoff).
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Some servers send fractional seconds; accept them rather than ignore the hint.
  if (/^\d*\.\d+$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  if (!Number.isFinite(t) || !/[a-z]/i.test(v)) return undefined;
  return Math.max(0, t - nowMs);
}

/**
 * The wait before the next attempt: at least what the server asked for (plus a little jitter so clients told the
 * same Retry-After do not return in lockstep), else the exponential backoff.
 */
export function retryDelay(attempt: number, retryAfterMs: number | undefined, random: () => number, o: BackoffOptions): number {
  if (retryAfterMs === undefined) return backoffDelay(attempt, random, o);
  return retryAfterMs + Math.floor(random() * Math.min(o.baseDelayMs, 1000));
}
