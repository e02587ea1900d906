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
 */
export async function probeConditionalWrites(store: ObjectStore, nonce: string = randomBytes(8).toString('hex')): Promise<void> {
  const key = probeKey(nonce);
  const enc = new TextEncoder();
  const fail = (what: string) => new ElaxError('ELAX_ERR_STORE_NO_CAS', `${store.description}: ${what}. ${HINT}`);
  try {
    const first = await store.putIfAbsent(key, enc.encode('probe-1'));
    if (!first.ok) throw fail(`a put-if-absent (If-None-Match: *) of the fresh probe key ${key} was rejected`);
    const second = await store.putIfAbsent(key, enc.encode('probe-2'));
    if (second.ok) throw fail('the store accepted a second If-None-Match:* write to the same key');
    const never = await store.putIfMatch(key, enc.encode('probe-3'), Witness.neverMatches());
    if (never.ok) throw fail('the store accepted an If-Match write with an ETag the object never had');
    const fresh = await store.putIfMatch(key, enc.encode('probe-4'), first.witness);
    if (!fresh.ok) throw fail('the store rejected an If-Match write with the current ETag');
    const stale = await store.putIfMatch(key, enc.encode('probe-5'), first.witness);
    if (stale.ok) throw fail('the store accepted an If-Match write with a stale ETag (the object had changed since)');
    const got = await store.get(key);
    if (!got || new TextDecoder().decode(got.bytes) !== 'probe-4') throw fail('the probe object does not hold the last successful conditional write');
  } finally {
    await store.delete(key).catch(() => undefined);
  }
}

/** Cheap reachability check for /readyz: one LIST of at most one key. Throws (ELAX_ERR_STORE_UNAVAILABLE) if not. */
export async function checkReachable(store: ObjectStore): Promise<void> {
  await store.list('_elax/', { limit: 1 });
}
