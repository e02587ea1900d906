/**
 * Small helpers shared by the backends: range checks and the default sleep (injectable, so crates-ts logic never
 * calls timers directly).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ElaxError } from '../core/index.js';
import type { ByteRange } from './types.js';

export type Sleep = (ms: number) => Promise<void>;
export const systemSleep: Sleep = (ms) => delay(ms);

/** Throw unless `range` is a well-formed [start, end) with 0 <= start <= end (a programming error otherwise). */
export function checkRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new ElaxError('ELAX_ERR_INTERNAL', `invalid byte range [${start}, ${end}): need integers 0 <= start <= end`);
  }
}

export function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}
