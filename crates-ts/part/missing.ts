/**
 * A part file that is not in the store. Parts are immutable and deleted only by GC after they left the router, so
 * a node that meets one is almost always holding a router older than the GC grace period: the caller refreshes its
 * view and retries once (engine), and only a part the *current* router still references is real corruption.
 */
import { ElaxError } from '../core/index.js';

const MISSING = Symbol('elax.partFileMissing');

export function partFileMissing(key: string, storeDescription: string): ElaxError {
  const e = new ElaxError('ELAX_ERR_CORRUPT', `part file ${key} is missing from ${storeDescription}`);
  (e as unknown as Record<symbol, string>)[MISSING] = key;
  return e;
}

/** The key of the missing part file `e` reports, or null if `e` is something else. */
export function missingPartFile(e: unknown): string | null {
  return e instanceof ElaxError ? ((e as unknown as Record<symbol, string | undefined>)[MISSING] ?? null) : null;
}
