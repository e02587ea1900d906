/**
 * Startup checks. elax's coordination rests entirely on conditional writes; a store that silently ignores
 * If-None-Match / If-Match would let two writers take the same WAL sequence and lose acknowledged writes. So we
 * refuse to run on one.
 */
import { ElaxError } from '../core/index.js';
import { probeKey } from './paths.js';
import { Witness, type ObjectStore } from './types.js';

export async function probeConditionalWrites(store: ObjectStore, nonce: string): Promise<void> {
  const key = probeKey(nonce);
  const enc = new TextEncoder();
  const fail = (what: string) =>
    new ElaxError(
      'ELAX_ERR_STORE_NO_CAS',
      `${store.description}: ${what}. elax needs conditional writes (If-None-Match: * and If-Match) to coordinate writers; use a store that honours them (AWS S3, Ceph radosgw, a local directory).`,
    );
  try {
    const first = await store.putIfAbsent(key, enc.encode('1'));
    if (!first.ok) throw fail(`a put-if-absent of the fresh probe key ${key} was rejected`);
    const second = await store.putIfAbsent(key, enc.encode('2'));
    if (second.ok) throw fail('the store accepted a second If-None-Match:* write to the same key');
    const stale = await store.putIfMatch(key, enc.encode('3'), Witness.neverMatches());
    if (stale.ok) throw fail('the store accepted an If-Match write with a stale ETag');
    const fresh = await store.putIfMatch(key, enc.encode('4'), first.witness);
    if (!fresh.ok) throw fail('the store rejected an If-Match write with the current ETag');
    const got = await store.get(key);
    if (!got || new TextDecoder().decode(got.bytes) !== '4') throw fail('the probe object does not hold the last successful write');
  } finally {
    await store.delete(key).catch(() => undefined);
  }
}

/** Cheap reachability check for /readyz. Throws if the store cannot be listed. */
export async function checkReachable(store: ObjectStore): Promise<void> {
  await store.list('_elax/', { limit: 1 });
}
