/** Test helpers for this module's tests (not exported from index.ts). */
import { expect } from 'vitest';
import { isElaxError, type ErrorCode } from '../core/index.js';

/** Assert `fn` throws an ElaxError with `code` whose message matches every pattern. Returns the message. */
export function expectElaxError(fn: () => unknown, code: ErrorCode, ...patterns: (RegExp | string)[]): string {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) throw new Error(`expected ${code} to be thrown, but nothing was thrown`);
  if (!isElaxError(thrown)) throw thrown;
  expect(thrown.code, thrown.message).toBe(code);
  expect(thrown.status).toBe(code === 'ELAX_ERR_INTERNAL' || code === 'ELAX_ERR_CORRUPT' ? 500 : 400);
  for (const p of patterns) {
    if (typeof p === 'string') expect(thrown.message).toContain(p);
    else expect(thrown.message).toMatch(p);
  }
  return thrown.message;
}

/** Reference f32 → f16 bit conversion (round to nearest even), independent of f16round's arithmetic approach. */
export function f32ToF16Bits(x: number): number {
  const u = new Uint32Array(new Float32Array([x]).buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 2 ** (shift - 1);
    let h = Math.floor(mant / 2 ** shift);
    const rem = mant - h * 2 ** shift;
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}
