/**
 * A store wrapper that counts requests and bytes by operation: what `/metrics` reports as the node's object-store
 * traffic (S3 requests are billed per request), and what benchmarks read to tell how many GETs a cold query made.
 */
import type { ByteRange, GetResult, ListOptions, ListResult, ObjectInfo, ObjectStore, PutResult, Witness } from './types.js';

export type CountedOp = 'get' | 'get_range' | 'head' | 'put' | 'put_if_absent' | 'put_if_match' | 'list' | 'delete';

export class CountingStore implements ObjectStore {
  readonly description: string;
  readonly local: boolean | undefined;
  readonly requests: Record<CountedOp, number> = { get: 0, get_range: 0, head: 0, put: 0, put_if_absent: 0, put_if_match: 0, list: 0, delete: 0 };
  bytesRead = 0;
  bytesWritten = 0;

  constructor(readonly inner: ObjectStore) {
    this.description = inner.description;
    this.local = inner.local;
  }

  async get(key: string, range?: ByteRange): Promise<GetResult | null> {
    this.requests[range ? 'get_range' : 'get']++;
    const got = await this.inner.get(key, range);
    if (got) this.bytesRead += got.bytes.byteLength;
    return got;
  }
  head(key: string): Promise<{ info: ObjectInfo; witness: Witness } | null> {
    this.requests.head++;
    return this.inner.head(key);
  }
  put(key: string, bytes: Uint8Array): Promise<Witness> {
    this.requests.put++;
    this.bytesWritten += bytes.byteLength;
    return this.inner.put(key, bytes);
  }
  putIfAbsent(key: string, bytes: Uint8Array): Promise<PutResult> {
    this.requests.put_if_absent++;
    this.bytesWritten += bytes.byteLength;
    return this.inner.putIfAbsent(key, bytes);
  }
  putIfMatch(key: string, bytes: Uint8Array, witness: Witness): Promise<PutResult> {
    this.requests.put_if_match++;
    this.bytesWritten += bytes.byteLength;
    return this.inner.putIfMatch(key, bytes, witness);
  }
  list(prefix: string, options?: ListOptions): Promise<ListResult> {
    this.requests.list++;
    return this.inner.list(prefix, options);
  }
  delete(key: string): Promise<void> {
    this.requests.delete++;
    return this.inner.delete(key);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
