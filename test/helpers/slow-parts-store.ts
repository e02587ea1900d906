/**
 * A store wrapper for tests that need slow part reads: reads of keys under a namespace's parts/ wait `partMs`, every
 * other read `otherMs`; writes pass straight through (test/88, test/89).
 */
import type { ByteRange, GetResult, ListOptions, ListResult, ObjectInfo, ObjectStore, PutResult, Witness } from '../../crates-ts/store/types.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Delays reads by key: part files slow (`partMs`), everything else fast (`otherMs`). */
export class SlowPartsStore implements ObjectStore {
  readonly description = 'slow parts';
  constructor(
    private readonly inner: ObjectStore,
    private readonly partMs: number,
    private readonly otherMs: number,
  ) {}
  private delay(key: string): Promise<void> {
    return sleep(key.includes('/parts/') ? this.partMs : this.otherMs);
  }
  async get(key: string, range?: ByteRange): Promise<GetResult | null> {
    await this.delay(key);
    return this.inner.get(key, range);
  }
  async head(key: string): Promise<{ info: ObjectInfo; witness: Witness } | null> {
    await this.delay(key);
    return this.inner.head(key);
  }
  put(key: string, bytes: Uint8Array): Promise<Witness> {
    return this.inner.put(key, bytes);
  }
  putIfAbsent(key: string, bytes: Uint8Array): Promise<PutResult> {
    return this.inner.putIfAbsent(key, bytes);
  }
  putIfMatch(key: string, bytes: Uint8Array, witness: Witness): Promise<PutResult> {
    return this.inner.putIfMatch(key, bytes, witness);
  }
  async list(prefix: string, options?: ListOptions): Promise<ListResult> {
    await this.delay(prefix);
    return this.inner.list(prefix, options);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
