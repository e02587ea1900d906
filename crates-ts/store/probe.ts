/**
 * Startup and readiness checks. elax's coordination rests entirely on conditional writes: a store that silently
 * ignores If-None-Match / If-Match would let two writers take the same WAL sequence and lose acknowledged writes.
 * So the server refuses to run on one (ELAX_ERR_STORE_NO_CAS), naming the store and the check that failed.
 */
import { randomBytes } from 'node:crypto';
import { ElaxError } from '../core/index.js';
import { probeKey } from './paths.js';
import { Witness, type ObjectStore } from './types.js';

const HINT =
  'elax needs conditional writes (If-None-Match: * and If-Match) to coordinate writers; use a store that honours them ' +
  '(AWS S3, Ceph radosgw, a local directory), see docs/errors.md (ELAX_ERR_STORE_NO_CAS)';

/**
 * Exercise both conditions on a fresh probe key: create-if-absent twice (the second must lose), replace with the
 * current witness (must win), replace again with the now-stale witness (must lose), then delete the key. Errors
 * from the store itself (unreachable, denied) propagate unchanged. `nonce` makes the key unique per process; the
 * default is random.
 *
 * A store that *accepts* a write it should have refused is certainly ignoring conditions (`definitive`). A
 * conditional write that should have applied but did not is ambiguous: the backend settles a 5xx or a reset on a
 * conditional PUT by reading the object back, and reports a write that did not land as a lost race, which is what
 * a transient error looks like too. Callers retry ambiguous failures (waitForConditionalWrites).
 */
export async function probeConditionalWrites(store: ObjectStore, nonce: string = randomBytes(8).toString('hex')): Promise<void> {
  const key = probeKey(nonce);
  const enc = new TextEncoder();
  const fail = (what: string, definitive: boolean) => new ProbeFailure(`${store.description}: ${what}. ${HINT}`, definitive);
  try {
    const first = await store.putIfAbsent(key, enc.encode('probe-1'));
    if (!first.ok) throw fail(`a put-if-absent (If-None-Match: *) of the fresh probe key ${key} did not apply`, false);
    const second = await store.putIfAbsent(key, enc.encode('probe-2'));
    if (second.ok) throw fail('the store accepted a second If-None-Match:* write to the same key', true);
    const never = await store.putIfMatch(key, enc.encode('probe-3'), Witness.neverMatches());
    if (never.ok) throw fail('the store accepted an If-Match write with an ETag the object never had', true);
    const fresh = await store.putIfMatch(key, enc.encode('probe-4'), first.witness);
    if (!fresh.ok) throw fail('an If-Match write with the current ETag did not apply', false);
    const stale = await store.putIfMatch(key, enc.encode('probe-5'), first.witness);
    if (stale.ok) throw fail('the store accepted an If-Match write with a stale ETag (the object had changed since)', true);
    const got = await store.get(key);
    if (!got || new TextDecoder().decode(got.bytes) !== 'probe-4') throw fail('the probe object does not hold the last successful conditional write', false);
  } finally {
    await store.delete(key).catch(() => undefined);
  }
}

/** The probe's verdict that conditions are not honoured; `definitive` when a write was accepted that must not be. */
export class ProbeFailure extends ElaxError {
  constructor(
    message: string,
    readonly definitive: boolean,
  ) {
    super('ELAX_ERR_STORE_NO_CAS', message);
  }
}

export interface WaitForStoreOptions {
  sleep: (ms: number) => Promise<void>;
  /** Called after each failed attempt with the error and the delay before the next one. */
  onRetry?: (error: ElaxError, attempt: number, delayMs: number) => void;
  /** First retry delay (default 500 ms), doubling up to maxDelayMs (default 30 s). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Ambiguous "did not apply" verdicts in a row that mean the store really ignores conditions. Default 5. */
  ambiguousLimit?: number;
  /** Stop retrying (server shutting down): the promise rejects with the last error. */
  stopped?: () => boolean;
  nonce?: () => string;
}

/**
 * Probe until the store answers correctly. A store that cannot be reached (any error from the store) is retried
 * forever with capped exponential backoff and reported as ELAX_ERR_STORE_UNAVAILABLE; a store that accepts a write
 * it must refuse fails at once with ELAX_ERR_STORE_NO_CAS; an ambiguous verdict is retried and becomes final only
 * after `ambiguousLimit` in a row with no store error between them.
 */
export async function waitForConditionalWrites(store: ObjectStore, opts: WaitForStoreOptions): Promise<void> {
  let delay = opts.initialDelayMs ?? 500;
  const maxDelay = opts.maxDelayMs ?? 30_000;
  const ambiguousLimit = opts.ambiguousLimit ?? 5;
  let ambiguous = 0;
  for (let attempt = 1; ; attempt++) {
    let error: ElaxError;
    try {
      await probeConditionalWrites(store, opts.nonce?.());
      return;
    } catch (e) {
      if (e instanceof ProbeFailure) {
        if (e.definitive || ++ambiguous >= ambiguousLimit) throw e;
        error = e;
      } else {
        ambiguous = 0;
        error = new ElaxError('ELAX_ERR_STORE_UNAVAILABLE', `store ${store.description} is unreachable: ${(e as Error).message}`, { cause: e, retryAfter: 1 });
      }
    }
    if (opts.stopped?.()) throw error;
    opts.onRetry?.(error, attempt, delay);
    await opts.sleep(delay);
    delay = Math.min(delay * 2, maxDelay);
  }
}

/** Cheap reachability check for /readyz: one LIST of at most one key. Throws (ELAX_ERR_STORE_UNAVAILABLE) if not. */
export async function checkReachable(store: ObjectStore): Promise<void> {
  await store.list('_elax/', { limit: 1 });
}
