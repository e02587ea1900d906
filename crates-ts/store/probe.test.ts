import { describe, it, expect } from 'vitest';
import { isElaxError } from '../core/index.js';
import { MemoryStore, Witness, checkReachable, probeConditionalWrites, type ObjectStore, type PutResult } from './index.js';

/** A store that ignores one kind of condition, as the npm S3 fakes do. */
class IgnoringStore extends MemoryStore {
  constructor(private readonly ignore: 'absent' | 'match') {
    super();
  }
  override async putIfAbsent(key: string, bytes: Uint8Array): Promise<PutResult> {
    return this.ignore === 'absent' ? { ok: true, witness: await this.put(key, bytes) } : super.putIfAbsent(key, bytes);
  }
  override async putIfMatch(key: string, bytes: Uint8Array, w: Witness): Promise<PutResult> {
    return this.ignore === 'match' ? { ok: true, witness: await this.put(key, bytes) } : super.putIfMatch(key, bytes, w);
  }
}

describe('conditional-write probe', () => {
  it('should pass on a store that honours conditions and leave no probe object behind', async () => {
    const store = new MemoryStore();
    await probeConditionalWrites(store, 'n1');
    await probeConditionalWrites(store); // random nonce
    expect((await store.list('')).objects).toEqual([]);
  });

  it.each([
    ['absent', /accepted a second If-None-Match:\* write/],
    ['match', /accepted an If-Match write with an ETag the object never had/],
  ] as const)('should refuse a store that ignores %s conditions with ELAX_ERR_STORE_NO_CAS', async (ignore, why) => {
    const store = new IgnoringStore(ignore);
    await expect(probeConditionalWrites(store, 'n2')).rejects.toSatisfy(
      (e: unknown) => isElaxError(e, 'ELAX_ERR_STORE_NO_CAS') && why.test(e.message) && e.message.startsWith('memory://: '),
    );
    expect(await store.get('_elax/probe/n2')).toBeNull();
  });

  it('should pass store errors through unchanged', async () => {
    const broken = new MemoryStore() as ObjectStore;
    broken.putIfAbsent = async () => {
      throw new Error('boom');
    };
    await expect(probeConditionalWrites(broken)).rejects.toThrow('boom');
    await expect(checkReachable(new MemoryStore())).resolves.toBeUndefined();
  });
});
