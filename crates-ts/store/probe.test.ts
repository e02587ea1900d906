import { describe, it, expect } from 'vitest';
import { isElaxError } from '../core/index.js';
import { FaultyStore, MemoryStore, Witness, checkReachable, probeConditionalWrites, waitForConditionalWrites, type ObjectStore, type PutResult } from './index.js';

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

describe('waiting for a store at start-up', () => {
  const noSleep = { sleep: () => Promise.resolve() };

  it('should retry a store that fails transiently and report it as unreachable, not as lacking conditional writes', async () => {
    // Every operation fails for the first attempts (503s settled as "did not apply" included), then the store heals.
    let calls = 0;
    const store = new FaultyStore(new MemoryStore(), { before: 1, after: 0, random: () => 0 });
    const seen: string[] = [];
    const delays: number[] = [];
    await waitForConditionalWrites(store, {
      ...noSleep,
      initialDelayMs: 100,
      maxDelayMs: 400,
      onRetry: (e, _attempt, delay) => {
        seen.push(e.code);
        delays.push(delay);
        if (++calls === 6) store.enabled = false;
      },
    });
    expect(seen).toEqual(Array(6).fill('ELAX_ERR_STORE_UNAVAILABLE'));
    expect(delays).toEqual([100, 200, 400, 400, 400, 400]);
  });

  it('should retry a conditional write that did not apply, and give up with ELAX_ERR_STORE_NO_CAS only when it keeps happening', async () => {
    // A store where every create-if-absent "loses" (what a 5xx settled by read-back looks like).
    const losing = new MemoryStore() as ObjectStore;
    losing.putIfAbsent = async () => ({ ok: false });
    const retries: string[] = [];
    await expect(
      waitForConditionalWrites(losing, { ...noSleep, ambiguousLimit: 3, onRetry: (e) => retries.push(e.code) }),
    ).rejects.toSatisfy((e: unknown) => isElaxError(e, 'ELAX_ERR_STORE_NO_CAS') && /did not apply/.test(e.message));
    expect(retries).toEqual(['ELAX_ERR_STORE_NO_CAS', 'ELAX_ERR_STORE_NO_CAS']);
    // Once it heals within the limit, it passes.
    let n = 0;
    const flaky = new MemoryStore() as ObjectStore;
    const real = flaky.putIfAbsent.bind(flaky);
    flaky.putIfAbsent = async (k, b) => (n++ < 2 ? { ok: false } : real(k, b));
    await expect(waitForConditionalWrites(flaky, { ...noSleep, ambiguousLimit: 3 })).resolves.toBeUndefined();
  });

  it('should refuse at once a store that accepts a write it must reject', async () => {
    const retries: unknown[] = [];
    await expect(waitForConditionalWrites(new IgnoringStore('absent'), { ...noSleep, onRetry: (e) => retries.push(e) })).rejects.toSatisfy((e: unknown) =>
      isElaxError(e, 'ELAX_ERR_STORE_NO_CAS'),
    );
    expect(retries).toEqual([]);
  });
});
